import numpy as np

from mlcore.selection import kmeans, order_scores, set_order


def blobs(sizes, seed=0):
    """Tight groups of vectors around orthogonal directions, a group per size."""
    rng = np.random.default_rng(seed)
    dim = len(sizes) + 2
    rows = [np.eye(dim)[g] + 0.01 * rng.standard_normal(dim)
            for g, size in enumerate(sizes) for _ in range(size)]
    return np.array(rows), np.repeat(np.arange(len(sizes)), sizes)


def test_kmeans_finds_separated_groups():
    vectors, groups = blobs([5, 4, 3])
    labels = kmeans(vectors, 3, seed=1)
    assert len(set(labels)) == 3
    for g in range(3):
        assert len(set(labels[groups == g])) == 1
    assert set(kmeans(vectors[:2], 10)) <= {0, 1}


def test_diverse_order_takes_each_clusters_most_uncertain_in_turn():
    vectors, groups = blobs([5, 4, 3])
    scores = np.array([0.1, 0.9, 0.2, 0.3, 0.4, 0.5, 0.1, 0.8, 0.2, 0.3, 0.95, 0.1])
    order, labels = set_order("diverse", vectors, scores, clusters=3, seed=2)
    assert sorted(order) == list(range(12))
    assert [groups[i] for i in order[:3]] == [0, 1, 2]  # largest cluster first
    assert order[:3] == [1, 7, 10]  # each cluster's most uncertain
    assert [groups[i] for i in order[3:6]] == [0, 1, 2]
    assert order[-1] == 0  # the biggest cluster runs longest, its least uncertain last
    assert set_order("diverse", np.zeros((0, 3)), np.zeros(0), clusters=3)[0] == []


def test_order_scores_sort_into_the_order():
    order = [2, 0, 3, 1]
    scores = order_scores(order)
    assert list(np.argsort(-scores, kind="stable")) == order
    assert scores.max() == 1.0 and scores.min() > 0.0


def test_proportional_takes_each_cluster_in_proportion_to_its_size():
    """Three rows of cluster 0 for each one of cluster 1, each cluster's best first."""
    from mlcore.selection import proportional

    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.9, 0.5, 0.3, 0.7, 0.2, 0.4, 0.8])
    order = proportional(labels, scores)
    assert sorted(order) == list(range(8))
    # cluster 0 at 1/12, 3/12, 5/12, ...; cluster 1 at 3/12 and 9/12, after 0's (larger) ties
    assert order == [1, 4, 7, 2, 3, 5, 6, 0]


def test_typical_order_takes_the_centre_of_the_dense_region_first():
    """Two blobs, one three times the other: the first pick is the big blob's most central
    point, and the small blob comes in once its share is due (not second, as round-robin)."""
    from mlcore.selection import typical_order

    rng = np.random.default_rng(0)
    big = np.array([1.0, 0.0, 0.0]) + rng.normal(0, 0.05, (30, 3))
    small = np.array([0.0, 1.0, 0.0]) + rng.normal(0, 0.05, (10, 3))
    vectors = np.vstack([big, small])
    order, labels = typical_order(vectors, clusters=2, seed=1)
    assert sorted(order) == list(range(40))
    assert len(set(labels[:30])) == 1 and len(set(labels[30:])) == 1
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    centre = unit[:30].mean(0) / np.linalg.norm(unit[:30].mean(0))
    assert order[0] == int(np.argmax(unit[:30] @ centre))
    picks = [i >= 30 for i in order[:8]]
    assert sum(picks) == 2 and not picks[0]
    empty, no_labels = typical_order(np.zeros((0, 3)), clusters=2)
    assert empty == [] and len(no_labels) == 0


def test_set_order_knows_only_the_set_rankings():
    import pytest

    with pytest.raises(ValueError, match="not a set ranking"):
        set_order("per_input", np.ones((2, 3)), np.ones(2), clusters=2)
