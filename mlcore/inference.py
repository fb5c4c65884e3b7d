"""Batched prediction: entities, relations, probabilities and uncertainty per sentence.

``predict`` works on a :class:`~mlcore.checkpoint.TrainedModel` (joint, ner or re) and on a
:class:`Pipeline` (standalone NER predictions fed to standalone RE). Sentences are sorted by
length, batched, padded per batch, run under ``torch.inference_mode()`` with bf16 autocast
where the runtime supports it, and returned in input order.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from mlcore.checkpoint import TrainedModel, load_checkpoint, read_config
from mlcore.corpus.model import SentenceExample, Span
from mlcore.data import bucketed_batches, collate
from mlcore.encoding import as_examples, encode_examples, words_to_span
from mlcore.models import _gather_words
from mlcore.uncertainty import sentence_scores

PIPELINE_FILE = "pipeline.json"


@dataclass
class PredictedEntity:
    """``prob``: the softmax's own probability; ``confidence``: the same under the
    checkpoint's NER temperature (:mod:`mlcore.calibration`; ``prob`` without one)."""

    start: int
    end: int
    type: str
    prob: float
    confidence: float | None = None

    def __post_init__(self):
        if self.confidence is None:
            self.confidence = self.prob


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

    def to_dict(self) -> dict:
        return asdict(self)

    def spans(self) -> list[Span]:
        return [Span(e.start, e.end, e.type) for e in self.entities]


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


def predict(model, texts_or_examples, batch_size: int = 32, *, gold_entities: bool = False,
            seed: int = 0) -> list[SentencePrediction]:
    """Predict every sentence. ``gold_entities=True`` classifies relations between the
    examples' own spans instead of predicted ones (RE ``gs`` evaluation)."""
    examples = as_examples(texts_or_examples)
    rng = np.random.default_rng(seed)
    if isinstance(model, Pipeline):
        return _predict_pipeline(model, examples, batch_size, gold_entities, rng)
    if model.mode == "re":
        gold_entities = True
    return _predict_single(model, examples, batch_size, gold_entities, rng)


def _predict_pipeline(pipeline, examples, batch_size, gold_entities, rng):
    if gold_entities:
        return _predict_single(pipeline.re, examples, batch_size, True, rng)
    ner = _predict_single(pipeline.ner, examples, batch_size, False, rng)
    with_entities = [SentenceExample(text=p.text, spans=p.spans(), document=e.document,
                                     offset=e.offset) for p, e in zip(ner, examples)]
    re = _predict_single(pipeline.re, with_entities, batch_size, True, rng)
    for ner_pred, re_pred in zip(ner, re):
        ner_pred.relations = re_pred.relations
        ner_pred.uncertainty["relation_entropy"] = re_pred.uncertainty["relation_entropy"]
    return ner


def _predict_single(trained: TrainedModel, examples, batch_size, gold_entities, rng):
    encoded, _ = encode_examples(examples, trained.tokenizer, trained.labels, trained.max_length)
    results: list[SentencePrediction | None] = [None] * len(encoded)
    trained.model.eval()
    runtime = trained.runtime
    with torch.inference_mode(), runtime.autocast():
        for sentences in bucketed_batches(encoded, batch_size, shuffle=False):
            batch = collate(sentences, trained.tokenizer.pad_token_id or 0,
                            labelled=False).to(runtime.device)
            output = trained.model(batch, candidates="gold" if gold_entities else "predicted")
            for s, prediction in zip(sentences, _unpack(trained, batch, output, gold_entities,
                                                        examples, rng)):
                results[s.index] = prediction
    return results


def _probabilities(logits: torch.Tensor, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """The softmax of ``logits`` as it is and under ``temperature`` (the same array for 1)."""
    raw = logits.float()
    probs = torch.softmax(raw, -1).cpu().numpy()
    if temperature == 1.0:
        return probs, probs
    return probs, torch.softmax(raw / temperature, -1).cpu().numpy()


def _unpack(trained, batch, output, gold_entities, examples, rng):
    labels = trained.labels
    calibration = trained.meta.get("calibration") or {}
    word_probs = word_conf = None
    if output.ner_logits is not None:
        word_probs, word_conf = _probabilities(
            _gather_words(output.ner_logits.float(), batch.word_first),
            calibration.get("ner_temperature", 1.0))
    if output.candidates is not None:
        entities = output.candidates.entities
        pair_probs, pair_conf = _probabilities(output.re_logits,
                                               calibration.get("re_temperature", 1.0))
    else:
        entities = output.predicted_entities
        pair_probs = pair_conf = np.zeros((0, labels.num_relations))
    offset = 0
    for b, s in enumerate(batch.sentences):
        example = examples[s.index]
        n_words = len(s.word_first)
        probs_b = word_probs[b, :n_words] if word_probs is not None else np.zeros((0, 1))
        conf_b = word_conf[b, :n_words] if word_conf is not None else probs_b
        sentence_entities = entities[b] if entities is not None else []
        if gold_entities:
            ents = [_gold_entity(example, s, k) for k in range(len(sentence_entities))]
        else:
            ents = [_predicted_entity(s, e, probs_b, conf_b, labels) for e in sentence_entities]
        pairs = output.candidates.pairs[b] if output.candidates is not None else []
        rel_probs = pair_probs[offset:offset + len(pairs)]
        rel_conf = pair_conf[offset:offset + len(pairs)]
        offset += len(pairs)
        relations = []
        for (i, j), probs, conf in zip(pairs, rel_probs, rel_conf):
            label = int(probs.argmax())
            if label != 0:
                relations.append(PredictedRelation(i, j, labels.relation_labels[label],
                                                   float(probs[label]), float(conf[label])))
        yield SentencePrediction(
            text=s.text, entities=ents, relations=relations,
            uncertainty=sentence_scores(probs_b, rel_probs, rng),
            document=example.document, offset=example.offset,
        )


def _gold_entity(example, s, k) -> PredictedEntity:
    span = example.spans[s.entity_spans[k]]
    return PredictedEntity(span.start, span.end, span.type, 1.0)


def _predicted_entity(s, entity, probs, conf, labels) -> PredictedEntity:
    """The entity's probability: the mean over its words of their best label's probability
    (``prob``; ``confidence`` the same under the temperature)."""
    first, last, type_id = entity
    span = words_to_span(s, entity, labels)

    def mean_best(values):
        return float((values[first:last + 1].max(axis=-1) if len(values) else np.ones(1)).mean())

    return PredictedEntity(span.start, span.end, span.type, mean_best(probs), mean_best(conf))
