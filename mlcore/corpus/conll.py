"""CoNLL BIO export (write only): one ``token<TAB>label`` per line, a blank line between sentences.

::

    -DOCSTART- -X- O O

    Patients	O
    with	O
    type	B-Condition
    2	I-Condition
    diabetes	I-Condition

Each document opens with the CoNLL-2003 separator line ``-DOCSTART- -X- O O``
and a blank line, the exact form spaCy's ``conll_ner_to_docs`` splits on and
the CoNLL-2003 files carry (readers of that corpus skip lines starting with
``-DOCSTART-``). Document names are not written: no common reader keeps them, and
a ``# doc = NAME`` comment is read as tokens by those that do not know comments.
Documents follow the export order; the JSONL export keeps the names.

A label is ``B-``/``I-`` and the entity type with each run of whitespace written as ``_``
(``Negation cue`` -> ``B-Negation_cue``): readers split a line on any whitespace (spaCy's
converter takes the last column), so a blank inside a label would cut it in two.

Entities go through :func:`mlcore.corpus.model.sentence_examples`, the same
flattening the model's BIO encoding uses, so what the export drops (and the
returned :class:`FlattenStats` counts) is exactly what the model cannot learn.
Tokens are runs of word characters or single punctuation characters, further
cut at entity boundaries so that every kept span covers whole tokens.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from .model import Document, FlattenStats, SentenceExample, sentence_examples

_TOKEN = re.compile(r"\w+|[^\w\s]")
DOCSTART = "-DOCSTART- -X- O O"
_BLANKS = re.compile(r"\s+")


def tokenize(text: str, cuts: Iterable[int] = ()) -> list[tuple[int, int]]:
    """``(start, end)`` of the tokens of ``text``, also split at each offset in ``cuts``."""
    cut_set = sorted(set(cuts))
    tokens = []
    for match in _TOKEN.finditer(text):
        start = match.start()
        for cut in cut_set:
            if match.start() < cut < match.end() and cut > start:
                tokens.append((start, cut))
                start = cut
        tokens.append((start, match.end()))
    return tokens


def bio_lines(example: SentenceExample) -> list[str]:
    """The ``token<TAB>label`` lines of one sentence."""
    cuts = [offset for span in example.spans for offset in (span.start, span.end)]
    lines = []
    for start, end in tokenize(example.text, cuts):
        label = "O"
        for span in example.spans:
            if span.start <= start and end <= span.end:
                label = ("B-" if start == span.start or _first_token(example.text, span.start, start)
                         else "I-") + label_name(span.type)
                break
        lines.append(f"{example.text[start:end]}\t{label}")
    return lines


def label_name(entity_type: str) -> str:
    """The entity type as a CoNLL label part: one column, whitespace runs written as ``_``."""
    return _BLANKS.sub("_", entity_type.strip())


def _first_token(text: str, span_start: int, token_start: int) -> bool:
    """A span that starts on whitespace begins at its first token."""
    return not text[span_start:token_start].strip()


def write_conll(documents: Iterable[Document], path: str | Path) -> FlattenStats:
    """Write the documents' sentences in BIO; return what flattening dropped or merged."""
    stats = FlattenStats()
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for document in documents:
            handle.write(f"{DOCSTART}\n\n")
            for example in sentence_examples(document, stats):
                lines = bio_lines(example)
                if lines:
                    handle.write("\n".join(lines) + "\n\n")
    return stats
