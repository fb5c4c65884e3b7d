"""brat reading (Chia's quirks), writing, round trips, errors and annotation.conf."""
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from mlcore.corpus import CorpusFormatError, read_corpus, write_corpus
from mlcore.corpus.brat import (
    parse_annotation_conf,
    read_brat,
    read_brat_schema,
    render_annotation_conf,
    write_brat,
)
from mlcore.corpus.compare import document_signature, signature_differences
from mlcore.corpus.model import Document, Entity, Fragment, Relation, Schema

QUIRKS = Path(__file__).parent.parent / "fixtures" / "corpus" / "brat_quirks"


def read_fixture():
    issues = []
    documents = {d.name: d for d in read_brat(QUIRKS, issues=issues)}
    return documents, issues


def test_documents_are_streamed_sorted_by_name_with_nct_metadata():
    names = [d.name for d in read_brat(QUIRKS)]
    assert names == ["NCT00000001_exc", "NCT00000001_inc", "NCT00000002_exc", "NCT00000002_inc"]
    documents, _ = read_fixture()
    assert documents["NCT00000001_exc"].metadata == {"nct_id": "NCT00000001", "section": "exclusion"}


def test_crlf_text_is_kept_and_offsets_count_the_cr():
    documents, _ = read_fixture()
    doc = documents["NCT00000001_inc"]
    assert doc.text.count("\r\n") == 5
    assert (QUIRKS / "NCT00000001_inc.txt").read_bytes() == doc.text.encode("utf-8")
    entities = doc.entity_by_id()
    assert doc.text[30:45] == "Type 2 diabetes"
    assert entities["T4"].fragments == (Fragment(30, 45),)
    assert entities["T11"].text(doc.text) == "Signed informed consent"


def test_sentences_are_non_blank_lines_trimmed_of_cr():
    documents, _ = read_fixture()
    doc = documents["NCT00000001_inc"]
    assert [(s.start, s.end) for s in doc.sentences] == [(0, 28), (30, 73), (77, 127), (129, 152)]
    assert all("\r" not in doc.text[s.start:s.end] for s in doc.sentences)


def test_discontinuous_fragments_keep_annotation_order():
    documents, _ = read_fixture()
    entities = documents["NCT00000001_inc"].entity_by_id()
    assert entities["T8"].fragments == (Fragment(77, 86), Fragment(98, 105))
    assert entities["T10"].fragments == (Fragment(119, 127), Fragment(110, 118))
    assert (entities["T10"].start, entities["T10"].end) == (110, 127)


def test_groups_attributes_notes_and_duplicate_entities():
    documents, _ = read_fixture()
    doc = documents["NCT00000001_inc"]
    assert [(g.id, g.type, g.members) for g in doc.groups] == [
        ("*1", "OR", ("T4", "T6")), ("*2", "OR", ("T8", "T9"))]
    assert [(a.id, a.name, a.target, a.value) for a in doc.attributes] == [
        ("A1", "Optional", "T6", None), ("A2", "Certainty", "T9", "Low"), ("A3", "Optional", "R3", None)]
    assert [(n.id, n.type, n.target, n.text) for n in doc.notes] == [
        ("#1", "AnnotatorNotes", "T4", "check the type")]
    spans = Counter((e.type, e.fragments) for e in doc.entities)
    assert spans[("Condition", (Fragment(49, 61),))] == 2


def test_relations_with_trailing_tab_are_read_and_unknown_ids_skipped():
    documents, issues = read_fixture()
    relations = documents["NCT00000001_inc"].relations
    assert [(r.id, r.type, r.head, r.tail) for r in relations] == [
        ("R1", "Has_value", "T1", "T2"), ("R3", "Has_temporal", "T9", "T10"),
        ("R4", "Has_qualifier", "T6", "T7")]
    assert any(i.line == 18 and "unknown id 'T99'" in i.reason and i.action == "skipped" for i in issues)


def test_quirks_are_reported_with_file_and_line():
    _, issues = read_fixture()
    by_line = {(Path(i.file).name, i.line): i for i in issues}
    continuation = by_line[("NCT00000001_inc.ann", 16)]
    assert "T12" in continuation.reason and continuation.action == "repaired"
    stray = by_line[("NCT00000001_inc.ann", 14)]
    assert "stray line" in stray.reason and stray.action == "skipped"
    mismatch = by_line[("NCT00000001_inc.ann", 1)]
    assert "T1" in mismatch.reason and "disagrees" in mismatch.reason and mismatch.action == "repaired"
    assert by_line[("NCT00000002_inc.txt", 1)].reason.startswith("document text is just 'NA'")
    assert len(issues) == 5


def test_mismatching_text_field_keeps_the_offsets():
    documents, _ = read_fixture()
    doc = documents["NCT00000001_inc"]
    assert doc.entity_by_id()["T1"].text(doc.text) == "Age"


def test_na_and_empty_documents_are_kept_without_sentences_or_annotations():
    documents, _ = read_fixture()
    na, empty = documents["NCT00000002_inc"], documents["NCT00000002_exc"]
    assert (na.text, na.sentences, na.entities) == ("NA\r\n", [], [])
    assert (empty.text, empty.sentences, empty.entities) == ("", [], [])


def test_round_trip_is_lossless(tmp_path):
    documents, _ = read_fixture()
    count = write_brat(documents.values(), tmp_path, schema=read_brat_schema(QUIRKS))
    assert count == 4
    for name, original in documents.items():
        assert (tmp_path / f"{name}.txt").read_bytes() == (QUIRKS / f"{name}.txt").read_bytes()
    issues = []
    again = {d.name: d for d in read_brat(tmp_path, issues=issues)}
    for name, original in documents.items():
        assert signature_differences(original, again[name]) == []
    assert [i.reason for i in issues] == ["document text is just 'NA': no sentences"]


def test_written_ann_uses_brat_conventions(tmp_path):
    documents, _ = read_fixture()
    write_brat([documents["NCT00000001_inc"]], tmp_path)
    lines = (tmp_path / "NCT00000001_inc.ann").read_text().splitlines()
    assert "T1\tPerson 0 3\tAge" in lines
    assert "T10\tTemporal 119 127;110 118\t3 months at least" in lines
    assert "T12\tScope 119 152\t3 months  Signed informed consent" in lines
    assert "*\tOR T4 T6" in lines
    assert "A2\tCertainty T9 Low" in lines
    assert "#1\tAnnotatorNotes T4\tcheck the type" in lines


def test_non_brat_ids_are_renumbered_with_references(tmp_path):
    doc = Document("d", "aa bb", entities=[Entity("e1", "X", (Fragment(0, 2),)),
                                           Entity("e2", "Y", (Fragment(3, 5),))],
                   relations=[Relation("r9", "Rel", "e2", "e1")])
    write_brat([doc], tmp_path)
    assert (tmp_path / "d.ann").read_text() == "T1\tX 0 2\taa\nT2\tY 3 5\tbb\nR1\tRel Arg1:T2 Arg2:T1\n"
    again = next(read_brat(tmp_path))
    assert document_signature(again, metadata=False) == document_signature(doc, metadata=False) | {
        "sentences": ((0, 5),)}


def test_write_rejects_names_that_are_not_file_names(tmp_path):
    with pytest.raises(ValueError):
        write_brat([Document("../evil", "x")], tmp_path)


def write_pair(folder: Path, name: str, text: bytes, ann: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.txt").write_bytes(text)
    (folder / f"{name}.ann").write_text(ann)


@pytest.mark.parametrize("ann, line, reason", [
    ("T1\tCondition 0 4\tAge \nT2\tCondition 5 99\tyears\n", 2, "out of range"),
    ("T1\tCondition 0 4\tAge \nT2\tCondition five 9\tyears\n", 2, "bad offsets"),
    ("T1\tCondition 0 3\tAge\nX1\tsomething odd\n", 2, "unknown annotation id"),
    ("T1\tCondition 0 3\tAge\nR1\tHas_value Arg1:T1\t\n", 2, "bad relation"),
    ("T1\tCondition 0 3\tAge\nT1\tCondition 0 3\tAge\n", 2, "duplicate id"),
])
def test_real_errors_name_file_and_line(tmp_path, ann, line, reason):
    write_pair(tmp_path, "doc", b"Age 18 years\n", ann)
    with pytest.raises(CorpusFormatError) as raised:
        list(read_brat(tmp_path))
    error = raised.value
    assert (Path(error.file).name, error.line) == ("doc.ann", line)
    assert reason in error.reason
    assert str(error) == f"{error.file}:{line}: {error.reason}"


def test_non_utf8_text_names_the_line(tmp_path):
    write_pair(tmp_path, "doc", "first line\nsecond caf\u00e9\n".encode("latin-1"), "")
    with pytest.raises(CorpusFormatError) as raised:
        list(read_brat(tmp_path))
    assert (Path(raised.value.file).name, raised.value.line) == ("doc.txt", 2)


def test_lenient_mode_skips_bad_lines_and_documents_and_reports_them(tmp_path):
    write_pair(tmp_path, "a_bad_text", b"caf\xe9\n", "")
    write_pair(tmp_path, "b_bad_line", b"Age 18 years\n", "T1\tCondition 0 3\tAge\nT2\tValue 4 99\tx\n")
    issues = []
    documents = list(read_brat(tmp_path, issues=issues, strict=False))
    assert [d.name for d in documents] == ["b_bad_line"]
    assert [e.id for e in documents[0].entities] == ["T1"]
    assert [(Path(i.file).name, i.line, i.action) for i in issues] == [
        ("a_bad_text.txt", 1, "skipped"), ("b_bad_line.ann", 2, "skipped")]


def test_errors_are_raised_when_the_iterator_reaches_the_document(tmp_path):
    write_pair(tmp_path, "a", b"fine\n", "T1\tX 0 4\tfine\n")
    write_pair(tmp_path, "b", b"fine\n", "T1\tX 0 40\tfine\n")
    documents = read_brat(tmp_path)
    assert next(documents).name == "a"
    with pytest.raises(CorpusFormatError):
        next(documents)


def test_txt_without_ann_is_unannotated_and_ann_without_txt_is_an_error(tmp_path):
    (tmp_path / "alone.txt").write_text("Text only\n")
    issues = []
    assert [d.entities for d in read_brat(tmp_path, issues=issues)] == [[]]
    assert issues[0].reason.startswith("no .ann file")
    (tmp_path / "orphan.ann").write_text("T1\tX 0 1\tT\n")
    with pytest.raises(CorpusFormatError, match="without its .txt"):
        list(read_brat(tmp_path))


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_zip_is_read_without_extracting_and_matches_the_folder(tmp_path):
    members = {f"corpus/{p.name}": p.read_bytes() for p in QUIRKS.iterdir()}
    members["__MACOSX/corpus/._NCT00000001_inc.txt"] = b"\x00\x05\x16\x07junk"
    archive = make_zip(tmp_path / "corpus.zip", members)
    from_zip = list(read_brat(archive))
    from_folder = list(read_brat(QUIRKS))
    assert [document_signature(d) for d in from_zip] == [document_signature(d) for d in from_folder]
    assert read_brat_schema(archive) == read_brat_schema(QUIRKS)
    assert not any(p.name.endswith(".txt") for p in tmp_path.iterdir())


@pytest.mark.parametrize("member", ["../evil.txt", "/abs/evil.txt", "a/../../evil.ann"])
def test_zip_with_unsafe_member_paths_is_rejected(tmp_path, member):
    archive = make_zip(tmp_path / "bad.zip", {"ok.txt": b"x", member: b"y"})
    with pytest.raises(CorpusFormatError, match="unsafe member path"):
        read_brat(archive)


def test_annotation_conf_parse_and_render():
    schema = read_brat_schema(QUIRKS)
    assert schema.entity_names == ["Condition", "Procedure", "Person", "Value", "Temporal", "Qualifier",
                                   "Scope"]
    assert [(r.name, r.heads, r.tails) for r in schema.relation_types] == [
        ("Has_value", ("Person", "Measurement"), ("Value",)), ("Has_temporal", (), ("Temporal",))]
    assert schema.group_types == ["OR"]
    assert schema.attribute_types == ["Optional"]
    assert parse_annotation_conf(render_annotation_conf(schema)) == schema


def test_read_corpus_completes_the_schema_and_reports_undeclared_types():
    result = read_corpus(QUIRKS, "brat")
    assert result.schema.entity_names[-1] == "Scope"
    documents = list(result.documents)
    assert len(documents) == 4
    assert "Informed_consent" in result.schema.entity_names
    assert "Certainty" in result.schema.attribute_types
    added = [i.reason for i in result.issues if i.reason.endswith("is not declared: added")]
    assert sorted(r.split("'")[1] for r in added) == ["Certainty", "Has_qualifier", "Informed_consent"]


def test_write_corpus_brat_declares_the_types_used(tmp_path):
    documents, _ = read_fixture()
    stats = write_corpus(documents.values(), tmp_path / "out", "brat", schema=Schema())
    assert stats == {"format": "brat", "documents": 4, "entities": 16, "relations": 3}
    conf = parse_annotation_conf((tmp_path / "out" / "annotation.conf").read_text())
    assert set(conf.entity_names) == {e.type for d in documents.values() for e in d.entities}
    assert conf.group_types == ["OR"]


def test_unknown_format_and_missing_path_are_format_errors(tmp_path):
    with pytest.raises(CorpusFormatError, match="unknown format"):
        read_corpus(tmp_path, "xml")
    with pytest.raises(CorpusFormatError, match="no such file"):
        read_corpus(tmp_path / "missing", "brat")


# --- brat interoperability: conf constructs of real corpora, events, normalizations, names ---


def test_conf_merges_multi_line_relations_dedupes_types_and_keeps_roles_and_values():
    from mlcore.corpus.brat import parse_annotation_conf, render_annotation_conf

    schema = parse_annotation_conf(
        "[spans]\nProtein\nExp\n!Abstract\n\t<POG>=Protein|Exp\n[relations]\n"
        "Coref\tAnaphora:Exp, Antecedent:Exp|Protein|Exp\n"
        "Nest\tArg1:Protein, Arg2:Exp\nNest\tArg1:Exp, Arg2:Exp\n"
        "Equiv\tArg1:Protein, Arg2:Protein, <REL-TYPE>:symmetric-transitive\n"
        "Equiv\tArg1:Exp, Arg2:Exp, <REL-TYPE>:symmetric-transitive\n"
        "[events]\nBinding\tTheme+:<POG>, Cause?:<EVENT>\n----------\n"
        "[attributes]\nConfidence\tArg:<EVENT>, Value:Low|High|Low\n")
    assert schema.entity_names == ["Protein", "Exp"]
    coref, nest = schema.relation_types
    assert (coref.head_role, coref.tail_role, coref.tails) == ("Anaphora", "Antecedent", ("Exp", "Protein"))
    assert (nest.heads, nest.tails) == (("Protein", "Exp"), ("Exp",))
    assert schema.group_types == ["Equiv"]
    assert schema.event_types[0].arguments == (("Theme+", ("Protein", "Exp")), ("Cause?", ("<EVENT>",)))
    assert len(schema.event_types) == 1
    assert schema.attribute_values == {"Confidence": ["Low", "High"]}
    conf = render_annotation_conf(schema)
    assert "Coref\tAnaphora:Exp, Antecedent:Exp|Protein" in conf
    assert "Confidence\tArg:<EVENT>, Value:Low|High" in conf
    assert "Binding\tTheme+:Protein|Exp, Cause?:<EVENT>" in conf
    assert parse_annotation_conf(conf) == schema


def test_events_normalizations_and_names_round_trip_through_ann(tmp_path):
    from mlcore.corpus.brat import read_brat, read_brat_schema, write_brat
    from mlcore.corpus.model import Event, Normalization

    text = "IL-10 binds its receptor."
    doc = Document("d1", text, entities=[Entity("T1", "Gene product", (Fragment(0, 5),)),
                                    Entity("T2", "Binding", (Fragment(6, 11),)),
                                    Entity("T3", "Gene product", (Fragment(16, 24),))],
              events=[Event("E1", "Binding", "T2", (("Theme", "T1"), ("Theme2", "T3")))],
              relations=[Relation("R1", "Part of", "T3", "E1", "Part", "Whole")],
              normalizations=[Normalization("N1", "T1", "UniProt", "P22301", "IL10 human")])
    write_brat([doc], tmp_path, schema=Schema())
    ann = (tmp_path / "d1.ann").read_text()
    assert "T1\tGene_product 0 5\tIL-10" in ann
    assert "E1\tBinding:T2 Theme:T1 Theme2:T3" in ann
    assert "R1\tPart_of Part:T3 Whole:E1" in ann
    assert "N1\tReference T1 UniProt:P22301\tIL10 human" in ann
    back = next(iter(read_brat(tmp_path)))
    assert back.entities == doc.entities and back.events == doc.events
    assert back.relations == doc.relations and back.normalizations == doc.normalizations
    assert "Gene product" in read_brat_schema(tmp_path).entity_names


def test_zero_width_span_is_an_error_naming_it(tmp_path):
    from mlcore.corpus.brat import read_brat

    (tmp_path / "d.txt").write_text("abc")
    (tmp_path / "d.ann").write_text("T1\tX 1 1\t\n")
    with pytest.raises(CorpusFormatError, match=r"d\.ann:1: T1: zero-width span 1-1"):
        list(read_brat(tmp_path))
