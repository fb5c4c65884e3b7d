"""Rankings over a whole set of criteria, not one criterion at a time: diversity.

``diverse_order`` clusters the criteria's encoder vectors with k-means and walks the clusters
round-robin, taking each cluster's most uncertain criterion not yet taken: the first ``k``
picks cover ``k`` different kinds of criterion, each with its most informative member (the
"top uncertain per cluster" of issue 11; Hacohen et al. 2022 on why coverage matters at small
budgets). Clusters are visited largest first, so the commonest kinds come first in every
round. Deterministic for a seed.
"""
from __future__ import annotations

import numpy as np

KMEANS_ITERATIONS = 25


def kmeans(vectors: np.ndarray, k: int, *, seed: int = 0,
           iterations: int = KMEANS_ITERATIONS) -> np.ndarray:
    """Cluster labels (``[N]``, in ``range(k)``) of the rows of ``vectors`` by cosine k-means
    with k-means++ seeding; ``k`` is capped at the number of rows."""
    points = _normalised(vectors)
    count = len(points)
    k = max(1, min(k, count))
    rng = np.random.default_rng(seed)
    centres = _plus_plus(points, k, rng)
    labels = np.zeros(count, dtype=int)
    for step in range(iterations):
        new = (points @ centres.T).argmax(1)
        if step and np.array_equal(new, labels):
            break
        labels = new
        for c in range(k):
            members = points[labels == c]
            centres[c] = members.mean(0) if len(members) else points[rng.integers(count)]
        centres = _normalised(centres)
    return labels


def diverse_order(vectors: np.ndarray, scores: np.ndarray, *, clusters: int,
                  seed: int = 0) -> list[int]:
    """Row indices in the diversity ranking's order (module docstring): ``scores`` are the
    rows' uncertainties (higher first within a cluster)."""
    if len(scores) == 0:
        return []
    return round_robin(kmeans(vectors, clusters, seed=seed), scores)


def round_robin(labels: np.ndarray, scores: np.ndarray) -> list[int]:
    """Row indices taken a cluster (``labels``) at a time, largest cluster first, each
    cluster's rows by descending ``scores`` (ties by index)."""
    labels = np.asarray(labels, dtype=int)
    if len(labels) == 0:
        return []
    queues = [sorted(np.flatnonzero(labels == c), key=lambda i: (-scores[i], i))
              for c in range(labels.max() + 1)]
    queues = sorted((q for q in queues if q), key=len, reverse=True)
    order: list[int] = []
    for depth in range(len(queues[0])):
        order += [int(q[depth]) for q in queues if depth < len(q)]
    return order


def order_scores(order: list[int]) -> np.ndarray:
    """A score per row that sorts (descending) into ``order``: ``1 - position / N``."""
    scores = np.zeros(len(order))
    scores[np.asarray(order, dtype=int)] = 1.0 - np.arange(len(order)) / max(len(order), 1)
    return scores


def _normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


def _plus_plus(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding on the unit sphere (distance: 1 - cosine)."""
    centres = [points[rng.integers(len(points))]]
    distance = 1.0 - points @ centres[0]
    for _ in range(1, k):
        weights = np.clip(distance, 0.0, None)
        total = weights.sum()
        index = rng.choice(len(points), p=weights / total) if total > 0 else rng.integers(len(points))
        centres.append(points[index])
        distance = np.minimum(distance, 1.0 - points @ points[index])
    return np.array(centres)
