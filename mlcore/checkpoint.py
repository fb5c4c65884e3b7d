"""Saving and loading a trained model: ``model.safetensors`` + ``config.json`` + ``encoder/``.

Saving is atomic: everything is written into a temporary folder next to the target, which
then replaces the target with ``os.replace`` (an existing target is moved aside first).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from mlcore.devices import Runtime, choose_runtime
from mlcore.encoders import encoder_from_config, load_encoder_files, save_encoder_files
from mlcore.encoding import LabelSpace
from mlcore.models import JointNerReModel, ModelConfig

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
FORMAT_VERSION = 1


@dataclass
class TrainedModel:
    """A model ready to predict: the network, its tokenizer, label space and metadata."""

    model: JointNerReModel
    tokenizer: object
    labels: LabelSpace
    runtime: Runtime
    max_length: int = 128
    meta: dict = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return self.model.config.mode


def save_checkpoint(trained: TrainedModel, out_dir: Path, meta: dict) -> Path:
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        state = {k: v.detach().to("cpu").contiguous()
                 for k, v in trained.model.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS))
        save_encoder_files(trained.model.encoder, trained.tokenizer, tmp)
        config = {
            "format_version": FORMAT_VERSION,
            "model": trained.model.config.to_dict(),
            "labels": trained.labels.to_dict(),
            "max_length": trained.max_length,
            **meta,
        }
        (tmp / CONFIG).write_text(json.dumps(config, indent=2, default=str))
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            os.replace(out_dir, old / "x")
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def read_config(model_dir: Path) -> dict:
    return json.loads((Path(model_dir) / CONFIG).read_text())


def load_checkpoint(model_dir: Path, *, device: str = "auto", precision: str = "auto"
                    ) -> TrainedModel:
    """Load a checkpoint onto the run-time device (any device, whatever it was trained on),
    ready for inference (:func:`prepare_for_inference`): never train what this returns."""
    model_dir = Path(model_dir)
    config = read_config(model_dir)
    encoder, tokenizer = load_encoder_files(model_dir)
    model = JointNerReModel(encoder, ModelConfig(**config["model"]))
    model.load_state_dict(load_file(str(model_dir / WEIGHTS)))
    runtime = choose_runtime(device=device, precision=precision)
    prepare_for_inference(model, runtime)
    return TrainedModel(model, tokenizer, LabelSpace.from_dict(config["labels"]), runtime,
                        config.get("max_length", 128), config)


def prepare_for_inference(model: JointNerReModel, runtime: Runtime) -> None:
    """Move ``model`` to the runtime's device in eval mode, in its inference precision.

    int8: the encoder's linear layers are quantized (:func:`quantize_encoder`). bf16: the
    encoder's weights are stored in bf16. Autocast computes the same bf16 matmuls either way,
    but with fp32 weights it casts every weight on every forward pass; on CPU that was 20-28%
    of bf16 inference time, with no F1 difference (docs/mlcore.md, Speed). The task heads stay
    fp32 under autocast, as in training."""
    model.to(runtime.device).eval()
    if runtime.int8:
        quantize_encoder(model)
    elif runtime.bf16:
        model.encoder.to(torch.bfloat16)


def quantize_encoder(model: JointNerReModel) -> None:
    """Dynamic int8 quantization of the encoder's ``nn.Linear`` layers (CPU only).

    Weights are quantized per output channel, which costs less F1 than per tensor
    (docs/mlcore.md, Speed). The task heads stay fp32: they are a small share of the time and
    their probabilities feed the uncertainty scores."""
    import warnings

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's deprecation notice, once per load
        model.encoder = quantize_dynamic(
            model.encoder, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)


def build_model(labels: LabelSpace, model_config: dict, encoder_name: str | None,
                encoder_config: dict | None = None):
    """A fresh model: pre-trained encoder by name, or a random one from ``encoder_config``."""
    from mlcore.encoders import load_pretrained_encoder, load_tokenizer

    tokenizer = load_tokenizer(encoder_name)
    if encoder_config is not None:
        encoder = encoder_from_config({"vocab_size": len(tokenizer), **encoder_config})
    else:
        encoder = load_pretrained_encoder(encoder_name)
    config = ModelConfig(num_bio=labels.num_bio, num_relations=labels.num_relations,
                         **model_config)
    return JointNerReModel(encoder, config), tokenizer


def seed_everything(seed: int) -> None:
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
