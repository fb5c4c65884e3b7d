"""Active-learning simulation on Chia: does uncertainty sampling beat random selection?

Each strategy starts from the same random seed set of pool sentences. A round trains a
model on the labelled sentences (no dev set: the last epoch is kept, so the held-out test
documents never steer training), scores it on the test documents, predicts the rest of
the pool and "annotates" (takes the gold labels of) the ``--step`` sentences the strategy
ranks first. Output: per strategy, the learning curve (training sentences -> NER F1 and
end-to-end RE F1) as JSON.

Chia is read at run time from ``/work/shared/data/chia`` (never copied into the repo).

    # a real comparison (GPU recommended)
    .venv/bin/python bench/al_simulation.py --documents 400 --seed-size 200 --step 200 --rounds 5
    # a smoke run with a tiny random encoder (seconds of CPU, numbers meaningless)
    .venv/bin/python bench/al_simulation.py --tiny --documents 30 --seed-size 40 --step 40 --rounds 2 --epochs 2
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlcore.corpus.brat import read_brat  # noqa: E402
from mlcore.corpus.model import sentence_examples  # noqa: E402
from mlcore.corpus.splitting import split_criteria  # noqa: E402

CHIA = Path("/work/shared/data/chia/chia_without_scope")
TINY = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 64, "max_position_embeddings": 160}


def load_examples(path: Path, documents: int, seed: int):
    """Sentence examples of ``documents`` random Chia documents, grouped by document."""
    docs = list(read_brat(path, strict=False))
    random.Random(seed).shuffle(docs)
    by_document = {}
    for doc in docs[:documents]:
        if not doc.sentences:
            doc.sentences = split_criteria(doc.text)
        by_document[doc.name] = [e for e in sentence_examples(doc) if e.text.strip()]
    return by_document


def split(by_document: dict, test_fraction: float, seed: int):
    names = sorted(by_document)
    random.Random(seed).shuffle(names)
    n_test = max(1, round(len(names) * test_fraction))
    test = [e for n in names[:n_test] for e in by_document[n]]
    pool = [e for n in names[n_test:] for e in by_document[n]]
    return pool, test


def run_strategy(strategy, pool, test, args, options_factory, out_dir: Path):
    from mlcore.evaluator import evaluate
    from mlcore.inference import load_model, predict
    from mlcore.trainer import train

    rng = random.Random(args.seed)
    order = list(range(len(pool)))
    rng.shuffle(order)
    labelled, unlabelled = set(order[:args.seed_size]), set(order[args.seed_size:])
    curve = []
    for round_no in range(args.rounds + 1):
        started = time.monotonic()
        model_dir = out_dir / f"{strategy}-{round_no}"
        train([pool[i] for i in sorted(labelled)], [], options_factory(), model_dir)
        model = load_model(model_dir)
        metrics = evaluate(model, test, args.batch)
        curve.append({"train_sentences": len(labelled), "ner_f1": metrics["ner"]["f1"],
                      "re_end_to_end_f1": (metrics.get("re_end_to_end") or {}).get("f1"),
                      "seconds": round(time.monotonic() - started, 1)})
        print(strategy, curve[-1], file=sys.stderr)
        if round_no == args.rounds or not unlabelled:
            break
        candidates = sorted(unlabelled)
        predictions = predict(model, [pool[i] for i in candidates], args.batch, seed=args.seed + round_no)
        ranked = sorted(zip(candidates, predictions), key=lambda p: -p[1].uncertainty[strategy])
        chosen = [i for i, _ in ranked[:args.step]]
        labelled.update(chosen)
        unlabelled.difference_update(chosen)
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CHIA)
    parser.add_argument("--documents", type=int, default=400)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--seed-size", type=int, default=200)
    parser.add_argument("--step", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--strategies", default="combined,random")
    parser.add_argument("--encoder", default="")
    parser.add_argument("--tiny", action="store_true", help="a tiny random encoder (smoke runs)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=None, help="where checkpoints go (default: a temp dir)")
    args = parser.parse_args()

    import tempfile

    from mlcore.trainer import TrainOptions

    by_document = load_examples(args.corpus, args.documents, args.seed)
    pool, test = split(by_document, args.test_fraction, args.seed)

    def options():
        return TrainOptions(
            encoder=args.encoder or None, encoder_config=TINY if args.tiny else None,
            epochs=args.epochs, batch_size=args.batch, seed=args.seed,
            num_threads=args.threads or None, lr=5e-3 if args.tiny else 2e-5)

    out_dir = args.out or Path(tempfile.mkdtemp(prefix="eligo-al-"))
    result = {"documents": len(by_document), "pool_sentences": len(pool), "test_sentences": len(test),
              "encoder": "tiny random BERT" if args.tiny else (args.encoder or "packaged MiniLM"),
              "epochs": args.epochs, "curves": {}}
    for strategy in args.strategies.split(","):
        result["curves"][strategy] = run_strategy(strategy.strip(), pool, test, args, options, out_dir)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
