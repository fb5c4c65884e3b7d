"""The import page's progress bar for a job on the worker, and the annotation view's
normalization form, in a real browser; the database must hold what the page shows."""
import json

import pytest
from playwright.sync_api import expect

from annotation.models import AuditEvent, Document, ImportJob, ImportJobStatus, Normalization
from tests.browser.scenario import span

pytestmark = pytest.mark.browser

HEADER = {"eligo": 1, "schema": {"entity_types": [{"name": "Drug"}], "relation_types": []}}
DOCUMENTS = [{"name": f"upload-{n}", "text": "No prior chemotherapy.", "sentences": [{"start": 0, "end": 22}],
              "entities": [{"id": "T1", "type": "Drug", "fragments": [[9, 21]]}], "relations": []}
             for n in (1, 2)]


def _jsonl() -> bytes:
    return "".join(json.dumps(line) + "\n" for line in (HEADER, *DOCUMENTS)).encode()


def test_a_queued_import_shows_its_progress_then_its_report(scenario, new_page, live_server, settings,
                                                            monkeypatch):
    """Above ``ELIGO_IMPORT_ASYNC_BYTES`` the page queues the job; the worker is played by the
    test: it reports progress through the real result backend, then runs the job's import."""
    from webapp.celery import app

    from annotation.services.imports import import_job_run, import_task_id

    settings.ELIGO_IMPORT_ASYNC_BYTES = 10
    queued = []
    monkeypatch.setattr(app, "send_task", lambda name, args, task_id=None: queued.append((name, args)))
    page = new_page("carol")
    page.goto(f"{live_server.url}/projects/demo/import/")
    page.select_option("select[name=format]", "jsonl")
    page.set_input_files("input[name=file]", {"name": "two.jsonl", "mimeType": "application/x-ndjson",
                                               "buffer": _jsonl()})
    page.locator("form.io-form button[type=submit]").click()

    running = page.locator(".io-running")
    expect(running).to_contain_text("Queued for a worker")
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "0")
    expect(running).to_contain_text("0 of about 2 documents")
    job = ImportJob.objects.get()
    assert queued == [("worker.tasks.import_corpus", [job.pk])] and job.status == ImportJobStatus.QUEUED
    assert not Document.objects.filter(name__startswith="upload-").exists()

    # the worker has taken it and reports one document of two (what the task's update_state does)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJobStatus.RUNNING)
    app.backend.store_result(import_task_id(job_id=job.pk), {"documents": 1}, "PROGRESS")
    expect(running).to_contain_text("Importing")
    expect(bar).to_have_attribute("aria-valuenow", "50")
    expect(running).to_contain_text("1 of about 2 documents")
    expect(bar.locator("span")).to_have_attribute("style", "width: 50%")

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJobStatus.QUEUED)
    assert import_job_run(job_id=job.pk).status == ImportJobStatus.SUCCEEDED
    success = page.locator(".io-success")
    expect(success).to_contain_text("Imported.")
    expect(page.get_by_role("row", name="Documents 2")).to_be_visible()
    expect(page.locator(".io-running")).to_have_count(0)
    expect(success.get_by_role("link", name="upload-1")).to_be_visible()
    success.get_by_role("link", name="Open the project's documents").click()
    expect(page.get_by_text("upload-2")).to_be_visible()
    assert Document.objects.filter(name__startswith="upload-").count() == 2


def test_a_failed_queued_import_shows_its_error(scenario, new_page, live_server, settings, monkeypatch):
    from webapp.celery import app

    from annotation.services.imports import import_job_run

    settings.ELIGO_IMPORT_ASYNC_BYTES = 10
    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)
    page = new_page("carol")
    page.goto(f"{live_server.url}/projects/demo/import/")
    page.select_option("select[name=format]", "jsonl")
    page.set_input_files("input[name=file]", {"name": "bad.jsonl", "mimeType": "application/x-ndjson",
                                               "buffer": _jsonl().replace(b"[[9, 21]]", b"[[9, 99]]", 1)})
    page.locator("form.io-form button[type=submit]").click()
    expect(page.get_by_role("progressbar")).to_be_visible()
    import_job_run(job_id=ImportJob.objects.get().pk)
    expect(page.locator(".io-error")).to_contain_text("Import failed, nothing was imported.")
    expect(page.locator(".io-error")).to_contain_text("bad.jsonl:2: entity T1")
    assert not Document.objects.filter(name__startswith="upload-").exists()


def test_add_and_delete_a_normalization_in_the_annotation_view(scenario, new_page, live_server):
    from annotation.services.annotations import entity_create

    sentence = scenario["sentences"][1]
    entity = entity_create(sentence=sentence, user=scenario["users"]["alice"],
                           type=scenario["project"].entity_types.get(name="Drug"),
                           fragments=[span(sentence, "metformin")], expected_version=sentence.version)
    page = new_page("alice")
    page.goto(f"{live_server.url}/projects/demo/sentences/{sentence.pk}/")
    row = page.locator(f"#entity-list li[data-entity-id='{entity.pk}']")
    expect(row).to_contain_text("metformin")

    row.locator("summary", has_text="Normalize").click()
    row.get_by_label("Resource", exact=True).fill("UM LS")
    row.get_by_label("Reference").fill("C0025598")
    row.get_by_role("button", name="Add").click()
    expect(page.locator("#ann-message")).to_contain_text("resource")
    assert not Normalization.objects.exists()

    row = page.locator(f"#entity-list li[data-entity-id='{entity.pk}']")
    if row.locator("details.norm-add").get_attribute("open") is None:  # the refusal re-rendered it shut
        row.locator("summary", has_text="Normalize").click()
    row.get_by_label("Resource", exact=True).fill("UMLS")
    row.get_by_label("Reference").fill("C0025598")
    row.get_by_label("Name in the resource").fill("Metformin")
    row.get_by_role("button", name="Add").click()
    norm_row = page.locator(f"#entity-list li[data-entity-id='{entity.pk}'] li.norm")
    expect(norm_row).to_contain_text("UMLS:C0025598")
    expect(norm_row).to_contain_text("Metformin")
    created = Normalization.objects.get()
    assert (created.entity_id, created.resource, created.reference, created.text, created.created_by) == (
        entity.pk, "UMLS", "C0025598", "Metformin", scenario["users"]["alice"])
    assert AuditEvent.objects.filter(object_type="normalization", action="created").exists()

    norm_row.hover()  # the row's delete buttons show on hover
    norm_row.get_by_role("button", name="Delete normalization UMLS:C0025598").click()
    expect(page.locator(f"#entity-list li[data-entity-id='{entity.pk}'] li.norm")).to_have_count(0)
    assert not Normalization.objects.exists()
    page.keyboard.press("Control+z")
    expect(page.locator(f"#entity-list li[data-entity-id='{entity.pk}'] li.norm")).to_contain_text(
        "UMLS:C0025598")
    assert Normalization.objects.get().reference == "C0025598"
