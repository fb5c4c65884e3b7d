"""ClinicalTrials.gov API v2 study JSON."""
import json
from pathlib import Path

import pytest

from mlcore.corpus import CorpusFormatError, read_corpus
from mlcore.corpus.ctgov import read_ctgov

CTGOV = Path(__file__).parent.parent / "fixtures" / "corpus" / "ctgov"


def sentences(document):
    return [document.text[s.start:s.end] for s in document.sentences]


def test_single_study_gives_inclusion_and_exclusion_documents():
    inc, exc = read_ctgov(CTGOV / "study.json")
    assert inc.name == "NCT01234567_inc"
    assert inc.metadata == {"nct_id": "NCT01234567", "section": "inclusion",
                            "brief_title": "A Study of Drug X in Diabetes"}
    assert sentences(inc) == ["Adults aged 18 to 75", "Type 2 diabetes for at least 1 year"]
    assert (exc.name, exc.metadata["section"]) == ("NCT01234567_exc", "exclusion")
    assert sentences(exc) == ["Pregnancy", "Insulin therapy within 3 months"]


def test_studies_page_and_criteria_without_headings():
    documents = list(read_ctgov(CTGOV / "studies.json"))
    assert [d.name for d in documents] == ["NCT00000011_inc", "NCT00000011_exc", "NCT00000012"]
    assert sentences(documents[0]) == ["Healthy volunteers", "BMI 18-30 kg/m2"]
    assert sentences(documents[2]) == ["Patients with stable angina.",
                                       "Those on beta blockers must continue them."]
    assert "section" not in documents[2].metadata


def test_list_of_studies_and_folder_via_read_corpus(tmp_path):
    study = json.loads((CTGOV / "study.json").read_text())
    (tmp_path / "list.json").write_text(json.dumps([study]))
    result = read_corpus(tmp_path, "ctgov")
    assert [d.name for d in result.documents] == ["NCT01234567_inc", "NCT01234567_exc"]


def test_missing_criteria_is_a_clear_error(tmp_path):
    study = {"protocolSection": {"identificationModule": {"nctId": "NCT09999999"}}}
    (tmp_path / "s.json").write_text(json.dumps({"studies": [study]}))
    with pytest.raises(CorpusFormatError) as raised:
        list(read_ctgov(tmp_path / "s.json"))
    assert "study 1 (NCT09999999)" in raised.value.reason
    assert "protocolSection.eligibilityModule.eligibilityCriteria" in raised.value.reason
    issues = []
    assert list(read_ctgov(tmp_path / "s.json", issues=issues, strict=False)) == []
    assert issues[0].action == "skipped"


def test_missing_nct_id_and_bad_json(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"protocolSection": {"eligibilityModule": {
        "eligibilityCriteria": "x"}}}))
    with pytest.raises(CorpusFormatError, match="identificationModule.nctId"):
        list(read_ctgov(tmp_path / "a.json"))
    (tmp_path / "b.json").write_text('{"studies": [\n{"protocolSection": }\n]}')
    with pytest.raises(CorpusFormatError) as raised:
        list(read_ctgov(tmp_path / "b.json"))
    assert raised.value.line == 2 and "invalid JSON" in raised.value.reason
    (tmp_path / "c.json").write_text('{"something": "else"}')
    with pytest.raises(CorpusFormatError, match="expected a study"):
        list(read_ctgov(tmp_path / "c.json"))
