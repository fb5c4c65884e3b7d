"""The ranked annotation queue on a 30,000-criterion project with scores and claims.

Generates (as ``bench_review_queue.py`` does) ``--sentences`` criteria with an active model
version and one uncertainty score each, marks the ``--done`` most uncertain ones done (the
head of the ranking an annotation team has worked through) and lets ``--annotators`` other
annotators claim the next ones through the queue, so every "next" walks past finished and
claimed criteria. Then times, in-process through Django's test ``Client`` (middleware,
session, auth; ``DEBUG`` off), p50/p95 wall ms and statements:

- ``GET queue``: "Annotate next" (the ranked read, the claim taken, the previous one
  released); the criterion served is then marked done outside the timing, so each press
  serves a new one;
- ``GET skip``: Skip from the served criterion (the session's skipped list grows);
- ``POST done + next``: Enter, the status POST that answers with the next address;
- ``GET page``: the annotation view of the served criterion (rank and claim included);
- ``GET queue, seeded order``: "Annotate next" with no active model.

And the re-ranking after a new model version: the queue reads the active version's scores
through an index, so nothing is re-sorted; what a new version costs is scoring every open
criterion. Timed here: storing 30,000 scores with the worker's own batch writer
(``_store_batch``, 256 sentences per transaction, as ``predictions_generate`` does) and the
first "next" under the new version. The model's forward pass over the same criteria is
``bench_preannotate.py --sentences 30000``.

    .venv/bin/python bench/bench_queue.py [--sentences 30000] [--repeat 150]
    # PostgreSQL: createdb first, then
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eligo_bench_queue \
        .venv/bin/python bench/bench_queue.py
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_review_queue import analyze_if_postgres, make_ranked_project  # noqa: E402
from benchdjango import setup_django  # noqa: E402

HX = {"HTTP_HX_REQUEST": "true"}


class Timer:
    """Wall ms and this process's CPU ms per label (CPU leaves out waiting for a busy CPU
    and PostgreSQL's own work), and the statements of the first (untimed) call."""

    def __init__(self):
        self.times: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}
        self.statements: dict[str, int] = {}

    def call(self, label: str, request):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        if label not in self.statements:
            with CaptureQueriesContext(connection) as queries:
                response = request()
            self.statements[label] = len(queries.captured_queries)
            return response
        started, cpu = time.perf_counter(), time.process_time()
        response = request()
        self.times.setdefault(label, []).append(1000 * (time.perf_counter() - started))
        self.cpu.setdefault(label, []).append(1000 * (time.process_time() - cpu))
        return response

    def report(self) -> None:
        print("\n| request | n | p50 ms | p95 ms | max ms | CPU p50 / p95 ms | statements |\n"
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for label, values in self.times.items():
            ordered, cpu = sorted(values), sorted(self.cpu[label])
            print(f"| {label} | {len(values)} | {statistics.median(values):.1f} | "
                  f"{_p95(ordered):.1f} | {ordered[-1]:.1f} | {statistics.median(cpu):.1f} / "
                  f"{_p95(cpu):.1f} | {self.statements[label]} |")


def _p95(ordered: list[float]) -> float:
    return ordered[int(0.95 * (len(ordered) - 1))]


def served_id(response) -> int:
    assert response.status_code in (200, 302), response.status_code
    location = response["Location"] if response.status_code == 302 else response["HX-Redirect"]
    return int(location.rstrip("/").split("/")[-1])


def finish(sentence_ids: list[int]) -> None:
    """Mark criteria done in bulk, with what the status write does to their scores."""
    from annotation.models import Sentence, SentenceScore

    Sentence.objects.filter(pk__in=sentence_ids).update(status="done")
    SentenceScore.objects.filter(sentence_id__in=sentence_ids).update(is_open=False)


def prepare(project, done: int, annotators: int):
    """The ``done`` most uncertain criteria done, and ``annotators`` claims on the next ones."""
    from django.contrib.auth import get_user_model

    from annotation.models import SentenceScore
    from annotation.services.projects import membership_set
    from annotation.services.queue import queue_serve

    top = (SentenceScore.objects.filter(project=project).order_by("-score", "sentence_id")
           .values_list("sentence_id", flat=True)[:done])
    finish(list(top))
    for n in range(annotators):
        user = get_user_model().objects.create_user(f"bench-annotator-{n}")
        membership_set(project=project, user=user, role="annotator")
        queue_serve(project=project, user=user)


def time_queue(timer: Timer, client, project, repeat: int, label: str = "GET queue") -> None:
    address = f"/projects/{project.name}/queue/"
    for _ in range(repeat + 1):
        served = served_id(timer.call(label, lambda: client.get(address)))
        finish([served])


def time_actions(timer: Timer, client, project, repeat: int) -> None:
    from annotation.models import Sentence

    base = f"/projects/{project.name}/sentences/"
    served = served_id(client.get(f"/projects/{project.name}/queue/"))
    for _ in range(repeat + 1):
        timer.call("GET page", lambda: client.get(f"{base}{served}/"))
        served = served_id(timer.call("GET skip", lambda: client.get(f"{base}{served}/go/skip/")))
    for _ in range(repeat + 1):
        version = Sentence.objects.values_list("version", flat=True).get(pk=served)
        served = served_id(timer.call("POST done + next", lambda: client.post(
            f"{base}{served}/do/status/", {"status": "done", "advance": "on", "version": version},
            **HX)))


def time_rerank(project, client) -> None:
    """Scores of a new version for every open criterion, stored as the worker stores them,
    then the first "next" under it."""
    import random

    from annotation.models import ModelVersion, Sentence
    from annotation.services.predictions import _store_batch, sentences_to_preannotate
    from mlcore.inference import SentencePrediction

    rng = random.Random(1)
    ModelVersion.objects.filter(project=project).update(is_active=False)
    version = ModelVersion.objects.create(project=project, number=2, checkpoint_dir="/nonexistent",
                                          is_active=True)
    started = time.perf_counter()
    pending = list(sentences_to_preannotate(version=version).values_list("pk", flat=True))
    for offset in range(0, len(pending), 256):
        batch = list(Sentence.objects.filter(pk__in=pending[offset:offset + 256])
                     .only("id", "text", "start", "document_id").order_by("pk"))
        predictions = [SentencePrediction(text=s.text, uncertainty={
            "combined": rng.random(), "mnlp": rng.random(), "relation_entropy": rng.random()})
            for s in batch]
        _store_batch(version, batch, predictions, "combined", {}, {})
    stored = time.perf_counter() - started
    analyze_if_postgres()
    first = time.perf_counter()
    client.get(f"/projects/{project.name}/queue/")
    print(f"\nre-ranking for model v2: {len(pending)} open criteria scored and stored in "
          f"{stored:.1f} s (the worker's batch writer); first next under v2: "
          f"{1000 * (time.perf_counter() - first):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=30000)
    parser.add_argument("--done", type=int, default=6000)
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=150)
    args = parser.parse_args()
    database = setup_django(sqlite_prefix="eligo-bench-next-",
                            DJANGO_SECRET_KEY="bench-only-secret-key", DJANGO_SECURE_COOKIES="0",
                            LOG_LEVEL="WARNING")
    from django.contrib.auth import get_user_model
    from django.test import Client

    from annotation.models import ModelVersion
    from annotation.services.projects import membership_set

    started = time.perf_counter()
    project, _, _ = make_ranked_project(args.sentences)
    prepare(project, args.done, args.annotators)
    analyze_if_postgres()
    print(f"{database}: {args.sentences} ranked criteria, {args.done} done, {args.annotators} "
          f"claims, generated in {time.perf_counter() - started:.1f} s")
    user = get_user_model().objects.create_user("bench-me")
    membership_set(project=project, user=user, role="annotator")
    client = Client()
    client.force_login(user)
    timer = Timer()
    time_queue(timer, client, project, args.repeat)
    time_actions(timer, client, project, args.repeat)
    ModelVersion.objects.filter(project=project).update(is_active=False)
    time_queue(timer, client, project, args.repeat, "GET queue, seeded order (no model)")
    timer.report()
    time_rerank(project, client)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
