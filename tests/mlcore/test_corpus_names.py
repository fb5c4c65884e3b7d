import pytest

from mlcore.corpus.errors import IssueSink, ReadIssue
from mlcore.corpus.formats import read_corpus, write_corpus
from mlcore.corpus.model import Document, Sentence
from mlcore.corpus.names import document_file_name, document_name_problem


@pytest.mark.parametrize("name", ["NCT00050349_exc", "doc a", "Étude-1", "x" * 255, "a.b", "a..b"])
def test_usable_names(name):
    assert document_name_problem(name) is None
    assert document_file_name(name) == name


@pytest.mark.parametrize("name, reason", [
    ("", "empty"), ("   ", "empty"), ("x" * 256, "longer than 255"), ("../../x", "path separator"),
    ("/abs", "path separator"), ("a/b", "path separator"), ("back\\slash", "path separator"),
    ("..", "starts with a dot"), (".hidden", "starts with a dot"), ("a\nb", "U+000A"),
    ("nul\x00", "U+0000"), ("tab\t", "U+0009"), ("line\u2028sep", "U+2028"),
])
def test_refused_names_say_why(name, reason):
    assert reason in document_name_problem(name)


def test_file_names_are_valid_stable_and_distinct():
    bad = ["../../x", "..__x", "a/b", "a\\b", "a\nb", "", "."]
    safe = [document_file_name(n) for n in bad]
    assert all(document_name_problem(s) is None for s in safe)
    assert len(set(safe)) == len(bad)
    assert safe == [document_file_name(n) for n in bad]


@pytest.mark.parametrize("fmt", ["brat", "conll"])
def test_writers_use_file_safe_names_and_count_them(tmp_path, fmt):
    docs = [Document("a\n# doc = injected", "Adults.", [Sentence(0, 7)]),
            Document("../escape", "Children.", [Sentence(0, 9)]), Document("ok", "Fine.", [Sentence(0, 5)])]
    out = tmp_path / ("brat" if fmt == "brat" else "out.conll")
    stats = write_corpus(docs, out, fmt)
    assert stats["documents"] == 3 and stats["documents_renamed"] == 2
    assert not (tmp_path / "escape.txt").exists()
    if fmt == "brat":
        names = sorted(d.name for d in read_corpus(out, "brat").documents)
        assert "ok" in names and len(names) == 3
        assert all(document_name_problem(n) is None for n in names)
    else:
        assert "# doc = injected" not in out.read_text().splitlines()


def test_quirks_have_a_kind():
    issues = []
    sink = IssueSink(issues, strict=False)
    sink.quirk("a.ann", 3, "R1: unknown id 'T9'", "skipped")
    sink.quirk("a.ann", 4, "something new", "skipped", kind="custom")
    sink.error("a.ann", 5, "bad offsets")
    assert [i.kind for i in issues] == ["unknown_id", "custom", "error_skipped"]
    assert ReadIssue("f", None, "stray line 'x'", "skipped").kind == "stray_line"
    assert ReadIssue("f", None, "never seen", "repaired").kind == "other"
