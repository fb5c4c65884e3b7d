"""Benchmark the agreement report on Chia: two annotators' layers of 1,600 documents each.

Usage::

    python bench/bench_agreement.py [--chia DIR] [--keep]

Runs on whatever ``DATABASE_URL`` says (a fresh temporary SQLite file without it). Builds a
project in independent mode whose annotator ``without_scope`` holds
``chia_without_scope`` and ``with_scope`` holds ``chia_with_scope`` (same texts; the second
adds Scope entities and the relations to them): the first variant is imported with
``corpus_import`` and its rows moved into that annotator's layer, the second variant's
entities and relations are written into the other layer with bulk inserts (not timed).
Then it times ``annotation.selectors.agreement.agreement_report`` (read both layers from
the database + compute). Target: < 60 s.
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
LAYER_MODELS = ("Entity", "Relation", "Event", "Group", "Attribute", "Note", "Normalization")


def build_project(chia: Path):
    """The two-layer project (rebuilt from scratch)."""
    from django.contrib.auth import get_user_model

    from annotation import models
    from annotation.services.corpus_io import corpus_import
    from annotation.services.projects import project_create
    from bench_import_export import project_drop
    from mlcore.corpus.model import Schema

    stale = models.Project.objects.filter(name=PROJECT).first()
    if stale is not None:
        project_drop(stale)
    users = {name: get_user_model().objects.get_or_create(username=name)[0]
             for name in ("without_scope", "with_scope")}
    project = project_create(name=PROJECT, schema=Schema())
    project.annotation_mode = models.AnnotationMode.INDEPENDENT
    project.save(update_fields=["annotation_mode"])
    corpus_import(project=project, path=chia / "chia_without_scope", fmt="brat")
    for name in LAYER_MODELS:
        getattr(models, name).objects.filter(document__project=project).update(
            annotator=users["without_scope"])
    layer_insert(project=project, annotator=users["with_scope"], folder=chia / "chia_with_scope")
    documents = list(project.documents.values_list("pk", flat=True))
    models.Assignment.objects.bulk_create(
        [models.Assignment(document_id=d, annotator=u) for d in documents for u in users.values()])
    return project


def layer_insert(*, project, annotator, folder: Path) -> None:
    """Entities and relations of the brat ``folder`` into ``annotator``'s layer of the
    project's documents of the same names (bulk inserts; types added where missing)."""
    from annotation import models
    from mlcore.corpus.formats import read_corpus

    documents = {d.name: d for d in project.documents.all()}
    sentences = {}
    for pk, document_id, start in models.Sentence.objects.filter(project=project).values_list(
            "pk", "document_id", "start").order_by("document_id", "start"):
        sentences.setdefault(document_id, []).append((start, pk))
    corpus = list(read_corpus(folder, "brat").documents)
    for doc in corpus:
        for entity in doc.entities:
            models.EntityType.objects.get_or_create(project=project, name=entity.type)
        for relation in doc.relations:
            models.RelationType.objects.get_or_create(project=project, name=relation.type)
    entity_types = dict(project.entity_types.values_list("name", "pk"))
    relation_types = dict(project.relation_types.values_list("name", "pk"))
    for doc in corpus:
        document = documents[doc.name]
        starts = sentences.get(document.pk, [])
        rows = {e.id: models.Entity(
            document=document, type_id=entity_types[e.type], annotator=annotator,
            sentence_id=next((pk for start, pk in reversed(starts) if start <= e.start), None),
            fragments=[[f.start, f.end] for f in e.fragments], start=e.start, end=e.end,
            source=models.Source.IMPORTED) for e in doc.entities}
        models.Entity.objects.bulk_create(rows.values())
        models.Relation.objects.bulk_create([models.Relation(
            document=document, type_id=relation_types[r.type], annotator=annotator,
            head=rows[r.head], tail=rows[r.tail], sentence_id=rows[r.head].sentence_id,
            source=models.Source.IMPORTED)
            for r in doc.relations if r.head in rows and r.tail in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chia", type=Path, default=ROOT.parent / "shared" / "data" / "chia")
    parser.add_argument("--keep", action="store_true", help="keep the project afterwards")
    args = parser.parse_args()
    print(f"database: {setup_django(sqlite_prefix='eligo-bench-agreement-', DJANGO_SECRET_KEY='bench-only-not-a-secret')}")
    from annotation import models
    from annotation.selectors.agreement import agreement_report
    from bench_import_export import project_drop

    start = time.perf_counter()
    project = build_project(args.chia)
    print(f"set-up (import both layers, not timed): {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    report = agreement_report(project=project)
    seconds = time.perf_counter() - start
    pair = report["pairs"][0]
    print(f"agreement report: {seconds:.1f} s for {pair['documents']} documents, "
          f"{pair['entities']['count']} entities, {pair['relations']['count']} relations "
          f"(target < 60 s)")
    print(f"  entity strict F1 {report['entities']['strict_f1']}, relaxed F1 "
          f"{report['entities']['relaxed_f1']}, relation strict F1 "
          f"{report['relations']['strict_f1']}, kappa {report['kappa']}, "
          f"{len(pair['criteria'])} criteria disagree")
    if not args.keep:
        models.Assignment.objects.filter(document__project=project).delete()
        project_drop(project)


if __name__ == "__main__":
    main()
