import math

import numpy as np
import pytest

from mlcore.uncertainty import STRATEGIES, sentence_scores

CONFIDENT = np.array([[0.98, 0.01, 0.01], [0.97, 0.02, 0.01]])
UNSURE = np.array([[0.5, 0.4, 0.1], [0.6, 0.3, 0.1]])


def test_hand_computed_values():
    s = sentence_scores(UNSURE, None)
    assert s["least_confidence"] == pytest.approx(1 - 0.5 * 0.6)
    assert s["margin"] == pytest.approx(1 - min(0.5 - 0.4, 0.6 - 0.3))
    h = lambda p: -sum(x * math.log(x) for x in p)  # noqa: E731
    assert s["token_entropy"] == pytest.approx((h(UNSURE[0]) + h(UNSURE[1])) / 2)
    assert s["mnlp"] == pytest.approx(-(math.log(0.5) + math.log(0.6)) / 2)
    assert s["relation_entropy"] == 0.0
    assert s["combined"] == pytest.approx(1 - math.exp(-s["mnlp"]))


def test_higher_means_more_uncertain():
    from mlcore.uncertainty import with_per_input

    confident, unsure = (with_per_input(sentence_scores(words, None), words=2, pairs=0,
                                        fragments=[1], relations=0)
                         for words in (CONFIDENT, UNSURE))
    for name in STRATEGIES:
        if name not in ("random", "relation_entropy"):
            assert unsure[name] > confident[name], name


def test_relation_entropy_and_combined():
    uniform = np.full((2, 4), 0.25)
    certain = np.array([[1.0, 0.0, 0.0, 0.0]])
    s = sentence_scores(CONFIDENT, uniform)
    assert s["relation_entropy"] == pytest.approx(math.log(4))
    assert s["combined"] == pytest.approx((1 - math.exp(-s["mnlp"]) + 1.0) / 2)
    assert sentence_scores(CONFIDENT, certain)["relation_entropy"] == pytest.approx(0.0, abs=1e-9)


def test_empty_sentence_and_random_seeded():
    s = sentence_scores(np.zeros((0, 3)), None, np.random.default_rng(5))
    assert all(s[name] == 0.0 for name in STRATEGIES if name != "random")
    again = sentence_scores(np.zeros((0, 3)), None, np.random.default_rng(5))
    assert 0.0 <= s["random"] < 1.0 and s["random"] == again["random"]


def test_span_scores_take_their_means_per_word():
    from mlcore.uncertainty import span_sentence_scores

    doubtful = np.array([[0.5, 0.5]])
    sure = np.array([[0.999, 0.001]] * 20)
    scores = span_sentence_scores(np.vstack([doubtful, sure]), None, words=3)
    assert scores["mnlp"] == pytest.approx(-(math.log(0.5) + 20 * math.log(0.999)) / 3)
    assert scores["least_confidence"] == pytest.approx(1 - 0.5 * 0.999 ** 20)
    assert scores["margin"] == pytest.approx(1.0)
    calm = span_sentence_scores(np.vstack([sure, sure[:1]]), None, words=3)
    for name in ("least_confidence", "margin", "token_entropy", "mnlp", "combined"):
        assert scores[name] > calm[name], name


def test_per_input_is_total_uncertainty_per_expected_input():
    """Two words of entropy log 2 each and two pairs of entropy log 2 each, with two predicted
    entities (one of two fragments) and one relation: 1 Done + 2 x 2 + 2 + 3 = 10 inputs."""
    from mlcore.effort import scratch_inputs
    from mlcore.uncertainty import with_per_input

    uniform = np.array([[0.5, 0.5], [0.5, 0.5]])
    s = sentence_scores(uniform, uniform)
    assert scratch_inputs(fragments=[1, 2], relations=1) == 10
    scored = with_per_input(s, words=2, pairs=2, fragments=[1, 2], relations=1)
    assert scored["per_input"] == pytest.approx(4 * math.log(2) / 10)
    nothing = with_per_input(s, words=2, pairs=2, fragments=[], relations=0)
    assert nothing["per_input"] == pytest.approx(4 * math.log(2))  # Done alone: one input
    assert s["per_input"] == 0.0 and scored["combined"] == s["combined"]


def test_mutual_information_is_zero_when_the_draws_agree_and_log2_when_they_split():
    from mlcore.uncertainty import mutual_information

    agree = np.array([[[0.7, 0.3]], [[0.7, 0.3]]])
    split = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    assert mutual_information(agree) == pytest.approx([0.0])
    assert mutual_information(split) == pytest.approx([math.log(2)])
    assert mutual_information(np.zeros((3, 0, 2))).shape == (0,)


def test_bald_is_the_information_per_expected_input():
    from mlcore.uncertainty import with_per_input

    s = sentence_scores(np.array([[0.5, 0.5]]), None)
    assert "bald" not in with_per_input(s, words=1, pairs=0, fragments=[1], relations=0)
    scored = with_per_input(s, words=1, pairs=0, fragments=[1], relations=0, information=0.9)
    assert scored["bald"] == pytest.approx(0.9 / 3)  # Done + an entity (2)
