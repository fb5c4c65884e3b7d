"""Real ClinicalTrials.gov API v2 studies (tests/fixtures/ctgov/README.md): split and segmented right.

The counts and texts below were written from reading each study's criteria, not
from the reader's output: one criterion per list item (a nested item is its own
criterion), prose split into sentences, sub-headings and headings never criteria.
"""
from pathlib import Path

import pytest

from mlcore.corpus.ctgov import read_ctgov, unescape_markdown

SAMPLES = Path(__file__).parent.parent / "fixtures" / "ctgov"


def criteria(document) -> list[str]:
    return [document.text[s.start:s.end] for s in document.sentences]


def read(name: str) -> dict:
    return {d.name: d for d in read_ctgov(SAMPLES / f"{name}.json")}


# study -> {document: (criteria count, {index: exact text})}
EXPECTED = {
    "NCT00763412": {  # bullets; \< and \> escapes
        "NCT00763412_inc": (5, {2: "Must have a glucose pattern by Oral Glucose Tolerance Test with fasting "
                                   "blood glucose <126 mg/dl and 2 hour: 140 - 199 mg/dl or >200 mg/dl."}),
        "NCT00763412_exc": (6, {5: "Patients taking medications that affect glucose metabolism or "
                                   "contraindicated with repaglinide"}),
    },
    "NCT02210780": {  # "Key Inclusion Criteria", \[...\], \>, a closing disclaimer paragraph
        "NCT02210780_inc": (5, {4: "≥10% body surface area (BSA) of AD involvement at the screening and "
                                   "baseline visits"}),
        "NCT02210780_exc": (8, {1: "Patients needing >10 mg of daily prednisone (including equivalent doses "
                                   "of other steroids) or high dose systemic corticosteroids (≥2 mg/kg) for "
                                   "14 days or longer during the 16 week treatment period of the study"}),
    },
    "NCT02552212": {  # nested bullets under a bullet, \>=
        "NCT02552212_inc": (8, {4: "Active disease at Screening as defined by",
                                5: "Bath Ankylosing Spondylitis Disease Activity Index (BASDAI) score >= 4",
                                6: "Spinal pain >= 4 on a 0 to 10 Numerical Rating Scale (NRS)"}),
        "NCT02552212_exc": (11, {5: "Recent live vaccination"}),
    },
    "NCT02576665": {  # numbered list with nested bullets after blank lines; \[ \] \< \>
        "NCT02576665_inc": (16, {1: "Patient is between 18 and 75 years of age, inclusive.",
                                 8: "Kidney: estimated glomerular filtration rate (Cockcroft-Gault) ≥ 50 mL/min."}),
        "NCT02576665_exc": (15, {6: "Patient has severe pulmonary, cardiac, or other systemic disease, specifically:",
                                 13: "Patient is breast feeding."}),
    },
    "NCT03630471": {  # "Eligibility criteria:" heading, "For ... participants:" sub-headings, \>
        "NCT03630471_inc": (9, {3: "Experiencing difficulties for >1 month, based on response to the "
                                   "self-reported Chronicity item from the SDQ Impact Supplement",
                                6: "A primary parental caregiver or guardian for the index adolescent"}),
        "NCT03630471_exc": (8, {7: "Intoxicated at the point of consent or assessment"}),
    },
    "NCT03722472": {  # \* footnote marks, footnote paragraphs inside list items, BMI \<18 or \>35
        "NCT03722472_inc": (9, {0: "Males and females 18 to 55 years of age.",
                                8: "Willing to abstain from donating whole blood or blood derivatives until "
                                   "90 days after the final study injection."}),
        "NCT03722472_exc": (29, {25: "BMI <18 or >35 kg/m2.",
                                 16: "Smokes 1 pack or more of cigarettes per day."}),
    },
    "NCT04207047": {  # nested numbered lists, a stray empty "-" item at the end
        "NCT04207047_inc": (12, {7: "Postmenopausal for at least 12 months prior to study;",
                                 9: "Bilateral tubal ligation at least six months prior to study enrollment."}),
        "NCT04207047_exc": (22, {18: "History or current use of the following medications:",
                                 21: "Psychiatric drugs that in the investigators opinion would impair the "
                                     "subject from understanding the protocol requirements or understanding "
                                     "and signing the informed consent."}),
    },
    "NCT05594173": {  # criteria starting in lower case, each its own bullet
        "NCT05594173_inc": (1, {0: "Healthy adults under age 60"}),
        "NCT05594173_exc": (7, {0: "prior history of swallowing, motor speech, gastro-esophageal or "
                                   "neurological difficulties, chronic sinusitis or taste disturbance.",
                                2: "Type 1 Diabetes"}),
    },
    "NCT06604689": {
        "NCT06604689_inc": (10, {3: "age≥18 years old;", 9: "informed consent of the patient."}),
        "NCT06604689_exc": (4, {2: "EGFR sensitive mutations were negative or EGFR mutation status was not detected."}),
    },
}


@pytest.mark.parametrize("study", sorted(EXPECTED))
def test_real_study_is_split_and_segmented(study):
    documents = read(study)
    assert sorted(documents) == sorted(EXPECTED[study])
    for name, (count, texts) in EXPECTED[study].items():
        got = criteria(documents[name])
        assert len(got) == count, name
        for index, text in texts.items():
            assert got[index] == text, (name, index)
        assert documents[name].metadata["section"] == ("inclusion" if name.endswith("_inc") else "exclusion")


@pytest.mark.parametrize("study", sorted(EXPECTED))
def test_no_markdown_escape_or_heading_left_in_any_criterion(study):
    for document in read(study).values():
        assert "\\" not in document.text
        for text in criteria(document):
            assert "criteria:" not in text.lower()
            assert text == text.strip() and text[:2] not in ("* ", "- ")


def test_footnote_paragraphs_stay_with_their_list_item():
    inc = read("NCT03722472")["NCT03722472_inc"]
    second = criteria(inc)[1]
    assert second.startswith("In good general health as confirmed by a medical history and physical exam, "
                             "vital signs*, and screening laboratories")
    assert "\n\n   *Temperature <38°C, respiratory rate < 17 breaths pm" in second
    assert second.endswith("designated licensed clinical investigator.")
    assert criteria(inc)[5].endswith('oral contraceptives ("the pill").')


def test_subheadings_are_context_not_criteria():
    documents = read("NCT03630471")
    inc, exc = documents["NCT03630471_inc"], documents["NCT03630471_exc"]
    assert [h["text"] for h in inc.metadata["subheadings"]] == ["For adolescent participants:",
                                                                "For parent participants:"]
    for heading in inc.metadata["subheadings"]:
        assert inc.text[heading["start"]:heading["end"]] == heading["text"]
    assert inc.text.startswith("For adolescent participants:\n\n* Enrolled as a student in Grades 9-12")
    assert "Eligibility criteria" not in inc.text and "Exclusion" not in inc.text
    assert [h["text"] for h in exc.metadata["subheadings"]] == ["For adolescent participants:",
                                                                "For parent participants:"]
    assert not any(text.endswith("participants:") for d in documents.values() for text in criteria(d))


def test_headings_followed_by_text_on_their_line_and_criteria_without_heading():
    """derived_page.json: two real studies edited as README.md says (no real sample was found)."""
    documents = {d.name: d for d in read_ctgov(SAMPLES / "derived_page.json")}
    assert list(documents) == ["NCT00973089_inc", "NCT00973089_exc", "NCT06382129"]
    inc, exc = criteria(documents["NCT00973089_inc"]), criteria(documents["NCT00973089_exc"])
    assert inc[0] == "Healthy children" and len(inc) == 5
    assert exc == ["Subjects that are not ASA I", "Lack of cooperation",
                   "Clinical or radiographic signs of pathology"]
    assert documents["NCT00973089_exc"].text.startswith("Subjects that are not ASA I\n")
    whole = documents["NCT06382129"]
    assert "section" not in whole.metadata
    assert len(criteria(whole)) == 12 and criteria(whole)[10] == "Urine protein ≤2+ or < 1000mg/24h;"


def test_unescape_markdown_undoes_backslash_escapes_only():
    assert unescape_markdown(r"BMI \<18 or \>35 kg/m2, \[ie\] signs\* x\_y a\\b") == \
        r"BMI <18 or >35 kg/m2, [ie] signs* x_y a\b"
    assert unescape_markdown(r"C:\path \d") == r"C:\path \d"
