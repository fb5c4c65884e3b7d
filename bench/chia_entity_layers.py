"""Issue 12's comparison: the joint span model, the joint BIO model and the pipeline, per seed.

Reads the ``results.json`` that ``python -m mlcore grid`` writes, one folder per seed and model:
``DIR/s<seed>_span`` (``--entity-layer span --only joint_biaffine_gs``), ``DIR/s<seed>_bio``
(``--only joint_biaffine_gs``) and ``DIR/s<seed>_pipeline`` (``--only standalone_ner
standalone_re``, whose ``pipeline`` row the grid adds). Prints Markdown: per seed and gold, NER
P/R/F1, RE on gold entities and end-to-end RE; the mean and spread over the seeds found; NER F1
per type on the original gold; and which model the scores choose (the contract's score: the
mean of NER F1 and end-to-end RE F1 on the original gold). ``--json`` writes the same figures.

    .venv/bin/python bench/chia_entity_layers.py --dir /tmp/g12 --seeds 13 14 15
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlcore.gold import gold_blocks  # noqa: E402

MODELS = {"span": ("joint span (biaffine, gs)", "joint_biaffine_gs"),
          "bio": ("joint BIO (biaffine, gs)", "joint_biaffine_gs"),
          "pipeline": ("pipeline (standalone NER -> RE)", "pipeline")}
TASKS = (("ner", "NER"), ("re_gs", "RE gs"), ("re_end_to_end", "RE e2e"))


def load(directory: Path, seeds: list[int]) -> dict:
    """``{seed: {model: {gold: metrics}}}`` for every run whose results exist."""
    found: dict = {}
    for seed in seeds:
        for model, (_, run) in MODELS.items():
            path = directory / f"s{seed}_{model}" / "results.json"
            if not path.exists():
                continue
            record = json.loads(path.read_text())["runs"].get(run)
            if record is not None:
                found.setdefault(seed, {})[model] = dict(gold_blocks(record["test_metrics"]))
    return found


def f1(metrics: dict, task: str) -> float | None:
    block = metrics.get(task)
    return None if block is None else 100 * block["f1"]


def _cells(metrics: dict) -> str:
    cells = []
    for task, _ in TASKS:
        block = metrics.get(task)
        cells += (["-"] * 3 if block is None else
                  [f"{100 * block[k]:.2f}" for k in ("precision", "recall", "f1")])
    return " | ".join(cells)


def per_seed_table(found: dict) -> str:
    header = " | ".join(f"{name} {k}" for _, name in TASKS for k in ("P", "R", "F1"))
    lines = [f"| seed | model | gold | {header} |", "| --- | --- | --- |" + " ---: |" * 9]
    for seed, models in sorted(found.items()):
        for model, golds in models.items():
            for gold, metrics in golds.items():
                lines.append(f"| {seed} | {MODELS[model][0]} | {gold} | {_cells(metrics)} |")
    return "\n".join(lines)


def summary(found: dict) -> dict:
    """Per model and gold: the F1 of each task over the seeds (mean, sd, values), and the
    contract's score on the original gold."""
    out: dict = {}
    for model in MODELS:
        runs = [models[model] for models in found.values() if model in models]
        for gold in (runs[0] if runs else {}):
            for task, _ in TASKS:
                values = [f1(golds[gold], task) for golds in runs if gold in golds]
                values = [v for v in values if v is not None]
                if values:
                    out.setdefault(model, {}).setdefault(gold, {})[task] = {
                        "mean": round(statistics.mean(values), 2),
                        "sd": round(statistics.stdev(values), 2) if len(values) > 1 else 0.0,
                        "values": [round(v, 2) for v in values]}
    for model, golds in out.items():
        original = golds.get("original", {})
        if "ner" in original and "re_end_to_end" in original:
            golds["score"] = round((original["ner"]["mean"] + original["re_end_to_end"]["mean"]) / 2, 2)
    return out


def summary_table(means: dict, seeds: int) -> str:
    lines = [f"| model | gold | NER F1 | RE gs F1 | RE e2e F1 | seeds |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for model, golds in means.items():
        for gold, tasks in golds.items():
            if gold == "score":
                continue
            cells = [f"{tasks[t]['mean']:.2f} ± {tasks[t]['sd']:.2f}" if t in tasks else "-"
                     for t, _ in TASKS]
            count = len(next(iter(tasks.values()))["values"])
            lines.append(f"| {MODELS[model][0]} | {gold} | {' | '.join(cells)} | {count} |")
    return "\n".join(lines)


def per_type_table(found: dict) -> str:
    """NER F1 per entity type on the original gold, mean over the seeds, with the support."""
    scores: dict = {}
    support: dict = {}
    for models in found.values():
        for model, golds in models.items():
            for name, block in golds["original"]["ner"].get("per_type", {}).items():
                scores.setdefault(name, {}).setdefault(model, []).append(100 * block["f1"])
                support.setdefault(name, []).append(block["support"])
    present = [m for m in MODELS if any(m in by_model for by_model in scores.values())]
    lines = [f"| type | support (mean) | {' | '.join(MODELS[m][0] for m in present)} |",
             "| --- | ---: |" + " ---: |" * len(present)]
    for name in sorted(scores, key=lambda n: -statistics.mean(support[n])):
        cells = [f"{statistics.mean(scores[name][m]):.1f}" if m in scores[name] else "-"
                 for m in present]
        lines.append(f"| {name} | {statistics.mean(support[name]):.0f} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[13, 14, 15])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    found = load(args.dir, args.seeds)
    if not found:
        sys.exit(f"no results.json under {args.dir}")
    means = summary(found)
    scored = {m: g["score"] for m, g in means.items() if "score" in g}
    print(per_seed_table(found), "\n")
    print(summary_table(means, len(found)), "\n")
    print(per_type_table(found), "\n")
    if scored:
        best = max(scored, key=scored.get)
        print(f"score (mean of NER F1 and RE e2e F1, original gold): "
              + ", ".join(f"{m} {s:.2f}" for m, s in scored.items()) + f"; best: {best}")
    if args.json:
        args.json.write_text(json.dumps({"seeds": sorted(found), "summary": means,
                                         "runs": found}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
