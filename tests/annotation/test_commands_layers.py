"""``import_corpus --annotator`` loads a double-annotated brat corpus one annotator at a time
into their own layers, and ``export_corpus --layer`` writes one layer back out; the API
import takes an ``annotator`` too."""
import shutil

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import CommandError

from annotation.models import (
    AnnotationMode,
    Assignment,
    Document,
    Entity,
    Membership,
    Project,
    SentenceLayer,
)
from tests.annotation.test_services_corpus_io_brat import REAL, _api, _run, _standoff, _zip

SAMPLE = REAL / "clinical-trials-lct-style"


@pytest.fixture
def annotators(db):
    return {name: get_user_model().objects.create_user(name) for name in ("alice", "bob")}


def _second_annotator_copy(tmp_path):
    """The sample as another annotator left it: one document without its annotations."""
    copy = tmp_path / "bob"
    shutil.copytree(SAMPLE, copy)
    (copy / "ct-sample-02.ann").write_text("")
    return copy


def test_a_double_annotated_brat_corpus_loads_into_two_layers(annotators, tmp_path):
    output = _run("import_corpus", "--project", "double", "--format", "brat", "--annotator",
                  "alice", str(SAMPLE))
    assert "Imported into double (alice's layer): 2 documents" in output
    output = _run("import_corpus", "--project", "double", "--format", "brat", "--annotator",
                  "bob", str(_second_annotator_copy(tmp_path)))
    assert "(bob's layer): 2 documents, 0 sentences" in output, "the documents are reused"
    project = Project.objects.get(name="double")
    assert project.annotation_mode == AnnotationMode.INDEPENDENT
    assert Document.objects.filter(project=project).count() == 2
    assert set(Membership.objects.filter(project=project).values_list("user__username", "role")) == {
        ("alice", "annotator"), ("bob", "annotator")}
    assert Assignment.objects.filter(document__project=project).count() == 4
    assert not Entity.objects.filter(document__project=project, annotator__isnull=True).exists()
    # each layer goes out as it came in; the curated layer is empty
    for name, source in (("alice", SAMPLE), ("bob", tmp_path / "bob")):
        out = tmp_path / f"out-{name}"
        _run("export_corpus", "--project", "double", "--format", "brat", "--layer", name,
             "--out", str(out))
        assert _standoff(out) == _standoff(source)
    _run("export_corpus", "--project", "double", "--format", "brat", "--out", str(tmp_path / "cur"))
    assert all(not ann.read_text() for ann in (tmp_path / "cur").glob("*.ann"))
    # the layer's statuses: done where the annotator annotated, new where not
    statuses = set(SentenceLayer.objects.filter(annotator=annotators["bob"],
                                                sentence__document__name="ct-sample-02")
                   .values_list("status", flat=True))
    assert statuses == {"new"}


def test_a_layer_import_is_refused_clearly_and_leaves_nothing(annotators, tmp_path):
    _run("import_corpus", "--project", "double", "--format", "brat", "--annotator", "alice",
         str(SAMPLE))
    before = Entity.objects.count()
    with pytest.raises(CommandError, match="alice's layer of it already holds annotations"):
        _run("import_corpus", "--project", "double", "--format", "brat", "--annotator", "alice",
             str(SAMPLE))
    changed = tmp_path / "changed"
    shutil.copytree(SAMPLE, changed)
    text = changed / "ct-sample-01.txt"
    text.write_text(text.read_text().replace("a", "e", 1))
    with pytest.raises(CommandError, match="its text differs from the project's document"):
        _run("import_corpus", "--project", "double", "--format", "brat", "--annotator", "bob",
             str(changed))
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        _run("import_corpus", "--project", "double", "--format", "brat", "--annotator", "nobody",
             str(SAMPLE))
    assert Entity.objects.count() == before
    assert not Membership.objects.filter(user__username="bob").exists()


def test_a_shared_project_refuses_a_layer_import(annotators, project):
    with pytest.raises(CommandError, match="is in shared mode"):
        _run("import_corpus", "--project", project.name, "--format", "brat", "--annotator",
             "alice", str(SAMPLE))
    assert not project.documents.exists()


def test_the_api_import_goes_into_the_annotators_layer(annotators, project, users, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    Project.objects.filter(pk=project.pk).update(annotation_mode=AnnotationMode.INDEPENDENT)
    api = _api(users["manager"])
    response = api.post(f"/api/projects/{project.name}/imports/", {
        "format": "brat", "annotator": "alice", "new_types": "add",
        "file": SimpleUploadedFile("ct.zip", _zip(SAMPLE))}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["annotator"] == "alice"
    assert Entity.objects.filter(annotator=annotators["alice"]).count() == 35
    assert not Entity.objects.filter(annotator__isnull=True).exists()
    response = api.post(f"/api/projects/{project.name}/imports/", {
        "format": "brat", "annotator": "nobody",
        "file": SimpleUploadedFile("ct.zip", _zip(SAMPLE))}, format="multipart")
    assert response.status_code == 400 and "nobody" in response.content.decode()
