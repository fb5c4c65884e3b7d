"""Strict NER and RE scores (paper section 4.2.3), micro P/R/F1 plus per type, as fractions.

- ``ner``: a predicted entity is correct when type and span match a gold one: the same
  character offsets, and for a discontinuous entity the same fragments, all of them.
- ``re_gs``: the relation classifier run on the GOLD entities the model's input holds; a
  relation is correct when head, tail (span + type) and relation type match, direction
  included. The BIO layer's input holds the flattened entities only (a discontinuous one as
  its extent, which stands for the gold entity it came from); relations of gold entities it
  cannot hold are false negatives against the original gold.
- ``re_end_to_end``: relations between PREDICTED entities, correct under the same rule.
``no_relation`` is never a scored class. A task a model cannot do (NER for standalone RE,
RE for standalone NER) is ``None``.

What is gold: ``evaluate(..., golds=...)`` takes the gold standards of :mod:`mlcore.gold`
(``original``: every entity, nested, overlapping and discontinuous; ``flattened``: what the BIO
layer trains on; ``chia11``: Tian et al.'s protocol) and scores one prediction pass against
each, the first at the top level. A gold with ``resolve_overlaps`` reads the predictions by
its own rule (types, then longest first) before comparing.

``ignore_types`` leaves entity types out of the scores (gold and predicted alike, and every
relation with such an entity at either end) without changing what the model predicts: e.g.
Chia's error and annotation types, which are not concepts (docs/results-chia.md, section 3).
"""
from __future__ import annotations

from collections import Counter

from mlcore.corpus.model import Span, longest_first
from mlcore.gold import GoldStandard, gold_blocks
from mlcore.inference import Pipeline, predict

TASKS = ("ner", "re_gs", "re_end_to_end")


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def score_sets(gold: list[set], predicted: list[set], type_of) -> dict:
    """Micro and per-type P/R/F1 over per-sentence sets of hashable items."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for gold_items, predicted_items in zip(gold, predicted):
        for item in predicted_items:
            (tp if item in gold_items else fp)[type_of(item)] += 1
        for item in gold_items - predicted_items:
            fn[type_of(item)] += 1
    precision, recall, f1 = prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    per_type = {}
    for name in sorted(set(tp) | set(fp) | set(fn)):
        p, r, f = prf(tp[name], fp[name], fn[name])
        per_type[name] = {"precision": p, "recall": r, "f1": f, "support": tp[name] + fn[name]}
    return {"precision": precision, "recall": recall, "f1": f1, "per_type": per_type}


def span_key(span) -> tuple:
    """(start, end, type, fragments): a discontinuous entity matches only with all its
    fragments; a contiguous one has the one piece ``(start, end)``."""
    return span.start, span.end, span.type, span.pieces


def _entity_set(spans) -> set:
    return {span_key(s) for s in spans}


def _relation_set(spans, relations) -> set:
    out = set()
    for head, tail, rel_type in relations:
        out.add((span_key(spans[head]), span_key(spans[tail]), rel_type))
    return out


def _without_types(items_per_sentence: list[set], scored) -> list[set]:
    """Keep entities whose type is ``scored``, and relations with such an entity at both ends."""
    def kept(item) -> bool:
        ends = item[:2] if isinstance(item[0], tuple) else (item,)
        return all(scored(end[2]) for end in ends)

    return [{item for item in items if kept(item)} for items in items_per_sentence]


def _capabilities(model) -> tuple[bool, bool]:
    """(can predict entities, can classify relations)."""
    if isinstance(model, Pipeline):
        return True, True
    return model.model.config.has_ner, model.model.config.has_re


def _scored_types(gold: GoldStandard, ignore: frozenset):
    return lambda name: name not in ignore and (gold.types is None or name in gold.types)


def _predicted_items(prediction, gold: GoldStandard, scored) -> tuple[set, set]:
    """(entity set, relation set) of one prediction as ``gold`` reads it: with
    ``resolve_overlaps``, entities of scored types only, flattened longest first (extents)."""
    spans = prediction.spans()
    relations = [(r.head, r.tail, r.type) for r in prediction.relations]
    if gold.resolve_overlaps:
        candidates = [k for k, span in enumerate(spans) if scored(span.type)]
        kept = {candidates[i]: Span(spans[candidates[i]].start, spans[candidates[i]].end,
                                    spans[candidates[i]].type)
                for i in longest_first([(spans[k].start, spans[k].end) for k in candidates])}
        relations = [r for r in relations if r[0] in kept and r[1] in kept]
        spans = [kept.get(k, span) for k, span in enumerate(spans)]
        return {span_key(spans[k]) for k in kept}, _relation_set(spans, relations)
    return _entity_set(spans), _relation_set(spans, relations)


def _on_gold_relations(prediction, gold_example) -> set:
    """Relations classified on the model's gold entities, each end read as the gold entity it
    stands for: itself, or the discontinuous gold entity whose extent it is (the BIO layer's
    input holds discontinuous entities as their extents)."""
    keys = _entity_set(gold_example.spans)
    by_extent = {(k[0], k[1], k[2]): k for k in keys if len(k[3]) > 1}
    ends = []
    for span in prediction.spans():
        key = span_key(span)
        ends.append(key if key in keys else by_extent.get(key[:3], key))
    return {(ends[r.head], ends[r.tail], r.type) for r in prediction.relations}


def evaluate(model, examples, batch_size: int = 32, *, tasks=TASKS, ignore_types=(),
             golds: list[GoldStandard] | None = None) -> dict:
    """Scores of ``model`` on ``examples`` (SentenceExample, the model's input).

    ``golds``: the gold standards to score against (``mlcore.gold``), aligned with
    ``examples``; default: the examples' own spans and relations, today's shape
    ``{"ner", "re_gs", "re_end_to_end"}``. With ``golds`` the first one's scores are the
    top-level keys, ``gold`` names it, and every other one is a block under its name.
    ``tasks`` limits the work: leaving out ``re_gs`` saves the second prediction pass.
    ``ignore_types``: entity types left out of every score (module docstring)."""
    examples = list(examples)
    given = golds is None
    golds = [GoldStandard("given", examples)] if given else golds
    for gold in golds:
        if len(gold.examples) != len(examples):
            raise ValueError(f"gold {gold.name!r} has {len(gold.examples)} sentences, "
                             f"the input {len(examples)}")
    has_ner, has_re = _capabilities(model)
    predicted = on_gold = None
    if has_ner and {"ner", "re_end_to_end"} & set(tasks):
        predicted = predict(model, examples, batch_size)
    if has_re and "re_gs" in tasks:
        on_gold = predict(model, examples, batch_size, gold_entities=True)
    if given:
        return _score_gold(golds[0], set(tasks), predicted, on_gold, has_re,
                           frozenset(ignore_types))
    return score_predictions(golds, predicted, on_gold, tasks=tasks, ignore_types=ignore_types,
                             has_re=has_re)


def score_predictions(golds: list[GoldStandard], predicted, on_gold=None, *, tasks=TASKS,
                      ignore_types=(), has_re: bool = True) -> dict:
    """Score predictions (``SentencePrediction`` per gold sentence; ``predicted``: on the
    model's own entities, ``on_gold``: relations classified on the gold entities, either None
    when not made) against each gold standard: the first at the top level with ``gold``
    naming it, every other one as a block under its name. Works for any entity layer: an
    entity is its type and fragments."""
    ignore = frozenset(ignore_types)
    results = [_score_gold(gold, set(tasks) & set(gold.tasks), predicted, on_gold, has_re,
                           ignore) for gold in golds]
    top = {"gold": golds[0].name, **results[0]}
    for gold, result in zip(golds[1:], results[1:]):
        top[gold.name] = {"gold": gold.name, **result}
    return top


def _score_gold(gold: GoldStandard, tasks: set, predicted, on_gold, has_re: bool, ignore
                ) -> dict:
    """The scores of ``tasks`` against one gold standard (None where not computed)."""
    scored = _scored_types(gold, ignore)
    gold_entities = _without_types([_entity_set(e.spans) for e in gold.examples], scored)
    gold_relations = _without_types([_relation_set(e.spans, e.relations)
                                     for e in gold.examples], scored)
    metrics = dict.fromkeys(TASKS)

    def score(gold_sets, predicted_sets):
        return score_sets(gold_sets, _without_types(predicted_sets, scored),
                          lambda item: item[2])

    if predicted is not None:
        items = [_predicted_items(p, gold, scored) for p in predicted]
        if "ner" in tasks:
            metrics["ner"] = score(gold_entities, [entities for entities, _ in items])
        if has_re and "re_end_to_end" in tasks:
            metrics["re_end_to_end"] = score(gold_relations, [rels for _, rels in items])
    if on_gold is not None and "re_gs" in tasks:
        metrics["re_gs"] = score(gold_relations, [_on_gold_relations(p, g) for p, g
                                                  in zip(on_gold, gold.examples)])
    return metrics


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def to_markdown(metrics: dict, per_type: bool = True) -> str:
    """Per gold standard (``mlcore.gold.gold_blocks``): micro scores as one table (percent);
    then one per-type table per task of the first (headline) gold."""
    blocks = gold_blocks(metrics)
    parts = []
    for name, block in blocks:
        title = f"Scored against the **{name}** gold:\n\n" if len(blocks) > 1 or name != "given" \
            else ""
        parts.append(title + _micro_table(block))
    if per_type:
        parts += _per_type_tables(blocks[0][1])
    return "\n".join(parts)


def _micro_table(metrics: dict) -> str:
    lines = ["| task | P | R | F1 |", "| --- | ---: | ---: | ---: |"]
    for task in TASKS:
        m = metrics.get(task)
        if m is None:
            lines.append(f"| {task} | - | - | - |")
        else:
            lines.append(f"| {task} | {_pct(m['precision'])} | {_pct(m['recall'])} "
                         f"| {_pct(m['f1'])} |")
    return "\n".join(lines) + "\n"


def _per_type_tables(metrics: dict) -> list[str]:
    tables = []
    for task in TASKS:
        m = metrics.get(task)
        if not m or not m["per_type"]:
            continue
        lines = [f"**{task}** per type", "",
                 "| type | P | R | F1 | support |", "| --- | ---: | ---: | ---: | ---: |"]
        for name, t in m["per_type"].items():
            lines.append(f"| {name} | {_pct(t['precision'])} | {_pct(t['recall'])} "
                         f"| {_pct(t['f1'])} | {t['support']} |")
        tables.append("\n".join(lines) + "\n")
    return tables
