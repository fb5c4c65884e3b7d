"""The gold standards a model is scored against (torch-free; see docs/mlcore.md, Scoring).

A gold standard is one list of sentence examples per document set, aligned sentence by sentence
with the model's input (the same documents, the same sentences, blank ones skipped):

- ``original``: every annotated entity, nested and overlapping ones included, a discontinuous
  entity by its exact fragments, and every relation between them (the default).
- ``flattened``: what the BIO layer trains on (``sentence_examples``' flattening rule:
  discontinuous -> extent, longest first, overlaps dropped), the figure reported before issue 12.
- ``chia11``: the protocol of the best published Chia NER figure (Tian et al. 2021, strict F1
  0.658): only the 11 types below, overlaps resolved to the longest span (the same rule,
  applied after the other types are removed, to gold and to predictions alike), NER only.

Entities that cross a sentence boundary or start in no sentence are in no gold standard
(no sentence model can predict them); ``GoldStandard.stats`` counts them.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from mlcore.corpus.model import Document, FlattenStats, SentenceExample, sentence_examples

ORIGINAL, FLATTENED, CHIA11 = "original", "flattened", "chia11"
GOLDS = (ORIGINAL, FLATTENED, CHIA11)
DEFAULT_GOLDS = (ORIGINAL, FLATTENED)
CHIA11_TYPES = frozenset({
    "Condition", "Value", "Drug", "Procedure", "Measurement", "Temporal", "Observation",
    "Person", "Mood", "Device", "Pregnancy_considerations",
})
ALL_TASKS = ("ner", "re_gs", "re_end_to_end")


@dataclass
class GoldStandard:
    """Gold sentence examples and how predictions are read against them.

    ``types``: the entity types scored (None: every type); ``resolve_overlaps``: predictions
    are flattened by the gold's rule (types first, then longest first) before scoring;
    ``tasks``: the scores this gold gives."""

    name: str
    examples: list[SentenceExample]
    types: frozenset[str] | None = None
    resolve_overlaps: bool = False
    tasks: tuple[str, ...] = ALL_TASKS
    stats: FlattenStats = field(default_factory=FlattenStats)


def document_examples(documents: list[Document], stats: FlattenStats | None = None, *,
                      flat: bool = True, types: frozenset[str] | None = None
                      ) -> list[SentenceExample]:
    """Sentence examples of every document (``sentence_examples``), blank sentences skipped;
    ``types`` keeps only entities of those types (and relations between them)."""
    examples = []
    for document in documents:
        if types is not None:
            document = replace(document, entities=[e for e in document.entities
                                                   if e.type in types])
        examples += [e for e in sentence_examples(document, stats, flat=flat) if e.text.strip()]
    return examples


def gold_standard(name: str, documents: list[Document]) -> GoldStandard:
    """The gold standard ``name`` (one of :data:`GOLDS`) of ``documents``."""
    if name not in GOLDS:
        raise ValueError(f"unknown gold {name!r}; choose from {', '.join(GOLDS)}")
    stats = FlattenStats()
    if name == CHIA11:
        examples = document_examples(documents, stats, types=CHIA11_TYPES)
        return GoldStandard(name, examples, CHIA11_TYPES, True, ("ner",), stats)
    examples = document_examples(documents, stats, flat=name == FLATTENED)
    return GoldStandard(name, examples, stats=stats)


def gold_standards(documents: list[Document], names=DEFAULT_GOLDS) -> list[GoldStandard]:
    return [gold_standard(name, documents) for name in names]


def gold_blocks(metrics: dict) -> list[tuple[str, dict]]:
    """(gold name, scores) of an ``evaluate(..., golds=...)`` result: the top level first,
    then every block named by a gold; ``given`` for a result without golds."""
    blocks = [(metrics.get("gold", "given"), metrics)]
    return blocks + [(name, block) for name, block in metrics.items()
                     if isinstance(block, dict) and "gold" in block]
