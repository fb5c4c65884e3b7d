"""CoNLL BIO export on the hand-computed brat fixture, its tokenizer, and a real reader (spaCy)."""
from pathlib import Path

from spacy.training.converters import conll_ner_to_docs

from mlcore.corpus import write_corpus
from mlcore.corpus.brat import read_brat
from mlcore.corpus.conll import tokenize, write_conll
from mlcore.corpus.model import sentence_examples

QUIRKS = Path(__file__).parent.parent / "fixtures" / "corpus" / "brat_quirks"
DOCSTART = "-DOCSTART- -X- O O"


def blocks(path: Path) -> list[list[str]]:
    return [block.splitlines() for block in path.read_text(encoding="utf-8").split("\n\n")]


def test_bio_output_of_the_fixture(tmp_path):
    write_conll(read_brat(QUIRKS), tmp_path / "out.conll")
    got = blocks(tmp_path / "out.conll")
    assert got[0] == [DOCSTART]
    assert got[1] == ["Pregnancy\tB-Condition", "or\tO", "breast\tB-Condition", "feeding\tI-Condition"]
    assert got[2] == ["Prior\tO", "chemotherapy\tB-Procedure"]
    assert got[3] == [DOCSTART]
    assert got[4] == ["Age\tB-Person", ">\tB-Value", "=\tI-Value",
                      "18\tI-Value", "years\tI-Value", "at\tO", "screening\tO"]
    # the Scope wins over the nested/crossing Conditions and Qualifier (longest first)
    assert got[5] == ["Type\tB-Scope", "2\tI-Scope", "diabetes\tI-Scope", "or\tI-Scope",
                      "hypertension\tI-Scope", ",\tO", "controlled\tO"]
    # the discontinuous T8 becomes its extent; T10 and T11 lose to the cross-line Scope T12,
    # which is then dropped because it crosses the line end
    assert got[6] == ["Metformin\tB-Procedure", "or\tI-Procedure", "insulin\tI-Procedure",
                      "therapy\tI-Procedure", "for\tO", "at\tO", "least\tO", "3\tO", "months\tO"]
    assert got[7] == ["Signed\tO", "informed\tO", "consent\tO"]
    # NCT00000002's two documents have no sentences: a separator each, nothing else
    assert got[8:] == [[DOCSTART], [DOCSTART], []]
    assert "# doc" not in (tmp_path / "out.conll").read_text(encoding="utf-8")


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


def _written_entities(documents) -> list[list[tuple[str, str]]]:
    """Per non-empty document, the (type, tokens joined by spaces) of every span the export keeps."""
    per_document = []
    for document in documents:
        entities, any_sentence = [], False
        for example in sentence_examples(document):
            any_sentence = True
            for span in example.spans:
                tokens = tokenize(example.text[span.start:span.end])
                words = [example.text[span.start:span.end][s:e] for s, e in tokens]
                entities.append((span.type, " ".join(words)))
        if any_sentence:
            per_document.append(entities)
    return per_document


def test_spacy_conll_converter_reads_back_exactly_the_exported_entities(tmp_path):
    write_conll(read_brat(QUIRKS), tmp_path / "out.conll")
    text = (tmp_path / "out.conll").read_text(encoding="utf-8")
    docs = list(conll_ner_to_docs(text, n_sents=0, no_print=True))
    expected = _written_entities(read_brat(QUIRKS))
    assert len(docs) == len(expected) == 2  # NCT00000002_exc/_inc have no sentences
    got = [[(ent.label_, ent.text) for ent in doc.ents] for doc in docs]
    assert got == expected
    assert sum(len(e) for e in got) == 7  # entities_kept of the flatten stats
    token_lines = [line for line in text.splitlines() if line and line != DOCSTART]
    assert [token.text for doc in docs for token in doc] == [line.split("\t")[0] for line in token_lines]
    assert not {"-DOCSTART-", "-X-", "#", "doc"} & {token.text for doc in docs for token in doc}


def test_a_type_name_with_blanks_is_one_label_column_that_spacy_reads_back(tmp_path):
    """Found exporting the demo project: spaCy read ``B-Negation cue`` as the label ``cue``."""
    from mlcore.corpus.model import Entity, Fragment, Sentence
    from mlcore.corpus.model import Document as Doc

    text = "No prior chemotherapy"
    document = Doc(name="d", text=text, sentences=[Sentence(0, len(text))], entities=[
        Entity("T1", "Negation  cue", (Fragment(0, 2),)),
        Entity("T2", "Investigational\tproduct", (Fragment(9, 21),))])
    write_conll([document], tmp_path / "out.conll")
    text_out = (tmp_path / "out.conll").read_text(encoding="utf-8")
    assert "No\tB-Negation_cue\n" in text_out
    docs = list(conll_ner_to_docs(text_out, n_sents=0, no_print=True))
    assert [(e.label_, e.text) for e in docs[0].ents] == [("Negation_cue", "No"),
                                                         ("Investigational_product", "chemotherapy")]
