import io

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


def test_import_corpus_failure_exits_non_zero_and_leaves_nothing(db):
    with pytest.raises(CommandError, match=r"c_third\.ann:2: .*out of range"):
        _run("import_corpus", "--project", "bad", "--format", "brat", str(FIXTURES / "brat_bad_third"))
    assert not Project.objects.filter(name="bad").exists()
    assert Document.objects.count() == Sentence.objects.count() == Entity.objects.count() == 0


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
