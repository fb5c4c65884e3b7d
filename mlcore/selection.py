"""Rankings over a whole set of criteria, not one criterion at a time: diversity, typicality.

``diverse`` clusters the criteria's encoder vectors with k-means and walks the clusters
round-robin, taking each cluster's most uncertain criterion not yet taken: the first ``k``
picks cover ``k`` different kinds of criterion, each with its most informative member (the
"top uncertain per cluster" of issue 11; Hacohen et al. 2022 on why coverage matters at small
budgets). Clusters are visited largest first, so the commonest kinds come first in every
round. Deterministic for a seed. :func:`set_order` gives either ranking's order.

``typical`` takes the dense regions instead (Hacohen et al.'s TypiClust: at low budgets
typical examples teach more than uncertain or rare ones): each cluster gets picks in
proportion to its size (a stratified order: after ``m`` picks a cluster of ``n`` of the ``N``
rows has had about ``m n / N``), and within a cluster the most typical row comes first, the
one closest (cosine) to the cluster's centre. A small cluster of odd criteria no longer gets
as many picks as a large one, as it does round-robin.
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


def round_robin(labels: np.ndarray, scores: np.ndarray) -> list[int]:
    """Row indices taken a cluster (``labels``) at a time, largest cluster first, each
    cluster's rows by descending ``scores`` (ties by index)."""
    queues = sorted((q for q in _members(labels, scores) if q), key=len, reverse=True)
    if not queues:
        return []
    order: list[int] = []
    for depth in range(len(queues[0])):
        order += [int(q[depth]) for q in queues if depth < len(q)]
    return order


def set_order(strategy: str, vectors: np.ndarray, scores: np.ndarray, *, clusters: int,
              seed: int = 0) -> tuple[list[int], np.ndarray]:
    """The order of a set ranking (``contract.SET_STRATEGIES``: ``diverse`` or ``typical``)
    over rows of sentence ``vectors`` with uncertainties ``scores``, and each row's cluster."""
    if strategy == "typical":
        return typical_order(vectors, clusters=clusters, seed=seed)
    if strategy != "diverse":
        raise ValueError(f"{strategy!r} is not a set ranking")
    if len(scores) == 0:
        return [], np.zeros(0, dtype=int)
    labels = kmeans(vectors, clusters, seed=seed)
    return round_robin(labels, scores), labels


def typical_order(vectors: np.ndarray, *, clusters: int, seed: int = 0
                  ) -> tuple[list[int], np.ndarray]:
    """Row indices in the typicality ranking's order (module docstring), and each row's
    cluster label."""
    if len(vectors) == 0:
        return [], np.zeros(0, dtype=int)
    labels = kmeans(vectors, clusters, seed=seed)
    return proportional(labels, typicality(vectors, labels)), labels


def typicality(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each row's cosine to the mean direction of its cluster (``labels``)."""
    points = _normalised(vectors)
    labels = np.asarray(labels, dtype=int)
    centres = np.zeros((labels.max() + 1, points.shape[1]))
    np.add.at(centres, labels, points)
    return (points * _normalised(centres)[labels]).sum(1)


def proportional(labels: np.ndarray, scores: np.ndarray) -> list[int]:
    """Row indices in a stratified order over the clusters (``labels``): a cluster's ``j``-th
    row (by descending ``scores``, ties by index) of its ``n`` comes at ``(j + 1/2) / n``, so
    each cluster is taken in proportion to its size; ties go to the larger cluster."""
    keys = [((j + 0.5) / len(members), -len(members), int(i))
            for members in _members(labels, scores) for j, i in enumerate(members)]
    return [i for *_, i in sorted(keys)]


def _members(labels: np.ndarray, scores: np.ndarray) -> list[list[int]]:
    """Each cluster's rows (``labels``), by descending ``scores``, ties by index."""
    labels = np.asarray(labels, dtype=int)
    if len(labels) == 0:
        return []
    return [sorted(np.flatnonzero(labels == c), key=lambda i: (-scores[i], i))
            for c in range(labels.max() + 1)]


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
