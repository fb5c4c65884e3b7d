"""Review-queue page latency with 30,000 ranked sentences (target: under 100 ms).

Generates a project of ``--sentences`` criteria in documents of 30, one active model
version and one uncertainty score per sentence (what pre-annotation leaves behind), then
times ``GET /projects/<name>/review/`` in-process through Django's test ``Client`` (all
middleware, session, auth, template; ``DEBUG`` off): the first page, a deep page, and the
status and document filters. Prints p50/p95 wall ms and the query count per request.

    .venv/bin/python bench/bench_review_queue.py [--sentences 30000] [--repeat 50]
    # PostgreSQL: createdb first, then
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eligo_bench_queue .venv/bin/python bench/bench_review_queue.py
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdjango import setup_django  # noqa: E402  (bench/ is the script's folder)

PER_DOCUMENT = 30


def make_ranked_project(sentences: int):
    from django.contrib.auth import get_user_model

    from annotation.models import (
        Document, ModelVersion, Sentence, SentenceScore, SentenceStatus,
    )
    from annotation.services.projects import project_create

    user = get_user_model().objects.create_user("bench-reviewer", password="bench-pass")
    project = project_create(name=f"queue-{int(time.time())}", created_by=user)
    rng = random.Random(0)
    statuses = [SentenceStatus.NEW, SentenceStatus.IN_PROGRESS, SentenceStatus.NEW]
    documents = Document.objects.bulk_create(
        Document(project=project, name=f"NCT{n:08d}_inc", text="x")
        for n in range(sentences // PER_DOCUMENT))
    rows = []
    for document in documents:
        for i in range(PER_DOCUMENT):
            text = f"criterion {i} of {document.name}: no history of condition {rng.random():.6f}"
            rows.append(Sentence(project=project, document=document, index=i, start=0,
                                 end=len(text), text=text, status=statuses[i % 3]))
    created = Sentence.objects.bulk_create(rows, batch_size=2000)
    version = ModelVersion.objects.create(project=project, number=1, checkpoint_dir="/nonexistent",
                                          is_active=True)
    SentenceScore.objects.bulk_create(
        (SentenceScore(project=project, sentence=s, model_version=version, score=rng.random(),
                       scores={"combined": 0.0}) for s in created), batch_size=2000)
    return project, user, documents


def analyze_if_postgres() -> None:
    """Planner statistics, as autovacuum keeps them on a live PostgreSQL database (right after
    a bulk load it has none and picks sequential scans)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def time_request(client, url: str, repeat: int) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    count = len(queries.captured_queries)  # the next request's request_started clears the log
    assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url)
        timings.append(1000 * (time.perf_counter() - started))
    timings.sort()
    return statistics.median(timings), timings[int(0.95 * (len(timings) - 1))], count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=30000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    database = setup_django(sqlite_prefix="eligo-bench-queue-", DJANGO_SECRET_KEY="bench-only-secret-key",
                            DJANGO_SECURE_COOKIES="0", LOG_LEVEL="WARNING")
    from django.test import Client

    started = time.perf_counter()
    project, user, documents = make_ranked_project(args.sentences)
    analyze_if_postgres()
    print(f"{database}: {args.sentences} ranked sentences generated in "
          f"{time.perf_counter() - started:.1f} s")
    client = Client()
    client.force_login(user)
    base = f"/projects/{project.name}/review/"
    requests = [("first page", base), ("page 200", base + "?page=200"),
                ("status filter", base + "?status=in_progress"),
                ("document filter", base + f"?document={documents[len(documents) // 2].pk}")]
    print("\n| request | p50 ms | p95 ms | queries |\n| --- | ---: | ---: | ---: |")
    for label, url in requests:
        p50, p95, queries = time_request(client, url, args.repeat)
        print(f"| GET review queue, {label} | {p50:.1f} | {p95:.1f} | {queries} |")


if __name__ == "__main__":
    main()
