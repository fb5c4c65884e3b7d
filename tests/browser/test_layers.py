"""Independent annotation in a real browser: a manager switches the project to independent
mode and assigns the document to two annotators automatically; both annotate the same
criterion, each sees only their own work, and the manager's curated layer holds neither."""
import pytest
from playwright.sync_api import expect

from annotation.models import Assignment, Entity, SentenceLayer
from tests.browser.test_annotate import drag_over, entity_rows

pytestmark = pytest.mark.browser


def test_two_annotators_annotate_the_same_document_independently(scenario, new_page, live_server):
    target = scenario["sentences"][2]
    manager = new_page("carol")
    manager.goto(f"{live_server.url}/projects/demo/")
    manager.get_by_role("link", name="Assignments").click()
    manager.select_option("#mode-form select[name=annotation_mode]", "independent")
    manager.fill("#mode-form input[name=annotators_per_document]", "2")
    manager.get_by_role("button", name="Save mode").click()
    expect(manager.locator(".messages")).to_contain_text("Mode: Independent")
    manager.locator("#auto-form input[value=alice]").check()
    manager.locator("#auto-form input[value=bob]").check()
    manager.get_by_role("button", name="Assign automatically (balanced)").click()
    expect(manager.locator(".messages")).to_contain_text("2 assignments made.")
    expect(manager.locator("#assignment-table [data-annotator]")).to_have_count(2)
    assert Assignment.objects.count() == 2

    alice = new_page("alice")
    alice.goto(f"{live_server.url}/projects/demo/")
    alice.get_by_role("link", name="Annotate next").click()
    expect(alice.locator("#ann-text")).to_contain_text("Inclusion criteria")
    alice.goto(f"{live_server.url}/projects/demo/sentences/{target.pk}/")
    drag_over(alice, "heart failure")
    alice.keyboard.press("c")
    expect(entity_rows(alice)).to_have_count(1)

    bob = new_page("bob")
    bob.goto(f"{live_server.url}/projects/demo/sentences/{target.pk}/")
    expect(bob.locator("#ann-text")).to_contain_text("No history of heart failure")
    expect(entity_rows(bob)).to_have_count(0)
    drag_over(bob, "severe renal impairment")
    bob.keyboard.press("c")
    expect(entity_rows(bob)).to_have_count(1)
    expect(entity_rows(bob)).to_contain_text("severe renal impairment")
    bob.get_by_role("button", name="Done").click()
    expect(bob.locator("#ann-text")).to_contain_text("HbA1c between")

    alice.reload()
    expect(entity_rows(alice)).to_have_count(1)
    expect(entity_rows(alice)).to_contain_text("heart failure")
    expect(alice.locator("#status-badge")).to_have_text("In progress")
    manager.goto(f"{live_server.url}/projects/demo/sentences/{target.pk}/")
    expect(manager.locator("#ann-text")).to_contain_text("No history of heart failure")
    expect(entity_rows(manager)).to_have_count(0)

    by_layer = dict(Entity.objects.filter(sentence=target).values_list("annotator__username", "end"))
    assert set(by_layer) == {"alice", "bob"}
    assert SentenceLayer.objects.get(sentence=target, annotator__username="bob").status == "done"
    assert SentenceLayer.objects.get(sentence=target, annotator__username="alice").status == "in_progress"
    target.refresh_from_db()
    assert (target.status, target.version) == ("new", 1)
