"""Active-learning simulation on Chia: does uncertainty sampling beat random selection?

Chia's trials are split once (``--split-seed``) into a labelling pool and a fixed test set,
by trial id, so a trial's inclusion and exclusion criteria stay on one side. For every run
seed and strategy, a simulated annotator starts from ``--seed-size`` random pool sentences
(the same ones for every strategy of a seed), and each round:

1. trains the joint model from the pre-trained encoder on the labelled sentences (no dev
   set: the last epoch is kept, so the test set never steers training);
2. scores it on the test set (strict NER F1 and end-to-end RE F1);
3. ranks unlabelled pool sentences by the strategy and "annotates" (takes the gold labels
   of) the ``--step`` first. Uncertainty strategies rank a random sample of
   ``--candidates`` unlabelled sentences (the usual pool sub-sampling that keeps a round's
   cost bounded); ``random`` draws from the whole unlabelled pool.

The entity and relation label space is fixed from the whole pool, so every round's model
has the same output layer. Runs go in parallel worker processes with one torch thread each
(on this 2-core CPU that beats one process with two threads).

Outputs: the raw curves as JSON, a Markdown table (mean +- std over seeds per labelled-set
size) with, per uncertainty strategy, how many labelled sentences it needs to reach random
sampling's final F1, and a PNG learning-curve plot.

Chia is read at run time from ``/work/shared/data/chia`` (never copied into the repo).

    # the documented run (about 45 min on the 2-core CPU)
    .venv/bin/python bench/al_simulation.py --seeds 13,14,15 --epochs 5 \\
        --json docs/al-simulation.json --table docs/al-simulation.md --plot docs/al-simulation.png
    # a smoke run with a tiny random encoder (seconds; numbers meaningless)
    .venv/bin/python bench/al_simulation.py --tiny --trials 30 --test-trials 8 --seed-size 40 \\
        --step 40 --rounds 2 --epochs 2 --seeds 1
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlcore.corpus.brat import read_brat  # noqa: E402
from mlcore.corpus.model import sentence_examples  # noqa: E402
from mlcore.corpus.splitting import split_criteria  # noqa: E402

CHIA = Path("/work/shared/data/chia/chia_without_scope")
TINY = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 64, "max_position_embeddings": 160}
METRICS = ("ner_f1", "re_end_to_end_f1")


def load_trials(path: Path) -> dict[str, list]:
    """Non-blank sentence examples per trial (NCT id: a document name's part before ``_``)."""
    trials: dict[str, list] = {}
    for doc in read_brat(path, strict=False):
        if not doc.sentences:
            doc.sentences = split_criteria(doc.text)
        examples = [e for e in sentence_examples(doc) if e.text.strip()]
        trials.setdefault(doc.name.split("_")[0], []).extend(examples)
    return trials


def split_pool_test(trials: dict, n_trials: int, n_test: int, seed: int):
    names = sorted(trials)
    random.Random(seed).shuffle(names)
    names = names[:n_trials]
    test = [e for n in names[:n_test] for e in trials[n]]
    pool = [e for n in names[n_test:] for e in trials[n]]
    return pool, test


def label_space(examples) -> tuple[list[str], list[str]]:
    entity_types = sorted({s.type for e in examples for s in e.spans})
    relation_types = sorted({r[2] for e in examples for r in e.relations})
    return entity_types, relation_types


def seed_set(pool_size: int, seed: int, seed_size: int) -> tuple[random.Random, set, set]:
    """A run's random generator and its first labelled and unlabelled pool indices: the same
    for every strategy of a seed."""
    rng = random.Random(seed)
    order = list(range(pool_size))
    rng.shuffle(order)
    return rng, set(order[:seed_size]), set(order[seed_size:])


def round_options(args, seed: int, entity_types, relation_types):
    """The training options of every round (fp32 on the CPU, ``args.threads`` threads)."""
    from mlcore.trainer import TrainOptions

    return TrainOptions(
        encoder=args.encoder or None, encoder_config=TINY if args.tiny else None,
        entity_types=entity_types, relation_types=relation_types,
        epochs=args.epochs, batch_size=args.batch, seed=seed, num_threads=args.threads,
        lr=5e-3 if args.tiny else args.lr, head_lr=args.head_lr, device="cpu", precision="fp32")


def run_chain(job: dict) -> dict:
    """One (seed, strategy) learning curve; runs in a worker process."""
    import torch

    from mlcore.evaluator import evaluate
    from mlcore.inference import load_model
    from mlcore.trainer import train

    torch.set_num_threads(job["args"].threads)
    args, pool, test = job["args"], job["pool"], job["test"]
    seed, strategy = job["seed"], job["strategy"]
    rng, labelled, unlabelled = seed_set(len(pool), seed, args.seed_size)
    options = round_options(args, seed, job["entity_types"], job["relation_types"])
    curve = []
    for round_no in range(args.rounds + 1):
        started = time.monotonic()
        model_dir = Path(job["out"]) / f"{seed}-{strategy}-{round_no}"
        train([pool[i] for i in sorted(labelled)], [], options, model_dir)
        model = load_model(model_dir, device="cpu", precision="fp32")
        metrics = evaluate(model, test, args.batch, tasks=("ner", "re_end_to_end"))
        point = {"train_sentences": len(labelled), "ner_f1": metrics["ner"]["f1"],
                 "re_end_to_end_f1": metrics["re_end_to_end"]["f1"]}
        if round_no < args.rounds and unlabelled:
            chosen = choose(strategy, model, pool, sorted(unlabelled), args, rng)
            labelled.update(chosen)
            unlabelled.difference_update(chosen)
        point["seconds"] = round(time.monotonic() - started, 1)
        curve.append(point)
        print(f"seed {seed} {strategy}: {point}", file=sys.stderr, flush=True)
    return {"seed": seed, "strategy": strategy, "curve": curve}


def choose(strategy: str, model, pool, unlabelled: list[int], args, rng) -> list[int]:
    """The ``args.step`` pool indices the strategy sends to the annotator next."""
    from mlcore.inference import predict

    if strategy == "random":
        return rng.sample(unlabelled, min(args.step, len(unlabelled)))
    candidates = rng.sample(unlabelled, min(args.candidates, len(unlabelled)))
    predictions = predict(model, [pool[i] for i in candidates], args.batch)
    ranked = sorted(zip(candidates, predictions), key=lambda c: -c[1].uncertainty[strategy])
    return [i for i, _ in ranked[:args.step]]


def summarise(results: list[dict]) -> dict:
    """strategy -> train size -> metric -> (mean, std) over seeds."""
    table: dict = {}
    for result in results:
        for point in result["curve"]:
            cell = table.setdefault(result["strategy"], {}).setdefault(point["train_sentences"], {})
            for metric in METRICS:
                cell.setdefault(metric, []).append(point[metric])
    return {s: {n: {m: (statistics.mean(v), statistics.pstdev(v)) for m, v in cell.items()}
                for n, cell in sorted(sizes.items())} for s, sizes in table.items()}


def sentences_to_reach(curve: dict, target: float, metric: str) -> float | None:
    """Labelled sentences at which a mean curve first reaches ``target`` (linear interpolation)."""
    points = [(n, cell[metric][0]) for n, cell in curve.items()]
    for (n0, f0), (n1, f1) in zip(points, points[1:]):
        if f0 >= target:
            return n0
        if f1 >= target:
            return n0 + (n1 - n0) * (target - f0) / (f1 - f0)
    return points[-1][0] if points and points[-1][1] >= target else None


def markdown(summary: dict, meta: dict) -> str:
    sizes = sorted({n for curve in summary.values() for n in curve})
    lines = [f"Mean ± std over seeds {meta['seeds']} (F1 in percent, test set of "
             f"{meta['test_sentences']} sentences from {meta['test_trials']} trials; pool "
             f"{meta['pool_sentences']} sentences; {meta['epochs']} epochs per round, "
             f"encoder {meta['encoder']}).", ""]
    for metric, title in (("ner_f1", "NER F1"), ("re_end_to_end_f1", "end-to-end RE F1")):
        lines += [f"**{title}**", "", "| strategy | " + " | ".join(str(n) for n in sizes) + " |",
                  "| --- |" + " ---: |" * len(sizes)]
        for strategy, curve in summary.items():
            cells = [f"{100 * curve[n][metric][0]:.1f} ± {100 * curve[n][metric][1]:.1f}"
                     if n in curve else "-" for n in sizes]
            lines.append(f"| {strategy} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += reach_lines(summary)
    return "\n".join(lines) + "\n"


def reach_lines(summary: dict) -> list[str]:
    if "random" not in summary:
        return []
    random_curve = summary["random"]
    final_size = max(random_curve)
    lines = ["| strategy | metric | random's final F1 (at "
             f"{final_size} sentences) | labelled sentences needed |", "| --- | --- | ---: | ---: |"]
    for strategy, curve in summary.items():
        if strategy == "random":
            continue
        for metric in METRICS:
            target = random_curve[final_size][metric][0]
            needed = sentences_to_reach(curve, target, metric)
            shown = f"{needed:.0f}" if needed is not None else f"not reached by {max(curve)}"
            lines.append(f"| {strategy} | {metric} | {100 * target:.1f} | {shown} |")
    return lines + [""]


def plot(summary: dict, path: Path, meta: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, (metric, title) in zip(axes, (("ner_f1", "NER F1 (strict)"),
                                          ("re_end_to_end_f1", "End-to-end RE F1"))):
        for strategy, curve in summary.items():
            sizes = list(curve)
            mean = [100 * curve[n][metric][0] for n in sizes]
            std = [100 * curve[n][metric][1] for n in sizes]
            ax.plot(sizes, mean, marker="o", label=strategy)
            ax.fill_between(sizes, [m - s for m, s in zip(mean, std)],
                            [m + s for m, s in zip(mean, std)], alpha=0.15)
        ax.set(title=title, xlabel="labelled sentences", ylabel="F1 (%)")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(f"Active learning on Chia ({meta['encoder']}, {len(meta['seeds'])} seeds, "
                 f"{meta['epochs']} epochs per round)")
    fig.savefig(path, dpi=120)


def build_parser(description: str = __doc__.splitlines()[0]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--corpus", type=Path, default=CHIA)
    parser.add_argument("--trials", type=int, default=800, help="trials used (pool + test)")
    parser.add_argument("--test-trials", type=int, default=100)
    parser.add_argument("--split-seed", type=int, default=13)
    parser.add_argument("--seed-size", type=int, default=100)
    parser.add_argument("--step", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--strategies", default="combined,mnlp,random")
    parser.add_argument("--seeds", default="13,14,15")
    parser.add_argument("--encoder", default="")
    parser.add_argument("--tiny", action="store_true", help="a tiny random encoder (smoke runs)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--out", type=Path, default=None, help="checkpoints (default: temp dir)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--table", type=Path, default=None)
    parser.add_argument("--plot", type=Path, default=None)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    started = time.monotonic()
    pool, test = split_pool_test(load_trials(args.corpus), args.trials, args.test_trials,
                                 args.split_seed)
    entity_types, relation_types = label_space(pool)
    out = args.out or Path(tempfile.mkdtemp(prefix="eligo-al-"))
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [{"args": args, "pool": pool, "test": test, "seed": seed, "strategy": strategy.strip(),
             "entity_types": entity_types, "relation_types": relation_types,
             "out": str(out)}
            for seed in seeds for strategy in args.strategies.split(",")]
    with ProcessPoolExecutor(args.workers) as executor:
        results = list(executor.map(run_chain, jobs))
    meta = {"trials": args.trials, "test_trials": args.test_trials,
            "pool_sentences": len(pool), "test_sentences": len(test), "seeds": seeds,
            "encoder": "tiny random BERT" if args.tiny else (args.encoder or "packaged MiniLM-L6"),
            "epochs": args.epochs, "seed_size": args.seed_size, "step": args.step,
            "candidates": args.candidates, "lr": args.lr, "head_lr": args.head_lr,
            "wall_seconds": round(time.monotonic() - started)}
    summary = summarise(results)
    text = markdown(summary, meta)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "runs": results}, indent=1) + "\n")
    if args.table:
        args.table.write_text(text)
    if args.plot:
        plot(summary, args.plot, meta)


if __name__ == "__main__":
    main()
