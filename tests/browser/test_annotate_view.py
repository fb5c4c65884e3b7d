"""The annotation view as a new user meets it: Enter and Done, attributes/notes/OR groups,
a long criterion, keyboard-only selection, and undo/redo in two tabs of one session."""
import pytest
from playwright.sync_api import expect

from annotation.models import Attribute, Entity, EntityType, GroupMember, Note, Project, Sentence
from tests.browser.scenario import make_document
from tests.browser.test_annotate import drag_over, entity_rows

pytestmark = pytest.mark.browser


def open_sentence(page, live_server, sentence):
    page.goto(f"{live_server.url}/projects/demo/sentences/{sentence.pk}/")
    expect(page.locator("#ann-text")).to_be_visible()


def mark_condition(page, words: str, *, count: int):
    """Select ``words`` and make them a Condition; ``count`` entities are then listed."""
    drag_over(page, words)
    page.keyboard.press("c")
    expect(entity_rows(page)).to_have_count(count)


def attribute_chosen(row, choice: str):
    """Open the entity row's extras and choose the attribute ``choice`` (``Name=Value``)."""
    row.locator("summary", has_text="Attribute, note, group").click()
    row.get_by_label("Attribute", exact=True).select_option(choice)


def test_enter_acts_only_in_the_criterion_and_an_empty_done_asks_first(scenario, new_page, live_server):
    previous, target, following = scenario["sentences"][1:4]
    page = new_page("alice")
    open_sentence(page, live_server, target)

    # Enter on the focused "Prev" link follows the link; it does not mark the criterion done
    page.get_by_role("link", name="← Prev").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/sentences/{previous.pk}/")
    assert Sentence.objects.get(pk=target.pk).status == "new"

    # Enter with nothing annotated asks first; Esc cancels, a second Enter confirms
    open_sentence(page, live_server, target)
    page.keyboard.press("Enter")
    expect(page.locator("#done-confirm")).to_be_visible()
    expect(page.locator("#done-confirm")).to_contain_text("no annotation")
    assert Sentence.objects.get(pk=target.pk).status == "new"
    page.keyboard.press("Escape")
    expect(page.locator("#done-confirm")).to_be_hidden()
    page.get_by_role("button", name="✓ Done").click()
    expect(page.locator("#done-confirm")).to_be_visible()
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: f"/sentences/{target.pk}/" not in url)  # next of the ranking
    assert Sentence.objects.get(pk=target.pk).status == "done"

    # with an annotation, Enter in the text marks done at once
    open_sentence(page, live_server, following)
    drag_over(page, "HbA1c")
    page.keyboard.press("o")
    expect(entity_rows(page)).to_have_count(1)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: f"/sentences/{following.pk}/" not in url)
    assert Sentence.objects.get(pk=following.pk).status == "done"


def test_attributes_notes_and_or_groups_are_shown_and_edited(scenario, new_page, live_server):
    Project.objects.filter(pk=scenario["project"].pk).update(
        attribute_types=["Optional", "Confidence"], attribute_values={"Confidence": ["High", "Low"]},
        group_types=["OR"])
    target = scenario["sentences"][2]
    page = new_page("alice")
    open_sentence(page, live_server, target)
    mark_condition(page, "heart failure", count=1)
    mark_condition(page, "severe renal impairment", count=2)
    first = entity_rows(page).nth(0)

    attribute_chosen(first, "Confidence=Low")
    first.get_by_role("button", name="Add attribute").click()
    expect(page.locator("#ann-text .chip .flag", has_text="Confidence=Low")).to_be_visible()
    attribute = Attribute.objects.get()
    assert (attribute.name, attribute.value) == ("Confidence", "Low")
    entity_rows(page).nth(0).get_by_label("Value of Confidence").select_option("High")
    expect(page.locator("#ann-text .chip .flag", has_text="Confidence=High")).to_be_visible()
    assert Attribute.objects.get().value == "High"

    first = entity_rows(page).nth(0)
    first.locator("summary", has_text="Attribute, note, group").click()
    first.get_by_label("New note").fill("acute only")
    first.get_by_role("button", name="Add note").click()
    note = entity_rows(page).nth(0).get_by_label("Note", exact=True)
    expect(note).to_have_value("acute only")
    version = int(page.locator("#sentence").get_attribute("data-version"))
    note.fill("acute or chronic")
    note.press("Enter")  # saves the note
    expect(page.locator("#sentence")).to_have_attribute("data-version", str(version + 1))
    expect(entity_rows(page).nth(0).get_by_label("Note", exact=True)).to_have_value("acute or chronic")
    assert Note.objects.get().text == "acute or chronic"

    for row, choice in ((0, "new OR group"), (1, "into OR 1")):
        item = entity_rows(page).nth(row)
        item.locator("summary", has_text="Attribute, note, group").click()
        item.get_by_label("Group").select_option(label=choice)
        item.get_by_role("button", name="Add to group").click()
        expect(page.locator("#group-list .member")).to_have_count(row + 1)
    expect(page.locator("#group-list")).to_contain_text("OR 1")
    expect(page.locator("#ann-text .grp-flag", has_text="OR1")).to_have_count(2)
    assert GroupMember.objects.count() == 2

    # undone and redone like any edit
    page.locator("body").press("Control+z")
    expect(page.locator("#group-list .member")).to_have_count(1)
    page.locator("body").press("Control+Shift+z")
    expect(page.locator("#group-list .member")).to_have_count(2)
    expect(page.locator("#ann-message")).to_contain_text("Redone: add to group")

    entity_rows(page).nth(0).get_by_role("button", name="Delete attribute Confidence").click()
    expect(page.locator("#ann-text .chip .flag", has_text="Confidence")).to_have_count(0)
    assert not Attribute.objects.exists()
    page.get_by_role("button", name="Take severe renal impairment out of OR group 1").click()
    expect(page.locator("#group-list .member")).to_have_count(1)


CHANGE_WHEN_SHOWN = """() => new MutationObserver((changes, observer) => {
    const select = document.querySelector('select[aria-label="Value of Confidence"]');
    if (!select) return;
    observer.disconnect();
    select.value = "High";
    select.dispatchEvent(new Event("change", {bubbles: true}));
}).observe(document.body, {childList: true, subtree: true})"""


def test_a_control_answers_the_moment_it_is_shown(scenario, new_page, live_server):
    """htmx binds a swapped-in form's trigger when the swap settles; the value select is
    changed in the very task that shows it, and the change is still saved."""
    Project.objects.filter(pk=scenario["project"].pk).update(
        attribute_types=["Confidence"], attribute_values={"Confidence": ["High", "Low"]})
    page = new_page("alice")
    open_sentence(page, live_server, scenario["sentences"][2])
    mark_condition(page, "heart failure", count=1)
    first = entity_rows(page).nth(0)
    attribute_chosen(first, "Confidence=Low")
    page.evaluate(CHANGE_WHEN_SHOWN)
    first.get_by_role("button", name="Add attribute").click()
    expect(page.locator("#ann-text .chip .flag", has_text="Confidence=High")).to_be_visible()
    assert Attribute.objects.get().value == "High"


def test_a_long_criterion_keeps_toolbar_palette_and_list_in_reach(scenario, new_page, live_server):
    project = scenario["project"]
    long_name = "Pre-existing condition or comorbidity"
    EntityType.objects.filter(project=project, name="Condition").update(name=long_name)
    words = " ".join(f"word{i}" for i in range(1000))[:6000]
    document = make_document(project, name="NCT00000009_long", criteria=[words])
    sentence = document.sentences.get()
    page = new_page("alice")
    open_sentence(page, live_server, sentence)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(100)
    height = page.viewport_size["height"]

    def in_view(locator):
        box = locator.bounding_box()
        return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height

    assert page.evaluate("window.scrollY") > 500
    assert in_view(page.get_by_role("button", name="✓ Done"))
    assert in_view(page.locator(".ann-side h3", has_text="Entities"))
    assert in_view(page.locator(".type-btn", has_text=long_name))
    # the whole name is shown, not cut with an ellipsis
    assert page.evaluate("""() => [...document.querySelectorAll('.type-btn .nm, .rel-btn .nm')]
        .every(nm => nm.scrollWidth <= nm.clientWidth + 1)""")
    # and a selection at the end of the text can be typed at once, from the palette too
    drag_over(page, words.split()[-2])
    page.locator(".type-btn", has_text=long_name).click()
    expect(entity_rows(page)).to_have_count(1)

    # the help overlay opens at its top, even when it is taller than the window
    page.set_viewport_size({"width": 900, "height": 420})
    page.keyboard.press("?")
    help_dialog = page.locator("#help")
    expect(help_dialog).to_be_visible()
    assert help_dialog.evaluate("d => d.scrollHeight > d.clientHeight")
    assert help_dialog.evaluate("d => d.scrollTop") == 0
    assert in_view(page.locator("#help-title"))


def test_keyboard_only_span_selection(scenario, new_page, live_server):
    target = scenario["sentences"][2]  # "No history of heart failure or severe renal impairment."
    page = new_page("alice")
    open_sentence(page, live_server, target)
    # Shift+→ outside the text no longer leaves the criterion
    page.keyboard.press("Shift+ArrowRight")
    page.wait_for_timeout(200)
    assert page.url.endswith(f"/sentences/{target.pk}/")

    page.locator("#ann-text").focus()
    for _ in range(4):  # No, history, of, heart
        page.keyboard.press("ArrowRight")
    assert page.evaluate("window.getSelection().toString()") == "heart"
    page.keyboard.press("Shift+ArrowRight")
    assert page.evaluate("window.getSelection().toString()") == "heart failure"
    page.keyboard.press("c")
    expect(entity_rows(page)).to_have_count(1)
    entity = Entity.objects.get()
    local = target.text.index("heart failure")
    assert entity.fragments == [[target.start + local, target.start + local + len("heart failure")]]
    assert page.url.endswith(f"/sentences/{target.pk}/")

    # the caret goes on after the new entity, in the text that still has focus
    expect(page.locator("#ann-text")).to_be_focused()
    assert page.evaluate("window.getSelection().toString()") == "or"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    assert page.evaluate("window.getSelection().toString()") == "severe renal impairment"
    page.keyboard.press("Shift+ArrowLeft")
    assert page.evaluate("window.getSelection().toString()") == "severe renal"
    page.keyboard.press("c")
    expect(entity_rows(page)).to_have_count(2)
    assert sorted(Entity.objects.values_list("start", flat=True))[-1] == target.start + target.text.index("severe")


def test_two_tabs_of_one_user_have_their_own_undo_and_redo(scenario, new_page, live_server):
    target = scenario["sentences"][1]
    one = new_page("alice")
    two = one.context.new_page()  # same browser, same session: a second tab
    open_sentence(one, live_server, target)
    drag_over(one, "metformin")
    one.keyboard.press("d")
    expect(entity_rows(one)).to_have_count(1)
    expect(one.locator('[data-act="undo"]')).to_be_enabled()

    open_sentence(two, live_server, target)
    expect(entity_rows(two)).to_have_count(1)
    expect(two.locator('[data-act="undo"]')).to_be_disabled()  # tab one's edit is not ours
    drag_over(two, "type 2 diabetes")
    two.keyboard.press("c")
    expect(entity_rows(two)).to_have_count(2)

    # Ctrl+Z in tab two undoes tab two's entity, not tab one's
    two.locator("body").press("Control+z")
    expect(entity_rows(two)).to_have_count(1)
    assert list(Entity.objects.values_list("type__name", flat=True)) == ["Drug"]
    expect(two.locator('[data-act="redo"]')).to_be_enabled()
    two.locator("body").press("Control+y")
    expect(entity_rows(two)).to_have_count(2)
    assert sorted(Entity.objects.values_list("type__name", flat=True)) == ["Condition", "Drug"]

    # tab one's undo no longer applies (the sentence moved on): refused, nothing changed
    one.locator("body").press("Control+z")
    expect(one.locator("#ann-message")).to_contain_text("Not saved")  # its page was stale
    one.locator("body").press("Control+z")
    expect(one.locator("#ann-message")).to_contain_text("Cannot undo")
    assert Entity.objects.count() == 2
