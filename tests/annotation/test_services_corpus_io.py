from pathlib import Path

import pytest

from annotation.services import tasks as tasks_service
from annotation.models import (
    Attribute,
    Document,
    Entity,
    EntityType,
    Group,
    Note,
    Relation,
    Sentence,
    SentenceStatus,
    Source,
)
from annotation.services.corpus_io import (
    CorpusImportError,
    corpus_export,
    corpus_import,
    corpus_import_documents,
)
from annotation.services.projects import project_create
from mlcore.corpus.compare import document_signature, signature_differences
from mlcore.corpus.formats import read_corpus
from mlcore.corpus.model import Document as Doc
from mlcore.corpus.model import Entity as Ent
from mlcore.corpus.model import Fragment, Relation as Rel, Schema, Sentence as Sent
from tests.annotation.conftest import FIXTURES

BRAT = FIXTURES / "brat_small"


def _read(path, fmt):
    return {d.name: d for d in read_corpus(path, fmt).documents}


def test_import_counts_statuses_and_provenance(project, users):
    report = corpus_import(project=project, path=BRAT, fmt="brat", user=users["manager"])
    assert (report.documents, report.sentences, report.entities, report.relations, report.groups,
            report.attributes, report.notes) == (3, 8, 16, 3, 3, 2, 2)
    assert Entity.objects.filter(document__project=project).count() == 16
    entity = Entity.objects.get(document__name="doc_a", type__name="Scope")
    assert (entity.source, entity.created_by) == (Source.IMPORTED, users["manager"])
    assert entity.sentence.index == 1 and entity.fragments == [[39, 71]]
    statuses = list(Sentence.objects.filter(document__name="doc_c").values_list("status", flat=True))
    assert statuses == [SentenceStatus.DONE, SentenceStatus.NEW]
    relation = Relation.objects.get(document__name="doc_a", type__name="Has_negation")
    assert relation.sentence == relation.head.sentence
    assert Note.objects.get(text="age range").relation.type.name == "Has_value"
    assert Attribute.objects.get(name="Confidence").value == "High"
    assert Attribute.objects.get(name="Optional").value == ""


def test_import_adds_schema_and_types_found_only_in_the_data(project):
    corpus_import(project=project, path=BRAT, fmt="brat")
    names = set(project.entity_types.values_list("name", flat=True))
    assert {"Scope", "Person", "Informed_consent"} <= names  # the last is not in annotation.conf
    project.refresh_from_db()
    assert "Optional" in project.attribute_types and "OR" in project.group_types


def test_brat_round_trip_through_the_database_is_lossless(imported_project, tmp_path):
    out = tmp_path / "brat"
    stats = corpus_export(project=imported_project, out=out, fmt="brat")
    assert stats
    original, exported = _read(BRAT, "brat"), _read(out, "brat")
    assert sorted(exported) == sorted(original)
    for name, document in original.items():
        assert signature_differences(document, exported[name]) == [], name
        assert (out / f"{name}.txt").read_bytes() == (BRAT / f"{name}.txt").read_bytes()
    assert b"\r\n" in (out / "doc_a.txt").read_bytes()


def test_jsonl_round_trip_keeps_annotations_and_statuses(imported_project, tmp_path):
    Sentence.objects.filter(document__name="doc_b", index=2).update(status=SentenceStatus.REVIEWED)
    first = tmp_path / "first.jsonl"
    corpus_export(project=imported_project, out=first, fmt="jsonl")
    copy = project_create(name="copy", schema=Schema())
    corpus_import(project=copy, path=first, fmt="jsonl")
    second = tmp_path / "second.jsonl"
    corpus_export(project=copy, out=second, fmt="jsonl")
    assert second.read_bytes() == first.read_bytes()
    originals = _read(BRAT, "brat")
    for name, document in _read(second, "jsonl").items():
        assert signature_differences(originals[name], document, metadata=False) == []
    assert Sentence.objects.get(document__project=copy, document__name="doc_b", index=2).status == "reviewed"


def test_failed_import_leaves_nothing_behind_and_names_file_and_line(project):
    types_before = EntityType.objects.count()
    with pytest.raises(CorpusImportError) as failure:
        corpus_import(project=project, path=FIXTURES / "brat_bad_third", fmt="brat")
    assert "c_third.ann:2" in str(failure.value) and "out of range" in str(failure.value)
    assert failure.value.line == 2
    for model in (Document, Sentence, Entity, Relation, Group, Attribute, Note):
        assert model.objects.count() == 0, model
    assert EntityType.objects.count() == types_before


def test_importing_a_document_name_twice_fails_and_keeps_the_first_import(imported_project):
    with pytest.raises(CorpusImportError, match="doc_a.*already exists"):
        corpus_import(project=imported_project, path=BRAT, fmt="brat")
    assert Document.objects.filter(project=imported_project).count() == 3
    assert Entity.objects.count() == 16


@pytest.mark.parametrize("document, message", [
    (Doc("x", "abc", [Sent(0, 3)], [Ent("T1", "Drug", (Fragment(1, 9),))]), "outside the text"),
    (Doc("x", "abc", [Sent(0, 3)], [Ent("T1", "Drug", (Fragment(0, 1),))],
         [Rel("R1", "is negated", "T1", "T9")]), "unknown entity id T9"),
    (Doc("x", "abc", [Sent(0, 4)]), "sentence 0-4 outside"),
    (Doc("x", "abc", [Sent(0, 3)], metadata={"sentence_status": ["great"]}), "sentence_status"),
    (Doc("x", "abc", [Sent(0, 2), Sent(1, 3)]), "overlaps the one before"),
    (Doc("x" * 256, "abc", [Sent(0, 3)]), "document name 'x+'... is longer than 255"),
    (Doc("x", "abc", [Sent(0, 3)], [Ent("T1", "D" * 101, (Fragment(0, 1),))]), "entity type"),
])
def test_import_validates_documents(project, document, message):
    good = Doc("good", "fine", [Sent(0, 4)], [Ent("T1", "Drug", (Fragment(0, 4),))])
    with pytest.raises(CorpusImportError, match=message):
        corpus_import_documents(project=project, documents=[good, document], file="memory")
    assert Document.objects.count() == 0


def test_import_takes_statuses_from_metadata(project):
    document = Doc("s", "one\ntwo", [Sent(0, 3), Sent(4, 7)],
                   metadata={"sentence_status": ["reviewed", "new"], "nct_id": "NCT1"})
    corpus_import_documents(project=project, documents=[document])
    stored = Document.objects.get(name="s")
    assert stored.metadata == {"nct_id": "NCT1"}
    assert list(stored.sentences.values_list("status", flat=True)) == ["reviewed", "new"]


def test_export_status_filter_keeps_only_annotations_of_those_sentences(imported_project, tmp_path):
    Sentence.objects.filter(project=imported_project).update(status=SentenceStatus.NEW)
    Sentence.objects.filter(document__name="doc_a", index=0).update(status=SentenceStatus.REVIEWED)
    out = tmp_path / "filtered"
    corpus_export(project=imported_project, out=out, fmt="brat", statuses=["done", "reviewed"])
    exported = _read(out, "brat")
    assert exported["doc_b"].entities == [] and exported["doc_b"].text == _read(BRAT, "brat")["doc_b"].text
    doc_a = document_signature(exported["doc_a"])
    assert sorted(t for t, _ in doc_a["entities"]) == ["Person", "Value"]
    assert list(doc_a["relations"]) == [("Has_value", ("Person", ((0, 6),)), ("Value", ((12, 26),)))]
    assert [n[2] for n in doc_a["notes"]] == ["age range"]
    assert exported["doc_a"].groups == [] and exported["doc_a"].attributes == []


def test_conll_export_reports_flattening(imported_project, tmp_path):
    out = tmp_path / "corpus.conll"
    stats = corpus_export(project=imported_project, out=out, fmt="conll")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("-DOCSTART- -X- O O\n\n") and "# doc" not in text and "B-Person" in text
    assert stats["entities_dropped"] >= 2  # diabetes inside type 2 diabetes, the nested Scope


def test_import_of_a_missing_path_names_it(project, tmp_path):
    with pytest.raises(CorpusImportError, match="nowhere"):
        corpus_import(project=project, path=tmp_path / "nowhere", fmt="brat")


def test_import_into_a_project_with_an_active_model_queues_suggestions(
    project, monkeypatch, django_capture_on_commit_callbacks
):
    from tests.annotation.ml_fixtures import make_version

    sent = []
    monkeypatch.setattr(tasks_service, "task_send", lambda name, args, task_id=None: sent.append((name, args)))
    version = make_version(project, number=1, active=True)
    with django_capture_on_commit_callbacks(execute=True):
        corpus_import(project=project, path=BRAT, fmt="brat")
    new_ids = sorted(Sentence.objects.filter(project=project).values_list("pk", flat=True))
    assert sent == [("worker.tasks.preannotate", [version.pk, new_ids])]


def test_import_without_an_active_model_queues_nothing(project, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks_service, "task_send", lambda name, args, task_id=None: sent.append((name, args)))
    corpus_import(project=project, path=BRAT, fmt="brat")
    assert Sentence.objects.filter(project=project).exists() and sent == []


def test_import_draws_each_sentence_a_queue_key(imported_project):
    """The seeded random order's stored key (``Sentence.queue_key``) is filled by the import's
    raw insert too: distinct keys, in no relation to the id order."""
    keys = list(Sentence.objects.filter(project=imported_project).order_by("id")
                .values_list("queue_key", flat=True))
    assert len(keys) >= 8 and len(set(keys)) == len(keys)
    assert keys != sorted(keys) and all(0 <= k < 2**31 - 1 for k in keys)
