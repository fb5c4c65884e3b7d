"""CoNLL BIO export on the hand-computed brat fixture, and its tokenizer."""
from pathlib import Path

from mlcore.corpus import write_corpus
from mlcore.corpus.brat import read_brat
from mlcore.corpus.conll import tokenize, write_conll

QUIRKS = Path(__file__).parent.parent / "fixtures" / "corpus" / "brat_quirks"


def blocks(path: Path) -> list[list[str]]:
    return [block.splitlines() for block in path.read_text(encoding="utf-8").split("\n\n")]


def test_bio_output_of_the_fixture(tmp_path):
    write_conll(read_brat(QUIRKS), tmp_path / "out.conll")
    got = blocks(tmp_path / "out.conll")
    assert got[0] == ["# doc = NCT00000001_exc", "Pregnancy\tB-Condition", "or\tO", "breast\tB-Condition",
                      "feeding\tI-Condition"]
    assert got[1] == ["Prior\tO", "chemotherapy\tB-Procedure"]
    assert got[2] == ["# doc = NCT00000001_inc", "Age\tB-Person", ">\tB-Value", "=\tI-Value",
                      "18\tI-Value", "years\tI-Value", "at\tO", "screening\tO"]
    # the Scope wins over the nested/crossing Conditions and Qualifier (longest first)
    assert got[3] == ["Type\tB-Scope", "2\tI-Scope", "diabetes\tI-Scope", "or\tI-Scope",
                      "hypertension\tI-Scope", ",\tO", "controlled\tO"]
    # the discontinuous T8 becomes its extent; T10 and T11 lose to the cross-line Scope T12,
    # which is then dropped because it crosses the line end
    assert got[4] == ["Metformin\tB-Procedure", "or\tI-Procedure", "insulin\tI-Procedure",
                      "therapy\tI-Procedure", "for\tO", "at\tO", "least\tO", "3\tO", "months\tO"]
    assert got[5] == ["Signed\tO", "informed\tO", "consent\tO"]
    assert got[6] == ["# doc = NCT00000002_exc", "# doc = NCT00000002_inc"]


def test_flatten_stats_count_what_was_dropped(tmp_path):
    stats = write_conll(read_brat(QUIRKS), tmp_path / "out.conll")
    assert stats.entities_in == 16
    assert stats.dropped_overlap == 8
    assert stats.dropped_cross_sentence == 1
    assert stats.dropped_outside_sentence == 0
    assert stats.discontinuous_merged == 1
    assert stats.entities_kept == 7
    assert stats.entities_dropped == 9
    assert (stats.relations_in, stats.relations_kept) == (3, 1)


def test_write_corpus_returns_the_flatten_stats(tmp_path):
    stats = write_corpus(read_brat(QUIRKS), tmp_path / "out.conll", "conll")
    assert stats["documents"] == 4
    assert stats["entities_dropped"] == 9 and stats["dropped_overlap"] == 8


def test_tokens_split_on_whitespace_punctuation_and_entity_boundaries():
    text = "HbA1c<7.5% (x)"
    assert [text[s:e] for s, e in tokenize(text)] == ["HbA1c", "<", "7", ".", "5", "%", "(", "x", ")"]
    dose = "10mg daily"
    assert [dose[s:e] for s, e in tokenize(dose, cuts=[2])] == ["10", "mg", "daily"]
