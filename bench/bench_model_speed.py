"""Training examples/s and inference sentences/s of the joint model: fp32, bf16 autocast, and
int8 (dynamically quantized encoder, inference only: its training column is ``-``).

Uses real Chia sentences when ../shared/data/chia is there (read, never copied), else synthetic
~85-character criteria. Peak memory: process RSS (``resource.getrusage``) and, on CUDA,
``torch.cuda.max_memory_allocated``. Prints a Markdown table.

    .venv/bin/python bench/bench_model_speed.py --threads 2 --train-steps 8 --sentences 512
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


def bench_training(model, tokenizer, examples, labels, runtime, steps, batch_size) -> float:
    encoded, _ = encode_examples(examples, tokenizer, labels)
    batches = bucketed_batches(encoded, batch_size, shuffle=True, rng=random.Random(0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    model.train()
    seen, started = 0, None
    for step, sentences in enumerate((batches * (steps // len(batches) + 2))[:steps + 1]):
        if step == 1:  # first step is warm-up
            started, seen = time.perf_counter(), 0
        batch = collate(sentences, tokenizer.pad_token_id).to(runtime.device)
        with runtime.autocast():
            loss = model(batch, candidates="gold").loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        seen += len(sentences)
    if runtime.device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - started)


def bench_inference(trained, examples, batch_size) -> float:
    texts = [e.text for e in examples]
    predict(trained, texts[:batch_size], batch_size=batch_size)  # warm-up
    started = time.perf_counter()
    predict(trained, texts, batch_size=batch_size)
    if trained.runtime.device.type == "cuda":
        torch.cuda.synchronize()
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", default=None)
    parser.add_argument("--sentences", type=int, default=512)
    parser.add_argument("--train-steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--infer-batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precisions", default="fp32,bf16,int8")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--model", default=None,
                        help="a trained checkpoint for the inference numbers (an untrained NER "
                             "layer predicts entities everywhere, which inflates the pair count)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    examples = sample_sentences(args.sentences, seed=0)
    labels = LabelSpace.from_examples(examples)
    mean_chars = sum(len(e.text) for e in examples) / len(examples)
    print(f"{len(examples)} sentences, mean {mean_chars:.0f} chars, device {args.device}, "
          f"threads {args.threads}, "
          f"native CPU bf16: {cpu_has_native_bf16()}")
    rows = []
    for precision in args.precisions.split(","):
        int8 = precision == "int8"
        if int8 and args.device != "cpu":
            continue
        runtime = Runtime(torch.device(args.device), precision == "bf16", int8=int8)
        model, tokenizer = build_model(labels, {"mode": "joint", "re_head": "biaffine"},
                                       args.encoder)
        model.to(runtime.device)
        if runtime.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        train_rate = None if int8 else bench_training(model, tokenizer, examples, labels,
                                                      runtime, args.train_steps, args.batch_size)
        if args.model:
            trained = load_checkpoint(args.model, device=args.device, precision=precision)
        else:
            prepare_for_inference(model, runtime)
            trained = TrainedModel(model, tokenizer, labels, runtime)
        infer_rate = bench_inference(trained, examples, args.infer_batch_size)
        cuda_mb = (torch.cuda.max_memory_allocated() / 2**20
                   if runtime.device.type == "cuda" else None)
        rows.append((precision, train_rate, infer_rate, peak_rss_mb(), cuda_mb))
    print("\n| precision | train sentences/s | inference sentences/s | peak RSS MB | "
          "peak CUDA MB |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for precision, train_rate, infer_rate, rss, cuda_mb in rows:
        cuda = "-" if cuda_mb is None else f"{cuda_mb:.0f}"
        train = "-" if train_rate is None else f"{train_rate:.1f}"
        print(f"| {precision} | {train} | {infer_rate:.1f} | {rss:.0f} | {cuda} |")


if __name__ == "__main__":
    main()
