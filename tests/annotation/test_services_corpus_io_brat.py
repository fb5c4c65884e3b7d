"""brat interoperability through the commands, the import page and the API: real public brat
data (tests/fixtures/brat-real, see its README) goes in and comes out annotation by annotation.

The comparison parses the standoff itself (``_standoff`` below, not Eligo's reader) and
compares what each annotation says, ids aside: text-bound annotations by type, offsets and
text; events by type, trigger and role -> argument; relations by type, role names and
endpoints; equivalences, attributes, normalizations and notes by what they point to.
"""
from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import Document, Entity, Event, Normalization, Project, RelationType

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "brat-real"
CORPORA = ["brat-tutorial-news", "brat-tutorial-bio", "bionlp-st-2011-ge", "clinical-trials-lct-style"]


# --- an independent, minimal brat standoff parser ------------------------------------------


def _standoff(folder: Path) -> dict[str, tuple[str, Counter]]:
    """Document name -> (text, multiset of annotations with every id replaced by what it names)."""
    return {ann.stem: _document(ann.with_suffix(".txt").read_bytes().decode("utf-8"),
                                ann.read_text(encoding="utf-8"))
            for ann in sorted(folder.glob("*.ann"))}


def _document(text: str, ann: str) -> tuple[str, Counter]:
    lines = [line.split("\t") for line in ann.splitlines() if line.strip()]
    spans = {}
    for fields in lines:
        if fields[0].startswith("T"):
            kind, *offsets = re.split(r"[ ;]", fields[1])
            pairs = tuple(zip(map(int, offsets[0::2]), map(int, offsets[1::2])))
            spans[fields[0]] = (kind, pairs, " ".join(text[a:b] for a, b in pairs))
    events = {fields[0]: fields[1].split() for fields in lines if fields[0].startswith("E")}

    def named(id_: str):
        if id_ in spans:
            return ("span", spans[id_])
        if id_ in events:
            kind, trigger = events[id_][0].split(":")
            return ("event", kind, spans[trigger],
                    tuple(sorted((role, named(arg)) for role, arg in
                                 (a.split(":") for a in events[id_][1:]))))
        return ("relation", relations[id_])

    relations = {}
    for fields in lines:
        if fields[0].startswith("R"):
            kind, *args = fields[1].split()
            relations[fields[0]] = (kind, tuple(sorted((role, named(arg)) for role, arg in
                                                       (a.split(":") for a in args))))
    found = Counter()
    for fields in lines:
        head, label = fields[0], fields[1].split()
        if head[0] == "T":
            found[named(head)] += 1
        elif head[0] == "E":
            found[named(head)] += 1
        elif head[0] == "R":
            found[named(head)] += 1
        elif head == "*":
            found[("equiv", label[0], frozenset(named(m) for m in label[1:]))] += 1
        elif head[0] in "AM":
            found[("attribute", label[0], named(label[1]), label[2] if len(label) > 2 else None)] += 1
        elif head[0] == "N":
            found[("normalization", label[0], named(label[1]), label[2], _rest(fields))] += 1
        elif head[0] == "#":
            found[("note", label[0], named(label[1]), _rest(fields))] += 1
        else:
            raise AssertionError(f"unexpected line {fields!r}")
    return text, found


def _rest(fields: list[str]) -> str:
    return "\t".join(fields[2:]).strip()


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _through_eligo(source: Path, project: str, out: Path) -> Path:
    _run("import_corpus", "--project", project, "--format", "brat", str(source))
    _run("export_corpus", "--project", project, "--format", "brat", "--out", str(out))
    return out


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("corpus", CORPORA)
def test_real_brat_data_goes_out_as_it_came_in(db, tmp_path, corpus):
    original = _standoff(REAL / corpus)
    assert original and all(found for _, found in original.values())
    once = _standoff(_through_eligo(REAL / corpus, "once", tmp_path / "once"))
    assert once.keys() == original.keys()
    for name, (text, found) in original.items():
        assert once[name][0] == text
        assert once[name][1] == found, name
    twice = _standoff(_through_eligo(tmp_path / "once", "twice", tmp_path / "twice"))
    assert twice == once


def test_the_samples_hold_what_the_round_trip_must_keep():
    """So that the round trip above cannot pass by carrying nothing."""
    kinds = Counter(key[0] if isinstance(key[0], str) and key[0] != "span" else key[0]
                    for corpus in CORPORA for _, found in _standoff(REAL / corpus).values()
                    for key in found)
    for kind in ("span", "event", "relation", "equiv", "attribute", "normalization", "note"):
        assert kinds[kind] > 0, kind


def test_events_normalizations_and_roles_are_stored(db, tmp_path):
    _run("import_corpus", "--project", "ct", "--format", "brat", str(REAL / "clinical-trials-lct-style"))
    project = Project.objects.get(name="ct")
    assert Event.objects.filter(document__project=project).count() == 15
    norm = Normalization.objects.get(document__project=project, reference="C0027051")
    assert (norm.resource, norm.text, norm.entity.type.name) == ("UMLS", "Myocardial Infarction", "Condition")
    acronym = RelationType.objects.get(project=project, name="Acronym-For")
    assert (acronym.head_role, acronym.tail_role) == ("Short", "Long")
    assert set(acronym.heads.values_list("name", flat=True)) == {"Condition-Name", "Drug-Name"}
    using = RelationType.objects.get(project=project, name="Using")
    assert list(using.heads.values_list("name", flat=True)).count("Immunization") == 1
    assert project.attribute_values["Severity-Value"] == ["mild", "moderate", "severe"]


# --- names brat cannot carry ----------------------------------------------------------------


def test_type_names_with_spaces_are_written_brat_safe_and_come_back(db, tmp_path):
    _run("import_corpus", "--project", "one", "--format", "brat", str(REAL / "clinical-trials-lct-style"))
    project = Project.objects.get(name="one")
    project.entity_types.filter(name="Eq-Temporal-Unit").update(name="Temporal unit")
    RelationType.objects.filter(project=project, name="Using").update(name="Used by: user")
    _run("export_corpus", "--project", "one", "--format", "brat", "--out", str(tmp_path / "out"))
    ann = (tmp_path / "out" / "ct-sample-01.ann").read_text()
    assert "Temporal_unit 73 79\tmonths" in ann and "Temporal unit" not in ann
    assert re.search(r"^R\d+\tUsed_by__user Arg1:E\d+ Arg2:T\d+$", ann, re.M)
    conf = (tmp_path / "out" / "annotation.conf").read_text()
    assert "# eligo-name\tTemporal_unit\tTemporal unit" in conf
    _run("import_corpus", "--project", "two", "--format", "brat", str(tmp_path / "out"))
    names = set(Project.objects.get(name="two").entity_types.values_list("name", flat=True))
    assert "Temporal unit" in names and "Temporal_unit" not in names
    assert RelationType.objects.filter(project__name="two", name="Used by: user").exists()
    _run("export_corpus", "--project", "two", "--format", "brat", "--out", str(tmp_path / "again"))
    assert _standoff(tmp_path / "again") == _standoff(tmp_path / "out")


def test_exported_conf_keeps_attribute_values_events_and_roles(db, tmp_path):
    out = _through_eligo(REAL / "brat-tutorial-news", "news", tmp_path / "out")
    conf = (out / "annotation.conf").read_text()
    assert re.search(r"^Confidence\tArg:<EVENT>, Value:High\|Neutral\|Low$", conf, re.M)
    assert re.search(r"^Mention\tArg:<ENTITY>, Value:Name\|Nominal\|Other$", conf, re.M)
    assert re.search(r"^Transfer-money\tGiver-Arg:.*Money-Arg:Money$", conf, re.M)
    entities = conf.split("[entities]")[1].split("[relations]")[0].split()
    assert "Person" in entities and "Transfer-money" not in entities  # a trigger type is an event


# --- the import that used to die -------------------------------------------------------------


def _corpus(tmp_path: Path, conf: str, ann: str, text: str = "Patients with asthma or COPD.\n") -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "annotation.conf").write_text(conf)
    (folder / "doc.txt").write_text(text)
    (folder / "doc.ann").write_text(ann)
    return folder


REPEATED = ("[spans]\nCondition\nDrug\n[relations]\n"
            "Treatment-For\tArg1:Drug|Condition|Drug, Arg2:Condition|Condition\n"
            "Or\tArg1:Condition, Arg2:Condition\nOr\tArg1:Drug, Arg2:Drug\n")


def test_a_type_repeated_in_an_argument_list_imports(db, tmp_path):
    folder = _corpus(tmp_path, REPEATED, "T1\tCondition 14 20\tasthma\nT2\tCondition 24 28\tCOPD\n"
                                         "R1\tOr Arg1:T1 Arg2:T2\n")
    output = _run("import_corpus", "--project", "rep", "--format", "brat", str(folder))
    assert "1 documents" in output and "2 entities" in output
    treatment = RelationType.objects.get(project__name="rep", name="Treatment-For")
    assert sorted(treatment.heads.values_list("name", flat=True)) == ["Condition", "Drug"]
    either = RelationType.objects.get(project__name="rep", name="Or")
    assert sorted(either.tails.values_list("name", flat=True)) == ["Condition", "Drug"]


def test_a_zero_width_span_is_refused_naming_file_and_line(db, tmp_path):
    folder = _corpus(tmp_path, REPEATED, "T1\tCondition 14 20\tasthma\nT2\tCondition 24 24\t\n")
    with pytest.raises(CommandError, match=r"doc\.ann:2: T2: zero-width span 24-24"):
        _run("import_corpus", "--project", "zw", "--format", "brat", str(folder))
    assert not Project.objects.filter(name="zw").exists() and Document.objects.count() == 0


def test_deleting_an_event_trigger_is_refused_and_changes_nothing(db, tmp_path, users):
    _run("import_corpus", "--project", "trial", "--format", "brat", str(REAL / "brat-tutorial-bio"))
    project = Project.objects.get(name="trial")
    from annotation.services.projects import membership_set

    membership_set(project=project, user=users["manager"], role="manager")
    trigger = Event.objects.filter(document__project=project).first().trigger
    sentence = trigger.sentence
    response = _api(users["manager"]).delete(
        f"/api/projects/trial/sentences/{sentence.pk}/entities/{trigger.pk}/"
        f"?expected_version={sentence.version}")
    assert 400 <= response.status_code < 500
    assert "event" in str(response.json()).lower()
    assert Entity.objects.filter(pk=trigger.pk).exists()


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for item in sorted(folder.iterdir()):
            archive.write(item, item.name)
    return buffer.getvalue()


def test_import_page_takes_the_clinical_trials_sample(project, users, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("ct.zip", _zip(REAL / "clinical-trials-lct-style"))
    project.new_types = "add"
    project.save()
    response = client_for(users["manager"]).post(
        reverse("corpus_import", args=[project.name]), {"format": "brat", "file": upload})
    assert response.status_code == 200 and b"Imported." in response.content
    assert Event.objects.filter(document__project=project).count() == 15


def test_import_page_reports_a_zero_width_span_and_imports_nothing(project, users, client_for,
                                                                   settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    folder = _corpus(tmp_path, REPEATED, "T1\tCondition 14 14\t\n")
    upload = SimpleUploadedFile("zw.zip", _zip(folder))
    response = client_for(users["manager"]).post(
        reverse("corpus_import", args=[project.name]), {"format": "brat", "file": upload})
    assert response.status_code == 400
    assert "doc.ann:1" in response.content.decode() and "zero-width span" in response.content.decode()
    assert Document.objects.filter(project=project).count() == 0


def test_api_import_of_the_bionlp_sample_and_jsonl_export_keep_events(db, users, tmp_path):
    from annotation.services.projects import membership_set, project_create

    project = project_create(name="bionlp")
    membership_set(project=project, user=users["manager"], role="manager")
    upload = SimpleUploadedFile("ge.zip", _zip(REAL / "bionlp-st-2011-ge"))
    response = _api(users["manager"]).post("/api/projects/bionlp/imports/",
                                           {"format": "brat", "file": upload, "new_types": "add"},
                                           format="multipart")
    assert response.status_code == 201, response.json()
    assert Event.objects.filter(document__project=project).count() == 76
    exported = _api(users["manager"]).get("/api/projects/bionlp/export/jsonl/")
    body = b"".join(exported.streaming_content) if exported.streaming else exported.content
    assert body.count(b'"events":') == 3 and b'"Theme"' in body
