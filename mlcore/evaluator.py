"""Strict NER and RE scores (paper section 4.2.3), micro P/R/F1 plus per type, as fractions.

- ``ner``: a predicted entity is correct when span (character offsets) and type match a gold one.
- ``re_gs``: the relation classifier run on the GOLD entities; a relation is correct when head,
  tail (span + type) and relation type match, direction included.
- ``re_end_to_end``: relations between PREDICTED entities, correct under the same rule.
``no_relation`` is never a scored class. A task a model cannot do (NER for standalone RE,
RE for standalone NER) is ``None``.

``ignore_types`` leaves entity types out of the scores (gold and predicted alike, and every
relation with such an entity at either end) without changing what the model predicts: e.g.
Chia's error and annotation types, which are not concepts (docs/results-chia.md, section 3).
"""
from __future__ import annotations

from collections import Counter

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


def _entity_key(span) -> tuple:
    """(start, end, type, fragments): a discontinuous entity matches only with all its
    fragments; a contiguous one has the one piece ``(start, end)``."""
    return span.start, span.end, span.type, span.pieces


def _entity_set(spans) -> set:
    return {_entity_key(s) for s in spans}


def _relation_set(spans, relations) -> set:
    out = set()
    for head, tail, rel_type in relations:
        out.add((_entity_key(spans[head]), _entity_key(spans[tail]), rel_type))
    return out


def _without_types(items_per_sentence: list[set], ignore: frozenset) -> list[set]:
    """Drop entities of an ignored type, and relations with one at either end."""
    if not ignore:
        return items_per_sentence

    def kept(item) -> bool:
        ends = item[:2] if isinstance(item[0], tuple) else (item,)
        return all(end[2] not in ignore for end in ends)

    return [{item for item in items if kept(item)} for items in items_per_sentence]


def _predicted_relations(prediction) -> set:
    spans = prediction.spans()
    return _relation_set(spans, [(r.head, r.tail, r.type) for r in prediction.relations])


def _capabilities(model) -> tuple[bool, bool]:
    """(can predict entities, can classify relations)."""
    if isinstance(model, Pipeline):
        return True, True
    return model.model.config.has_ner, model.model.config.has_re


def evaluate(model, examples, batch_size: int = 32, *, tasks=TASKS, ignore_types=()) -> dict:
    """Scores on ``examples`` (SentenceExample with gold spans and relations).

    ``tasks`` limits the work: leaving out ``re_gs`` saves the second prediction pass.
    ``ignore_types``: entity types left out of every score (module docstring)."""
    examples = list(examples)
    ignore = frozenset(ignore_types)
    has_ner, has_re = _capabilities(model)
    has_ner = has_ner and bool({"ner", "re_end_to_end"} & set(tasks))
    gold_entities = _without_types([_entity_set(e.spans) for e in examples], ignore)
    gold_relations = _without_types([_relation_set(e.spans, e.relations) for e in examples],
                                    ignore)
    metrics = dict.fromkeys(TASKS)

    def score(gold, predictions, items_of):
        return score_sets(gold, _without_types([items_of(p) for p in predictions], ignore),
                          lambda item: item[2])

    if has_ner:
        predicted = predict(model, examples, batch_size)
        metrics["ner"] = score(gold_entities, predicted, lambda p: _entity_set(p.spans()))
        if has_re:
            metrics["re_end_to_end"] = score(gold_relations, predicted, _predicted_relations)
    if has_re and "re_gs" in tasks:
        on_gold = predict(model, examples, batch_size, gold_entities=True)
        metrics["re_gs"] = score(gold_relations, on_gold, _predicted_relations)
    return metrics


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def to_markdown(metrics: dict, per_type: bool = True) -> str:
    """Micro scores as one table (percent), then one per-type table per task."""
    lines = ["| task | P | R | F1 |", "| --- | ---: | ---: | ---: |"]
    for task in TASKS:
        m = metrics.get(task)
        if m is None:
            lines.append(f"| {task} | - | - | - |")
        else:
            lines.append(f"| {task} | {_pct(m['precision'])} | {_pct(m['recall'])} "
                         f"| {_pct(m['f1'])} |")
    if per_type:
        for task in TASKS:
            m = metrics.get(task)
            if not m or not m["per_type"]:
                continue
            lines += ["", f"**{task}** per type", "",
                      "| type | P | R | F1 | support |", "| --- | ---: | ---: | ---: | ---: |"]
            for name, t in m["per_type"].items():
                lines.append(f"| {name} | {_pct(t['precision'])} | {_pct(t['recall'])} "
                             f"| {_pct(t['f1'])} | {t['support']} |")
    return "\n".join(lines) + "\n"
