from annotation.models import Sentence, SentenceStatus
from annotation.selectors.corpus import documents_as_dataclasses
from annotation.services.corpus_io import corpus_import_documents
from mlcore.corpus.model import Attribute as Att
from mlcore.corpus.model import Document as Doc
from mlcore.corpus.model import Entity as Ent
from mlcore.corpus.model import Fragment
from mlcore.corpus.model import Group as Grp
from mlcore.corpus.model import Note as Nte
from mlcore.corpus.model import Relation as Rel
from mlcore.corpus.model import Sentence as Sent


def test_documents_come_by_name_with_renumbered_ids_in_offset_order(imported_project):
    documents = list(documents_as_dataclasses(project=imported_project))
    assert [d.name for d in documents] == ["doc_a", "doc_b", "doc_c"]
    doc_a = documents[0]
    assert [e.id for e in doc_a.entities] == [f"T{i}" for i in range(1, 10)]
    starts = [(e.start, -e.end) for e in doc_a.entities]
    assert starts == sorted(starts)
    assert {r.id for r in doc_a.relations} == {"R1", "R2"}
    assert [g.id for g in doc_a.groups] == ["*1", "*2"]
    assert doc_a.metadata["sentence_status"] == ["done", "done", "done"]
    assert doc_a.text.count("\r\n") == 3


def test_chunking_does_not_change_the_result(imported_project):
    whole = list(documents_as_dataclasses(project=imported_project))
    assert list(documents_as_dataclasses(project=imported_project, chunk_size=1)) == whole


def test_status_filter_keeps_sentences_and_text(imported_project):
    Sentence.objects.filter(document__name="doc_b", index=0).update(status=SentenceStatus.REVIEWED)
    documents = {d.name: d for d in documents_as_dataclasses(project=imported_project, statuses=["reviewed"])}
    assert [e.type for e in documents["doc_b"].entities] == ["Measurement", "Value"]
    assert len(documents["doc_b"].relations) == 1 and documents["doc_b"].groups == []
    assert len(documents["doc_a"].sentences) == 3 and documents["doc_a"].entities == []


def _many(count: int):
    for i in range(count):
        text = f"Aspirin use {i}\nNo asthma"
        yield Doc(f"d{i:03}", text, [Sent(0, len(text) - 10), Sent(len(text) - 9, len(text))],
                  [Ent("T1", "Drug", (Fragment(0, 7),)), Ent("T2", "Negation", (Fragment(len(text) - 9, len(text) - 7),)),
                   Ent("T3", "Condition", (Fragment(len(text) - 6, len(text)),))],
                  [Rel("R1", "is negated", "T3", "T2")], [Grp("*1", "OR", ("T1", "T3"))],
                  [Att("A1", "Optional", "T1")], [Nte("#1", "AnnotatorNotes", "R1", "note")])


def test_export_queries_do_not_grow_with_documents(project, django_assert_max_num_queries):
    corpus_import_documents(project=project, documents=_many(60))
    with django_assert_max_num_queries(13):  # the types, the ids, twelve for the one chunk
        documents = list(documents_as_dataclasses(project=project, chunk_size=100))
    assert len(documents) == 60 and sum(len(d.relations) for d in documents) == 60
    assert documents[5].notes[0].target == "R1" and documents[5].groups[0].members == ("T1", "T3")
