"""Benchmark the agreement report on Chia: two annotators' layers of 1,600 documents each.

Usage::

    python bench/bench_agreement.py [--chia DIR] [--keep]

Runs on whatever ``DATABASE_URL`` says (a fresh temporary SQLite file without it). Builds a
project in independent mode whose annotator ``without_scope`` holds
``chia_without_scope`` and ``with_scope`` holds ``chia_with_scope`` (same texts; the second
adds Scope entities and the relations to them), each imported into its annotator's layer
as ``import_corpus --annotator`` does (not timed). Then it times
``annotation.selectors.agreement.agreement_report``: reading both layers from the database
and computing the report. Target: < 60 s.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdjango import setup_django  # noqa: E402  (bench/ is the script's folder)

PROJECT = "bench-agreement"


def build_project(chia: Path):
    """The two-layer project (rebuilt from scratch), each variant imported into its
    annotator's layer as ``import_corpus --annotator`` does."""
    from django.contrib.auth import get_user_model

    from annotation import models
    from annotation.services.corpus_io import corpus_import
    from annotation.services.projects import project_create
    from mlcore.corpus.model import Schema

    stale = models.Project.objects.filter(name=PROJECT).first()
    if stale is not None:
        project_remove(stale)
    project = project_create(name=PROJECT, schema=Schema())
    project.annotation_mode = models.AnnotationMode.INDEPENDENT
    project.save(update_fields=["annotation_mode"])
    for variant in ("chia_without_scope", "chia_with_scope"):
        user, _ = get_user_model().objects.get_or_create(username=variant.removeprefix("chia_"))
        report = corpus_import(project=project, path=chia / variant, fmt="brat", annotator=user)
        print(f"  {variant} into {user.username}'s layer: {report.summary()}")
    return project


def project_remove(project) -> None:
    """Raw deletes of the layer tables, then ``bench_import_export.project_drop``."""
    from annotation import models
    from bench_import_export import project_drop

    for model, lookup in ((models.EventArgument, "event__document__project"),
                          (models.Normalization, "document__project"),
                          (models.Event, "document__project"),
                          (models.SentenceLayer, "sentence__project"),
                          (models.Assignment, "document__project")):
        queryset = model.objects.filter(**{lookup: project})
        queryset._raw_delete(queryset.db)
    project_drop(project)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chia", type=Path, default=ROOT.parent / "shared" / "data" / "chia")
    parser.add_argument("--keep", action="store_true", help="keep the project afterwards")
    args = parser.parse_args()
    database = setup_django(sqlite_prefix="eligo-bench-agreement-",
                            DJANGO_SECRET_KEY="bench-only-not-a-secret")
    print(f"database: {database}")
    from annotation.selectors.agreement import agreement_report

    start = time.perf_counter()
    project = build_project(args.chia)
    print(f"set-up (import both layers, not timed): {time.perf_counter() - start:.1f} s")
    start, cpu = time.perf_counter(), time.process_time()
    report = agreement_report(project=project)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    pair = report["pairs"][0]
    print(f"agreement report: {seconds:.1f} s ({cpu:.1f} s CPU time of this process, SQLite "
          f"included when it is the database) for {pair['documents']} documents, "
          f"{pair['entities']['count']} entities, {pair['relations']['count']} relations "
          f"(target < 60 s)")
    print(f"  entity strict F1 {report['entities']['strict_f1']}, relaxed F1 "
          f"{report['entities']['relaxed_f1']}, relation strict F1 "
          f"{report['relations']['strict_f1']}, kappa {report['kappa']}, "
          f"{len(pair['criteria'])} criteria disagree")
    if not args.keep:
        project_remove(project)


if __name__ == "__main__":
    main()
