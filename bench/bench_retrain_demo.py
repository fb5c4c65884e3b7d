"""Retrain on the demo project: wall time and dev F1 of the training service the worker runs.

    .venv/bin/python bench/bench_retrain_demo.py [--runs 2] [--threads 1]

Loads the demo (``manage.py load_demo``) into a fresh SQLite database, then runs
``annotation.services.training.training_run_execute`` (the body of the Celery task) ``--runs``
times in a row: the first run starts from the pre-trained encoder, each later one from the
version the run before it made (activated here directly, without queueing pre-annotation),
as pressing Retrain again does. Target (docs/benchmarks.md): under 2 minutes, a better dev
F1 than before the small-data schedule.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
from benchdjango import setup_django  # noqa: E402  (bench/ is the script's folder)


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="retrains in a row (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--options", default="{}",
                        help="JSON of model options to set on the project first")
    return parser.parse_args()


def _one_run(project, number: int) -> dict:
    from annotation.models import ModelVersion, TrainingRun
    from annotation.selectors.training import model_options_get, primary_f1
    from annotation.services.training import training_run_execute

    run = TrainingRun.objects.create(project=project, options=model_options_get(project))
    started = time.monotonic()
    version = training_run_execute(run_id=run.pk)
    wall = time.monotonic() - started
    run.refresh_from_db()
    if version is None:
        raise SystemExit(f"run {number} ended {run.status}: {run.error}\n{run.log}")
    ModelVersion.objects.filter(project=project).update(is_active=False)
    ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    metrics = version.dev_metrics
    return {"run": number, "wall_s": round(wall, 1), "train": run.train_size, "dev": run.dev_size,
            "ner_f1": round(metrics.get("ner", {}).get("f1", 0.0), 4),
            "re_f1": round(metrics.get("re_end_to_end", {}).get("f1", 0.0), 4),
            "primary_f1": round(primary_f1(metrics), 4), "phase": run.phase,
            "log_tail": run.log.strip().splitlines()[-3:]}


def main() -> None:
    args = _arguments()
    models = tempfile.mkdtemp(prefix="eligo-bench-retrain-models-")
    database = setup_django(sqlite_prefix="eligo-bench-retrain-", ELIGO_MODEL_DIR=models,
                            DJANGO_SECRET_KEY="bench-only-not-a-secret")
    import torch
    from django.core.management import call_command

    from annotation.models import Project
    from annotation.services.training import model_options_update

    torch.set_num_threads(args.threads)
    call_command("load_demo", verbosity=0)
    project = Project.objects.get(name="demo")
    model_options_update(project=project, options={"auto_activate": False,
                                                   "num_threads": args.threads,
                                                   **json.loads(args.options)})
    print(f"database {database}; load average {os.getloadavg()}; torch threads {args.threads}")
    for number in range(1, args.runs + 1):
        print(json.dumps(_one_run(project, number)), flush=True)
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
