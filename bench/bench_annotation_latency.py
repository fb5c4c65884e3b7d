"""Server-side latency of the annotation UI on a 30,000-sentence project.

Usage::

    python bench/bench_annotation_latency.py [--sentences 30000] [--repeat 200] [--layer [--other-layers 2]]

Runs on whatever ``DATABASE_URL`` says (e.g.
``DATABASE_URL=postgres://postgres@127.0.0.1:5432/eligo_bench_ui``, created first with
``psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE eligo_bench_ui'``); without it, on a
fresh temporary SQLite file. The schema is migrated first, a synthetic project is
generated with ``bulk_create`` (1,000 documents of 30 criteria, about 2 entities and
1 relation per criterion, default schema), and every annotation action and page load is
timed in-process through Django's test ``Client`` (middleware, session, templates
included; no network) with ``time.perf_counter``. Prints p50/p95/max per action and the
queries each issues. Target: p95 < 50 ms per annotation action. The project is deleted
at the end. ``--layer``: the project is in independent mode, every document is assigned to
the benchmark user, an annotator, and the generated annotations are in their own layer, so
every action reads and writes that layer (``SentenceLayer`` versions).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdjango import setup_django  # noqa: E402  (bench/ is the script's folder)
PER_DOCUMENT = 30
WORDS = ("patients with type 2 diabetes mellitus treated with metformin for at least three "
         "months and no history of heart failure or severe renal impairment").split()


def criterion(rng: random.Random) -> str:
    start = rng.randrange(0, len(WORDS) - 12)
    return " ".join(WORDS[start:start + rng.randint(8, 12)]) + "."


def generate(n_sentences: int, rng: random.Random, layered: bool = False, other_layers: int = 0):
    """A project with ``n_sentences`` criteria, two entities and one relation on each (in the
    benchmark user's own layer if ``layered``, and the same again in the layers of
    ``other_layers`` other annotators assigned every document)."""
    from django.contrib.auth import get_user_model

    from annotation.models import Assignment, Document, Sentence
    from annotation.services.layers import project_mode_update
    from annotation.services.projects import membership_set, project_create

    name = f"bench-ui-{int(time.time())}"
    user, _ = get_user_model().objects.get_or_create(username="bench-annotator")
    project = project_create(name=name, title="Latency benchmark")
    membership_set(project=project, user=user, role="annotator" if layered else "manager")
    layers = [user.pk if layered else None]
    for k in range(other_layers if layered else 0):
        other, _ = get_user_model().objects.get_or_create(username=f"bench-annotator-{k + 2}")
        membership_set(project=project, user=other, role="annotator")
        layers.append(other.pk)
    if layered:
        project_mode_update(project=project, mode="independent")
    types = {t.name: t for t in project.entity_types.all()}
    negated = project.relation_types.get(name="is negated")
    n_docs = n_sentences // PER_DOCUMENT
    texts = [[criterion(rng) for _ in range(PER_DOCUMENT)] for _ in range(n_docs)]
    documents = Document.objects.bulk_create(
        [Document(project=project, name=f"NCT{i:08d}_inc", text="\n".join(t))
         for i, t in enumerate(texts)], batch_size=500)
    if layered:
        Assignment.objects.bulk_create([Assignment(document=d, annotator_id=layer)
                                        for d in documents for layer in layers], batch_size=1000)
    sentences = []
    for document, criteria in zip(documents, texts):
        offset = 0
        for index, text in enumerate(criteria):
            sentences.append(Sentence(project=project, document=document, index=index,
                                      start=offset, end=offset + len(text), text=text))
            offset += len(text) + 1
    Sentence.objects.bulk_create(sentences, batch_size=2000)
    sentences = list(Sentence.objects.filter(project=project).only("id", "project_id", "document_id", "start", "text"))
    for layer in layers:
        _annotate(sentences, types, negated, layer)
    return project, user, sentences


def _annotate(sentences, types, negated, layer) -> None:
    """Two entities and one relation on every sentence, in ``layer``."""
    from annotation.models import Entity, Relation

    entities = []
    for s in sentences:
        first = s.text.index(" ")
        entities.append(Entity(document_id=s.document_id, sentence_id=s.pk, type=types["Negation cue"],
                               fragments=[[s.start, s.start + first]], start=s.start,
                               end=s.start + first, source="imported", annotator_id=layer))
        second_end = s.text.index(" ", first + 1)
        entities.append(Entity(document_id=s.document_id, sentence_id=s.pk, type=types["Condition"],
                               fragments=[[s.start + first + 1, s.start + second_end]],
                               start=s.start + first + 1, end=s.start + second_end,
                               source="imported", annotator_id=layer))
    Entity.objects.bulk_create(entities, batch_size=2000)
    by_sentence: dict[int, list[int]] = {}
    for pk, sentence_id in (Entity.objects.filter(document__project=sentences[0].project_id,
                                                  annotator_id=layer)
                            .values_list("id", "sentence_id")):
        by_sentence.setdefault(sentence_id, []).append(pk)
    relations = [Relation(document_id=s.document_id, sentence_id=s.pk, type=negated,
                          head_id=max(by_sentence[s.pk]), tail_id=min(by_sentence[s.pk]),
                          source="imported", annotator_id=layer) for s in sentences]
    Relation.objects.bulk_create(relations, batch_size=2000)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Bench:
    def __init__(self, client):
        self.client = client
        self.times: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}
        self.queries: dict[str, int] = {}
        self.statuses: dict[str, set] = {}

    def run(self, label: str, method: str, url: str, data=None, expect=200):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        call = getattr(self.client, method)
        kwargs = {"HTTP_HX_REQUEST": "true"} if label.startswith(("POST", "GET fragment", "GET doc")) else {}
        if label not in self.queries:  # count queries once, outside the timed runs
            with CaptureQueriesContext(connection) as ctx:
                response = call(url, data or {}, **kwargs)
            self.queries[label] = len(ctx.captured_queries)
        else:
            start, cpu = time.perf_counter(), time.process_time()
            response = call(url, data or {}, **kwargs)
            self.times.setdefault(label, []).append((time.perf_counter() - start) * 1000)
            self.cpu.setdefault(label, []).append((time.process_time() - cpu) * 1000)
        self.statuses.setdefault(label, set()).add(response.status_code)
        if response.status_code not in (expect if isinstance(expect, tuple) else (expect,)):
            raise RuntimeError(f"{label}: HTTP {response.status_code} for {url}")
        return response


def current_version(sentence, layer) -> int:
    """The sentence's version in ``layer`` (the shared layer: ``None``)."""
    from annotation.models import Sentence, SentenceLayer

    if layer is None:
        return Sentence.objects.filter(pk=sentence.pk).values_list("version", flat=True).get()
    return (SentenceLayer.objects.filter(sentence_id=sentence.pk, annotator_id=layer)
            .values_list("version", flat=True).first() or 1)


def one_round(bench: Bench, project, sentence, types, negated, layer=None) -> None:
    """Every action once on ``sentence`` (fresh, version 1), as an annotator would."""
    from annotation.models import Entity, Relation

    base = f"/projects/{project.name}/sentences/{sentence.pk}/"
    do = base + "do/"
    version = current_version(sentence, layer)
    local = sentence.text.rindex(" ") + 1
    end = sentence.start + len(sentence.text) - 1
    bench.run("GET page", "get", base)
    bench.run("GET fragment", "get", base)
    bench.run("POST entity-create", "post", do + "entity-create/", {
        "type": types["Drug"].pk, "fragments": json.dumps([[sentence.start + local, end]]),
        "version": version})
    version += 1
    created = Entity.objects.filter(sentence_id=sentence.pk, type=types["Drug"]).values_list("id", flat=True).get()
    bench.run("POST entity-type", "post", do + "entity-type/", {
        "entity": created, "type": types["Observation"].pk, "version": version})
    version += 1
    bench.run("POST entity-extend", "post", do + "entity-extend/", {
        "entity": created, "fragments": json.dumps([[sentence.start + local - 2, sentence.start + local]]),
        "version": version}, expect=(200, 422))
    version = current_version(sentence, layer)
    negation = Entity.objects.filter(sentence_id=sentence.pk, type__name="Negation cue").values_list("id", flat=True).first()
    bench.run("POST relation-create", "post", do + "relation-create/", {
        "type": negated.pk, "head": created, "tail": negation, "version": version})
    version += 1
    relation = Relation.objects.filter(head_id=created).values_list("id", flat=True).get()
    bench.run("POST relation-delete", "post", do + "relation-delete/", {
        "relation": relation, "version": version})
    version += 1
    bench.run("POST undo", "post", base + "undo/", {"version": version})
    version += 1
    bench.run("POST entity-delete", "post", do + "entity-delete/", {"entity": created, "version": version})
    version += 1
    bench.run("POST stale (409)", "post", do + "entity-delete/", {"entity": created, "version": 1}, expect=409)
    bench.run("POST status", "post", do + "status/", {"status": "done", "advance": "on", "version": version})
    bench.run("GET next", "get", base + "go/next/", expect=302)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--layer", action="store_true",
                        help="annotate in an annotator's own layer (independent mode)")
    parser.add_argument("--other-layers", type=int, default=0,
                        help="with --layer: this many other annotators' layers hold the same "
                             "annotations (issue 14's target: 3 layers, --other-layers 2)")
    args = parser.parse_args()
    database = setup_django(sqlite_prefix="eligo-bench-ui-", DJANGO_SECRET_KEY="bench-only-secret-key",
                             DJANGO_SECURE_COOKIES="0", LOG_LEVEL="WARNING")
    from django.test import Client

    logging.getLogger("django.request").setLevel(logging.ERROR)  # the 409s are expected

    rng = random.Random(7)
    start = time.perf_counter()
    project, user, sentences = generate(args.sentences, rng, layered=args.layer,
                                       other_layers=args.other_layers)
    analyze_if_postgresql()
    print(f"database: {database}")
    print(f"generated {len(sentences)} sentences in {time.perf_counter() - start:.1f} s")
    client = Client()
    client.force_login(user)
    bench = Bench(client)
    types = {t.name: t for t in project.entity_types.all()}
    negated = project.relation_types.get(name="is negated")
    chosen = rng.sample(sentences, args.repeat + 1)
    try:
        for sentence in chosen:
            one_round(bench, project, sentence, types, negated,
                      layer=user.pk if args.layer else None)
        for _ in range(min(args.repeat, 50) + 1):
            bench.run("GET dashboard", "get", f"/projects/{project.name}/")
            bench.run("GET doc list", "get", f"/projects/{project.name}/documents/",
                      {"q": f"NCT{rng.randrange(len(sentences) // PER_DOCUMENT):08d}"})
            bench.run("GET queue", "get", f"/projects/{project.name}/queue/", expect=302)
        report(bench)
    finally:
        project.documents.all().delete()
        project.delete()


def analyze_if_postgresql() -> None:
    """Fresh planner statistics for the generated rows, as autovacuum leaves them within a
    minute of a bulk load; right after ``bulk_create`` PostgreSQL still believes the tables
    nearly empty and may sort 30,000 open criteria for "Annotate next" (10 ms instead of 0.3)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def report(bench: Bench) -> None:
    """Wall-clock p50/p95/max, and this process's CPU time p50/p95 (which excludes time
    spent waiting for a busy CPU or for a PostgreSQL server process)."""
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"{'action':22} {'n':>4} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} "
          f"{'cpu p50':>8} {'cpu p95':>8} {'queries':>7}")
    for label, values in bench.times.items():
        cpu = bench.cpu[label]
        print(f"{label:22} {len(values):4d} {statistics.median(values):7.1f} "
              f"{percentile(values, 0.95):7.1f} {max(values):7.1f} {statistics.median(cpu):8.1f} "
              f"{percentile(cpu, 0.95):8.1f} {bench.queries[label]:7d}")


if __name__ == "__main__":
    main()
