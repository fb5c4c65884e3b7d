"""Agreement and curation in a real browser: a reviewer drills down from the agreement matrix
to a criterion, then curates it with the keyboard; the curated layer is what the export sees."""
import json

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from annotation.models import Entity, Sentence, SentenceStatus
from tests.annotation.agreement_fixtures import agreement_project_create
from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def iaa(transactional_db):
    reviewer = get_user_model().objects.create_user("rita", password=PASSWORD)
    return agreement_project_create(password=PASSWORD, members={reviewer: "reviewer"})


def test_drill_down_from_the_matrix(iaa, new_page, live_server, artifacts):
    page = new_page("rita")
    page.goto(f"{live_server.url}/projects/iaa/agreement/")
    expect(page.locator('#agreement-overall [data-figure="entities.strict_f1"]')).to_have_text("0.615")
    page.locator('#agreement-matrix td[data-pair="alice,bob"] a').first.click()
    page.screenshot(path=artifacts / "agreement.png", full_page=True)
    expect(page.locator("#agreement-pair")).to_have_attribute("data-pair", "alice,bob")
    page.locator("#agreement-criteria a", has_text="#2").click()
    bob = page.locator('[data-annotator="bob"]')
    expect(bob.locator('[data-entity="Temporal:prior"]')).to_have_attribute("data-mark", "only")
    expect(bob.locator('[data-entity="Procedure:metformin therapy"]')).to_have_attribute(
        "data-mark", "overlap")


def test_curate_a_criterion_with_the_keyboard(iaa, new_page, live_server, tmp_path, artifacts):
    sentence = Sentence.objects.get(project=iaa, index=1)
    page = new_page("rita")
    page.goto(f"{live_server.url}/projects/iaa/curate/sentences/{sentence.pk}/")
    curated = page.locator("#curated-layer [data-row=entity]")
    expect(curated).to_have_count(2)  # the two agreed Drugs, merged on opening
    expect(page.locator("#curated-layer [data-relation=OR]")).to_have_count(1)
    # bob's "metformin therapy": move the selection onto it and take it
    rows = page.locator("#curation [data-row]")
    target = next(i for i in range(rows.count())
                  if rows.nth(i).get_attribute("data-entity") == "Procedure:metformin therapy")
    for _ in range(target):
        page.keyboard.press("j")
    expect(rows.nth(target)).to_have_class("ag-mark-differs focused")
    page.keyboard.press("t")
    expect(curated).to_have_count(3)
    page.screenshot(path=artifacts / "curation.png", full_page=True)
    page.keyboard.press("c")
    expect(page.locator("[data-curated-status]")).to_have_attribute("data-curated-status", "reviewed")
    sentence.refresh_from_db()
    assert sentence.status == SentenceStatus.REVIEWED
    assert sorted(e.type.name for e in Entity.objects.filter(sentence=sentence, annotator=None)) == [
        "Drug", "Drug", "Procedure"]
    from annotation.services.corpus_io import corpus_export
    corpus_export(project=iaa, out=tmp_path / "out.jsonl", fmt="jsonl", statuses=["reviewed"])
    _header, record = (json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines())
    assert sorted(e["type"] for e in record["entities"]) == ["Drug", "Drug", "Procedure"]
