"""Pre-annotation throughput: ``predictions_generate`` over N sentences with the default encoder.

Measures the whole worker task body (read sentences, predict, store suggestions and
scores) on a fresh SQLite database. The sentences are Chia criteria read at run time
from ``/work/shared/data/chia`` (never copied into the repo), or synthetic ones when the
corpus is absent. The model is the default encoder (packaged MiniLM) with freshly
initialised NER/RE heads, unless ``--checkpoint`` names a trained one: the encoder's cost
is the same; an untrained head predicts a different number of entities, which changes
the relation-pair and storage cost. With ``--checkpoint`` the project's schema is the
checkpoint's label space, so every suggestion it makes is stored. ``--precision`` sets
``ELIGO_INFERENCE_PRECISION`` (default auto: int8 on CPU).

    .venv/bin/python bench/bench_preannotate.py --sentences 10000 [--threads 2] [--batch 64] \
        [--checkpoint DIR] [--precision auto|fp32|int8] [--one-batch-at-a-time]

``--one-batch-at-a-time``: the forward pass as before 2026-12-07, one batch on all the torch
threads, instead of ``predict``'s batches side by side on a multi-core CPU (the baseline to
rerun beside it: bench/bench_predict_threads.py compares the two in one process).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHIA = Path(os.environ.get("ELIGO_CHIA_DIR", "/work/shared/data/chia/chia_without_scope"))


def criteria(limit: int) -> list[str]:
    """``limit`` non-empty criterion lines of the Chia .txt files, the corpus repeated when it
    has fewer (its 12,000-odd real criteria, so a 30,000 run costs what real criteria cost);
    synthetic ones when the corpus is absent."""
    lines: list[str] = []
    if CHIA.is_dir():
        for path in sorted(CHIA.glob("*.txt")):
            lines += [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
            if len(lines) >= limit:
                break
    if lines:
        return (lines * (limit // len(lines) + 1))[:limit]
    return [f"No history of condition number {n} within the last 6 months ." for n in range(limit)]


def setup_django(var_dir: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    os.environ["DJANGO_DEBUG"] = "1"
    os.environ["ELIGO_VAR_DIR"] = var_dir
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def checkpoint_schema(checkpoint: Path):
    from mlcore.checkpoint import read_config
    from mlcore.corpus.model import EntityType, RelationType, Schema

    labels = read_config(checkpoint)["labels"]
    return Schema([EntityType(n) for n in labels["entity_types"]],
                  [RelationType(n) for n in labels["relation_types"]])


def make_project(texts: list[str], per_document: int = 20, schema=None):
    from annotation.models import Document, Sentence
    from annotation.services.projects import project_create

    project = project_create(name="bench", schema=schema)
    sentences = []
    for d in range(0, len(texts), per_document):
        chunk = texts[d:d + per_document]
        document = Document.objects.create(project=project, name=f"doc-{d // per_document}",
                                           text="\n".join(chunk))
        offset = 0
        for i, text in enumerate(chunk):
            sentences.append(Sentence(project=project, document=document, index=i, start=offset,
                                      end=offset + len(text), text=text))
            offset += len(text) + 1
    Sentence.objects.bulk_create(sentences, batch_size=2000)
    return project


def untrained_checkpoint(project, out_dir: Path, encoder: str | None) -> Path:
    from mlcore.checkpoint import TrainedModel, build_model, save_checkpoint
    from mlcore.devices import choose_runtime
    from mlcore.encoding import LabelSpace
    from mlcore.trainer import TrainOptions

    labels = LabelSpace(list(project.entity_types.values_list("name", flat=True)),
                        list(project.relation_types.values_list("name", flat=True)))
    options = TrainOptions(encoder=encoder)
    model, tokenizer = build_model(labels, options.model_config(), encoder)
    runtime = choose_runtime()
    return save_checkpoint(TrainedModel(model, tokenizer, labels, runtime), out_dir, {"bench": True})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=32, help="prediction batch size")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--checkpoint", default="", help="a trained checkpoint folder")
    parser.add_argument("--encoder", default=os.environ.get("ELIGO_ENCODER", ""))
    parser.add_argument("--precision", default="auto", help="ELIGO_INFERENCE_PRECISION")
    parser.add_argument("--one-batch-at-a-time", action="store_true",
                        help="predict without batches side by side (the old forward pass)")
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="eligo-bench-")
    os.environ["ELIGO_INFERENCE_PRECISION"] = args.precision
    setup_django(var_dir)
    import torch

    from annotation.models import ModelVersion, PredictedEntity, PredictedRelation, SentenceScore
    from annotation.services.predictions import predictions_generate
    from mlcore import inference

    if args.threads:
        torch.set_num_threads(args.threads)
    schema = checkpoint_schema(Path(args.checkpoint)) if args.checkpoint else None
    project = make_project(criteria(args.sentences), schema=schema)
    checkpoint = Path(args.checkpoint) if args.checkpoint else untrained_checkpoint(
        project, Path(var_dir) / "model", args.encoder or None)
    version = ModelVersion.objects.create(project=project, number=1, checkpoint_dir=str(checkpoint),
                                          is_active=True)
    timings = {"predict_s": 0.0, "load_s": 0.0}
    real_predict, real_load = inference.predict, inference.load_model

    def timed(key, function):
        def wrapper(*a, **k):
            started = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                timings[key] += time.perf_counter() - started
        return wrapper

    if args.one_batch_at_a_time:
        real_predict = functools.partial(real_predict, side_by_side=False)
    inference.predict, inference.load_model = timed("predict_s", real_predict), timed("load_s", real_load)
    started = time.perf_counter()
    done = predictions_generate(model_version_id=version.pk, predict_batch_size=args.batch)
    total = time.perf_counter() - started
    result = {
        "sentences": done, "total_s": round(total, 2), "load_model_s": round(timings["load_s"], 2),
        "predict_s": round(timings["predict_s"], 2),
        "db_and_overhead_s": round(total - timings["predict_s"] - timings["load_s"], 2),
        "sentences_per_s": round(done / total, 1), "batch": args.batch,
        "device": "cuda" if torch.cuda.is_available() else "cpu", "torch_threads": torch.get_num_threads(),
        "suggested_entities": PredictedEntity.objects.count(),
        "suggested_relations": PredictedRelation.objects.count(), "scores": SentenceScore.objects.count(),
        "checkpoint": "trained" if args.checkpoint else "default encoder, untrained heads",
        "precision": args.precision, "side_by_side": not args.one_batch_at_a_time,
        "target": "30,000 criteria re-ranked in under 60 s (issue 11)",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
