"""Model suggestions drawn in the text of the annotation view (dashed chips, spans and arcs),
decided by key and by click, and an accept undone like any edit."""
import pytest
from playwright.sync_api import expect

from annotation.models import (
    Entity, ModelVersion, PredictedEntity, PredictedRelation, Relation, SuggestionStatus,
)
from tests.browser.scenario import span

pytestmark = pytest.mark.browser


def _entity(version, sentence, words, type_name, confidence):
    start, end = span(sentence, words)
    return PredictedEntity.objects.create(
        model_version=version, sentence=sentence, type=version.project.entity_types.get(name=type_name),
        fragments=[[start, end]], start=start, end=end, probability=min(1.0, confidence + 0.05),
        calibrated_confidence=confidence)


@pytest.fixture
def suggested(scenario):
    """On "No history of heart failure or severe renal impairment.": four entity
    suggestions and one relation, by position: No, heart failure, severe, renal impairment."""
    project, sentence = scenario["project"], scenario["sentences"][2]
    version = ModelVersion.objects.create(project=project, number=1, checkpoint_dir="/unused", is_active=True)
    no = _entity(version, sentence, "No", "Negation cue", 0.8)
    heart = _entity(version, sentence, "heart failure", "Condition", 0.91)
    severe = _entity(version, sentence, "severe", "Qualifier/modifier", 0.42)
    renal = _entity(version, sentence, "renal impairment", "Condition", 0.6)
    relation = PredictedRelation.objects.create(
        model_version=version, sentence=sentence, head=heart, tail=no, probability=0.75,
        calibrated_confidence=0.7, type=project.relation_types.get(name="is negated"))
    return {"sentence": sentence, "no": no, "heart": heart, "severe": severe, "renal": renal,
            "relation": relation}


def _status(prediction):
    prediction.refresh_from_db()
    return prediction.status


def _open(page, live_server, sentence, shown=4):
    page.goto(f"{live_server.url}/projects/demo/sentences/{sentence.pk}/")
    expect(page.locator("#ann-text .chip.sugg")).to_have_count(shown)


def test_suggestions_are_drawn_in_the_text_and_decided_by_key_and_undone(
        suggested, new_page, live_server, artifacts):
    page = new_page("carol")  # a manager
    _open(page, live_server, suggested["sentence"])
    heart = suggested["heart"]
    chip = page.locator(f'#ann-text .chip.sugg[data-suggestion="entity-{heart.pk}"]')
    expect(chip).to_have_attribute("title", "Suggested Condition: heart failure · confidence 0.91 · model v1")
    assert chip.evaluate("el => getComputedStyle(el).outlineStyle") == "dashed"
    # the chips add no character to the text (offsets of a selection stay right)
    assert page.evaluate("""() => { const text = document.getElementById("ann-text").cloneNode(true);
        text.querySelectorAll(".chip").forEach(chip => chip.remove()); return text.textContent; }""") \
        == suggested["sentence"].text
    human = page.locator("#ann-text .chip:not(.sugg)")
    expect(human).to_have_count(0)
    arc = page.locator(f'svg.arcs g.arc.suggested[data-suggestion="relation-{suggested["relation"].pk}"]')
    expect(arc).to_have_count(1)
    assert arc.locator("path").evaluate("el => getComputedStyle(el).strokeDasharray") != "none"
    assert arc.locator("title").text_content() == "Suggested is negated · confidence 0.70"
    page.screenshot(path=str(artifacts / "suggestions-in-text.png"), full_page=True)

    page.keyboard.press("]")
    page.keyboard.press("]")
    expect(chip).to_have_class("chip sugg is-current")
    page.keyboard.press("=")  # accept "heart failure"
    expect(page.locator("#entity-list li[data-entity-id]")).to_have_count(1)
    expect(page.locator("#entity-list li[data-entity-id]").first).to_have_attribute("data-text", "heart failure")
    expect(chip).to_have_count(0)
    # the next suggestion ("severe") is selected; reject it by key
    severe = page.locator(f'#model-suggestions li[data-suggestion="entity-{suggested["severe"].pk}"]')
    expect(severe).to_have_class("is-current")
    page.keyboard.press("-")
    expect(severe).to_have_count(0)
    assert _status(suggested["severe"]) == SuggestionStatus.REJECTED
    assert _status(heart) == SuggestionStatus.ACCEPTED

    page.keyboard.press("Control+z")  # the reject: "severe" is pending and drawn again
    expect(severe).to_have_count(1)
    assert _status(suggested["severe"]) == SuggestionStatus.PENDING
    page.keyboard.press("Control+z")  # the accept: the entity goes, the suggestion is back
    expect(page.locator("#entity-list li[data-entity-id]")).to_have_count(0)
    expect(chip).to_have_count(1)
    assert _status(heart) == SuggestionStatus.PENDING
    assert not Entity.objects.filter(sentence=suggested["sentence"]).exists()


def test_suggestions_are_decided_by_click_and_annotators_only_see_them(
        suggested, new_page, live_server):
    page = new_page("carol")
    _open(page, live_server, suggested["sentence"])
    relation = page.locator(f'#model-suggestions li[data-suggestion="relation-{suggested["relation"].pk}"]')
    relation.get_by_title("Accept").click()  # accepts its two ends with it
    expect(page.locator("#relation-list li[data-relation-id]")).to_have_count(1)
    expect(page.locator("#entity-list li[data-entity-id]")).to_have_count(2)
    expect(page.locator("svg.arcs g.arc.suggested")).to_have_count(0)
    expect(page.locator("svg.arcs g.arc[data-relation-id]")).to_have_count(1)
    renal = page.locator(f'#ann-text .chip.sugg[data-suggestion="entity-{suggested["renal"].pk}"]')
    renal.click()  # a click selects a suggestion in the text
    expect(renal).to_have_class("chip sugg is-current")
    page.locator(f'#model-suggestions li[data-suggestion="entity-{suggested["renal"].pk}"]').get_by_title("Reject").click()
    expect(renal).to_have_count(0)
    assert _status(suggested["renal"]) == SuggestionStatus.REJECTED
    assert Relation.objects.filter(sentence=suggested["sentence"]).count() == 1

    annotator = new_page("alice")
    _open(annotator, live_server, suggested["sentence"], shown=1)  # "severe" is left
    expect(annotator.locator("[data-suggestions-readonly]")).to_be_visible()
    expect(annotator.locator("#model-suggestions").get_by_title("Accept")).to_have_count(0)
    annotator.keyboard.press("]")
    annotator.keyboard.press("*")
    expect(annotator.locator(".is-current")).to_have_count(0)
    assert _status(suggested["severe"]) == SuggestionStatus.PENDING
