"""Benchmark the corpus formats on Chia: round trips, reported quirks, CoNLL flattening, speed.

Usage: ``python bench/bench_formats.py [CHIA_DIR]`` (or ``ELIGO_CHIA_DIR``); the default is
``../shared/data/chia`` relative to the repository. For each variant
(``chia_without_scope``, ``chia_with_scope``): read every brat document, write brat to a
temporary folder and read it back, compare id-free signatures; the same through Eligo
JSONL; export CoNLL and print what flattening dropped; time each step.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlcore.corpus import document_signature, read_corpus, signature_differences, write_corpus  # noqa: E402

VARIANTS = ("chia_without_scope", "chia_with_scope")


def chia_dir() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    return Path(os.environ.get("ELIGO_CHIA_DIR", ROOT.parent / "shared" / "data" / "chia"))


def annotation_count(documents) -> int:
    return sum(len(d.entities) + len(d.relations) + len(d.groups) + len(d.attributes) + len(d.notes)
               for d in documents)


def report_speed(label: str, seconds: float, documents: int, annotations: int) -> None:
    print(f"  {label:<14} {seconds:6.2f} s  {documents / seconds:8.0f} docs/s  "
          f"{annotations / seconds:9.0f} annotations/s")


def timed(label: str, documents: int, annotations: int, function):
    start = time.perf_counter()
    result = function()
    report_speed(label, time.perf_counter() - start, documents, annotations)
    return result


def quirk_kind(reason: str) -> str:
    """A reason without its ids and quoted text, to count quirks by kind."""
    if "disagrees with the text" in reason:
        return "T text field disagrees with its offsets (offsets kept)"
    if "text field continued" in reason:
        return "T text field continued on the next line (joined)"
    if reason.startswith("stray line"):
        return "stray line"
    if reason.startswith("document text is just 'NA'"):
        return "document text is just 'NA' (kept, no sentences)"
    if "is not declared: added" in reason:
        return "type used but not declared in annotation.conf (" + reason.split()[0] + ")"
    return reason.split(": ", 1)[-1]


def compare(originals, copies) -> tuple[int, list[str]]:
    by_name = {d.name: d for d in copies}
    same, different = 0, []
    for document in originals:
        copy = by_name.get(document.name)
        if copy is not None and document_signature(copy) == document_signature(document):
            same += 1
        else:
            parts = signature_differences(document, copy) if copy is not None else ["missing"]
            different.append(f"{document.name}: {', '.join(parts)}")
    return same, different


def bench_variant(folder: Path) -> None:
    print(f"\n== {folder.name}")
    result = read_corpus(folder, "brat")
    start = time.perf_counter()
    documents = list(result.documents)
    seconds = time.perf_counter() - start
    annotations = annotation_count(documents)
    report_speed("read brat", seconds, len(documents), annotations)
    print(f"  {len(documents)} documents, {annotations} annotations "
          f"({sum(len(d.entities) for d in documents)} entities, "
          f"{sum(len(d.relations) for d in documents)} relations, {sum(len(d.groups) for d in documents)} "
          f"groups, {sum(len(d.attributes) for d in documents)} attributes, "
          f"{sum(len(d.notes) for d in documents)} notes), "
          f"{sum(len(d.sentences) for d in documents)} sentences")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        n = len(documents)
        timed("write brat", n, annotations,
              lambda: write_corpus(documents, out / "brat", "brat", schema=result.schema))
        again = timed("re-read brat", n, annotations,
                      lambda: list(read_corpus(out / "brat", "brat").documents))
        same, different = compare(documents, again)
        print(f"  identical documents (brat): {same} / {n}")
        for line in different[:10]:
            print(f"    differs: {line}")
        text_identical = sum((out / "brat" / f"{d.name}.txt").read_bytes()
                             == (folder / f"{d.name}.txt").read_bytes() for d in documents)
        print(f"  .txt byte-identical: {text_identical} / {n}")
        timed("write jsonl", n, annotations,
              lambda: write_corpus(documents, out / "c.jsonl", "jsonl", schema=result.schema))
        from_jsonl = timed("read jsonl", n, annotations,
                           lambda: list(read_corpus(out / "c.jsonl", "jsonl").documents))
        same, different = compare(documents, from_jsonl)
        print(f"  identical documents (jsonl): {same} / {n}")
        for line in different[:10]:
            print(f"    differs: {line}")
        stats = timed("write conll", n, annotations,
                      lambda: write_corpus(documents, out / "c.conll", "conll"))
    print("  quirks reported:")
    for kind, count in sorted(Counter(quirk_kind(i.reason) for i in result.issues).items(),
                              key=lambda item: (-item[1], item[0])):
        print(f"    {count:5d}  {kind}")
    print("  CoNLL flattening (entities): "
          f"in {stats['entities_in']}, kept {stats['entities_kept']}, dropped {stats['entities_dropped']} "
          f"(overlap {stats['dropped_overlap']}, cross-sentence {stats['dropped_cross_sentence']}, "
          f"outside any sentence {stats['dropped_outside_sentence']}); "
          f"discontinuous merged to extent {stats['discontinuous_merged']}")
    print(f"  CoNLL relations: in {stats['relations_in']}, kept {stats['relations_kept']}, "
          f"dropped {stats['relations_dropped']}")


def main() -> int:
    root = chia_dir()
    missing = [v for v in VARIANTS if not (root / v).is_dir()]
    if missing:
        print(f"Chia not found under {root} (missing {', '.join(missing)})", file=sys.stderr)
        return 1
    for variant in VARIANTS:
        bench_variant(root / variant)
    return 0


if __name__ == "__main__":
    sys.exit(main())
