"""Batched prediction: entities, relations, probabilities and uncertainty per sentence.

``predict`` works on a :class:`~mlcore.checkpoint.TrainedModel` (joint, ner or re) and on a
:class:`Pipeline` (standalone NER predictions fed to standalone RE). Sentences are sorted by
length, batched, padded per batch, run under ``torch.inference_mode()`` with bf16 autocast
where the runtime supports it, and returned in input order. On a CPU with several torch
threads the batches run side by side, one torch thread each (:class:`_Forward`).

Discontinuous entities (span layer): the model predicts their fragments as spans and the
``<fragment>`` relation from each fragment to the next; :func:`join_fragments` turns every
chain of linked fragments into one entity with ``fragments`` and moves the relations of its
fragments onto it. Every predicted entity carries its ``fragments`` (one for a contiguous one).

Calibrated confidence (:mod:`mlcore.calibration`): ``prob`` is the softmax's own probability,
``confidence`` the same under the checkpoint's temperatures (``ner_temperature`` for the BIO
or span head, ``re_temperature`` for the relation head; ``prob`` without them); a relation's
``confidence`` is also multiplied by its two ends' (:func:`_suggestion_confidence`).

For the rankings that need more than one pass's scores: ``mc_samples`` draws the heads that
many times more with their dropout on (``uncertainty["bald"]``, :mod:`mlcore.uncertainty`;
the encoder runs once), and ``vectors`` keeps each sentence's encoder vector (the mean of its
tokens' last hidden states; :mod:`mlcore.selection` clusters them).
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np
import torch

from mlcore.checkpoint import TrainedModel, load_checkpoint, read_config
from mlcore.contract import (
    FRAGMENT_RELATION, MC_DROPOUT_SAMPLES, SAMPLED_STRATEGIES, SET_STRATEGIES,
)
from mlcore.corpus.model import SentenceExample, Span
from mlcore.data import bucketed_batches, collate
from mlcore.encoding import as_examples, encode_examples, words_to_span
from mlcore.models import _gather_words
from mlcore.uncertainty import (
    mutual_information, sentence_scores, span_sentence_scores, with_per_input,
)

PIPELINE_FILE = "pipeline.json"


@dataclass
class PredictedEntity:
    """``[start, end)`` is the extent; ``fragments`` the pieces in text order (sentence
    offsets), ``[(start, end)]`` for a contiguous entity. ``prob`` and ``confidence``: see
    the module docstring."""

    start: int
    end: int
    type: str
    prob: float
    fragments: list[tuple[int, int]] = field(default_factory=list)
    confidence: float | None = None

    def __post_init__(self):
        self.fragments = [tuple(f) for f in self.fragments] or [(self.start, self.end)]
        if self.confidence is None:
            self.confidence = self.prob

    def span(self) -> Span:
        return Span(self.start, self.end, self.type,
                    tuple(self.fragments) if len(self.fragments) > 1 else ())


@dataclass
class PredictedRelation:
    """Like :class:`PredictedEntity`, with the RE temperature."""

    head: int
    tail: int
    type: str
    prob: float
    confidence: float | None = None

    def __post_init__(self):
        if self.confidence is None:
            self.confidence = self.prob


@dataclass
class SentencePrediction:
    text: str
    entities: list[PredictedEntity] = field(default_factory=list)
    relations: list[PredictedRelation] = field(default_factory=list)
    uncertainty: dict = field(default_factory=dict)
    document: str = ""
    offset: int = 0
    vector: np.ndarray | None = field(default=None, repr=False)  # with ``vectors=True``

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "vector"}

    def spans(self) -> list[Span]:
        return [e.span() for e in self.entities]


@dataclass
class Pipeline:
    """Standalone end-to-end: a ``ner`` model's entities fed to an ``re`` model."""

    ner: TrainedModel
    re: TrainedModel


def load_model(model_dir, *, device: str = "auto", precision: str = "auto"):
    """A :class:`TrainedModel`, or a :class:`Pipeline` for a folder holding ``ner/`` + ``re/``."""
    model_dir = Path(model_dir)
    if (model_dir / PIPELINE_FILE).exists():
        return Pipeline(load_checkpoint(model_dir / "ner", device=device, precision=precision),
                        load_checkpoint(model_dir / "re", device=device, precision=precision))
    read_config(model_dir)
    return load_checkpoint(model_dir, device=device, precision=precision)


@dataclass(frozen=True)
class _Extras:
    """What a prediction computes beyond one pass (module docstring)."""

    mc_samples: int = 0
    vectors: bool = False
    side_by_side: bool = True


def ranking_extras(strategy: str) -> dict:
    """What :func:`predict` must compute beyond one pass for a ranking: BALD's MC-dropout
    draws of the heads, or the sentence vectors that diversity clusters (nothing else)."""
    if strategy in SAMPLED_STRATEGIES:
        return {"mc_samples": MC_DROPOUT_SAMPLES}
    if strategy in SET_STRATEGIES:
        return {"vectors": True}
    return {}


def predict(model, texts_or_examples, batch_size: int = 32, *, gold_entities: bool = False,
            seed: int = 0, mc_samples: int = 0, vectors: bool = False,
            side_by_side: bool = True) -> list[SentencePrediction]:
    """Predict every sentence. ``gold_entities=True`` classifies relations between the
    examples' own spans instead of predicted ones (RE ``gs`` evaluation); ``mc_samples`` and
    ``vectors``: see the module docstring; ``side_by_side=False`` runs one batch at a time on
    a multi-core CPU too (:class:`_Forward`; the same results)."""
    examples = as_examples(texts_or_examples)
    rng = np.random.default_rng(seed)
    extras = _Extras(mc_samples, vectors, side_by_side)
    if isinstance(model, Pipeline):
        return _predict_pipeline(model, examples, batch_size, gold_entities, rng, extras)
    if model.mode == "re":
        gold_entities = True
    return _predict_single(model, examples, batch_size, gold_entities, rng, extras=extras)


def _predict_pipeline(pipeline, examples, batch_size, gold_entities, rng, extras):
    if gold_entities:
        return _predict_single(pipeline.re, examples, batch_size, True, rng)
    ner = _predict_single(pipeline.ner, examples, batch_size, False, rng, extras=extras)
    with_entities = [SentenceExample(text=p.text, spans=p.spans(), document=e.document,
                                     offset=e.offset) for p, e in zip(ner, examples)]
    re = _predict_single(pipeline.re, with_entities, batch_size, True, rng, join=False)
    for ner_pred, re_pred in zip(ner, re):
        ner_pred.relations = re_pred.relations
        ner_pred.uncertainty["relation_entropy"] = re_pred.uncertainty["relation_entropy"]
        # per_input keeps the NER model's part: the relation model's pairs are not known here
        join_fragments(ner_pred)
    return ner


def _predict_single(trained: TrainedModel, examples, batch_size, gold_entities, rng, *,
                    join: bool = True, extras: _Extras = _Extras()):
    encoded, _ = encode_examples(examples, trained.tokenizer, trained.labels, trained.max_length,
                                 entity_layer=trained.model.config.entity_layer)
    results: list[SentencePrediction | None] = [None] * len(encoded)
    trained.model.eval()
    batches = bucketed_batches(encoded, batch_size, shuffle=False)
    forward = _Forward(trained, "gold" if gold_entities else "predicted")
    # MC-dropout draws switch the heads' dropout on and off: one batch at a time
    side_by_side = extras.side_by_side and not extras.mc_samples
    for sentences, batch, output in forward.each(batches, side_by_side=side_by_side):
        with torch.inference_mode(), trained.runtime.autocast():
            for s, prediction in zip(sentences, _unpack(trained, batch, output, gold_entities,
                                                        examples, rng, extras)):
                results[s.index] = join_fragments(prediction) if join else prediction
    return results


@dataclass
class _Forward:
    """The model's pass over batches, in order. On a CPU with ``n > 1`` torch threads the
    batches run side by side on ``n`` Python threads of one torch thread each (torch releases
    the GIL in its kernels): a criterion batch's matrices are small, so ``n`` batches at once
    use the cores better than one batch split ``n`` ways, and the decoding (Python, on the
    calling thread, in batch order so that the results stay those of one thread) overlaps
    the passes. ``docs/benchmarks.md``, "Re-ranking after a new model version"."""

    trained: TrainedModel
    candidates: str

    def run(self, sentences):
        runtime = self.trained.runtime
        with torch.inference_mode(), runtime.autocast():
            batch = collate(sentences, self.trained.tokenizer.pad_token_id or 0,
                            labelled=False).to(runtime.device)
            return sentences, batch, self.trained.model(batch, candidates=self.candidates)

    def each(self, batches: list, *, side_by_side: bool = True):
        threads = torch.get_num_threads()
        if (not side_by_side or self.trained.runtime.device.type != "cpu" or threads < 2
                or len(batches) < 2):
            yield from map(self.run, batches)
            return
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(threads, thread_name_prefix="eligo-predict") as pool:
                ahead = iter(batches)
                pending = deque(pool.submit(self.run, b) for b in islice(ahead, 2 * threads))
                while pending:
                    done = pending.popleft().result()
                    following = next(ahead, None)
                    if following is not None:
                        pending.append(pool.submit(self.run, following))
                    yield done
        finally:
            torch.set_num_threads(threads)


def _probabilities(logits: torch.Tensor, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """The softmax of ``logits`` as it is and under ``temperature`` (the same array for 1)."""
    raw = logits.float()
    probs = torch.softmax(raw, -1).cpu().numpy()
    if temperature == 1.0:
        return probs, probs
    return probs, torch.softmax(raw / temperature, -1).cpu().numpy()


@dataclass
class _Scores:
    """A batch's probabilities, raw (``*_probs``) and under the temperatures (``*_conf``):
    per word (BIO layer, ``[B, W, labels]``), per scored span split by sentence (span layer;
    ``span_words``: each span's first and last word) and per candidate pair."""

    word_probs: np.ndarray | None = None
    word_conf: np.ndarray | None = None
    span_probs: list[np.ndarray] | None = None
    span_conf: list[np.ndarray] | None = None
    span_words: list[np.ndarray] | None = None
    pair_probs: np.ndarray | None = None
    pair_conf: np.ndarray | None = None


def _scores(trained, batch, output) -> _Scores:
    calibration = trained.meta.get("calibration") or {}
    ner_temperature = calibration.get("ner_temperature", 1.0)
    scores = _Scores()
    if output.ner_logits is not None:
        scores.word_probs, scores.word_conf = _probabilities(
            _gather_words(output.ner_logits.float(), batch.word_first), ner_temperature)
    if output.span_logits is not None:
        rows, size = output.spans.batch, len(batch.sentences)
        probs, conf = _probabilities(output.span_logits, ner_temperature)
        scores.span_probs = _per_sentence(probs, rows, size)
        scores.span_conf = _per_sentence(conf, rows, size)
        scores.span_words = _per_sentence(
            torch.stack([output.spans.first, output.spans.last], 1).cpu().numpy(), rows, size)
    if output.candidates is not None:
        scores.pair_probs, scores.pair_conf = _probabilities(
            output.re_logits, calibration.get("re_temperature", 1.0))
    else:
        scores.pair_probs = scores.pair_conf = np.zeros((0, trained.labels.num_relations))
    return scores


def _sentence_vectors(batch, output) -> np.ndarray:
    """Each sentence's mean last hidden state over its real tokens, ``[B, H]``."""
    mask = batch.attention_mask.unsqueeze(-1).float()
    return ((output.hidden.float() * mask).sum(1) / mask.sum(1).clamp(min=1)).cpu().numpy()


def _information(trained, batch, output, samples: int):
    """BALD's mutual information from ``samples`` MC-dropout draws of the heads: summed
    per sentence for the entity part (a ``[B]`` array), per candidate pair for relations."""
    entity, relation = trained.model.mc_dropout_logits(batch, output, samples)
    size = len(batch.sentences)
    per_sentence = np.zeros(size)
    if entity is not None and output.spans is not None:
        rows = torch.softmax(entity.float(), -1).cpu().numpy()
        information = mutual_information(rows)
        per_sentence = np.bincount(output.spans.batch.cpu().numpy(), information, size)
    elif entity is not None:
        words = torch.softmax(torch.stack([_gather_words(d.float(), batch.word_first)
                                           for d in entity]), -1)
        information = mutual_information(words.flatten(1, 2).cpu().numpy())
        mask = batch.word_mask.flatten().cpu().numpy().astype(bool)
        per_sentence = (information * mask).reshape(size, -1).sum(1)
    pairs = (mutual_information(torch.softmax(relation.float(), -1).cpu().numpy())
             if relation is not None else np.zeros(0))
    return per_sentence, pairs


def _unpack(trained, batch, output, gold_entities, examples, rng, extras: _Extras = _Extras()):
    labels = trained.labels
    scores = _scores(trained, batch, output)
    vectors = _sentence_vectors(batch, output) if extras.vectors else None
    information = (_information(trained, batch, output, extras.mc_samples)
                   if extras.mc_samples and not gold_entities else None)
    entities = (output.candidates.entities if output.candidates is not None
                else output.predicted_entities)
    offset = 0
    for b, s in enumerate(batch.sentences):
        example = examples[s.index]
        n_words = len(s.word_first)
        probs_b = conf_b = np.zeros((0, 1))
        if scores.word_probs is not None:
            probs_b, conf_b = scores.word_probs[b, :n_words], scores.word_conf[b, :n_words]
        sentence_entities = entities[b] if entities is not None else []
        pairs = output.candidates.pairs[b] if output.candidates is not None else []
        rel_probs = scores.pair_probs[offset:offset + len(pairs)]
        rel_conf = scores.pair_conf[offset:offset + len(pairs)]
        sentence_information = None if information is None else float(
            information[0][b] + information[1][offset:offset + len(pairs)].sum())
        offset += len(pairs)
        position = list(range(len(sentence_entities)))
        if gold_entities:
            ents, position = _gold_entities(example, s)
        elif scores.span_probs is None:
            ents = [_bio_entity(s, e, probs_b, conf_b, labels) for e in sentence_entities]
        else:
            ents = _span_entities(s, sentence_entities, labels, scores.span_probs[b],
                                  scores.span_conf[b], scores.span_words[b])
        uncertainty = (sentence_scores(probs_b, rel_probs, rng) if scores.span_probs is None
                       else span_sentence_scores(scores.span_probs[b], rel_probs, n_words, rng))
        relations = _suggestion_confidence(
            _relations(pairs, rel_probs, rel_conf, position, labels), ents)
        uncertainty = with_per_input(uncertainty, words=n_words, pairs=len(pairs),
                                     fragments=[len(e.fragments) for e in ents],
                                     relations=len(relations), information=sentence_information)
        yield SentencePrediction(
            text=s.text, entities=ents, relations=relations,
            uncertainty=uncertainty, document=example.document, offset=example.offset,
            vector=None if vectors is None else vectors[b],
        )


def _per_sentence(values: np.ndarray, rows: torch.Tensor, size: int) -> list[np.ndarray]:
    """Rows of ``values`` split by sentence (``rows`` is sorted, as enumeration leaves it)."""
    counts = torch.bincount(rows, minlength=size).tolist()
    return list(np.split(values, np.cumsum(counts)[:-1]))


def _relations(pairs, rel_probs, rel_conf, position, labels) -> list[PredictedRelation]:
    """The pairs' best non-``no_relation`` labels, ends mapped to output entities through
    ``position``; a pair whose two ends are one entity is left out, of repeated ones the most
    probable is kept (with its confidence)."""
    best: dict[tuple[int, int, str], tuple[float, float]] = {}
    for (i, j), probs, conf in zip(pairs, rel_probs, rel_conf):
        label = int(probs.argmax())
        head, tail = position[i], position[j]
        if label != 0 and head != tail:
            key = (head, tail, labels.relation_labels[label])
            best[key] = max(best.get(key, (0.0, 0.0)), (float(probs[label]), float(conf[label])))
    return [PredictedRelation(h, t, name, prob, confidence)
            for (h, t, name), (prob, confidence) in best.items()]


def _suggestion_confidence(relations: list[PredictedRelation],
                           entities: list[PredictedEntity]) -> list[PredictedRelation]:
    """A relation suggestion is right only when its two ends are (its accept accepts them
    too): its confidence is the pair's calibrated one times its ends' (``prob`` stays the
    pair's own). The pair's alone, given on the whole dev split, was 0.69 off in ECE: sure of
    its type between ends that were often wrong."""
    for relation in relations:
        relation.confidence *= entities[relation.head].confidence * entities[relation.tail].confidence
    return relations


def _gold_entities(example, s) -> tuple[list[PredictedEntity], list[int]]:
    """The example's placed spans as entities (probability 1), and each encoded entity's
    position among them (a discontinuous span's fragments all point to it)."""
    owners = list(dict.fromkeys(s.entity_spans))
    spans = [example.spans[k] for k in owners]
    ents = [PredictedEntity(sp.start, sp.end, sp.type, 1.0, list(sp.pieces)) for sp in spans]
    return ents, [owners.index(k) for k in s.entity_spans]


def _span_entities(s, entities, labels, span_probs, span_conf, span_words
                   ) -> list[PredictedEntity]:
    """The span layer's entities: probability (and confidence) = the chosen label's of the
    entity's span (``span_words``: each span's first and last word, the rows of
    ``span_probs`` and ``span_conf``)."""
    row = {(int(first), int(last)): k for k, (first, last) in enumerate(span_words)}
    out = []
    for entity in entities:
        k, label = row[entity[0], entity[1]], entity[2] + 1
        out.append(PredictedEntity(*_chars(s, entity, labels), float(span_probs[k, label]),
                                   confidence=float(span_conf[k, label])))
    return out


def _chars(s, entity, labels) -> tuple[int, int, str]:
    span = words_to_span(s, entity, labels)
    return span.start, span.end, span.type


def _bio_entity(s, entity, probs, conf, labels) -> PredictedEntity:
    """The BIO layer's entity: probability = the mean over its words of the chosen label's
    probability (``confidence``: the same under the temperature)."""
    first, last, _ = entity

    def mean_chosen(values) -> float:
        return float((values[first:last + 1].max(axis=-1) if len(values) else np.ones(1)).mean())

    return PredictedEntity(*_chars(s, entity, labels), mean_chosen(probs),
                           confidence=mean_chosen(conf))


# --- discontinuous entities: fragments joined by their <fragment> links -----------------------

MAX_CHAINS = 16  # chains followed from one first fragment (a guard against a tangle of links)


def join_fragments(prediction: SentencePrediction) -> SentencePrediction:
    """Join every chain of ``<fragment>``-linked entities into one entity (in place).

    A link counts when it goes from an entity to a later one of the same type that does not
    overlap it. An entity a counted link reaches is a fragment only, never an entity of its
    own; a chain starts at a linked entity no link reaches and follows the links to their end
    (a fragment shared by two chains, "breast and ovarian cancer", joins both). The joined
    entity has the fragments in text order, the mean of their probabilities (and of their
    confidences), and every relation of any of its fragments (repeats merged, the most
    probable kept with its confidence). The links themselves are dropped: a ``<fragment>``
    link is never a relation suggestion."""
    entities = prediction.entities
    links: dict[int, list[int]] = {}
    for r in prediction.relations:
        if r.type == FRAGMENT_RELATION and _links(entities[r.head], entities[r.tail]):
            links.setdefault(r.head, []).append(r.tail)
    reached = {t for tails in links.values() for t in tails}
    joined: list[PredictedEntity] = []
    members: dict[int, list[int]] = {}
    for k, entity in enumerate(entities):
        if k in reached:
            continue
        for chain in (_chains(k, links) if k in links else [[k]]):
            for m in chain:
                members.setdefault(m, []).append(len(joined))
            joined.append(_joined([entities[m] for m in chain]))
    relations: dict[tuple[int, int, str], tuple[float, float]] = {}
    for r in prediction.relations:
        if r.type == FRAGMENT_RELATION:
            continue
        for head in members.get(r.head, []):
            for tail in members.get(r.tail, []):
                if head != tail:
                    key = (head, tail, r.type)
                    relations[key] = max(relations.get(key, (0.0, 0.0)), (r.prob, r.confidence))
    prediction.entities = joined
    prediction.relations = [PredictedRelation(h, t, name, p, c)
                            for (h, t, name), (p, c) in relations.items()]
    return prediction


def _links(head: PredictedEntity, tail: PredictedEntity) -> bool:
    return head.type == tail.type and head.end <= tail.start


def _chains(start: int, links: dict[int, list[int]]) -> list[list[int]]:
    """Every path from ``start`` along the links to an entity with no further link."""
    chains, stack = [], [[start]]
    while stack and len(chains) < MAX_CHAINS:
        path = stack.pop()
        nexts = [t for t in links.get(path[-1], []) if t not in path]
        if not nexts:
            chains.append(path)
        stack += [path + [t] for t in reversed(nexts)]
    return chains


def _joined(parts: list[PredictedEntity]) -> PredictedEntity:
    if len(parts) == 1:
        return parts[0]
    fragments = sorted(f for part in parts for f in part.fragments)
    return PredictedEntity(fragments[0][0], max(end for _, end in fragments), parts[0].type,
                           float(np.mean([part.prob for part in parts])), fragments,
                           confidence=float(np.mean([part.confidence for part in parts])))
