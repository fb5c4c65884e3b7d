"""Sentence splitting into document offsets."""
from mlcore.corpus.model import Sentence
from mlcore.corpus.splitting import bullet_length, split_criteria, split_lines, split_prose


def texts(text, sentences):
    return [text[s.start:s.end] for s in sentences]


def test_split_lines_trims_whitespace_and_cr_and_skips_blank_lines():
    text = "  Age 18\r\n\r\n \t\r\nBMI < 30 \r\nlast"
    assert split_lines(text) == [Sentence(2, 8), Sentence(16, 24), Sentence(27, 31)]
    assert split_lines("") == []


def test_split_lines_within_a_range_keeps_document_offsets():
    text = "skip\nkeep this\nand this\nskip"
    assert texts(text, split_lines(text, 5, 24)) == ["keep this", "and this"]


def test_split_prose_gives_document_offsets_and_reads_line_breaks_as_spaces():
    text = ("Header\nPatients must be adults, e.g. over 18. No prior chemo (i.e. none)\n"
            "within 3 mo. Dr. Lee decides.")
    got = split_prose(text, start=7)
    assert texts(text, got) == ["Patients must be adults, e.g. over 18.",
                                "No prior chemo (i.e. none)\nwithin 3 mo.", "Dr. Lee decides."]
    assert got[0].start == 7


def test_bullets_are_recognised_and_left_out_of_spans():
    for line in ["- a", "* a", "\u2022 a", "1. a", "12) a", "a) a", "(iv) a", "  - a"]:
        assert line[bullet_length(line):] == "a", line
    for line in ["-5 degrees", "1.5 mg", "e.g. x", "Age"]:
        assert bullet_length(line) == 0, line


def test_split_criteria_bullets_continuations_and_prose():
    text = ("* Age >= 18\n"
            "  * signed consent\n"
            "    given in writing\n"
            "2. Renal function adequate\n"
            "\n"
            "Patients are excluded if pregnant. Smokers are excluded too.\n"
            "Hard wrapped criterion that goes\n"
            "on the next line.\n")
    assert texts(text, split_criteria(text)) == [
        "Age >= 18", "signed consent\n    given in writing", "Renal function adequate",
        "Patients are excluded if pregnant.", "Smokers are excluded too.",
        "Hard wrapped criterion that goes\non the next line."]


def test_item_paragraphs_empty_bullets_and_subheadings():
    from mlcore.corpus.splitting import criteria_and_subheadings

    text = ("For adults:\n"
            "1. Healthy, vital signs*\n"
            "\n"
            "   *Temperature < 38 C\n"
            "2. Signed consent\n"
            "\n"
            "Note: not indented, so a paragraph of its own.\n"
            "\n"
            "   -\n"
            "Cohort 2\n"
            "* Prior therapy\n")
    found, subheadings = criteria_and_subheadings(text)
    assert texts(text, found) == ["Healthy, vital signs*\n\n   *Temperature < 38 C", "Signed consent",
                                  "Note: not indented, so a paragraph of its own.", "Prior therapy"]
    assert texts(text, subheadings) == ["For adults:", "Cohort 2"]
    assert split_criteria(text) == found
