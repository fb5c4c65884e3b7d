"""Prediction on a multi-core CPU: batches side by side (``predict``'s default there: one
Python thread of one torch thread per core) against one batch at a time on all the torch
threads, alternating in one process, so that the ratio holds even on a busy machine.

Chia criteria read at run time (never copied), the first ``--sentences`` of the corpus. The
predictions of the two ways are compared too: they must be the same.

    .venv/bin/python bench/bench_predict_threads.py --checkpoint DIR --sentences 2000 \
        --threads 2 --repeats 3
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_preannotate import criteria  # noqa: E402
from mlcore.inference import load_model, predict  # noqa: E402


def timed(model, texts: list[str], batch: int, side_by_side: bool) -> tuple[float, list]:
    started = time.perf_counter()
    predictions = predict(model, texts, batch, side_by_side=side_by_side)
    return time.perf_counter() - started, predictions


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_model(args.checkpoint, device="cpu", precision=args.precision)
    texts = criteria(args.sentences)
    timed(model, texts[:64], args.batch, True)  # warm-up
    seconds: dict[str, list[float]] = {"one batch at a time": [], "side by side": []}
    outputs = {}
    for _ in range(args.repeats):
        for way in seconds:
            spent, outputs[way] = timed(model, texts, args.batch, way == "side by side")
            seconds[way].append(round(spent, 2))
    same = [p.to_dict() for p in outputs["side by side"]] == [
        p.to_dict() for p in outputs["one batch at a time"]]
    medians = {way: statistics.median(values) for way, values in seconds.items()}
    result = {"sentences": len(texts), "threads": args.threads, "batch": args.batch,
              "runtime": model.runtime.name, "seconds": seconds,
              "criteria_per_s": {way: round(len(texts) / m, 1) for way, m in medians.items()},
              "speedup": round(medians["one batch at a time"] / medians["side by side"], 3),
              "same_predictions": same}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
