"""The joint NER + RE model (paper section 4.1, Figure 1) and its standalone variants.

Small blocks composed into :class:`JointNerReModel`:
encoder -> :class:`NerHead` -> NER label embedding (concatenated with the encoder output) ->
:class:`SpanPooler` -> :class:`PairProjection` (two parallel FC layers: head, tail) ->
a relation head (:class:`AdditiveRelationHead`, :class:`BiaffineRelationHead`, or
:class:`LinearRelationHead` for standalone RE). ``loss = ner_loss + re_loss`` (paper eq. 3),
computed whenever the batch carries labels (``Batch.labelled``).

Modes: ``joint`` (everything), ``ner`` (encoder + NER head), ``re`` (encoder + pooling of the
encoder output over gold entities + head/tail FC + linear softmax classifier).

Entity layers (``ModelConfig.entity_layer``): ``bio``, the paper's token tagger (:class:`NerHead`,
the label embedding on every token), or ``span`` (:class:`SpanHead`: every word span of at most
``max_span_width`` words is classified, so nested and overlapping entities are predicted; the
label embedding of each candidate entity's type is concatenated to its pooled vector).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from mlcore.contract import MODEL_MODES as MODES
from mlcore.contract import ENTITY_LAYERS, POOLINGS, RE_HEADS, TRAINING_DEFAULTS
from mlcore.data import Batch
from mlcore.encoding import IGNORE
from mlcore.sampling import (
    Candidates, SpanSet, build_candidates, decode_bio, decode_spans, gold_span_labels,
    sample_spans, span_grid,
)


@dataclass
class ModelConfig:
    num_bio: int
    num_relations: int
    mode: str = "joint"
    re_head: str = TRAINING_DEFAULTS["re_head"]
    label_embedding_dim: int = TRAINING_DEFAULTS["label_embedding_dim"]
    pooling: str = TRAINING_DEFAULTS["pooling"]
    ner_hidden: int = 256
    pair_dim: int = 128
    dropout: float = 0.1
    activation: str = "gelu"
    entity_layer: str = TRAINING_DEFAULTS["entity_layer"]
    max_span_width: int = TRAINING_DEFAULTS["max_span_width"]
    span_negatives: int = 100  # non-entity spans sampled per training sentence

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if self.re_head not in RE_HEADS:
            raise ValueError(f"re_head must be one of {tuple(RE_HEADS)}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {tuple(POOLINGS)}")
        if self.entity_layer not in ENTITY_LAYERS:
            raise ValueError(f"entity_layer must be one of {tuple(ENTITY_LAYERS)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def has_ner(self) -> bool:
        return self.mode in ("joint", "ner")

    @property
    def has_re(self) -> bool:
        return self.mode in ("joint", "re")

    @property
    def spans(self) -> bool:
        return self.entity_layer == "span"

    @property
    def num_entity_types(self) -> int:
        return (self.num_bio - 1) // 2


@dataclass
class JointOutput:
    """``loss`` is None without labels. ``re_logits`` rows follow ``candidates`` pairs; the
    span layer's ``span_logits`` rows follow ``spans`` (``ner_logits`` is then None), and so
    do its gold ``span_labels`` in a labelled batch (what its loss and calibration use)."""

    ner_logits: torch.Tensor | None
    re_logits: torch.Tensor | None
    candidates: Candidates | None
    predicted_entities: list | None
    loss: torch.Tensor | None = None
    ner_loss: torch.Tensor | None = None
    re_loss: torch.Tensor | None = None
    span_logits: torch.Tensor | None = None
    spans: SpanSet | None = None
    span_labels: torch.Tensor | None = None
    hidden: torch.Tensor | None = None  # the encoder's output, ``[B, T, H]``
    entity_words: torch.Tensor | None = None  # the BIO word labels the label embedding saw


def _activation(name: str) -> nn.Module:
    return nn.GELU() if name == "gelu" else nn.ReLU()


class NerHead(nn.Module):
    """FC + activation + dropout + output layer over BIO labels, on every token vector."""

    def __init__(self, hidden: int, inner: int, num_labels: int, dropout: float, activation: str):
        super().__init__()
        self.fc = nn.Linear(hidden, inner)
        self.act = _activation(activation)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(inner, num_labels)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(self.act(self.fc(hidden))))


class SpanHead(nn.Module):
    """The span layer: FC([h_first; h_last; width embedding]) -> activation -> dropout -> FC
    to ``1 + types`` logits (0 = not an entity), where h_first is the first word-piece of the
    span's first word and h_last the last piece of its last word (PURE's endpoints, SpERT's
    width embedding). The first FC is linear, so it runs once per token and the spans only
    gather and add (no ``[spans, 2d + w]`` tensor)."""

    def __init__(self, hidden: int, inner: int, num_types: int, max_width: int, dropout: float,
                 activation: str):
        super().__init__()
        self.first = nn.Linear(hidden, inner)
        self.last = nn.Linear(hidden, inner, bias=False)
        self.width = nn.Embedding(max_width, inner)  # = width embedding times its FC block
        self.act = _activation(activation)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(inner, 1 + num_types)

    def forward(self, hidden: torch.Tensor, batch_index, first_token, last_token, width):
        inner = (self.first(hidden)[batch_index, first_token]
                 + self.last(hidden)[batch_index, last_token] + self.width(width))
        return self.out(self.dropout(self.act(inner)))


class SpanPooler(nn.Module):
    """One vector per entity from its word-pieces: mean (cumulative sums) or first piece."""

    def __init__(self, pooling: str):
        super().__init__()
        self.pooling = pooling

    def forward(self, sequence: torch.Tensor, batch_index, first, last) -> torch.Tensor:
        if self.pooling == "first":
            return sequence[batch_index, first]
        sums = F.pad(torch.cumsum(sequence.float(), dim=1), (0, 0, 1, 0))
        total = sums[batch_index, last + 1] - sums[batch_index, first]
        return (total / (last - first + 1).unsqueeze(-1).float()).to(sequence.dtype)


class PairProjection(nn.Module):
    """Two parallel FC layers: entity vector -> head vector, entity vector -> tail vector."""

    def __init__(self, entity_dim: int, pair_dim: int, dropout: float, activation: str):
        super().__init__()
        self.head = nn.Linear(entity_dim, pair_dim)
        self.tail = nn.Linear(entity_dim, pair_dim)
        self.act = _activation(activation)
        self.dropout = nn.Dropout(dropout)

    def forward(self, entities: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (self.dropout(self.act(self.head(entities))),
                self.dropout(self.act(self.tail(entities))))


class AdditiveRelationHead(nn.Module):
    """re_m1: r = h_i + t_j, then an FC layer to relation logits (softmax in the loss).

    The FC layer is linear, so ``W(h_i + t_j) + b = (W h)_i + (W t)_j + b``: it runs once per
    entity and the pairs only gather and add (no ``[pairs, dim]`` tensor)."""

    def __init__(self, pair_dim: int, num_relations: int):
        super().__init__()
        self.out = nn.Linear(pair_dim, num_relations)

    def forward(self, heads, tails, pair_head, pair_tail) -> torch.Tensor:
        scored_heads = F.linear(heads, self.out.weight)
        scored_tails = F.linear(tails, self.out.weight)
        return scored_heads[pair_head] + scored_tails[pair_tail] + self.out.bias


class BiaffineRelationHead(nn.Module):
    """re_m2: s = h_i^T U t_j + W [h_i; t_j] + b (paper eq. 5); ``linear=False`` drops W.

    ``h^T U`` is computed once per entity (``[E, L, m]``), then dotted with each pair's tail."""

    def __init__(self, pair_dim: int, num_relations: int, linear: bool = True):
        super().__init__()
        self.bilinear = nn.Parameter(torch.empty(num_relations, pair_dim, pair_dim))
        nn.init.xavier_uniform_(self.bilinear)
        self.linear = nn.Linear(2 * pair_dim, num_relations, bias=False) if linear else None
        self.bias = nn.Parameter(torch.zeros(num_relations))

    def forward(self, heads, tails, pair_head, pair_tail) -> torch.Tensor:
        projected = torch.einsum("em,lmn->eln", heads, self.bilinear.to(heads.dtype))
        scores = (projected[pair_head] * tails[pair_tail].unsqueeze(1)).sum(-1)
        if self.linear is not None:
            scores = scores + _split_linear(self.linear.weight, heads, tails, pair_head, pair_tail)
        return scores + self.bias.to(scores.dtype)


class LinearRelationHead(nn.Module):
    """Standalone RE's linear softmax classifier over [h_i; t_j]."""

    def __init__(self, pair_dim: int, num_relations: int):
        super().__init__()
        self.out = nn.Linear(2 * pair_dim, num_relations)

    def forward(self, heads, tails, pair_head, pair_tail) -> torch.Tensor:
        return _split_linear(self.out.weight, heads, tails, pair_head, pair_tail) + self.out.bias


def _split_linear(weight, heads, tails, pair_head, pair_tail) -> torch.Tensor:
    """``W [h_i; t_j]`` as ``(W_h h)_i + (W_t t)_j``, computed per entity, gathered per pair."""
    dim = heads.shape[-1]
    return (F.linear(heads, weight[:, :dim])[pair_head]
            + F.linear(tails, weight[:, dim:])[pair_tail])


def _relation_head(config: ModelConfig) -> nn.Module:
    if config.mode == "re":
        return LinearRelationHead(config.pair_dim, config.num_relations)
    if config.re_head == "additive":
        return AdditiveRelationHead(config.pair_dim, config.num_relations)
    return BiaffineRelationHead(config.pair_dim, config.num_relations,
                                linear=config.re_head == "biaffine")


class JointNerReModel(nn.Module):
    def __init__(self, encoder: nn.Module, config: ModelConfig):
        super().__init__()
        self.config = config
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(config.dropout)
        entity_dim = hidden
        if config.has_ner and config.spans:
            self.span_head = SpanHead(hidden, config.ner_hidden, config.num_entity_types,
                                      config.max_span_width, config.dropout, config.activation)
        elif config.has_ner:
            self.ner_head = NerHead(hidden, config.ner_hidden, config.num_bio, config.dropout,
                                    config.activation)
        if config.mode == "joint":
            labels = config.num_entity_types if config.spans else config.num_bio
            self.label_embedding = nn.Embedding(max(labels, 1), config.label_embedding_dim)
            entity_dim += config.label_embedding_dim
        if config.has_re:
            self.pooler = SpanPooler(config.pooling)
            self.pairs = PairProjection(entity_dim, config.pair_dim, config.dropout,
                                        config.activation)
            self.relation_head = _relation_head(config)

    def forward(self, batch: Batch, candidates: str = "predicted") -> JointOutput:
        """``candidates``: ``gold`` (gs sampling / RE-gs evaluation; the label embedding sees
        the gold labels), ``incremental`` or ``predicted`` (the label embedding sees the
        predicted labels). See :mod:`mlcore.sampling`.

        The loss is computed whenever the batch is labelled (``Batch.labelled``), whatever
        the candidates: NER cross-entropy on the gold BIO labels (span layer: on the gold
        labels of the scored spans), RE cross-entropy on the candidate pairs' labels."""
        hidden = self.encoder(input_ids=batch.input_ids,
                              attention_mask=batch.attention_mask).last_hidden_state
        hidden = self.dropout(hidden)
        out = JointOutput(None, None, None, None, hidden=hidden)
        predicted_words = None
        if self.config.has_ner and self.config.spans:
            self._span_entities(hidden, batch, candidates, out)
        elif self.config.has_ner:
            predicted_words = self._bio_entities(hidden, batch, candidates, out)
        if not self.config.has_re:
            out.loss = out.ner_loss
            return out
        if self.config.mode == "re" and candidates != "gold":
            raise ValueError("standalone RE needs given entities (candidates='gold')")
        sequence = hidden
        if self.config.mode == "joint" and not self.config.spans:
            out.entity_words = batch.word_labels.clamp(min=0) if candidates == "gold" \
                else predicted_words
            sequence = self._labelled_sequence(hidden, batch, out.entity_words)
        out.candidates = build_candidates(candidates, batch, out.predicted_entities)
        out.re_logits, out.re_loss = self._relations(sequence, out.candidates)
        losses = [x for x in (out.ner_loss, out.re_loss) if x is not None]
        out.loss = sum(losses) if losses else None
        return out

    def _labelled_sequence(self, hidden, batch: Batch, word_labels) -> torch.Tensor:
        """The BIO layer's relation input: each token's vector with its word's label embedding."""
        token_labels = _token_labels(word_labels, batch.token_word)
        return torch.cat([hidden, self.label_embedding(token_labels).to(hidden.dtype)], dim=-1)

    def mc_dropout_logits(self, batch: Batch, out: JointOutput, samples: int
                          ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """``samples`` draws of the heads' logits with their dropout on (MC dropout on the
        heads only, for BALD): the encoder's output, the decoded entities and the candidate
        pairs stay those of the deterministic pass ``out``, so only the heads run again.
        Returns the entity draws (``[S, B, T, bio]`` like ``ner_logits``, or ``[S, spans,
        1 + types]`` like ``span_logits``) and the relation draws (``[S, pairs, L]``); None
        for a part the model lacks."""
        heads = [m for m in (self.dropout, getattr(self, "ner_head", None),
                             getattr(self, "span_head", None), getattr(self, "pairs", None))
                 if m is not None]
        was_training = [m.training for m in heads]
        for m in heads:
            m.train()
        try:
            draws = [self._head_draw(batch, out) for _ in range(samples)]
        finally:
            for m, training in zip(heads, was_training):
                m.train(training)
        entity, relation = zip(*draws) if draws else ((), ())
        return _stacked(entity), _stacked(relation)

    def _head_draw(self, batch: Batch, out: JointOutput):
        hidden = self.dropout(out.hidden)
        entity = relation = None
        if self.config.has_ner and self.config.spans:
            first, last = out.spans.tokens(batch.word_first, batch.word_last)
            entity = self.span_head(hidden, out.spans.batch, first, last, out.spans.width)
        elif self.config.has_ner:
            entity = self.ner_head(hidden)
        if self.config.has_re and out.candidates is not None:
            sequence = hidden
            if out.entity_words is not None:
                sequence = self._labelled_sequence(hidden, batch, out.entity_words)
            relation = self._relations(sequence, out.candidates)[0]
        return entity, relation

    def _bio_entities(self, hidden, batch: Batch, candidates: str, out: JointOutput):
        """The BIO layer: token logits, decoded entities, loss; returns the word labels."""
        out.ner_logits = self.ner_head(hidden)
        predicted_words = _gather_words(out.ner_logits, batch.word_first).argmax(-1)
        if candidates != "gold":
            out.predicted_entities = decode_bio(predicted_words, batch.word_mask)
        if batch.labelled:
            out.ner_loss = F.cross_entropy(out.ner_logits.float().flatten(0, 1),
                                           batch.token_labels.flatten(), ignore_index=IGNORE)
        return predicted_words

    def _span_entities(self, hidden, batch: Batch, candidates: str, out: JointOutput) -> None:
        """The span layer: in training (a labelled batch in train mode) the gold spans and
        the sampled negatives are scored, else every span up to the maximum width."""
        grid = span_grid(batch.word_mask, self.config.max_span_width)
        gold = gold_span_labels(batch.sentences, grid) if batch.labelled else None
        if gold is not None and self.training:
            grid = sample_spans(grid, gold, self.config.span_negatives)
        out.spans = SpanSet.from_grid(grid)
        first, last = out.spans.tokens(batch.word_first, batch.word_last)
        out.span_logits = self.span_head(hidden, out.spans.batch, first, last, out.spans.width)
        if candidates != "gold":
            out.predicted_entities = decode_spans(out.span_logits, out.spans,
                                                  len(batch.sentences))
        if gold is not None:
            out.span_labels = targets = gold[out.spans.batch, out.spans.first, out.spans.width]
            out.ner_loss = (F.cross_entropy(out.span_logits.float(), targets)
                            if len(targets) else hidden.sum() * 0.0)

    def _relations(self, sequence: torch.Tensor, cands: Candidates):
        if cands.num_pairs == 0:
            empty = sequence.new_zeros((0, self.config.num_relations))
            loss = sequence.sum() * 0.0 if cands.pair_labels is not None else None
            return empty, loss
        entity_vectors = self.pooler(sequence, cands.ent_batch, cands.ent_first_token,
                                     cands.ent_last_token)
        if self.config.mode == "joint" and self.config.spans:
            entity_vectors = torch.cat(
                [entity_vectors, self.label_embedding(cands.ent_type).to(entity_vectors.dtype)],
                dim=-1)
        heads, tails = self.pairs(entity_vectors)
        re_logits = self.relation_head(heads, tails, cands.pair_head, cands.pair_tail)
        loss = None
        if cands.pair_labels is not None:
            loss = F.cross_entropy(re_logits.float(), cands.pair_labels)
        return re_logits, loss


def _stacked(parts) -> torch.Tensor | None:
    return torch.stack(parts) if parts and parts[0] is not None else None


def _gather_words(token_values: torch.Tensor, word_first: torch.Tensor) -> torch.Tensor:
    """``[B, T, C]`` token values -> ``[B, W, C]`` at each word's first piece."""
    index = word_first.unsqueeze(-1).expand(-1, -1, token_values.shape[-1])
    return token_values.gather(1, index)


def _token_labels(word_labels: torch.Tensor, token_word: torch.Tensor) -> torch.Tensor:
    """Word labels spread to every piece of the word; special tokens and padding get O (0)."""
    labels = word_labels.gather(1, token_word.clamp(min=0))
    return torch.where(token_word >= 0, labels, torch.zeros_like(labels))
