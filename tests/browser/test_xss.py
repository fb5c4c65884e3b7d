"""Script in annotated text, label names, guidelines and file names stays inert in a real browser.

Every payload sets ``window.__xss`` if it ever runs; the pages must show the payloads as text.
"""
import pytest

from annotation.models import Entity, EntityType, Sentence
from tests.browser.scenario import make_document, span

pytestmark = pytest.mark.browser

IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=1</script>"
SVG = '<svg onload="window.__xss=1">'


@pytest.fixture
def hostile(scenario):
    project = scenario["project"]
    EntityType.objects.filter(project=project).order_by("order").filter(
        pk=project.entity_types.order_by("order").first().pk).update(name=f"Cond {SVG}")
    project.guidelines = f"# Rules {SCRIPT}\n\n{IMG}\n\n[link](javascript:window.__xss=1)"
    project.title = f"Trial {IMG}"
    project.save()
    document = make_document(project, name=f"evil{SCRIPT}"[:100],
                             criteria=[f"Adults with {IMG} and {SCRIPT} disease."])
    sentence = Sentence.objects.get(document=document)
    Entity.objects.create(document=document, sentence=sentence,
                          type=project.entity_types.order_by("order").first(),
                          fragments=[span(sentence, IMG)], start=span(sentence, IMG)[0],
                          end=span(sentence, IMG)[1])
    return {**scenario, "evil_document": document, "evil_sentence": sentence}


def test_payloads_render_as_text_and_never_run(hostile, new_page, live_server):
    page = new_page("carol")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    project = hostile["project"].name
    urls = [
        "/", f"/projects/{project}/", f"/projects/{project}/guidelines/",
        f"/projects/{project}/documents/",
        f"/projects/{project}/documents/{hostile['evil_document'].pk}/",
        f"/projects/{project}/sentences/{hostile['evil_sentence'].pk}/",
    ]
    shown = ""
    for url in urls:
        page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("load")
        assert page.evaluate("window.__xss") is None, url
        shown += page.inner_text("body")
    assert not dialogs
    assert "onerror=" in shown and "<script>" in shown, "the payloads must be visible as text"
    assert page.locator("a[href^='javascript:']").count() == 0
