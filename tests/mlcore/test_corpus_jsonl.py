"""Eligo JSONL: lossless round trip, sentence status, schema header, errors with file and line."""
import json
from pathlib import Path

import pytest

from mlcore.corpus import CorpusFormatError, read_corpus, write_corpus
from mlcore.corpus.brat import read_brat, read_brat_schema
from mlcore.corpus.compare import document_signature
from mlcore.corpus.jsonl import read_jsonl, write_jsonl
from mlcore.corpus.model import Document, Entity, Fragment, Schema, Sentence

QUIRKS = Path(__file__).parent.parent / "fixtures" / "corpus" / "brat_quirks"


def test_round_trip_of_the_brat_fixture_is_lossless(tmp_path):
    documents = list(read_brat(QUIRKS))
    schema = read_brat_schema(QUIRKS)
    path = tmp_path / "corpus.jsonl"
    assert write_jsonl(documents, path, schema=schema) == 4
    read_schema, again = read_jsonl(path)
    again = list(again)
    assert read_schema == schema
    assert [document_signature(d) for d in again] == [document_signature(d) for d in documents]
    assert [[(g.id, g.members) for g in d.groups] for d in again] == [
        [(g.id, g.members) for g in d.groups] for d in documents]


def test_file_layout_header_then_one_document_per_line(tmp_path):
    doc = Document("d1", "Age\r\nBMI", sentences=[Sentence(0, 3), Sentence(5, 8)],
                   entities=[Entity("T1", "Measurement", (Fragment(5, 8),))], metadata={"nct_id": "N1"})
    write_jsonl([doc], tmp_path / "c.jsonl", schema=Schema())
    lines = (tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0]) == {"eligo": 1, "schema": {
        "entity_types": [], "relation_types": [], "attribute_types": [], "group_types": []}}
    body = json.loads(lines[1])
    assert body["text"] == "Age\r\nBMI"
    assert body["entities"] == [{"id": "T1", "type": "Measurement", "fragments": [[5, 8]]}]
    assert body["sentences"] == [{"start": 0, "end": 3}, {"start": 5, "end": 8}]


def test_sentence_status_travels_per_sentence(tmp_path):
    doc = Document("d", "a\nb", sentences=[Sentence(0, 1), Sentence(2, 3)],
                   metadata={"sentence_status": ["done", "new"], "source": "x"})
    write_jsonl([doc], tmp_path / "s.jsonl", schema=Schema())
    body = json.loads((tmp_path / "s.jsonl").read_text().splitlines()[1])
    assert body["sentences"] == [{"start": 0, "end": 1, "status": "done"},
                                 {"start": 2, "end": 3, "status": "new"}]
    assert body["metadata"] == {"source": "x"}
    again = next(read_jsonl(tmp_path / "s.jsonl")[1])
    assert again.metadata == {"sentence_status": ["done", "new"], "source": "x"}


def test_without_schema_the_header_declares_the_types_used(tmp_path):
    documents = list(read_brat(QUIRKS))
    stats = write_corpus(documents, tmp_path / "c.jsonl", "jsonl")
    assert stats["documents"] == 4
    schema, again = read_jsonl(tmp_path / "c.jsonl")
    assert set(schema.entity_names) == {e.type for d in documents for e in d.entities}
    assert schema.group_types == ["OR"]
    assert len(list(again)) == 4
    assert [p.name for p in tmp_path.iterdir()] == ["c.jsonl"]


def test_missing_sentences_default_to_lines(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"eligo": 1, "schema": {}}\n{"name": "d", "text": "one\\n two \\n"}\n')
    assert next(read_jsonl(path)[1]).sentences == [Sentence(0, 3), Sentence(5, 8)]


def write_lines(path: Path, *documents: str) -> Path:
    path.write_text("\n".join(['{"eligo": 1, "schema": {}}', *documents]) + "\n", encoding="utf-8")
    return path


GOOD = '{"name": "ok", "text": "abc"}'


@pytest.mark.parametrize("bad, reason", [
    ('{"name": "x", "text": "abc"', "invalid JSON"),
    ('{"name": "x"}', "missing or non-string 'text'"),
    ('{"name": "x", "text": "abc", "entities": [{"id": "T1", "type": "A", "fragments": [[1, 9]]}]}',
     "out of range"),
    ('{"name": "x", "text": "abc", "entities": [{"id": "T1", "type": "A", "fragments": [[0, 1]]}],'
     ' "relations": [{"id": "R1", "type": "r", "head": "T1", "tail": "T7"}]}', "unknown id 'T7'"),
    ('{"name": "x", "text": "abc", "entities": [{"id": "T1", "type": "A"}]}', "missing field"),
    ('{"name": "x", "text": "abc", "entities": [{"id": "T1", "type": "A", "fragments": []}]}',
     "at least one fragment"),
])
def test_bad_document_lines_name_file_and_line(tmp_path, bad, reason):
    path = write_lines(tmp_path / "c.jsonl", GOOD, bad)
    schema, documents = read_jsonl(path)
    assert next(documents).name == "ok"
    with pytest.raises(CorpusFormatError) as raised:
        next(documents)
    assert (raised.value.file, raised.value.line) == (str(path), 3)
    assert reason in raised.value.reason


def test_lenient_mode_skips_bad_lines(tmp_path):
    path = write_lines(tmp_path / "c.jsonl", '{"name": "x"', GOOD)
    issues = []
    _, documents = read_jsonl(path, issues=issues, strict=False)
    assert [d.name for d in documents] == ["ok"]
    assert [(i.line, i.action) for i in issues] == [(2, "skipped")]


@pytest.mark.parametrize("header", ['{"name": "d", "text": "x"}', "not json", '{"eligo": 2}'])
def test_bad_header_is_an_error_on_line_one(tmp_path, header):
    path = tmp_path / "c.jsonl"
    path.write_text(header + "\n")
    with pytest.raises(CorpusFormatError) as raised:
        read_corpus(path, "jsonl")
    assert raised.value.line == 1
