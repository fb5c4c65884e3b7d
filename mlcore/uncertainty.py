"""Per-sentence uncertainty scores for active learning. Higher = more uncertain, always.

Inputs: the NER distributions of the sentence's words (first word-piece of each word),
``[W, C]``, and the relation distributions of its candidate pairs, ``[P, L]``.

- ``least_confidence`` = 1 - prod_w max_c p(c|w)  (1 - probability of the best sequence,
  labels taken independently per word, as the NER layer is a per-token softmax)
- ``margin`` = 1 - min_w (top1_w - top2_w)
- ``token_entropy`` = mean_w H(p(.|w))
- ``mnlp`` = -(1/W) sum_w log max_c p(c|w)  (negated mean log-probability of the best sequence)
- ``relation_entropy`` = mean over candidate pairs of H(p(.|pair)); 0 when there are no pairs
- ``combined`` = mean of the available normalised parts: ``1 - exp(-mnlp)`` (1 - geometric mean
  of the best-label probabilities, in [0, 1)) and, when the sentence has candidate pairs,
  ``relation_entropy / log L`` (in [0, 1])
- ``per_input`` = the sentence's total uncertainty (word entropy summed over its words, plus
  relation entropy summed over its candidate pairs) per expected UI input: divided by the
  inputs of annotating the *predicted* entities and relations from scratch
  (``mlcore.effort.scratch_inputs``, Done included). Per word or per sentence favours short
  criteria or long ones; an expert's cost is inputs (docs/al-simulation.md). Set by
  :func:`with_per_input` once the prediction is decoded; 0 until then.
- ``random``: uniform in [0, 1), seeded per prediction call.
- ``bald`` (only when the prediction drew MC-dropout samples of the heads, ``mc_samples``):
  the mutual information between the labels and the heads' dropout masks (Houlsby et al.
  2011; Gal et al. 2017), ``H(mean_s p_s) - mean_s H(p_s)``, summed over the sentence's words
  (span layer: its spans) and candidate pairs, per expected input like ``per_input``
  (:func:`with_per_input`'s ``information``).
A sentence without words scores 0 everywhere except ``random``.

The span entity layer's scores (:func:`span_sentence_scores`): the same strategies over the
distributions of the sentence's enumerated spans (not an entity, or one of the types), with the
means (``token_entropy``, ``mnlp``) taken per WORD, i.e. the sums over spans divided by the
number of words: a sentence of W words has about ``W x max_span_width`` spans, nearly all
confident non-entities, and a mean over spans would drown its few doubtful ones.
"""
from __future__ import annotations

import math

import numpy as np

from mlcore.contract import UNCERTAINTY_STRATEGIES as STRATEGIES
from mlcore.effort import scratch_inputs
_EPS = 1e-12


def _entropy(probs: np.ndarray) -> np.ndarray:
    return -(probs * np.log(np.clip(probs, _EPS, None))).sum(axis=-1)


def with_per_input(scores: dict[str, float], *, words: int, pairs: int, fragments: list[int],
                   relations: int, information: float | None = None) -> dict[str, float]:
    """``scores`` with ``per_input`` set (module docstring) from the decoded prediction:
    ``fragments``, each predicted entity's fragment count; ``token_entropy`` is a mean per
    word and ``relation_entropy`` a mean over pairs, so both are summed back. With
    ``information`` (the sentence's summed mutual information) ``bald`` is set too."""
    total = scores["token_entropy"] * words + scores["relation_entropy"] * pairs
    inputs = scratch_inputs(fragments=fragments, relations=relations)
    scores = {**scores, "per_input": float(total / inputs)}
    if information is not None:
        scores["bald"] = float(information / inputs)
    return scores


def mutual_information(draws: np.ndarray) -> np.ndarray:
    """BALD's mutual information per row of ``draws`` ``[samples, rows, classes]`` (the
    probabilities of each MC-dropout draw): the entropy of the mean minus the mean entropy."""
    draws = np.asarray(draws, dtype=np.float64)
    if draws.shape[1] == 0:
        return np.zeros(0)
    return np.clip(_entropy(draws.mean(axis=0)) - _entropy(draws).mean(axis=0), 0.0, None)


def span_sentence_scores(span_probs: np.ndarray, relation_probs: np.ndarray | None,
                         words: int, rng: np.random.Generator | None = None) -> dict[str, float]:
    """All strategies for one sentence of the span layer: ``span_probs`` ``[S, 1 + types]``
    over its enumerated spans, means per word (module docstring)."""
    return sentence_scores(span_probs, relation_probs, rng, per=words)


def sentence_scores(word_probs: np.ndarray, relation_probs: np.ndarray | None,
                    rng: np.random.Generator | None = None, *,
                    per: int | None = None) -> dict[str, float]:
    """All strategies for one sentence (see the module docstring for the formulas); the
    means divide by ``per`` (default: the number of rows, i.e. of words)."""
    rng = rng or np.random.default_rng(0)
    word_probs = np.asarray(word_probs, dtype=np.float64)
    scores = dict.fromkeys(STRATEGIES, 0.0)
    scores["random"] = float(rng.random())
    pairs = 0 if relation_probs is None else len(relation_probs)
    if pairs:
        relation_probs = np.asarray(relation_probs, dtype=np.float64)
        scores["relation_entropy"] = float(_entropy(relation_probs).mean())
    if word_probs.size == 0:
        return scores
    ordered = np.sort(word_probs, axis=-1)
    best = ordered[:, -1]
    second = ordered[:, -2] if word_probs.shape[1] > 1 else np.zeros_like(best)
    log_best = np.log(np.clip(best, _EPS, None))
    scores["least_confidence"] = float(1.0 - math.exp(log_best.sum()))
    scores["margin"] = float(1.0 - (best - second).min())
    per = per or len(word_probs)
    scores["token_entropy"] = float(_entropy(word_probs).sum() / per)
    scores["mnlp"] = float(-log_best.sum() / per)
    parts = [1.0 - math.exp(-scores["mnlp"])]
    if pairs:
        classes = relation_probs.shape[1]
        parts.append(scores["relation_entropy"] / math.log(classes) if classes > 1 else 0.0)
    scores["combined"] = float(sum(parts) / len(parts))
    return scores
