"""What does each active-learning strategy send to the annotator? (diagnostic for al_simulation)

Trains the first-round model of ``bench/al_simulation.py`` (same split, seed set and options),
scores the same random candidate sample, and describes the ``--step`` sentences each
strategy picks: characters, gold entities and relations per sentence, and the share with no
gold entity at all.

    .venv/bin/python bench/al_selection_profile.py --seed 13
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from al_simulation import CHIA, label_space, load_trials, split_pool_test  # noqa: E402


def profile(examples) -> dict:
    return {"sentences": len(examples),
            "mean_chars": round(statistics.mean(len(e.text) for e in examples), 1),
            "entities_per_sentence": round(statistics.mean(len(e.spans) for e in examples), 2),
            "relations_per_sentence": round(statistics.mean(len(e.relations) for e in examples), 2),
            "share_without_entities": round(sum(not e.spans for e in examples) / len(examples), 3)}


def main() -> None:
    import torch

    from mlcore.inference import load_model, predict
    from mlcore.trainer import TrainOptions, train

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--seed-size", type=int, default=100)
    parser.add_argument("--step", type=int, default=200)
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pool, _ = split_pool_test(load_trials(CHIA), 800, 100, 13)
    entity_types, relation_types = label_space(pool)
    rng = random.Random(args.seed)
    order = list(range(len(pool)))
    rng.shuffle(order)
    labelled, unlabelled = order[:args.seed_size], sorted(order[args.seed_size:])
    out = Path(tempfile.mkdtemp(prefix="eligo-al-profile-")) / "round0"
    train([pool[i] for i in sorted(labelled)], [], TrainOptions(
        entity_types=entity_types, relation_types=relation_types, epochs=args.epochs,
        batch_size=16, seed=args.seed, lr=1e-4, head_lr=1e-3, device="cpu", precision="fp32",
        num_threads=args.threads), out)
    candidates = rng.sample(unlabelled, args.candidates)
    predictions = predict(load_model(out, device="cpu", precision="fp32"),
                          [pool[i] for i in candidates], 32)
    rows = {"candidate sample": profile([pool[i] for i in candidates]),
            "random": profile([pool[i] for i in rng.sample(unlabelled, args.step)])}
    for strategy in ("combined", "mnlp", "least_confidence", "relation_entropy"):
        ranked = sorted(zip(candidates, predictions), key=lambda c: -c[1].uncertainty[strategy])
        rows[strategy] = profile([pool[i] for i, _ in ranked[:args.step]])
    print("| picked by | sentences | mean chars | gold entities / sentence | gold relations / "
          "sentence | share without entities |\n| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, p in rows.items():
        print(f"| {name} | {p['sentences']} | {p['mean_chars']} | {p['entities_per_sentence']} | "
              f"{p['relations_per_sentence']} | {p['share_without_entities']:.1%} |")


if __name__ == "__main__":
    main()
