"""Training examples/s and inference sentences/s of the joint model: fp32, bf16 autocast, and
int8 (dynamically quantized encoder, inference only: its training column is ``-``), for each
entity layer (``--entity-layers bio,span``), next to the bare encoder in the same run: the
encoder with a token classifier in training, the encoder's forward pass alone at inference
(padded batches ready, no tokenization), and the ratios of the two.

Uses real Chia sentences when ../shared/data/chia is there (read, never copied), else synthetic
~85-character criteria. Peak memory: process RSS (``resource.getrusage``) and, on CUDA,
``torch.cuda.max_memory_allocated``. Prints a Markdown table.

    .venv/bin/python bench/bench_model_speed.py --threads 2 --train-steps 8 --sentences 512
    .venv/bin/python bench/bench_model_speed.py --threads 1 --entity-layers span \
        --span-model CHECKPOINT --precisions fp32,bf16
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlcore.checkpoint import (  # noqa: E402
    TrainedModel, build_model, load_checkpoint, prepare_for_inference,
)
from mlcore.contract import FRAGMENT_RELATION  # noqa: E402
from mlcore.corpus.model import SentenceExample  # noqa: E402
from mlcore.data import bucketed_batches, collate  # noqa: E402
from mlcore.devices import Runtime, cpu_has_native_bf16  # noqa: E402
from mlcore.encoding import LabelSpace, encode_examples  # noqa: E402
from mlcore.inference import predict  # noqa: E402

CHIA = ROOT.parent / "shared" / "data" / "chia" / "chia_without_scope"
WORDS = ("patients with history of diabetes mellitus type 2 treated with metformin for at least "
         "6 months prior to screening hba1c over 7 % no insulin").split()


def sample_sentences(count: int, seed: int) -> list[SentenceExample]:
    rng = random.Random(seed)
    if CHIA.exists():
        from mlcore.cli import read_documents, to_examples

        examples = [e for e in to_examples(read_documents(str(CHIA), "brat")) if e.text.strip()]
        rng.shuffle(examples)
        return (examples * (count // max(1, len(examples)) + 1))[:count]
    return [SentenceExample(" ".join(rng.choice(WORDS) for _ in range(14))) for _ in range(count)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_training(model, tokenizer, examples, labels, runtime, steps, batch_size, *,
                   entity_layer="bio", loss_of=None) -> float:
    """Training sentences/s after one warm-up step; ``loss_of(model, batch)`` replaces the
    joint model's gs loss (the bare encoder's token classifier)."""
    encoded, _ = encode_examples(examples, tokenizer, labels, entity_layer=entity_layer)
    batches = bucketed_batches(encoded, batch_size, shuffle=True, rng=random.Random(0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    loss_of = loss_of or (lambda m, batch: m(batch, candidates="gold").loss)
    model.train()
    seen, started = 0, None
    for step, sentences in enumerate((batches * (steps // len(batches) + 2))[:steps + 1]):
        if step == 1:  # first step is warm-up
            _synchronize(runtime)
            started, seen = time.perf_counter(), 0
        batch = collate(sentences, tokenizer.pad_token_id).to(runtime.device)
        with runtime.autocast():
            loss = loss_of(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        seen += len(sentences)
    _synchronize(runtime)
    return seen / (time.perf_counter() - started)


def _synchronize(runtime) -> None:
    if runtime.device.type == "cuda":
        torch.cuda.synchronize()


class TokenClassifier(torch.nn.Module):
    """The bare encoder's training baseline: encoder + one linear layer over BIO labels."""

    def __init__(self, encoder, num_labels: int):
        super().__init__()
        self.encoder = encoder
        self.out = torch.nn.Linear(encoder.config.hidden_size, num_labels)

    def loss(self, batch):
        hidden = self.encoder(input_ids=batch.input_ids,
                              attention_mask=batch.attention_mask).last_hidden_state
        return torch.nn.functional.cross_entropy(self.out(hidden).float().flatten(0, 1),
                                                 batch.token_labels.flatten(), ignore_index=-100)


def bench_encoder_forward(encoder, tokenizer, examples, labels, runtime, batch_size) -> float:
    """Sentences/s of the encoder's forward pass alone on batches padded beforehand."""
    encoded, _ = encode_examples(examples, tokenizer, labels)
    batches = [collate(b, tokenizer.pad_token_id, labelled=False).to(runtime.device)
               for b in bucketed_batches(encoded, batch_size, shuffle=False)]
    encoder.eval()
    with torch.inference_mode(), runtime.autocast():
        encoder(input_ids=batches[0].input_ids, attention_mask=batches[0].attention_mask)
        _synchronize(runtime)
        started = time.perf_counter()
        for batch in batches:
            encoder(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
        _synchronize(runtime)
    return len(encoded) / (time.perf_counter() - started)


def bench_inference(trained, examples, batch_size) -> float:
    texts = [e.text for e in examples]
    predict(trained, texts[:batch_size], batch_size=batch_size)  # warm-up
    started = time.perf_counter()
    predict(trained, texts, batch_size=batch_size)
    if trained.runtime.device.type == "cuda":
        torch.cuda.synchronize()
    return len(texts) / (time.perf_counter() - started)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", default=None)
    parser.add_argument("--sentences", type=int, default=512)
    parser.add_argument("--train-steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--infer-batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precisions", default="fp32,bf16,int8")
    parser.add_argument("--entity-layers", default="bio", help="bio, span or bio,span")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--model", default=None,
                        help="a trained BIO checkpoint for the inference numbers (an untrained "
                             "entity layer predicts entities everywhere, which inflates the "
                             "pair count)")
    parser.add_argument("--span-model", default=None, help="the same for the span layer")
    return parser


def _runtime(args, precision: str) -> Runtime:
    return Runtime(torch.device(args.device), precision == "bf16", int8=precision == "int8")


def bench_encoder(args, precision, examples, labels) -> tuple[float | None, float]:
    """The bare encoder: training with a token classifier, and its forward pass alone."""
    runtime = _runtime(args, precision)
    model, tokenizer = build_model(labels, {"mode": "ner"}, args.encoder)
    baseline = TokenClassifier(model.encoder, labels.num_bio).to(runtime.device)
    train_rate = None if runtime.int8 else bench_training(
        baseline, tokenizer, examples, labels, runtime, args.train_steps, args.batch_size,
        loss_of=lambda m, batch: m.loss(batch))
    prepare_for_inference(model, runtime)
    return train_rate, bench_encoder_forward(model.encoder, tokenizer, examples, labels,
                                             runtime, args.infer_batch_size)


def bench_layer(args, precision, layer, examples, labels) -> tuple[float | None, float]:
    """The joint biaffine model with ``layer``: gs training, then full prediction."""
    runtime = _runtime(args, precision)
    model, tokenizer = build_model(labels, {"mode": "joint", "re_head": "biaffine",
                                            "entity_layer": layer}, args.encoder)
    model.to(runtime.device)
    train_rate = None if runtime.int8 else bench_training(
        model, tokenizer, examples, labels, runtime, args.train_steps, args.batch_size,
        entity_layer=layer)
    checkpoint = args.span_model if layer == "span" else args.model
    if checkpoint:
        trained = load_checkpoint(checkpoint, device=args.device, precision=precision)
    else:
        prepare_for_inference(model, runtime)
        trained = TrainedModel(model, tokenizer, labels, runtime)
    return train_rate, bench_inference(trained, examples, args.infer_batch_size)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _ratio(value: float | None, base: float | None) -> str:
    return "-" if value is None or not base else f"{value / base:.2f}x"


def main() -> None:
    args = _parser().parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    examples = sample_sentences(args.sentences, seed=0)
    seen = LabelSpace.from_examples(examples)
    labels = LabelSpace(seen.entity_types, [*seen.relation_types, FRAGMENT_RELATION])
    mean_chars = sum(len(e.text) for e in examples) / len(examples)
    print(f"{len(examples)} sentences, mean {mean_chars:.0f} chars, device {args.device}, "
          f"threads {args.threads}, "
          f"native CPU bf16: {cpu_has_native_bf16()}")
    rows = []
    for precision in args.precisions.split(","):
        if precision == "int8" and args.device != "cpu":
            continue
        if args.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        encoder_train, encoder_forward = bench_encoder(args, precision, examples, labels)
        for layer in args.entity_layers.split(","):
            train_rate, infer_rate = bench_layer(args, precision, layer, examples, labels)
            cuda_mb = (torch.cuda.max_memory_allocated() / 2**20
                       if args.device == "cuda" else None)
            rows.append((precision, layer, train_rate, encoder_train, infer_rate,
                         encoder_forward, peak_rss_mb(), cuda_mb))
    print("\n| precision | entity layer | train sentences/s | encoder + token head train | "
          "train ratio | inference sentences/s | encoder forward alone | inference ratio | "
          "peak RSS MB | peak CUDA MB |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for precision, layer, train, enc_train, infer, enc_fwd, rss, cuda_mb in rows:
        cuda = "-" if cuda_mb is None else f"{cuda_mb:.0f}"
        print(f"| {precision} | {layer} | {_rate(train)} | {_rate(enc_train)} | "
              f"{_ratio(train, enc_train)} | {infer:.1f} | {enc_fwd:.1f} | "
              f"{_ratio(infer, enc_fwd)} | {rss:.0f} | {cuda} |")


if __name__ == "__main__":
    main()
