"""Which entity layer for how much data: span against BIO, trained with the app's recipe on
the first k training trials of a split by trial, scored on all its held-out trials.

    .venv/bin/python bench/chia_layer_by_size.py --data ../shared/data/chia/chia_without_scope \
        --seed 13 --trials 8 32 128 --out /tmp/xo

Builds the subsets as folders of links (``OUT/train<k>``, ``OUT/test``), then for each size and
layer runs ``python -m mlcore train`` (batch 8, lr 1e-4, 4 epochs, at least 120 steps: the app's
recipe, without early stopping or a warm start) and ``python -m mlcore evaluate`` on the test
folder (original gold), one after the other, and prints a Markdown table. What it measured sets
``mlcore.contract.SPAN_LAYER_MIN_CRITERIA`` (docs/results-chia.md).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlcore.contract import APP_RECIPE, split_by_trial, trial_of  # noqa: E402

LAYERS = ("bio", "span")


def subsets(data: Path, seed: int, sizes: list[int], out: Path) -> dict[str, Path]:
    """``{"test": folder, "train<k>": folder}``: the held-out trials of the 80/20 split, and the
    first ``k`` training trials in a seeded order, as links to ``data``'s files."""
    names = sorted(p.stem for p in data.glob("*.txt"))
    train, test = split_by_trial(names, trial=trial_of, train_fraction=0.8, seed=seed)
    trials = list(dict.fromkeys(trial_of(n) for n in train))
    random.Random(seed).shuffle(trials)
    folders = {"test": _linked(data, test, out / "test")}
    for k in sizes:
        chosen = set(trials[:k])
        folders[f"train{k}"] = _linked(data, [n for n in train if trial_of(n) in chosen],
                                       out / f"train{k}")
    return folders


def _linked(data: Path, names: list[str], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        for suffix in (".txt", ".ann"):
            link = folder / f"{name}{suffix}"
            if not link.exists():
                os.symlink((data / f"{name}{suffix}").resolve(), link)
    return folder


def train_and_score(train: Path, test: Path, layer: str, seed: int, model: Path) -> dict:
    cli = [sys.executable, "-m", "mlcore"]
    recipe = ["--epochs", str(APP_RECIPE["epochs"]), "--min-steps", str(APP_RECIPE["min_steps"]),
              "--batch-size", str(APP_RECIPE["batch_size"]), "--lr", str(APP_RECIPE["lr"]),
              "--patience", "100", "--threads", "1", "--device", "cpu"]
    trained = subprocess.run([*cli, "train", "--train", str(train), "--format", "brat",
                              "--entity-layer", layer, "--seed", str(seed), "--out", str(model),
                              *recipe], check=True, capture_output=True, text=True, cwd=ROOT)
    summary = json.loads(trained.stdout[trained.stdout.index("{"):])
    scored = subprocess.run([*cli, "evaluate", "--model", str(model), "--data", str(test),
                             "--format", "brat", "--device", "cpu"],
                            check=True, capture_output=True, text=True, cwd=ROOT)
    metrics = json.loads(scored.stdout)
    return {"train_seconds": summary["train_seconds"], "ner": metrics["ner"],
            "re_gs": metrics["re_gs"], "re_end_to_end": metrics["re_end_to_end"]}


HEADER = ("training trials", "criteria", "layer", "NER P", "NER R", "NER F1", "RE gs F1",
          "RE e2e F1", "score", "train s")


def _cells(row: dict) -> list[str]:
    ner, e2e = row["ner"], row["re_end_to_end"]
    scores = (ner["precision"], ner["recall"], ner["f1"], row["re_gs"]["f1"], e2e["f1"])
    return [str(row["trials"]), str(row["criteria"]), row["layer"],
            *(f"{100 * v:.1f}" for v in scores), f"{50 * (ner['f1'] + e2e['f1']):.1f}",
            f"{row['train_seconds']:.0f}"]


def table(rows: list[dict]) -> str:
    align = ["---" if name == "layer" else "---:" for name in HEADER]
    return "\n".join(f"| {' | '.join(cells)} |" for cells in [list(HEADER), align]
                     + [_cells(r) for r in rows])


def criteria_in(folder: Path) -> int:
    from mlcore.corpus.brat import read_brat
    from mlcore.corpus.model import sentence_examples

    return sum(1 for d in read_brat(folder, strict=False)
               for e in sentence_examples(d, flat=False) if e.text.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a brat folder of trials")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--trials", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--json", type=Path, help="write the rows here too")
    args = parser.parse_args()
    folders = subsets(args.data, args.seed, args.trials, args.out)
    rows = []
    for k in args.trials:
        train = folders[f"train{k}"]
        for layer in LAYERS:
            result = train_and_score(train, folders["test"], layer, args.seed,
                                     args.out / f"m_{k}_{layer}")
            rows.append({"trials": k, "criteria": criteria_in(train), "layer": layer, **result})
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
