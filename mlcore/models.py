"""The joint NER + RE model (paper section 4.1, Figure 1) and its standalone variants.

Small blocks composed into :class:`JointNerReModel`:
encoder -> :class:`NerHead` -> NER label embedding (concatenated with the encoder output) ->
:class:`SpanPooler` -> :class:`PairProjection` (two parallel FC layers: head, tail) ->
a relation head (:class:`AdditiveRelationHead`, :class:`BiaffineRelationHead`, or
:class:`LinearRelationHead` for standalone RE). ``loss = ner_loss + re_loss`` (paper eq. 3),
computed whenever the batch carries labels (``Batch.labelled``).

Modes: ``joint`` (everything), ``ner`` (encoder + NER head), ``re`` (encoder + pooling of the
encoder output over gold entities + head/tail FC + linear softmax classifier).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from mlcore.contract import MODEL_MODES as MODES
from mlcore.contract import POOLINGS, RE_HEADS, TRAINING_DEFAULTS
from mlcore.data import Batch
from mlcore.encoding import IGNORE
from mlcore.sampling import Candidates, build_candidates, decode_bio


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

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if self.re_head not in RE_HEADS:
            raise ValueError(f"re_head must be one of {tuple(RE_HEADS)}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {tuple(POOLINGS)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def has_ner(self) -> bool:
        return self.mode in ("joint", "ner")

    @property
    def has_re(self) -> bool:
        return self.mode in ("joint", "re")


@dataclass
class JointOutput:
    """``loss`` is None without labels. ``re_logits`` rows follow ``candidates`` pairs."""

    ner_logits: torch.Tensor | None
    re_logits: torch.Tensor | None
    candidates: Candidates | None
    predicted_entities: list | None
    loss: torch.Tensor | None = None
    ner_loss: torch.Tensor | None = None
    re_loss: torch.Tensor | None = None


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
        if config.has_ner:
            self.ner_head = NerHead(hidden, config.ner_hidden, config.num_bio, config.dropout,
                                    config.activation)
        if config.mode == "joint":
            self.label_embedding = nn.Embedding(config.num_bio, config.label_embedding_dim)
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
        the candidates: NER cross-entropy on the gold BIO labels, RE cross-entropy on the
        candidate pairs' labels."""
        hidden = self.encoder(input_ids=batch.input_ids,
                              attention_mask=batch.attention_mask).last_hidden_state
        hidden = self.dropout(hidden)
        ner_logits = predicted_entities = ner_loss = None
        if self.config.has_ner:
            ner_logits = self.ner_head(hidden)
            word_logits = _gather_words(ner_logits, batch.word_first)
            predicted_words = word_logits.argmax(-1)
            if candidates != "gold":
                predicted_entities = decode_bio(predicted_words, batch.word_mask)
            if batch.labelled:
                ner_loss = F.cross_entropy(ner_logits.float().flatten(0, 1),
                                           batch.token_labels.flatten(), ignore_index=IGNORE)
        if not self.config.has_re:
            return JointOutput(ner_logits, None, None, predicted_entities, loss=ner_loss,
                               ner_loss=ner_loss)
        if self.config.mode == "re" and candidates != "gold":
            raise ValueError("standalone RE needs given entities (candidates='gold')")
        sequence = hidden
        if self.config.mode == "joint":
            word_labels = batch.word_labels.clamp(min=0) if candidates == "gold" \
                else predicted_words
            token_labels = _token_labels(word_labels, batch.token_word)
            sequence = torch.cat([hidden, self.label_embedding(token_labels).to(hidden.dtype)],
                                 dim=-1)
        cands = build_candidates(candidates, batch, predicted_entities)
        re_logits, re_loss = self._relations(sequence, cands)
        losses = [x for x in (ner_loss, re_loss) if x is not None]
        loss = sum(losses) if losses else None
        return JointOutput(ner_logits, re_logits, cands, predicted_entities, loss=loss,
                           ner_loss=ner_loss, re_loss=re_loss)

    def _relations(self, sequence: torch.Tensor, cands: Candidates):
        if cands.num_pairs == 0:
            empty = sequence.new_zeros((0, self.config.num_relations))
            loss = sequence.sum() * 0.0 if cands.pair_labels is not None else None
            return empty, loss
        entity_vectors = self.pooler(sequence, cands.ent_batch, cands.ent_first_token,
                                     cands.ent_last_token)
        heads, tails = self.pairs(entity_vectors)
        re_logits = self.relation_head(heads, tails, cands.pair_head, cands.pair_tail)
        loss = None
        if cands.pair_labels is not None:
            loss = F.cross_entropy(re_logits.float(), cands.pair_labels)
        return re_logits, loss


def _gather_words(token_values: torch.Tensor, word_first: torch.Tensor) -> torch.Tensor:
    """``[B, T, C]`` token values -> ``[B, W, C]`` at each word's first piece."""
    index = word_first.unsqueeze(-1).expand(-1, -1, token_values.shape[-1])
    return token_values.gather(1, index)


def _token_labels(word_labels: torch.Tensor, token_word: torch.Tensor) -> torch.Tensor:
    """Word labels spread to every piece of the word; special tokens and padding get O (0)."""
    labels = word_labels.gather(1, token_word.clamp(min=0))
    return torch.where(token_word >= 0, labels, torch.zeros_like(labels))
