"""Two annotators in two browsers follow the ranked queue: "Annotate next" gives them
different criteria in ranking order, Enter and Skip go on by the ranking, a manager sees and
releases a claim, and a claim left alone lapses."""
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotation.models import Claim, ModelVersion, Sentence, SentenceScore

pytestmark = pytest.mark.browser


@pytest.fixture
def ranked(scenario):
    """An active model whose scores put the criteria in the order 2, 0, 3, 1."""
    project, sentences = scenario["project"], scenario["sentences"]
    version = ModelVersion.objects.create(project=project, number=1, is_active=True,
                                          checkpoint_dir="/unused")
    scores = {2: 0.9, 0: 0.7, 3: 0.5, 1: 0.3}
    SentenceScore.objects.bulk_create(
        SentenceScore(project=project, sentence=sentences[i], model_version=version, score=score,
                      scores={"combined": score, "mnlp": 2 * score})
        for i, score in scores.items())
    return [sentences[i] for i in scores]


def annotate_next(page, live_server):
    page.goto(f"{live_server.url}/projects/demo/")
    page.get_by_role("link", name="Annotate next").click()
    expect(page.locator("#ann-text")).to_be_visible()


def shown(page) -> int:
    return int(page.locator("#sentence").get_attribute("data-id"))


def test_two_annotators_follow_the_ranking_on_different_criteria(ranked, new_page, live_server):
    alice, bob = new_page("alice"), new_page("bob")
    annotate_next(alice, live_server)
    annotate_next(bob, live_server)
    assert (shown(alice), shown(bob)) == (ranked[0].pk, ranked[1].pk)
    expect(alice.locator("#rank")).to_contain_text("Ranked #1 by model v1")
    expect(alice.locator("#rank")).to_contain_text("mnlp 1.800")
    expect(bob.locator("#rank")).to_contain_text("Ranked #2")

    # Enter (confirmed: nothing annotated) marks done and serves the next free one
    alice.keyboard.press("Enter")
    expect(alice.locator("#done-confirm")).to_be_visible()
    alice.keyboard.press("Enter")
    alice.wait_for_url(f"**/sentences/{ranked[2].pk}/")
    assert Sentence.objects.get(pk=ranked[0].pk).status == "done"

    # Skip passes over alice's claim: bob gets the last one
    bob.keyboard.press("s")
    bob.wait_for_url(f"**/sentences/{ranked[3].pk}/")

    # bob opening alice's criterion is told who is on it, and it stays hers
    bob.goto(f"{live_server.url}/projects/demo/sentences/{ranked[2].pk}/")
    expect(bob.locator("#claim-notice")).to_contain_text("alice is annotating this criterion")
    assert Claim.objects.get(sentence=ranked[2]).user.username == "alice"


def test_a_manager_releases_a_claim_and_an_idle_claim_lapses(ranked, new_page, live_server):
    alice, bob, carol = new_page("alice"), new_page("bob"), new_page("carol")
    annotate_next(alice, live_server)
    carol.goto(f"{live_server.url}/projects/demo/")
    row = carol.locator(f"#claims tr[data-sentence-id='{ranked[0].pk}']")
    expect(row).to_contain_text("alice")
    row.get_by_role("button", name="Release").click()
    expect(carol.locator(".messages")).to_contain_text("Released alice's claim")
    expect(carol.locator("#claims")).to_contain_text("Nobody holds a claim")
    annotate_next(bob, live_server)
    assert shown(bob) == ranked[0].pk

    # bob leaves it alone past the claim's lifetime (time moved, not waited for)
    past = timezone.now() - timedelta(minutes=31)
    Claim.objects.filter(user__username="bob").update(claimed_at=past, expires_at=past)
    annotate_next(alice, live_server)
    assert shown(alice) == ranked[0].pk
