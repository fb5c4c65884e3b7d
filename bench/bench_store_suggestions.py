"""Storing a version's suggestions and scores: ``predictions._store_batch`` alone.

Builds N criteria (Chia's, as ``bench_preannotate.py`` reads them) in a fresh SQLite database,
makes one prediction per criterion in memory (5 entity and 4 relation suggestions, 8 scores)
and times ``_store_batch`` over batches of 256, as ``predictions_generate`` calls it. The
model's forward pass is not in it (``bench_preannotate.py`` times the whole task).

    .venv/bin/python bench/bench_store_suggestions.py [--sentences 5000]
    # an older tree: run its own copy from inside it, e.g. cd /tmp/before && python bench/...
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_preannotate as base  # noqa: E402

SCORES = ("combined", "mnlp", "per_input", "random", "margin", "least_confidence",
          "token_entropy", "relation_entropy")


def prediction(sentence, entity_types: list[str], relation_types: list[str]):
    from mlcore.inference import PredictedEntity, PredictedRelation, SentencePrediction

    step = max(len(sentence.text), 10) // 5
    entities = [PredictedEntity(i * step, i * step + 1, entity_types[i % len(entity_types)], 0.9,
                                confidence=0.8) for i in range(5)]
    relations = [PredictedRelation(i, i + 1, relation_types[i % len(relation_types)], 0.7, 0.5)
                 for i in range(4)]
    return SentencePrediction(sentence.text, entities, relations,
                              uncertainty=dict.fromkeys(SCORES, 0.1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=5000)
    args = parser.parse_args()
    base.setup_django(tempfile.mkdtemp(prefix="eligo-bench-"))
    from annotation.models import ModelVersion, PredictedEntity, PredictedRelation, Sentence
    from annotation.services import predictions as service

    project = base.make_project(base.criteria(args.sentences))
    version = ModelVersion.objects.create(project=project, number=1, checkpoint_dir="-",
                                          is_active=True)
    entity_types = {t.name: t for t in project.entity_types.all()}
    relation_types = {t.name: t for t in project.relation_types.all()}
    sentences = list(Sentence.objects.filter(project=project)
                     .only("id", "text", "start", "document_id").order_by("pk"))
    predictions = [prediction(s, list(entity_types)[:5], list(relation_types)[:4])
                   for s in sentences]
    started = time.perf_counter()
    for offset in range(0, len(sentences), 256):
        service._store_batch(version, sentences[offset:offset + 256],
                             predictions[offset:offset + 256], "random", entity_types,
                             relation_types)
    seconds = time.perf_counter() - started
    print(f"{len(sentences)} criteria stored in {seconds:.2f} s "
          f"({seconds / len(sentences) * 1e3:.3f} ms per criterion; "
          f"{PredictedEntity.objects.count()} entity and {PredictedRelation.objects.count()} "
          f"relation suggestions)")


if __name__ == "__main__":
    main()
