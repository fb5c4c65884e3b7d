"""Benchmark the corpus import/export through the database on Chia, with a round-trip check.

Usage::

    python bench/bench_import_export.py [--chia DIR] [--variant chia_without_scope|chia_with_scope|both]

Runs on whatever ``DATABASE_URL`` says (e.g.
``DATABASE_URL=postgres://postgres@127.0.0.1:5432/eligo_bench``); without it, on a fresh
temporary SQLite file. The schema is migrated first. For each variant: import the brat
folder into a new project (timed, one transaction), export it as brat, JSONL and CoNLL
(timed), read the brat export back and compare every document with the original
(byte-identical text and identical id-free signature), then delete the project.
Targets: import < 20 s, export < 10 s.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdjango import setup_django  # noqa: E402  (bench/ is the script's folder)
VARIANTS = ("chia_without_scope", "chia_with_scope")


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def project_drop(project) -> None:
    """Bench clean-up: raw deletes child tables first (the ORM's cascade collector takes minutes)."""
    from annotation import models

    for model, lookup in ((models.GroupMember, "group__document__project"),
                          (models.Attribute, "document__project"), (models.Note, "document__project"),
                          (models.Relation, "document__project"), (models.Group, "document__project"),
                          (models.Entity, "document__project"), (models.Sentence, "project"),
                          (models.Document, "project")):
        queryset = model.objects.filter(**{lookup: project})
        if model is models.GroupMember:
            queryset = model.objects.filter(pk__in=list(queryset.values_list("pk", flat=True)))
        queryset._raw_delete(queryset.db)
    project.delete()


def bench_variant(folder: Path, out_root: Path) -> dict:
    from annotation.models import Project
    from annotation.services.corpus_io import corpus_export, corpus_import
    from annotation.services.projects import project_create
    from mlcore.corpus.compare import document_signature
    from mlcore.corpus.formats import read_corpus
    from mlcore.corpus.model import Schema

    name = f"bench-{folder.name.replace('_', '-')}"
    stale = Project.objects.filter(name=name).first()
    if stale is not None:
        project_drop(stale)
    project = project_create(name=name, schema=Schema())
    report, import_s = timed(lambda: corpus_import(project=project, path=folder, fmt="brat"))
    print(f"  import       {import_s:6.2f} s  {report.summary()}")
    print(f"               {report.documents / import_s:8.0f} docs/s  "
          f"{report.annotations / import_s:8.0f} annotations/s")
    results = {"import_s": import_s, "annotations": report.annotations}
    for fmt, out in (("brat", out_root / "brat"), ("jsonl", out_root / "corpus.jsonl"),
                     ("conll", out_root / "corpus.conll")):
        stats, seconds = timed(lambda: corpus_export(project=project, out=out, fmt=fmt))
        results[f"export_{fmt}_s"] = seconds
        print(f"  export {fmt:<6}{seconds:6.2f} s  {report.annotations / seconds:8.0f} annotations/s")
        if fmt == "conll":
            print(f"  CoNLL flattening: entities dropped {stats['entities_dropped']} of "
                  f"{stats['entities_in']} (overlap {stats['dropped_overlap']}, cross-sentence "
                  f"{stats['dropped_cross_sentence']}), discontinuous merged "
                  f"{stats['discontinuous_merged']}, relations dropped {stats['relations_dropped']}")
            results["conll_entities_dropped"] = stats["entities_dropped"]
    originals = {d.name: d for d in read_corpus(folder, "brat").documents}
    exported = {d.name: d for d in read_corpus(out_root / "brat", "brat").documents}
    identical = sum(
        1 for name, document in originals.items()
        if name in exported
        and (out_root / "brat" / f"{name}.txt").read_bytes() == (folder / f"{name}.txt").read_bytes()
        and document_signature(document) == document_signature(exported[name])
    )
    print(f"  identical documents: {identical} / {len(originals)}")
    from_jsonl = {d.name: d for d in read_corpus(out_root / "corpus.jsonl", "jsonl").documents}
    same_jsonl = sum(
        1 for name, document in originals.items()
        if name in from_jsonl and document_signature(document, metadata=False)
        == document_signature(from_jsonl[name], metadata=False)
    )
    print(f"  JSONL export, identical documents (metadata aside: it gains sentence_status): "
          f"{same_jsonl} / {len(originals)}")
    results["identical"], results["documents"] = identical, len(originals)
    _, drop_s = timed(lambda: project_drop(project))
    print(f"  (project deleted in {drop_s:.1f} s)")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chia", type=Path, default=Path(
        os.environ.get("ELIGO_CHIA_DIR", ROOT.parent / "shared" / "data" / "chia")))
    parser.add_argument("--variant", choices=(*VARIANTS, "both"), default="both")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="where the exports are written (default: the system temp folder)")
    args = parser.parse_args()
    database = setup_django(sqlite_prefix="eligo-bench-",
                             DJANGO_SECRET_KEY="bench-only-not-a-secret")
    print(f"database: {database}")
    variants = VARIANTS if args.variant == "both" else (args.variant,)
    for variant in variants:
        print(f"{variant}:")
        with tempfile.TemporaryDirectory(prefix="eligo-bench-export-", dir=args.out_dir) as out:
            bench_variant(args.chia / variant, Path(out))


if __name__ == "__main__":
    main()
