"""Annotating in a real browser: mouse selection + keys, relations, undo, status, navigation,
and two annotators editing the same sentence. After each step the database must hold
exactly what the page shows."""
import pytest
from playwright.sync_api import expect

from annotation.models import Entity, Relation, Sentence

pytestmark = pytest.mark.browser

PAGE_STATE = """() => {
  const root = document.getElementById('sentence');
  return {
    version: Number(root.dataset.version),
    status: root.dataset.status,
    entities: [...document.querySelectorAll('#entity-list li[data-entity-id]')].map(
      li => [Number(li.dataset.entityId), li.dataset.type, JSON.parse(li.dataset.fragments)]),
    relations: [...document.querySelectorAll('#relation-list li[data-relation-id]')].map(
      li => [Number(li.dataset.relationId), li.dataset.type, Number(li.dataset.head), Number(li.dataset.tail)]),
    chips: document.querySelectorAll('#ann-text .chip:not(.cont)').length,
  };
}"""

WORD_BOX = """(words) => {
  const text = document.getElementById('ann-text');
  const local = document.getElementById('sentence').dataset.text.indexOf(words);
  const base = Number(text.dataset.start);
  const point = (offset, atEnd) => {
    for (const seg of text.querySelectorAll('.seg')) {
      const s = Number(seg.dataset.s), e = Number(seg.dataset.e);
      if (atEnd ? (s < offset && offset <= e) : (s <= offset && offset < e)) return [seg.lastChild, offset - s];
    }
  };
  const range = document.createRange();
  const a = point(base + local, false), b = point(base + local + words.length, true);
  range.setStart(...a); range.setEnd(...b);
  const rects = [...range.getClientRects()].filter(r => r.width > 0);
  const first = rects[0], last = rects[rects.length - 1];
  return {x1: first.left + 3, y1: first.top + first.height / 2, x2: last.right - 3, y2: last.top + last.height / 2,
          cx: first.left + first.width / 2};
}"""


def page_state(page) -> dict:
    return page.evaluate(PAGE_STATE)


def db_state(sentence_id: int) -> dict:
    sentence = Sentence.objects.get(pk=sentence_id)
    entities = Entity.objects.filter(sentence=sentence).select_related("type")
    relations = Relation.objects.filter(head__sentence=sentence).select_related("type")
    return {
        "version": sentence.version,
        "status": sentence.status,
        "entities": sorted([e.pk, e.type.name, e.fragments] for e in entities),
        "relations": sorted([r.pk, r.type.name, r.head_id, r.tail_id] for r in relations),
    }


def assert_page_matches_db(page, sentence_id: int) -> dict:
    shown = page_state(page)
    assert shown["chips"] == len(shown["entities"])
    stored = db_state(sentence_id)
    assert {**shown, "entities": sorted(shown["entities"]), "relations": sorted(shown["relations"])} == {
        **stored, "chips": len(stored["entities"])}
    return shown


def drag_over(page, words: str) -> None:
    """Select ``words`` with the mouse, starting and ending inside the words (snapping fixes it)."""
    box = page.evaluate(WORD_BOX, words)
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move(box["x2"], box["y2"], steps=4)
    page.mouse.up()


def double_click(page, word: str) -> None:
    box = page.evaluate(WORD_BOX, word)
    page.mouse.dblclick(box["cx"], box["y1"])


def chip(page, type_name: str):
    return page.locator("#ann-text .chip:not(.cont)", has_text=type_name).first


def entity_rows(page):
    return page.locator("#entity-list li[data-entity-id]")


def test_annotate_with_mouse_and_keys(scenario, new_page, live_server, artifacts):
    sentences = scenario["sentences"]
    target, following = sentences[2], sentences[3]
    page = new_page("alice")
    expect(page.get_by_text("Diabetes trials")).to_be_visible()
    page.goto(f"{live_server.url}/projects/demo/sentences/{target.pk}/")
    expect(page.locator("#ann-text")).to_contain_text("No history of heart failure")
    expect(page.locator(".context-sentence").first).to_contain_text("Inclusion criteria")
    assert_page_matches_db(page, target.pk)

    # select part of two words; the selection snaps to "heart failure"; "c" makes a Condition
    drag_over(page, "eart failur")
    page.keyboard.press("c")
    expect(entity_rows(page)).to_have_count(1)
    state = assert_page_matches_db(page, target.pk)
    assert state["entities"][0][1:] == ["Condition", [[target.start + 14, target.start + 27]]]
    assert state["status"] == "in_progress"

    # double-click selects a word; "x" makes it a Negation cue
    double_click(page, "No")
    page.keyboard.press("x")
    expect(entity_rows(page)).to_have_count(2)
    assert_page_matches_db(page, target.pk)

    # relation: click the head, click the tail, press the relation key
    chip(page, "Condition").click()
    chip(page, "Negation cue").click()
    expect(page.locator(".rel-btn", has_text="is negated")).to_be_enabled()
    expect(page.locator(".rel-btn", has_text="has value")).to_be_disabled()
    page.keyboard.press("1")
    expect(page.locator("#relation-list li[data-relation-id]")).to_have_count(1)
    expect(page.locator("svg.arcs g.arc")).to_have_count(1)
    state = assert_page_matches_db(page, target.pk)
    assert state["relations"][0][1] == "is negated"

    # the relation only allows a Negation cue as its tail: making "No" a Condition is refused
    chip(page, "Negation cue").click()
    page.keyboard.press("c")
    expect(page.locator("#ann-message")).to_contain_text(
        "Not changed: Condition is not allowed by this relation of the entity")
    assert assert_page_matches_db(page, target.pk) == state

    # a third entity, then change its type with another key
    drag_over(page, "severe renal impairment")
    page.keyboard.press("c")
    expect(entity_rows(page)).to_have_count(3)
    page.locator("#ann-text .chip", has_text="Condition").nth(1).click()
    page.keyboard.press("o")
    expect(chip(page, "Observation")).to_be_visible()
    assert_page_matches_db(page, target.pk)
    assert Entity.objects.get(type__name="Observation").fragments == [
        [target.start + 31, target.start + 54]]

    # delete it with the Delete key, then bring it back with Ctrl+Z
    chip(page, "Observation").click()
    page.keyboard.press("Delete")
    expect(entity_rows(page)).to_have_count(2)
    assert_page_matches_db(page, target.pk)
    page.keyboard.press("Control+z")
    expect(entity_rows(page)).to_have_count(3)
    expect(page.locator("#ann-message")).to_contain_text("Undone: delete entity")
    assert_page_matches_db(page, target.pk)

    # a nested entity gets its own underline layer inside the outer one
    drag_over(page, "renal impairment")
    page.keyboard.press("c")
    expect(entity_rows(page)).to_have_count(4)
    assert_page_matches_db(page, target.pk)
    expect(page.locator('#ann-text .seg[data-ents~="%d"]' % Entity.objects.get(
        type__name="Observation").pk)).to_have_count(2)
    page.screenshot(path=str(artifacts / "screenshot-annotate.png"))

    # help overlay
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    expect(page.locator("#help")).to_contain_text("Negation cue")
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()

    # Enter marks done and moves on to the next open criterion of the ranking (no model yet:
    # the project's seeded random order)
    others = [s for s in scenario["sentences"] if s.pk != target.pk]
    ranked_first = min(others, key=lambda s: s.queue_key)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/sentences/{ranked_first.pk}/")
    assert Sentence.objects.get(pk=target.pk).status == "done"
    assert_page_matches_db(page, ranked_first.pk)

    # keys navigate in the document: back, forward, back again
    page.goto(f"{live_server.url}/projects/demo/sentences/{following.pk}/")
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(f"**/sentences/{target.pk}/")
    expect(page.locator("#status-badge")).to_have_text("Done")
    assert_page_matches_db(page, target.pk)
    page.keyboard.press("j")
    page.wait_for_url(f"**/sentences/{following.pk}/")
    page.keyboard.press("k")
    page.wait_for_url(f"**/sentences/{target.pk}/")
    assert_page_matches_db(page, target.pk)


def test_concurrent_edit_is_refused_with_fresh_version(scenario, new_page, live_server):
    target = scenario["sentences"][1]
    address = f"{live_server.url}/projects/demo/sentences/{target.pk}/"
    alice, bob = new_page("alice"), new_page("bob")
    alice.goto(address)
    bob.goto(address)

    drag_over(alice, "metformin")
    alice.keyboard.press("d")
    expect(entity_rows(alice)).to_have_count(1)
    assert_page_matches_db(alice, target.pk)

    # bob still looks at version 1: his save is refused, and he now sees alice's entity
    drag_over(bob, "type 2 diabetes")
    bob.keyboard.press("c")
    expect(bob.locator("#ann-message")).to_contain_text("Not saved: alice changed this sentence")
    expect(entity_rows(bob)).to_have_count(1)
    expect(entity_rows(bob).first).to_have_attribute("data-type", "Drug")
    assert_page_matches_db(bob, target.pk)
    assert list(Entity.objects.values_list("type__name", flat=True)) == ["Drug"]

    # on the fresh version his retry goes through
    drag_over(bob, "type 2 diabetes")
    bob.keyboard.press("c")
    expect(entity_rows(bob)).to_have_count(2)
    assert_page_matches_db(bob, target.pk)

    # Shift + drag extends the selected entity; distant text makes it discontinuous
    chip(bob, "Drug").click()
    bob.keyboard.down("Shift")
    drag_over(bob, "3 months")
    bob.keyboard.up("Shift")
    expect(bob.locator("#entity-list li.discontinuous")).to_have_count(1)
    expect(bob.locator("svg.arcs g.fragment-link")).to_have_count(1)
    state = assert_page_matches_db(bob, target.pk)
    drug = next(e for e in state["entities"] if e[1] == "Drug")
    text = target.text
    assert drug[2] == [[target.start + text.index("metformin"), target.start + text.index(" for")],
                       [target.start + text.index("3 months"), target.start + len(text) - 1]]


def test_dashboard_and_document_list(scenario, new_page, live_server, artifacts):
    from annotation.services.annotations import entity_create, relation_create
    from tests.browser.scenario import make_document, span

    project, users = scenario["project"], scenario["users"]
    for n in range(2, 6):
        make_document(project, name=f"NCT0000000{n}_exc")
    types = {t.name: t for t in project.entity_types.all()}
    relation_types = {t.name: t for t in project.relation_types.all()}
    for i, sentence in enumerate(Sentence.objects.filter(project=project, index=1)):
        user = users["alice" if i % 2 else "bob"]
        made = {}
        for words, name in (("type 2 diabetes", "Condition"), ("metformin", "Drug"),
                            ("at least 3 months", "Temporal constraint"), ("Adults", "Demographics")):
            made[name] = entity_create(sentence=sentence, user=user, type=types[name],
                                       fragments=[span(sentence, words)],
                                       expected_version=sentence.version)
        relation_create(sentence=sentence, user=user, type=relation_types["has temporal constraint"],
                        head_id=made["Drug"].pk, tail_id=made["Temporal constraint"].pk,
                        expected_version=sentence.version)
    Sentence.objects.filter(project=project, index=0).update(status="done", updated_by=users["alice"])
    Sentence.objects.filter(project=project, index=1, document__name__endswith="2_exc").update(
        status="reviewed")
    page = new_page("carol")
    page.goto(f"{live_server.url}/projects/demo/")
    expect(page.locator("[data-status=done]")).to_have_text("5")
    expect(page.locator("[data-status=in_progress]")).to_have_text("4")
    expect(page.locator("svg.bar-chart").first).to_contain_text("Condition")
    page.screenshot(path=str(artifacts / "screenshot-dashboard.png"), full_page=True)

    # the dark-mode toggle overrides the system preference and is remembered
    page.click("#theme-toggle")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.goto(f"{live_server.url}/projects/demo/sentences/{scenario['sentences'][1].pk}/")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.locator("#entity-list li[data-entity-id]")).to_have_count(4)
    page.screenshot(path=str(artifacts / "screenshot-annotate-dark.png"))
    page.click("#theme-toggle")
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    page.goto(f"{live_server.url}/projects/demo/")

    page.get_by_role("link", name="Documents").first.click()
    expect(page.locator("table.documents tbody tr")).to_have_count(5)
    page.fill("input[name=q]", "NCT00000003")
    expect(page.locator("table.documents tbody tr")).to_have_count(1)
    expect(page.locator("table.documents")).to_contain_text("NCT00000003_exc")
