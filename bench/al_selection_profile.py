"""What does each active-learning strategy send to the annotator? (diagnostic for al_simulation)

Trains the first-round model of ``bench/al_simulation.py`` (same split, seed set and options),
scores the same random candidate sample, and describes the ``--step`` sentences each
strategy picks: characters, gold entities and relations per sentence, and the share with no
gold entity at all.

    .venv/bin/python bench/al_selection_profile.py --seed 13
"""
from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from al_simulation import (  # noqa: E402
    build_parser, label_space, load_trials, round_options, seed_set, split_pool_test,
)


def profile(examples) -> dict:
    return {"sentences": len(examples),
            "mean_chars": round(statistics.mean(len(e.text) for e in examples), 1),
            "entities_per_sentence": round(statistics.mean(len(e.spans) for e in examples), 2),
            "relations_per_sentence": round(statistics.mean(len(e.relations) for e in examples), 2),
            "share_without_entities": round(sum(not e.spans for e in examples) / len(examples), 3)}


def main() -> None:
    import torch

    from mlcore.inference import load_model, predict
    from mlcore.trainer import train

    parser = build_parser(__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=13, help="the run seed to profile")
    parser.set_defaults(threads=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pool, _ = split_pool_test(load_trials(args.corpus), args.trials, args.test_trials,
                              args.split_seed)
    entity_types, relation_types = label_space(pool)
    rng, labelled, unlabelled = seed_set(len(pool), args.seed, args.seed_size)
    unlabelled = sorted(unlabelled)
    out = Path(tempfile.mkdtemp(prefix="eligo-al-profile-")) / "round0"
    train([pool[i] for i in sorted(labelled)], [],
          round_options(args, args.seed, entity_types, relation_types), out)
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
