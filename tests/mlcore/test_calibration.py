import json

import numpy as np
import pytest

from mlcore.calibration import (
    INPUTS_CREATE, display_threshold, expected_calibration_error, expected_inputs,
    softmax_tempered, temperature_fit,
)

from .conftest import TINY_CORPUS, tiny_options


def _overconfident(n=4000, seed=0, true_t=3.0):
    """Labels drawn from softmax(z / true_t) while the logits given are z: a model that is
    ``true_t`` times too sure of itself."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 4, size=(n, 5))
    probs = softmax_tempered(logits, true_t)
    labels = np.array([rng.choice(5, p=p) for p in probs])
    return logits, labels


def test_softmax_tempered_is_a_distribution_and_keeps_the_argmax():
    logits = np.array([[2.0, 1.0, -1.0], [0.0, 5.0, 1.0]])
    for t in (0.5, 1.0, 4.0):
        probs = softmax_tempered(logits, t)
        assert np.allclose(probs.sum(-1), 1.0)
        assert (probs.argmax(-1) == logits.argmax(-1)).all()
    assert softmax_tempered(logits, 4.0).max() < softmax_tempered(logits, 1.0).max()


def test_temperature_fit_recovers_the_temperature_of_an_overconfident_model():
    logits, labels = _overconfident(true_t=3.0)
    assert temperature_fit(logits, labels) == pytest.approx(3.0, rel=0.1)
    logits, labels = _overconfident(true_t=0.5, seed=1)
    assert temperature_fit(logits, labels) == pytest.approx(0.5, rel=0.1)


def test_temperature_fit_without_data_is_one():
    assert temperature_fit(np.zeros((0, 3)), np.zeros(0, dtype=int)) == 1.0


def test_fitted_temperature_lowers_the_calibration_error():
    logits, labels = _overconfident(true_t=3.0)
    t = temperature_fit(logits, labels)

    def ece(temperature):
        probs = softmax_tempered(logits, temperature)
        return expected_calibration_error(probs.max(-1), probs.argmax(-1) == labels)

    assert ece(t) < 0.03 < 0.15 < ece(1.0)


def test_expected_calibration_error_by_hand():
    # bin 0.9-1.0: confidence .95 twice, one right -> |0.5 - 0.95| = 0.45, weight 2/4
    # bin 0.2-0.3: confidence .25 twice, none right -> 0.25, weight 2/4
    assert expected_calibration_error([0.95, 0.95, 0.25, 0.25], [1, 0, 0, 0]) == \
        pytest.approx(0.5 * 0.45 + 0.5 * 0.25)
    assert expected_calibration_error([1.0, 0.0], [1, 0]) == pytest.approx(0.0)
    assert expected_calibration_error([], []) is None


def test_expected_inputs_and_the_threshold_that_minimises_them():
    points = {"entity": [(0.9, True), (0.8, True), (0.3, False), (0.2, False), (0.35, True)],
              "relation": [(0.6, True), (0.1, False)]}
    # show all: 3 rejects (the right ones come with the one accept-all key of the criterion);
    # 0.4 hides the 3 wrong ones but also a right entity (created: 2 inputs)
    assert INPUTS_CREATE == {"entity": 2, "relation": 3}
    assert expected_inputs(points, 0.0) == 3
    assert expected_inputs(points, 0.4) == INPUTS_CREATE["entity"]
    assert expected_inputs(points, 0.95) == 3 * INPUTS_CREATE["entity"] + INPUTS_CREATE["relation"]
    threshold = display_threshold(points)
    assert expected_inputs(points, threshold) == min(expected_inputs(points, 0.05 * i)
                                                     for i in range(20))
    assert threshold == 0.35  # hides the three wrong ones (0.1-0.3) and no right one
    assert expected_inputs(points, threshold) == 0
    assert display_threshold({"entity": [], "relation": []}) == 0.0


@pytest.mark.slow
def test_training_with_a_dev_set_stores_temperatures_that_inference_applies(tmp_path):
    from mlcore.inference import load_model, predict

    result = train_tiny(tmp_path)
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    calibration = config["calibration"]
    assert calibration == result.dev_metrics["calibration"] == config["dev_metrics"]["calibration"]
    assert calibration["ner_temperature"] > 0 and calibration["re_temperature"] > 0
    assert set(calibration["ece"]) == {"entity", "relation"}
    assert 0.0 <= calibration["display_threshold"] <= 0.95
    model = load_model(tmp_path / "m", device="cpu", precision="fp32")
    entities = [e for p in predict(model, TINY_CORPUS[:4]) for e in p.entities]
    assert entities and all(0 < e.confidence <= 1 for e in entities)
    if calibration["ner_temperature"] != 1.0:
        assert any(abs(e.confidence - e.prob) > 1e-6 for e in entities)


def train_tiny(tmp_path):
    from mlcore.trainer import train

    return train(TINY_CORPUS, TINY_CORPUS[:6], tiny_options(epochs=8), tmp_path / "m")


def test_a_relation_suggestion_is_as_sure_as_its_pair_and_its_two_ends():
    from mlcore.inference import PredictedEntity, PredictedRelation, _suggestion_confidence

    ends = [PredictedEntity(0, 2, "Condition", 0.9, confidence=0.8),
            PredictedEntity(3, 5, "Value", 0.9, confidence=0.5)]
    relation, = _suggestion_confidence([PredictedRelation(0, 1, "has_value", 0.95, 0.9)], ends)
    # right only when its type and both ends are: 0.9 x 0.8 x 0.5
    assert relation.confidence == pytest.approx(0.36)
    assert relation.prob == 0.95
