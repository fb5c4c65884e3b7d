"""The format registry every reader of formats shares, and the entry points that check it."""
import pytest

from mlcore.corpus.errors import CorpusFormatError
from mlcore.corpus.formats import (
    ANNOTATED_FORMATS, FORMATS, READ_FORMATS, WRITE_FORMATS, format_choices, read_corpus,
    write_corpus,
)


def test_registry_lists_what_can_be_read_and_written():
    assert READ_FORMATS == ("brat", "jsonl", "text", "ctgov")
    assert WRITE_FORMATS == ("brat", "jsonl", "conll")
    assert ANNOTATED_FORMATS == ("brat", "jsonl")
    assert {f.suffix for f in FORMATS.values()} == {".zip", ".jsonl", ".conll", ".txt", ".json"}
    assert all(f.label and f.content_type for f in FORMATS.values())
    assert format_choices(["conll"]) == [("conll", "CoNLL BIO (flattened)")]


def test_unknown_formats_are_refused(tmp_path):
    with pytest.raises(CorpusFormatError, match="unknown format 'conll'"):
        read_corpus(tmp_path, "conll")
    with pytest.raises(ValueError, match="unknown format 'text'"):
        write_corpus([], tmp_path / "out", "text")
