"""Calibrated confidence: temperature scaling fitted on the dev split, and its error.

A model's softmax probabilities are over-confident after fine-tuning; temperature scaling
(Guo et al., 2017) divides the logits by one scalar ``T`` chosen to minimise the negative
log-likelihood of the dev labels, which changes no prediction (the argmax is the same) but
makes a suggestion's confidence closer to how often such a suggestion is right.

- :func:`temperature_fit` / :func:`softmax_tempered` / :func:`expected_calibration_error` and
  :func:`display_threshold` are pure numpy functions.
- :func:`calibrate` runs a trained model on the dev split: it fits one temperature for the NER
  head (every word's BIO logits against its gold label; with the span entity layer every
  scored span's logits against its gold type or none) and one for the RE head (the logits of
  the pairs of predicted entities, the pairs inference classifies, against their labels; the
  span layer's ``<fragment>`` links between the pieces of a discontinuous entity are left
  out: inference joins them into entities, they are never a relation suggestion), then
  predicts the dev split with and without them and reports the ECE of the suggestions (an
  entity is right when its type and every fragment match a gold one, a relation when both
  ends and its type do) before and after, and the display threshold that minimises expected
  inputs.
"""
from __future__ import annotations

import math

import numpy as np

from mlcore.contract import FRAGMENT_RELATION
from mlcore.effort import CREATE_ENTITY, CREATE_RELATION, REJECT

#: expected inputs a suggestion costs or saves, from the effort model (``mlcore.effort``, the
#: view's key map): a shown wrong one is rejected (one input), a shown right one is taken by
#: the one ``*`` (accept all shown) the criterion needs anyway, a hidden right one has to be
#: created by hand.
INPUTS_SHOWN = {True: 0, False: REJECT}
INPUTS_CREATE = {"entity": CREATE_ENTITY, "relation": CREATE_RELATION}

_T_RANGE = (0.05, 20.0)


def softmax_tempered(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``softmax(logits / temperature)`` over the last axis, computed stably."""
    scaled = np.asarray(logits, dtype=np.float64) / float(temperature)
    scaled -= scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=-1, keepdims=True)


def _nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    probs = softmax_tempered(logits, temperature)
    return float(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None)).mean())


def temperature_fit(logits, labels, *, steps: int = 60) -> float:
    """The temperature in [0.05, 20] minimising the NLL of ``labels`` under
    ``softmax(logits / T)``: golden-section search on log T (the NLL is convex in 1/T, and
    unimodal in log T). 1.0 when there is nothing to fit on."""
    logits, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return 1.0
    low, high = (math.log(t) for t in _T_RANGE)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = _nll(logits, labels, math.exp(a)), _nll(logits, labels, math.exp(b))
    for _ in range(steps):
        if fa <= fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = _nll(logits, labels, math.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = _nll(logits, labels, math.exp(b))
    return round(math.exp((low + high) / 2), 4)


def expected_calibration_error(confidences, correct, *, bins: int = 10) -> float | None:
    """ECE: over ``bins`` equal-width confidence bins, the mean of |accuracy - confidence|
    weighted by each bin's share of the items. None without items."""
    confidences = np.asarray(confidences, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if len(confidences) == 0:
        return None
    which = np.minimum((confidences * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(correct[inside].mean() - confidences[inside].mean())
    return total / len(confidences)


def expected_inputs(points: dict[str, list[tuple[float, bool]]], threshold: float) -> float:
    """Expected inputs to turn the suggestions into the gold annotation with those at or above
    ``threshold`` shown: ``points`` maps a kind (``entity``, ``relation``) to its (confidence,
    right) pairs. Gold the model missed costs the same whatever the threshold: left out."""
    total = 0.0
    for kind, pairs in points.items():
        for confidence, right in pairs:
            if confidence >= threshold:
                total += INPUTS_SHOWN[right]
            elif right:
                total += INPUTS_CREATE[kind]
    return total


def display_threshold(points: dict[str, list[tuple[float, bool]]]) -> float:
    """The threshold (a multiple of 0.05 in [0, 0.95]) with the fewest expected inputs; of
    equal ones the lowest (show more rather than less)."""
    candidates = [round(0.05 * i, 2) for i in range(20)]
    return min(candidates, key=lambda t: (expected_inputs(points, t), t))


# --- on a trained model (torch) ----------------------------------------------------------


def dev_logits(trained, examples, batch_size: int = 32) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"ner": (logits, labels), "re": (logits, labels)}`` on labelled ``examples``: the NER
    head's word logits with their gold BIO labels (span layer: every span's logits with its
    gold label), and the RE logits of the predicted pairs (given entities for a standalone RE
    model) with their labels, but for the pairs whose gold label is the ``<fragment>`` link. A
    head the model lacks is left out."""
    import torch

    from mlcore.data import bucketed_batches, collate
    from mlcore.encoding import encode_examples

    encoded, _ = encode_examples(list(examples), trained.tokenizer, trained.labels,
                                 trained.max_length, entity_layer=trained.model.config.entity_layer)
    parts: dict[str, list] = {"ner": [], "re": []}
    candidates = "gold" if trained.mode == "re" else "predicted"
    link = trained.labels.relation_id(FRAGMENT_RELATION)
    trained.model.eval()
    with torch.inference_mode(), trained.runtime.autocast():
        for sentences in bucketed_batches(encoded, batch_size, shuffle=False):
            batch = collate(sentences, trained.tokenizer.pad_token_id or 0).to(trained.runtime.device)
            output = trained.model(batch, candidates=candidates)
            ner = _ner_logits(output, batch)
            if ner is not None:
                parts["ner"].append(ner)
            if output.re_logits is not None and output.candidates.pair_labels is not None:
                labels = output.candidates.pair_labels
                keep = labels != (-1 if link is None else link)
                parts["re"].append((output.re_logits[keep].float().cpu().numpy(),
                                    labels[keep].cpu().numpy()))
    return {kind: (np.concatenate([p[0] for p in rows]), np.concatenate([p[1] for p in rows]))
            for kind, rows in parts.items() if rows}


def _ner_logits(output, batch) -> tuple[np.ndarray, np.ndarray] | None:
    """The entity head's (logits, gold labels) of a labelled batch: per word for the BIO
    layer, per scored span for the span layer; None without an entity head."""
    from mlcore.models import _gather_words

    if output.span_logits is not None:
        return output.span_logits.float().cpu().numpy(), output.span_labels.cpu().numpy()
    if output.ner_logits is None:
        return None
    words = _gather_words(output.ner_logits.float(), batch.word_first)
    keep = batch.word_labels >= 0
    return words[keep].cpu().numpy(), batch.word_labels[keep].cpu().numpy()


def suggestion_points(predictions, examples) -> dict[str, list[tuple[float, bool]]]:
    """(confidence, right) of every predicted entity and relation against the gold of
    ``examples`` (strict match, :func:`mlcore.evaluator.span_key`: type and every fragment;
    both ends and the type)."""
    from mlcore.evaluator import span_key

    points: dict[str, list] = {"entity": [], "relation": []}
    for prediction, example in zip(predictions, examples, strict=True):
        gold = [span_key(s) for s in example.spans]
        gold_entities = set(gold)
        gold_relations = {(gold[h], gold[t], r) for h, t, r in example.relations}
        ends = [span_key(s) for s in prediction.spans()]
        for entity, key in zip(prediction.entities, ends):
            points["entity"].append((entity.confidence, key in gold_entities))
        for relation in prediction.relations:
            key = (ends[relation.head], ends[relation.tail], relation.type)
            points["relation"].append((relation.confidence, key in gold_relations))
    return points


def calibration_report(points_before: dict, points_after: dict, temperatures: dict) -> dict:
    """What goes into a checkpoint's config and a version's metrics: the temperatures, the
    ECE of each kind of suggestion before and after, and the display threshold."""
    ece = {kind: {"before": expected_calibration_error(*_unzip(points_before[kind])),
                  "after": expected_calibration_error(*_unzip(points_after[kind])),
                  "count": len(points_after[kind])}
           for kind in points_after}
    return {**temperatures, "ece": ece, "display_threshold": display_threshold(points_after)}


def _unzip(pairs: list[tuple[float, bool]]) -> tuple[list[float], list[bool]]:
    return [c for c, _ in pairs], [r for _, r in pairs]


def calibrate(trained, examples, batch_size: int = 32) -> dict:
    """Fit the temperatures of ``trained`` on the dev ``examples``, set them on the model
    (``trained.meta["calibration"]``, which inference reads) and return the report of
    :func:`calibration_report`."""
    from mlcore.inference import predict

    examples = list(examples)
    logits = dev_logits(trained, examples, batch_size)
    temperatures = {f"{kind}_temperature": temperature_fit(*logits[kind]) if kind in logits else 1.0
                    for kind in ("ner", "re")}
    gold_entities = trained.mode == "re"
    trained.meta["calibration"] = {}
    before = suggestion_points(predict(trained, examples, batch_size, gold_entities=gold_entities), examples)
    trained.meta["calibration"] = temperatures
    after = suggestion_points(predict(trained, examples, batch_size, gold_entities=gold_entities), examples)
    report = calibration_report(before, after, temperatures)
    trained.meta["calibration"] = report
    return report
