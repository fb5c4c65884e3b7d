import numpy as np
import pytest
import torch

from mlcore.inference import Pipeline, load_model, predict
from mlcore.uncertainty import STRATEGIES

from .conftest import TINY_CORPUS


def test_predictions_recover_the_training_data(trained_dir):
    model = load_model(trained_dir)
    predictions = predict(model, TINY_CORPUS, batch_size=3)
    for example, prediction in zip(TINY_CORPUS, predictions):
        assert prediction.text == example.text
        assert prediction.spans() == example.spans
        assert {(r.head, r.tail, r.type) for r in prediction.relations} == set(example.relations)
        assert all(0.0 < e.prob <= 1.0 for e in prediction.entities)
        assert set(prediction.uncertainty) == set(STRATEGIES)


def test_save_load_gives_identical_predictions(trained_dir, tmp_path):
    from mlcore.checkpoint import save_checkpoint

    model = load_model(trained_dir)
    texts = [e.text for e in TINY_CORPUS] + ["No aspirin for 6 months"]
    before = predict(model, texts)
    save_checkpoint(model, tmp_path / "copy", {})
    after = predict(load_model(tmp_path / "copy"), texts)
    assert [p.to_dict() for p in before] == [p.to_dict() for p in after]


def test_checkpoint_loads_without_the_original_encoder(trained_dir):
    config = (trained_dir / "encoder" / "config.json").read_text()
    assert '"hidden_size": 32' in config
    model = load_model(trained_dir, device="cpu", precision="fp32")
    assert model.runtime.device == torch.device("cpu") and not model.runtime.bf16


def test_plain_texts_and_empty_input(trained_dir):
    model = load_model(trained_dir)
    assert predict(model, []) == []
    [prediction] = predict(model, ["   "])
    assert prediction.entities == [] and prediction.relations == []


def test_gold_entities_mode_keeps_the_given_spans(trained_dir):
    model = load_model(trained_dir)
    [prediction] = predict(model, TINY_CORPUS[1:2], gold_entities=True)
    assert prediction.spans() == TINY_CORPUS[1].spans
    assert [(r.head, r.tail) for r in prediction.relations] == [(0, 1)]


def test_pipeline_feeds_ner_entities_to_re(trained_dir):
    """A pipeline of the joint model with itself behaves like the joint model on entities."""
    model = load_model(trained_dir)
    pipeline = Pipeline(model, model)
    predictions = predict(pipeline, TINY_CORPUS)
    assert [p.spans() for p in predictions] == [e.spans for e in TINY_CORPUS]


def test_int8_quantizes_the_encoder_and_keeps_the_fitted_predictions(trained_dir):
    from torch.ao.nn.quantized.dynamic import Linear as DynamicQuantizedLinear

    model = load_model(trained_dir, device="cpu", precision="int8")
    assert model.runtime.name == "cpu/int8"
    encoder_linears = [m for m in model.model.encoder.modules()
                       if isinstance(m, (torch.nn.Linear, DynamicQuantizedLinear))]
    assert encoder_linears and all(isinstance(m, DynamicQuantizedLinear) for m in encoder_linears)
    assert not any(isinstance(m, DynamicQuantizedLinear) for m in model.model.modules()
                   if m not in set(model.model.encoder.modules()))
    predictions = predict(model, TINY_CORPUS, batch_size=3)
    assert [p.spans() for p in predictions] == [e.spans for e in TINY_CORPUS]


def test_bf16_stores_the_encoder_in_bf16_and_keeps_the_fitted_predictions(trained_dir):
    model = load_model(trained_dir, device="cpu", precision="bf16")
    encoder = set(model.model.encoder.parameters())
    assert encoder and all(p.dtype == torch.bfloat16 for p in encoder)
    heads = [p for p in model.model.parameters() if p not in encoder]
    assert heads and all(p.dtype == torch.float32 for p in heads)
    predictions = predict(model, TINY_CORPUS, batch_size=3)
    assert [p.spans() for p in predictions] == [e.spans for e in TINY_CORPUS]
    fp32 = predict(load_model(trained_dir, device="cpu", precision="fp32"), TINY_CORPUS)
    for low, full in zip(predictions, fp32):
        assert [(r.head, r.tail, r.type) for r in low.relations] == \
            [(r.head, r.tail, r.type) for r in full.relations]
        for a, b in zip(low.entities, full.entities):
            assert abs(a.prob - b.prob) < 0.05


def test_int8_is_refused_where_it_does_not_apply():
    import pytest

    from mlcore.devices import choose_runtime
    from mlcore.trainer import TrainOptions, train

    with pytest.raises(ValueError, match="CPU inference only"):
        choose_runtime(device="cuda", precision="int8")
    with pytest.raises(ValueError, match="inference only"):
        train(TINY_CORPUS, [], TrainOptions(precision="int8"), "/nonexistent")


def test_inference_precision_auto_is_int8_only_on_a_cpu_without_bf16(monkeypatch):
    from mlcore import devices

    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)
    assert devices.inference_precision("auto", "cpu") == "int8"
    assert devices.inference_precision("auto", "cuda") == "auto"
    assert devices.inference_precision("fp32", "cpu") == "fp32"
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: True)
    assert devices.inference_precision("auto", "cpu") == "auto"



def test_mc_samples_add_bald_and_leave_the_prediction_alone(tmp_path):
    from mlcore.trainer import train

    from .conftest import tiny_options

    train(TINY_CORPUS, [], tiny_options(dropout=0.3, epochs=10), tmp_path / "m")
    model = load_model(tmp_path / "m")
    plain = predict(model, TINY_CORPUS)
    sampled = predict(model, TINY_CORPUS, mc_samples=6)
    assert [p.spans() for p in sampled] == [p.spans() for p in plain]
    assert [p.relations for p in sampled] == [p.relations for p in plain]
    assert all("bald" not in p.uncertainty for p in plain)
    assert all(p.uncertainty["bald"] >= 0.0 for p in sampled)
    assert any(p.uncertainty["bald"] > 1e-6 for p in sampled)
    assert not model.model.training  # the heads' dropout is off again


def test_bald_is_zero_without_dropout(trained_dir):
    """The shared model trained with dropout 0: every draw is the same, nothing to learn."""
    sampled = predict(load_model(trained_dir), TINY_CORPUS, mc_samples=4)
    assert all(abs(p.uncertainty["bald"]) < 1e-6 for p in sampled)


def test_vectors_are_the_sentences_encoder_means(trained_dir):
    model = load_model(trained_dir)
    texts = [TINY_CORPUS[0].text, TINY_CORPUS[1].text, TINY_CORPUS[0].text]
    first, second, again = predict(model, texts, vectors=True)
    assert first.vector.shape == (32,)
    assert np.allclose(first.vector, again.vector, atol=1e-5)
    assert not np.allclose(first.vector, second.vector)
    assert predict(model, texts[:1])[0].vector is None
    assert "vector" not in first.to_dict()


def test_ranking_extras_ask_for_draws_or_vectors_only_where_a_ranking_needs_them():
    from mlcore.contract import MC_DROPOUT_SAMPLES, UNCERTAINTY_STRATEGIES
    from mlcore.inference import ranking_extras

    assert ranking_extras("bald") == {"mc_samples": MC_DROPOUT_SAMPLES}
    assert ranking_extras("diverse") == {"vectors": True}
    assert all(ranking_extras(name) == {} for name in UNCERTAINTY_STRATEGIES)


def _forward_threads(model) -> list[str]:
    """The names of the threads the encoder runs on, recorded by a forward hook."""
    import threading

    names: list[str] = []
    model.model.encoder.register_forward_hook(
        lambda *_: names.append(threading.current_thread().name))
    return names


def test_cpu_batches_run_side_by_side_with_the_results_of_one_thread(trained_dir):
    """With two torch threads the batches' passes run on two threads of one torch thread each,
    decoded in batch order: every prediction (its random tie-break included) is the serial
    one's, and the torch thread count is restored."""
    model = load_model(trained_dir, device="cpu")
    texts = [e.text for e in TINY_CORPUS] * 4 + ["No aspirin for 6 months"]
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        serial = predict(model, texts, batch_size=2)
        names = _forward_threads(model)
        torch.set_num_threads(2)
        side_by_side = predict(model, texts, batch_size=2)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert [p.to_dict() for p in side_by_side] == [p.to_dict() for p in serial]
    assert [p.uncertainty for p in side_by_side] == [p.uncertainty for p in serial]
    assert len(names) == 9 and all(n.startswith("eligo-predict") for n in names)
    assert len(set(names)) == 2


@pytest.mark.parametrize("way", [{"mc_samples": 3}, {"side_by_side": False}])
def test_mc_dropout_draws_and_the_serial_option_run_one_batch_at_a_time(trained_dir, way):
    """BALD's draws switch the heads' dropout on and off: never two batches at once; nor
    with ``side_by_side=False``."""
    import threading

    model = load_model(trained_dir, device="cpu")
    names = _forward_threads(model)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        predict(model, [e.text for e in TINY_CORPUS] * 2, batch_size=2, **way)
    finally:
        torch.set_num_threads(before)
    assert names and set(names) == {threading.current_thread().name}
