import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation.models import Document, Entity, Membership, Project, Sentence
from mlcore.corpus.formats import read_corpus
from mlcore.corpus.model import Document as Doc
from mlcore.corpus.model import Entity as Ent
from mlcore.corpus.model import Fragment
from mlcore.corpus.model import Sentence as Sent
from tests.annotation.conftest import FIXTURES


def _run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_import_corpus_creates_the_project_and_reports(db):
    output = _run("import_corpus", "--project", "chia-mini", "--format", "brat",
                  str(FIXTURES / "brat_small"))
    assert "3 documents" in output and "16 entities" in output
    assert "1 undeclared types added to the schema (undeclared_type)" in output, "quirks by kind"
    assert "undeclared_type: brat_small: entity type 'Informed_consent'" in output, "an example"
    assert str(FIXTURES) not in output, "paths relative to the imported folder"
    project = Project.objects.get(name="chia-mini")
    assert project.documents.count() == 3
    assert "Scope" in set(project.entity_types.values_list("name", flat=True))


def test_import_corpus_of_real_ctgov_studies_stores_unescaped_criteria_without_headings(db):
    output = _run("import_corpus", "--project", "ctgov", "--format", "ctgov", str(FIXTURES.parent / "ctgov"))
    assert "21 documents" in output
    project = Project.objects.get(name="ctgov")
    sentences = Sentence.objects.filter(project=project)
    assert not sentences.filter(text__contains="\\").exists()
    assert not Document.objects.filter(project=project, text__contains="\\").exists()
    assert not sentences.filter(text__icontains="criteria:").exists()
    bmi = sentences.get(document__name="NCT03722472_exc", index=25)
    assert bmi.text == "BMI <18 or >35 kg/m2." and bmi.document.text[bmi.start:bmi.end] == bmi.text
    parents = Document.objects.get(project=project, name="NCT03630471_inc")
    assert parents.sentences.count() == 9
    assert [h["text"] for h in parents.metadata["subheadings"]] == ["For adolescent participants:",
                                                                    "For parent participants:"]
    assert not parents.sentences.filter(text__endswith="participants:").exists()
    inline = Document.objects.get(project=project, name="NCT00973089_exc")
    assert list(inline.sentences.values_list("text", flat=True)) == [
        "Subjects that are not ASA I", "Lack of cooperation", "Clinical or radiographic signs of pathology"]


def test_import_corpus_failure_exits_non_zero_and_leaves_nothing(db):
    with pytest.raises(CommandError, match=r"c_third\.ann:2: .*out of range"):
        _run("import_corpus", "--project", "bad", "--format", "brat", str(FIXTURES / "brat_bad_third"))
    assert not Project.objects.filter(name="bad").exists()
    assert Document.objects.count() == Sentence.objects.count() == Entity.objects.count() == 0


def test_import_corpus_into_a_project_lists_new_types_and_adds_them_only_when_told(project):
    err = io.StringIO()
    with pytest.raises(CommandError, match="would add 8 types.*--new-types add"):
        call_command("import_corpus", "--project", "trial", "--format", "brat",
                     str(FIXTURES / "brat_small"), stdout=io.StringIO(), stderr=err)
    assert "would add entity type Value (key " in err.getvalue()
    assert not project.documents.exists() and project.entity_types.count() == 3
    with pytest.raises(CommandError, match="refuses imports that add types"):
        _run("import_corpus", "--project", "trial", "--format", "brat", "--new-types", "refuse",
             str(FIXTURES / "brat_small"))
    output = _run("import_corpus", "--project", "trial", "--format", "brat", "--new-types", "add",
                  str(FIXTURES / "brat_small"))
    value_key = project.entity_types.get(name="Value").key
    assert f"8 types added to the project: entity Informed_consent (key " in output
    assert f"entity Value (key {value_key})" in output
    keys = [*project.entity_types.values_list("key", flat=True), *project.relation_types.values_list("key", flat=True)]
    assert len(keys) == len(set(keys))


def test_import_corpus_rejects_unknown_format(db):
    with pytest.raises(CommandError):
        _run("import_corpus", "--project", "x", "--format", "xml", "somewhere")


def test_export_corpus_formats_and_status_filter(imported_project, tmp_path):
    output = _run("export_corpus", "--project", "trial", "--format", "jsonl",
                  "--out", str(tmp_path / "all.jsonl"))
    assert "Exported trial as jsonl" in output
    assert len(list(read_corpus(tmp_path / "all.jsonl", "jsonl").documents)) == 3
    Sentence.objects.update(status="new")
    _run("export_corpus", "--project", "trial", "--format", "brat", "--out", str(tmp_path / "b"),
         "--status", "done,reviewed")
    assert all(not d.entities for d in read_corpus(tmp_path / "b", "brat").documents)
    output = _run("export_corpus", "--project", "trial", "--format", "conll",
                  "--out", str(tmp_path / "c.conll"))
    assert "entities dropped by flattening:" in output


def test_exported_conll_reads_in_spacy_as_one_doc_per_document(imported_project, tmp_path):
    from spacy.training.converters import conll_ner_to_docs

    _run("export_corpus", "--project", "trial", "--format", "conll", "--out", str(tmp_path / "c.conll"))
    docs = list(conll_ner_to_docs((tmp_path / "c.conll").read_text(encoding="utf-8"), n_sents=0,
                                  no_print=True))
    documents = Document.objects.filter(project=imported_project).exclude(sentences=None).distinct()
    assert len(docs) == documents.count() == 3
    words = {token.text for doc in docs for token in doc}
    assert not {"-DOCSTART-", "-X-", "#", "doc", "doc_a"} & words
    assert ("Person", "Adults") in [(ent.label_, ent.text) for doc in docs for ent in doc.ents]


def test_export_corpus_errors(imported_project, tmp_path):
    with pytest.raises(CommandError, match="no project"):
        _run("export_corpus", "--project", "nope", "--format", "brat", "--out", str(tmp_path))
    with pytest.raises(CommandError, match="unknown status"):
        _run("export_corpus", "--project", "trial", "--format", "brat", "--out", str(tmp_path),
             "--status", "finished")


def _tiny_demo():
    text = "No history of asthma\nAdults with diabetes"
    return [Doc("DEMO-T01_inc", text, [Sent(0, 20), Sent(21, 41)],
                [Ent("T1", "Condition", (Fragment(14, 20),))],
                metadata={"nct_id": "DEMO-T01", "sentence_status": ["reviewed", "new"]})]


@pytest.fixture
def tiny_demo(monkeypatch):
    from annotation import demo_data

    monkeypatch.setattr(demo_data, "demo_documents", _tiny_demo)


def _snapshot():
    User = get_user_model()
    return (
        list(User.objects.order_by("username").values_list("username", "password", "is_superuser")),
        list(Membership.objects.order_by("user__username").values_list("user__username", "role")),
        list(Document.objects.values_list("name", "text")),
        list(Sentence.objects.values_list("pk", "status", "version")),
        list(Entity.objects.values_list("pk", "fragments", "type__name")),
    )


def test_load_demo_is_idempotent(db, tiny_demo):
    _run("load_demo")
    first = _snapshot()
    output = _run("load_demo")
    assert _snapshot() == first
    assert "1 documents were already there" in output
    users, memberships, documents, sentences, _ = first
    assert [u[0] for u in users] == ["admin", "annotator", "manager", "reviewer"]
    assert users[0][2] is True
    assert dict(memberships) == {"manager": "manager", "reviewer": "reviewer", "annotator": "annotator"}
    assert [s[1] for s in sentences] == ["reviewed", "new"]
    assert get_user_model().objects.get(username="manager").check_password("eligo-demo")


def test_load_demo_with_the_real_demo_data(db):
    from annotation.demo_data import demo_documents

    _run("load_demo")
    assert Project.objects.get(name="demo").documents.count() == len(demo_documents())


def _negated_jsonl(path, head: str, tail: str, relation_types: list) -> str:
    header = {"eligo": 1, "schema": {"entity_types": [], "relation_types": relation_types}}
    document = {"name": "negated", "text": "No prior chemotherapy.",
                "sentences": [{"start": 0, "end": 22}],
                "entities": [{"id": "T1", "type": "Negation", "fragments": [[0, 2]]},
                             {"id": "T2", "type": "Drug", "fragments": [[9, 21]]}],
                "relations": [{"id": "R1", "type": "is negated", "head": head, "tail": tail}]}
    path.write_text(json.dumps(header) + "\n" + json.dumps(document) + "\n")
    return str(path)


def test_import_corpus_refuses_a_relation_the_project_schema_forbids(project, tmp_path):
    """'is negated' of the project goes from a Condition or Drug to a Negation."""
    wrong = _negated_jsonl(tmp_path / "wrong.jsonl", "T1", "T2", [])
    with pytest.raises(CommandError, match=r"wrong\.jsonl: document negated: relation R1: "
                                           r"is negated cannot go from Negation to Drug\.$"):
        _run("import_corpus", "--project", "trial", "--format", "jsonl", wrong)
    assert not Document.objects.filter(name="negated").exists()
    right = _negated_jsonl(tmp_path / "right.jsonl", "T2", "T1", [])
    assert "1 relations" in _run("import_corpus", "--project", "trial", "--format", "jsonl", right)


def test_import_corpus_refuses_a_relation_the_file_schema_forbids(db, tmp_path):
    declared = [{"name": "is negated", "heads": ["Condition", "Drug"], "tails": ["Negation"]}]
    wrong = _negated_jsonl(tmp_path / "wrong.jsonl", "T1", "T2", declared)
    with pytest.raises(CommandError, match="is negated cannot go from Negation to Drug"):
        _run("import_corpus", "--project", "fresh", "--format", "jsonl", wrong)
    assert not Project.objects.filter(name="fresh").exists()
