"""Relation arcs in a real browser: laid out per visual line, no label on another label or on
the text, every arc from its head's type label to its tail's, type labels on their word's line.

Checked on a dense criterion written here (nested entities, short relations with long names)
and on one long enough to wrap, at a wide and at a narrow window; and, when the Chia corpus is
there (``../shared/data/chia``), on its densest criteria.
"""
import os
import re
import shutil
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from annotation.models import Project, Relation, Sentence
from annotation.services.projects import membership_set
from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHIA_CANDIDATES = [Path(p) for p in filter(None, [os.environ.get("ELIGO_CHIA_DIR")])] + [
    ROOT.parent / "shared" / "data" / "chia", ROOT.parents[1] / "shared" / "data" / "chia"]
CHIA = next((p / "chia_without_scope" for p in CHIA_CANDIDATES if (p / "chia_without_scope").is_dir()), None)
# The most relations in one criterion, and the most relations per character (see docs/annotation-view.md).
CHIA_DENSEST = [("NCT02804646_inc", 0), ("NCT03064867_inc", 0), ("NCT01581749_inc", 1)]
WIDTHS = (1400, 760)

DENSE = "No type 2 diabetes mellitus or HbA1c > 7% within 3 months, metformin 500 mg daily or insulin."
DENSE_ENTITIES = [
    ("T1", "Negation", "No"), ("T2", "Condition", "type 2 diabetes mellitus"),
    ("T3", "Condition", "diabetes mellitus"), ("T4", "Qualifier", "type 2"),
    ("T5", "Measurement", "HbA1c"), ("T6", "Value", "> 7%"), ("T7", "Temporal", "within 3 months"),
    ("T8", "Drug", "metformin"), ("T9", "Value", "500 mg"), ("T10", "Multiplier", "daily"),
    ("T11", "Drug", "insulin"),
]
DENSE_RELATIONS = [
    ("Has_negation", "T2", "T1"), ("Subsumes", "T2", "T3"), ("Has_qualifier", "T3", "T4"),
    ("OR", "T2", "T5"), ("Has_value", "T5", "T6"), ("Has_temporal", "T5", "T7"),
    ("Has_temporal", "T2", "T7"), ("AND", "T5", "T8"), ("Has_value", "T8", "T9"),
    ("Has_multiplier", "T8", "T10"), ("Has_multiplier", "T9", "T10"), ("OR", "T8", "T11"),
    ("Has_temporal", "T11", "T7"), ("Has_negation", "T11", "T1"),
]
LONG = ("Adults aged 18 to 75 years with histologically confirmed non-small cell lung cancer stage "
        "IIIB or IV, previously untreated or relapsed after surgery, at least one measurable lesion "
        "according to RECIST 1.1, ECOG performance status 0 or 1, adequate bone marrow function "
        "with absolute neutrophil count at least 1500 per microliter and platelets at least 100000 "
        "per microliter, and no prior treatment with EGFR inhibitors or ALK inhibitors.")
LONG_ENTITIES = [
    ("T12", "Person", "Adults"), ("T13", "Value", "18 to 75 years"),
    ("T14", "Qualifier", "histologically confirmed"), ("T15", "Condition", "non-small cell lung cancer"),
    ("T16", "Value", "stage IIIB or IV"), ("T17", "Qualifier", "previously untreated"),
    ("T18", "Procedure", "surgery"), ("T19", "Condition", "measurable lesion"),
    ("T20", "Reference_point", "RECIST 1.1"), ("T21", "Measurement", "ECOG performance status"),
    ("T22", "Value", "0 or 1"), ("T23", "Measurement", "absolute neutrophil count"),
    ("T24", "Value", "at least 1500 per microliter"), ("T25", "Measurement", "platelets"),
    ("T26", "Value", "at least 100000 per microliter"), ("T27", "Negation", "no"),
    ("T28", "Drug", "EGFR inhibitors"), ("T29", "Drug", "ALK inhibitors"),
]
LONG_RELATIONS = [
    ("Has_value", "T12", "T13"), ("Has_qualifier", "T15", "T14"), ("Has_value", "T15", "T16"),
    ("Has_qualifier", "T15", "T17"), ("Has_temporal", "T17", "T18"), ("AND", "T15", "T19"),
    ("Has_context", "T19", "T20"), ("Has_value", "T21", "T22"), ("AND", "T15", "T21"),
    ("Has_value", "T23", "T24"), ("Has_value", "T25", "T26"), ("AND", "T23", "T25"),
    ("Has_negation", "T28", "T27"), ("Has_negation", "T29", "T27"), ("OR", "T28", "T29"),
    ("AND", "T28", "T12"),
]

GEOMETRY = """() => {
  const box = r => ({left: r.left, top: r.top, right: r.right, bottom: r.bottom});
  const text = document.getElementById('ann-text');
  const textRects = node => { const range = document.createRange(); range.selectNodeContents(node);
    return [...range.getClientRects()].filter(r => r.width > 0 && r.height > 0).map(box); };
  const ownText = seg => [...seg.childNodes].filter(n => n.nodeType === 3 && n.data.trim());
  const chipsAfter = chip => { let width = 0;
    for (let next = chip.nextElementSibling; next && next.matches('.chip'); next = next.nextElementSibling)
      width += next.getBoundingClientRect().width;
    return width; };
  const glyphs = [...text.querySelectorAll('.seg')].flatMap(seg => ownText(seg).flatMap(textRects));
  const chips = [...text.querySelectorAll('.chip:not(.cont)')].map(chip => ({
    entity: chip.dataset.entityId, box: box(chip.getBoundingClientRect()),
    word: textRects(ownText(chip.closest('.seg'))[0])[0], between: chipsAfter(chip)}));
  const svg = document.querySelector('svg.arcs');
  const origin = svg.getBoundingClientRect();
  const at = (path, length) => { const p = path.getPointAtLength(length); return {x: p.x + origin.left, y: p.y + origin.top}; };
  const arcs = [...svg.querySelectorAll('g.arc')].map(g => {
    const path = g.querySelector('path'), total = path.getTotalLength(), points = [];
    for (let l = 0; l <= total; l += 2) points.push(at(path, l));
    return {relation: g.dataset.relationId, start: at(path, 0), end: at(path, total), points};
  });
  const labels = [...svg.querySelectorAll('g.arc rect')].map(r => ({
    relation: r.parentNode.dataset.relationId, box: box(r.getBoundingClientRect())}));
  const relations = [...document.querySelectorAll('#relation-list li[data-relation-id]')].map(li => ({
    id: li.dataset.relationId, head: li.dataset.head, tail: li.dataset.tail}));
  return {glyphs, chips, arcs, labels, relations};
}"""


def intersect(a: dict, b: dict, inset: float = 0.5) -> bool:
    return (a["left"] + inset < b["right"] - inset and b["left"] + inset < a["right"] - inset
            and a["top"] + inset < b["bottom"] - inset and b["top"] + inset < a["bottom"] - inset)


def inside(point: dict, rect: dict, inset: float = 1.0) -> bool:
    return (rect["left"] + inset < point["x"] < rect["right"] - inset
            and rect["top"] + inset < point["y"] < rect["bottom"] - inset)


def near_chip(point: dict, chip: dict) -> bool:
    """An arc end lies on the top edge of its entity's type label."""
    return (chip["left"] - 1 <= point["x"] <= chip["right"] + 1
            and abs(point["y"] - chip["top"]) <= 4)


def check_layout(page, *, relations: int) -> None:
    shown = page.evaluate(GEOMETRY)
    chips = {c["entity"]: c for c in shown["chips"]}
    drawable = [r for r in shown["relations"] if r["head"] in chips and r["tail"] in chips]
    assert len(drawable) == relations

    labels = shown["labels"]
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            assert not intersect(a["box"], b["box"]), f"labels of relations {a['relation']} and {b['relation']} overlap"
    for label in labels:
        for glyph in shown["glyphs"]:
            assert not intersect(label["box"], glyph), f"label of relation {label['relation']} covers text"
        for chip in shown["chips"]:
            assert not intersect(label["box"], chip["box"]), f"label of relation {label['relation']} covers a type label"

    arcs = {a["relation"]: a for a in shown["arcs"]}
    for relation in drawable:
        arc = arcs.get(relation["id"])
        assert arc, f"relation {relation['id']} has no arc"
        assert near_chip(arc["start"], chips[relation["head"]]["box"]), f"arc {relation['id']} starts off its head"
        assert near_chip(arc["end"], chips[relation["tail"]]["box"]), f"arc {relation['id']} ends off its tail"
        for point in arc["points"]:
            for glyph in shown["glyphs"]:
                assert not inside(point, glyph), f"arc {relation['id']} crosses the text at {point}"

    for chip in shown["chips"]:
        word, box = chip["word"], chip["box"]
        assert box["top"] < word["bottom"] and word["top"] < box["bottom"], (
            f"type label of entity {chip['entity']} is not on its word's line")
        assert 0 <= word["left"] - box["right"] - chip["between"] <= 12, f"type label of entity {chip['entity']} is away from its word"


def brat_lines(text: str, entities, relations, *, offset: int = 0, numbering: int = 1) -> list[str]:
    lines, used = [], {}
    for tid, kind, words in entities:
        starts = [m.start() for m in re.finditer(r"(?<!\w)" + re.escape(words) + r"(?!\w)", text)]
        start = starts[used.get(words, 0)] + offset
        used[words] = used.get(words, 0) + 1
        lines.append(f"{tid}\t{kind} {start} {start + len(words)}\t{words}")
    for number, (kind, head, tail) in enumerate(relations, numbering):
        lines.append(f"R{number}\t{kind} Arg1:{head} Arg2:{tail}")
    return lines


@pytest.fixture
def reader(transactional_db):
    user = get_user_model().objects.create_user("alice", password=PASSWORD)

    def import_into_project(folder: Path) -> Project:
        call_command("import_corpus", str(folder), "--project", "arcs", "--format", "brat", verbosity=0)
        project = Project.objects.get(name="arcs")
        membership_set(project=project, user=user, role="annotator")
        return project
    return import_into_project


def open_criterion(new_page, live_server, sentence: Sentence, width: int):
    page = new_page("alice")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/projects/arcs/sentences/{sentence.pk}/")
    page.wait_for_selector("svg.arcs g.arc")
    return page


def resize(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_timeout(200)


@pytest.fixture
def written(reader, tmp_path):
    """Two criteria written for this test: a dense one with nested entities, and a long one."""
    text = f"{DENSE}\n{LONG}\n"
    lines = brat_lines(DENSE, DENSE_ENTITIES, DENSE_RELATIONS)
    lines += brat_lines(LONG, LONG_ENTITIES, LONG_RELATIONS, offset=len(DENSE) + 1,
                        numbering=len(DENSE_RELATIONS) + 1)
    (tmp_path / "NCT99999999_inc.txt").write_text(text)
    (tmp_path / "NCT99999999_inc.ann").write_text("\n".join(lines) + "\n")
    reader(tmp_path)
    return {s.index: s for s in Sentence.objects.filter(document__name="NCT99999999_inc")}


@pytest.mark.parametrize("index,relations", [(0, len(DENSE_RELATIONS)), (1, len(LONG_RELATIONS))])
def test_arcs_on_written_criteria_at_wide_and_narrow_width(written, new_page, live_server, index, relations):
    page = open_criterion(new_page, live_server, written[index], WIDTHS[0])
    check_layout(page, relations=relations)
    resize(page, WIDTHS[1])
    check_layout(page, relations=relations)


def test_long_criterion_wraps_and_draws_arcs_between_lines(written, new_page, live_server):
    page = open_criterion(new_page, live_server, written[1], WIDTHS[1])
    tops = page.evaluate("""() => [...document.querySelectorAll('#ann-text .chip:not(.cont)')].map(
        c => Math.round(c.getBoundingClientRect().top))""")
    assert len(set(tops)) >= 4, "the long criterion wraps at the narrow width"
    check_layout(page, relations=len(LONG_RELATIONS))


def test_relation_chosen_by_its_label_deleted_and_arcs_laid_out_again(written, new_page, live_server):
    sentence = written[0]
    page = open_criterion(new_page, live_server, sentence, WIDTHS[1])
    relation = Relation.objects.filter(sentence=sentence, type__name="Has_multiplier").first()
    page.locator(f'svg.arcs g.arc[data-relation-id="{relation.pk}"] rect').first.click()
    page.wait_for_selector(f'#relation-list li.is-selected[data-relation-id="{relation.pk}"]')
    page.locator(f'#relation-list li[data-relation-id="{relation.pk}"] .x').click()
    page.wait_for_function(f"document.querySelectorAll('svg.arcs g.arc').length === {len(DENSE_RELATIONS) - 1}")
    assert not Relation.objects.filter(pk=relation.pk).exists()
    check_layout(page, relations=len(DENSE_RELATIONS) - 1)
    page.locator("#ann-text .chip", has_text="Drug").first.click()
    assert "Drug “metformin” selected" in page.inner_text("#ann-hint")


@pytest.mark.skipif(CHIA is None, reason="the Chia corpus is not there (../shared/data/chia)")
@pytest.mark.parametrize("name,index", CHIA_DENSEST)
def test_arcs_on_the_densest_chia_criteria(reader, tmp_path, new_page, live_server, name, index):
    for suffix in (".txt", ".ann"):
        shutil.copy(CHIA / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    reader(tmp_path)
    sentence = Sentence.objects.get(document__name=name, index=index)
    relations = Relation.objects.filter(sentence=sentence, tail__sentence=sentence).count()
    assert relations >= 8
    page = open_criterion(new_page, live_server, sentence, WIDTHS[0])
    check_layout(page, relations=relations)
    resize(page, WIDTHS[1])
    check_layout(page, relations=relations)
