"""Load test: N simulated annotators on gunicorn + PostgreSQL, on loopback only.

    .venv/bin/python bench/load_test.py --annotators 20 --seconds 60

Creates a throw-away PostgreSQL database (``--pg``), migrates it, seeds one project
with synthetic criteria (one document per annotator, so the annotators work on their
own sentences as the work queue hands them out), a user and an API token per
annotator, starts gunicorn on a free loopback port, and runs one thread per annotator
for ``--seconds``: read the sentence, create an entity, sometimes delete one it created,
mark the sentence done, with ``--think-ms`` between actions (a human annotator does not
click continuously). Every request is timed.

At the end it checks: zero errors (any non-2xx or exception), p95 below ``--p95-ms``,
and no lost updates: every acknowledged creation is in the database, every
acknowledged deletion is gone, and each sentence's version equals 1 + the acknowledged
writes on it. Exit status 0 only when all hold. The database is dropped afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORDS = ["diabetes", "asthma", "insulin", "aspirin", "pregnancy", "hepatitis", "cancer", "warfarin"]


@dataclass
class Annotator:
    username: str
    token: str
    sentences: list[dict]
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    created: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)
    writes: dict[int, int] = field(default_factory=lambda: defaultdict(int))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _setup_django(database_url: str, var_dir: Path) -> None:
    os.environ.update({"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "webapp.settings",
                       "DJANGO_DEBUG": "1", "ELIGO_VAR_DIR": str(var_dir),
                       "ELIGO_THROTTLE_USER": "100000/minute"})
    import django

    django.setup()


def _seed(annotators: int, sentences_per_doc: int) -> tuple[list[Annotator], dict]:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from annotation.models import Document, Role, Sentence
    from annotation.services.projects import membership_set, project_create
    from mlcore.corpus.model import EntityType, RelationType, Schema

    schema = Schema(entity_types=[EntityType("Condition"), EntityType("Drug")],
                    relation_types=[RelationType("has", (), ())])
    project = project_create(name="load", schema=schema)
    type_ids = list(project.entity_types.values_list("pk", flat=True))
    people = []
    for i in range(annotators):
        user = get_user_model().objects.create_user(f"annotator{i}", password="load-test-pass-1")
        membership_set(project=project, user=user, role=Role.ANNOTATOR)
        texts = [f"Patients with {WORDS[(i + k) % len(WORDS)]} and {WORDS[(i + 2 * k) % len(WORDS)]} "
                 f"are excluded from arm {k}." for k in range(sentences_per_doc)]
        document = Document.objects.create(project=project, name=f"doc{i:03d}", text="\n".join(texts))
        offset, rows = 0, []
        for index, text in enumerate(texts):
            rows.append(Sentence(project=project, document=document, index=index, start=offset,
                                 end=offset + len(text), text=text))
            offset += len(text) + 1
        Sentence.objects.bulk_create(rows)
        sentences = [{"id": s.pk, "start": s.start, "text": s.text}
                     for s in Sentence.objects.filter(document=document).order_by("index")]
        people.append(Annotator(user.username, Token.objects.create(user=user).key, sentences))
    return people, {"project": project.name, "types": type_ids}


def _request(session, annotator: Annotator, method: str, url: str, ok: tuple, **kwargs):
    started = time.perf_counter()
    try:
        response = session.request(method, url, timeout=10, **kwargs)
    except Exception as exc:  # noqa: BLE001 - every failure counts as an error
        annotator.errors.append(f"{method} {url}: {type(exc).__name__}")
        return None
    finally:
        annotator.latencies.append(1000 * (time.perf_counter() - started))
    if response.status_code not in ok:
        annotator.errors.append(f"{method} {url}: {response.status_code} {response.text[:200]}")
        return None
    return response


def _work(base: str, annotator: Annotator, meta: dict, stop_at: float, think_s: float,
          max_actions: int, seed: int) -> None:
    import requests

    rng = random.Random(seed)
    session = requests.Session()
    session.headers["Authorization"] = f"Token {annotator.token}"
    project = meta["project"]
    actions = 0
    for sentence in annotator.sentences[:3]:  # warm-up, untimed: imports, connections, caches
        session.get(f"{base}/api/projects/{project}/sentences/{sentence['id']}/", timeout=30)
    while time.monotonic() < stop_at and actions < max_actions:
        sentence = rng.choice(annotator.sentences)
        url = f"{base}/api/projects/{project}/sentences/{sentence['id']}/"
        read = _request(session, annotator, "GET", url, (200,))
        if read is None:
            continue
        body = read.json()
        version = body["version"]
        mine = [e["id"] for e in body["entities"] if e["id"] in annotator.created]
        if mine and rng.random() < 0.3:
            target = rng.choice(mine)
            if _request(session, annotator, "DELETE",
                        f"{url}entities/{target}/?expected_version={version}", (204,)):
                annotator.deleted.add(target)
                annotator.writes[sentence["id"]] += 1
        else:
            start = sentence["start"] + rng.randrange(0, len(sentence["text"]) - 12)
            length = rng.randint(3, 10)
            created = _request(session, annotator, "POST", f"{url}entities/", (201,), json={
                "type": rng.choice(meta["types"]), "fragments": [[start, start + length]],
                "expected_version": version})
            if created is None:
                # an identical entity may already exist (same random span): not a server error
                if annotator.errors and " 400 " in annotator.errors[-1]:
                    annotator.errors.pop()
                continue
            annotator.created.add(created.json()["id"])
            annotator.writes[sentence["id"]] += 1
        actions += 1
        time.sleep(think_s * rng.uniform(0.5, 1.5))


def _verify(people: list[Annotator]) -> list[str]:
    from annotation.models import Entity, Sentence

    problems = []
    created = set().union(*(p.created for p in people))
    deleted = set().union(*(p.deleted for p in people))
    present = set(Entity.objects.filter(pk__in=created).values_list("pk", flat=True))
    missing = created - deleted - present
    resurrected = deleted & present
    if missing:
        problems.append(f"{len(missing)} acknowledged entities are missing")
    if resurrected:
        problems.append(f"{len(resurrected)} acknowledged deletions did not happen")
    writes = defaultdict(int)
    for person in people:
        for sentence_id, count in person.writes.items():
            writes[sentence_id] += count
    versions = dict(Sentence.objects.filter(pk__in=writes).values_list("pk", "version"))
    wrong = {pk: (versions[pk], 1 + n) for pk, n in writes.items() if versions[pk] != 1 + n}
    if wrong:
        problems.append(f"{len(wrong)} sentences have a version other than 1 + acknowledged writes")
    return problems


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think-ms", type=float, default=500, help="mean pause between actions")
    parser.add_argument("--max-actions", type=int, default=2000, help="per annotator, a hard bound")
    parser.add_argument("--sentences", type=int, default=30, help="sentences per annotator")
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--p95-ms", type=float, default=200)
    parser.add_argument("--pg", default=os.environ.get("ELIGO_BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    import psycopg

    name = f"eligo_load_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(args.pg, autocommit=True, connect_timeout=5)
    admin.execute(f'CREATE DATABASE "{name}"')
    database_url = args.pg.rsplit("/", 1)[0] + f"/{name}"
    var_dir = Path(os.environ.get("TMPDIR", "/tmp")) / name
    var_dir.mkdir(parents=True, exist_ok=True)
    gunicorn = None
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True,
                       env={**os.environ, "DATABASE_URL": database_url, "DJANGO_DEBUG": "1",
                            "ELIGO_VAR_DIR": str(var_dir)})
        _setup_django(database_url, var_dir)
        people, meta = _seed(args.annotators, args.sentences)
        port = _free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_DEBUG": "0",
               "DJANGO_SECRET_KEY": "load-test-" + "k" * 40, "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
               "ELIGO_VAR_DIR": str(var_dir), "ELIGO_THROTTLE_USER": "100000/minute",
               "DATABASE_CONN_MAX_AGE": "60"}
        gunicorn = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "webapp.wsgi:application", "--bind",
             f"127.0.0.1:{port}", "--workers", str(args.gunicorn_workers), "--timeout", "60"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        _wait(base)
        stop_at = time.monotonic() + args.seconds
        threads = [threading.Thread(target=_work, args=(base, p, meta, stop_at, args.think_ms / 1000,
                                                        args.max_actions, i))
                   for i, p in enumerate(people)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.seconds + 30)
        elapsed = time.monotonic() - started
        from django.db import connection

        connection.close()
        problems = _verify(people)
        latencies = [x for p in people for x in p.latencies]
        errors = [e for p in people for e in p.errors]
        result = {
            "annotators": args.annotators, "seconds": round(elapsed, 1), "requests": len(latencies),
            "requests_per_s": round(len(latencies) / elapsed, 1),
            "acknowledged_writes": sum(sum(p.writes.values()) for p in people),
            "errors": len(errors), "error_samples": errors[:5],
            "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "p95_ms": round(_percentile(latencies, 0.95), 1), "p99_ms": round(_percentile(latencies, 0.99), 1),
            "max_ms": round(max(latencies), 1) if latencies else None,
            "lost_update_problems": problems, "gunicorn_workers": args.gunicorn_workers,
            "think_ms": args.think_ms,
        }
        print(json.dumps(result, indent=2))
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
        ok = not errors and not problems and result["p95_ms"] < args.p95_ms and latencies
        return 0 if ok else 1
    finally:
        if gunicorn is not None and gunicorn.poll() is None:
            os.killpg(gunicorn.pid, signal.SIGTERM)
            gunicorn.wait(20)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 - Django may not be set up when migrate failed
            pass
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _wait(base: str, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/health/", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit("gunicorn did not become healthy")


if __name__ == "__main__":
    sys.exit(main())
