"""Plain text: one criterion per line, or a protocol section split by its headings."""
from pathlib import Path

import pytest

from mlcore.corpus import CorpusFormatError, read_corpus
from mlcore.corpus.text import heading_kind, read_text

TEXT = Path(__file__).parent.parent / "fixtures" / "corpus" / "text"


def sentences(document):
    return [document.text[s.start:s.end] for s in document.sentences]


def test_one_criterion_per_line_file_is_one_document():
    [doc] = read_text(TEXT / "criteria_lines.txt")
    assert doc.name == "criteria_lines"
    assert sentences(doc) == ["Age 18 years or older", "Diagnosis of type 2 diabetes",
                              "HbA1c between 7% and 10%"]


def test_protocol_section_splits_into_inclusion_and_exclusion_documents():
    issues = []
    inc, exc = read_text(TEXT / "protocol.txt", issues=issues)
    assert (inc.name, inc.metadata) == ("protocol_inc", {"section": "inclusion"})
    assert (exc.name, exc.metadata) == ("protocol_exc", {"section": "exclusion"})
    assert sentences(inc) == ["Age >= 18 years", "ECOG performance status 0-1",
                              "documented by the investigator",
                              "Adequate renal function\n   (creatinine clearance > 60 mL/min)"]
    assert sentences(exc) == ["Patients who are pregnant are excluded.",
                              "Prior anti-PD-1 therapy within 3 months is not allowed.", "Active infection"]
    assert inc.text.startswith("* Age >= 18 years") and "Exclusion" not in inc.text
    assert [(i.line, i.action) for i in issues] == [(1, "skipped")]
    assert "before the first criteria heading" in issues[0].reason


@pytest.mark.parametrize("line, kind", [
    ("Inclusion Criteria:", "inclusion"), ("EXCLUSION CRITERIA", "exclusion"),
    ("**Key Inclusion Criteria:**", "inclusion"), ("## Exclusion criteria", "exclusion"),
    ("Inclusion criteria for Part A:", "inclusion"), ("exclusion:", "exclusion"),
    ("Exclusion of patients with diabetes", None), ("Inclusion criteria are listed in the appendix", None),
])
def test_heading_detection(line, kind):
    assert heading_kind(line) == kind


def test_folder_of_text_files_via_read_corpus(tmp_path):
    (tmp_path / "b.txt").write_text("Inclusion criteria\n- Adults\n")
    (tmp_path / "a.txt").write_text("- first\n- second\n")
    result = read_corpus(tmp_path, "text")
    documents = list(result.documents)
    assert [d.name for d in documents] == ["a", "b_inc"]
    assert sentences(documents[0]) == ["first", "second"]
    assert result.schema.entity_names == []


def test_non_utf8_text_is_an_error_naming_the_line(tmp_path):
    (tmp_path / "x.txt").write_bytes(b"ok\nnot \xff ok\n")
    with pytest.raises(CorpusFormatError) as raised:
        list(read_text(tmp_path))
    assert raised.value.line == 2


@pytest.mark.parametrize("line, kind", [
    ("Exclusion Criteria:Patients with diabetes", "exclusion"),
    ("Inclusion Criteria: The person who signs", "inclusion"),
    ("**Key Exclusion Criteria:** pregnancy", "exclusion"),
    ("Radiological Inclusion Criteria:", "inclusion"), ("Part B exclusion criteria:", "exclusion"),
    ("* Exclusion criteria: see above", None), ("Patients meeting the inclusion criteria are", None),
])
def test_heading_with_text_on_its_line_and_qualified_headings(line, kind):
    assert heading_kind(line) == kind


def test_inline_headings_qualified_headings_and_subheadings_in_a_protocol(tmp_path):
    (tmp_path / "p.txt").write_text(
        "Inclusion Criteria: Adults aged 18 or more\n"
        "Clinical Inclusion Criteria:\n"
        "- Stable angina\n"
        "Radiological Inclusion Criteria:\n"
        "- Lesion > 2 mm on angiography\n"
        "Part A\n"
        "- Naive to statins\n"
        "Cohort 2 (expansion):\n"
        "- Prior statin use\n"
        "Exclusion Criteria:Pregnancy\n")
    inc, exc = read_text(tmp_path / "p.txt")
    assert sentences(inc) == ["Adults aged 18 or more", "Stable angina", "Lesion > 2 mm on angiography",
                              "Naive to statins", "Prior statin use"]
    assert [h["text"] for h in inc.metadata["subheadings"]] == [
        "Clinical Inclusion Criteria:", "Radiological Inclusion Criteria:", "Part A", "Cohort 2 (expansion):"]
    assert inc.text.startswith("Adults aged 18 or more\nClinical Inclusion Criteria:\n- Stable angina")
    assert (exc.text, sentences(exc)) == ("Pregnancy", ["Pregnancy"])


def test_general_eligibility_heading_opens_inclusion_only_with_an_exclusion_heading(tmp_path):
    (tmp_path / "a.txt").write_text("Eligibility Criteria:\n\n- Adults\n\nExclusion Criteria:\n\n- Pregnancy\n")
    (tmp_path / "b.txt").write_text("Eligibility criteria:\n- Adults\n- Signed consent\n")
    inc, exc = read_text(tmp_path / "a.txt")
    assert (inc.name, inc.text, sentences(exc)) == ("a_inc", "- Adults", ["Pregnancy"])
    [whole] = read_text(tmp_path / "b.txt")
    assert whole.name == "b" and sentences(whole) == ["Adults", "Signed consent"]
