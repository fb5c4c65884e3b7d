import numpy as np

from mlcore.selection import diverse_order, kmeans, order_scores


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
    order = diverse_order(vectors, scores, clusters=3, seed=2)
    assert sorted(order) == list(range(12))
    assert [groups[i] for i in order[:3]] == [0, 1, 2]  # largest cluster first
    assert order[:3] == [1, 7, 10]  # each cluster's most uncertain
    assert [groups[i] for i in order[3:6]] == [0, 1, 2]
    assert order[-1] == 0  # the biggest cluster runs longest, its least uncertain last
    assert diverse_order(np.zeros((0, 3)), np.zeros(0), clusters=3) == []


def test_order_scores_sort_into_the_order():
    order = [2, 0, 3, 1]
    scores = order_scores(order)
    assert list(np.argsort(-scores, kind="stable")) == order
    assert scores.max() == 1.0 and scores.min() > 0.0
