"""Model suggestions in a real browser: accept one (it becomes an annotation on the page and
in the database, from source "model"), reject another, and see the review queue."""
import pytest
from playwright.sync_api import expect

from annotation.models import Entity, ModelVersion, PredictedEntity, SentenceScore, Source, SuggestionStatus
from tests.browser.scenario import span

pytestmark = pytest.mark.browser


def _suggest(version, sentence, words, type_name, probability):
    start, end = span(sentence, words)
    return PredictedEntity.objects.create(
        model_version=version, sentence=sentence, type=version.project.entity_types.get(name=type_name),
        fragments=[[start, end]], start=start, end=end, probability=probability)


def test_accept_and_reject_suggestions_in_the_annotation_view(scenario, new_page, live_server, artifacts):
    project, sentence = scenario["project"], scenario["sentences"][2]  # "No history of heart failure ..."
    version = ModelVersion.objects.create(project=project, number=1, checkpoint_dir="/unused", is_active=True)
    accepted = _suggest(version, sentence, "heart failure", "Condition", 0.91)
    rejected = _suggest(version, sentence, "severe", "Qualifier/modifier", 0.42)
    for i, s in enumerate(scenario["sentences"]):
        SentenceScore.objects.create(project=project, sentence=s, model_version=version, score=i / 10)

    page = new_page("carol")  # a manager: annotators see suggestions but do not decide them
    page.goto(f"{live_server.url}/projects/demo/review/")
    expect(page.locator("#review-queue tbody tr").first).to_have_attribute("data-sentence", str(scenario["sentences"][-1].pk))

    page.goto(f"{live_server.url}/projects/demo/sentences/{sentence.pk}/")
    item = page.locator(f'#model-suggestions [data-suggestion="entity-{accepted.pk}"]')
    expect(item).to_have_attribute("data-status", "pending")
    item.get_by_title("Accept").click()
    # the sentence re-renders with the new human annotation; the suggestion is no longer drawn
    expect(page.locator("#entity-list li[data-entity-id]")).to_have_count(1)
    expect(page.locator("#entity-list li[data-entity-id]").first).to_have_attribute("data-text", "heart failure")
    expect(page.locator(f'[data-suggestion="entity-{accepted.pk}"]')).to_have_count(0)
    page.locator(f'#model-suggestions [data-suggestion="entity-{rejected.pk}"]').get_by_title("Reject").click()
    expect(page.locator(f'[data-suggestion="entity-{rejected.pk}"]')).to_have_count(0)
    page.screenshot(path=str(artifacts / "suggestions.png"), full_page=True)

    entity = Entity.objects.get(sentence=sentence)
    assert (entity.source, entity.source_detail, entity.type.name) == (Source.MODEL, "model v1", "Condition")
    assert PredictedEntity.objects.get(pk=rejected.pk).status == SuggestionStatus.REJECTED
    assert not Entity.objects.filter(type__name="Qualifier/modifier").exists()

    pending = _suggest(version, sentence, "history", "Condition", 0.5)
    annotator = new_page("alice")
    annotator.goto(f"{live_server.url}/projects/demo/sentences/{sentence.pk}/")
    expect(annotator.locator(f'#model-suggestions [data-suggestion="entity-{pending.pk}"]')).to_have_attribute("data-status", "pending")
    expect(annotator.locator("[data-suggestions-readonly]")).to_be_visible()
    expect(annotator.locator("#model-suggestions").get_by_title("Accept", exact=True)).to_have_count(0)
