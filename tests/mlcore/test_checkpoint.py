"""Checkpoints: a save/load round trip predicts the same, saves are atomic, inference dtypes."""
import json

import pytest
import torch
from torch import nn

from mlcore import checkpoint
from mlcore.checkpoint import (
    TrainedModel, build_model, load_checkpoint, prepare_for_inference, read_config,
    save_checkpoint,
)
from mlcore.devices import Runtime
from mlcore.encoding import LabelSpace
from mlcore.inference import predict

from .conftest import TINY_CORPUS, TINY_ENCODER

LABELS = LabelSpace.from_examples(TINY_CORPUS)
FP32 = Runtime(torch.device("cpu"), bf16=False)
TEXTS = [e.text for e in TINY_CORPUS] + ["Patients taking aspirin for 6 months"]


def fresh_model(re_head="biaffine", mode="joint") -> TrainedModel:
    torch.manual_seed(0)
    model, tokenizer = build_model(
        LABELS, dict(mode=mode, re_head=re_head, ner_hidden=16, pair_dim=8, dropout=0.0,
                     entity_layer="bio"),
        None, TINY_ENCODER)
    with torch.no_grad():  # entities on some words, so that relations are predicted too
        model.ner_head.out.bias[1] += 2.0
    prepare_for_inference(model, FP32)
    return TrainedModel(model, tokenizer, LABELS, FP32)


def as_lists(predictions):
    return [p.to_dict() for p in predictions]


@pytest.mark.parametrize("re_head,mode", [("biaffine", "joint"), ("additive", "joint"),
                                          ("biaffine", "ner")])
def test_round_trip_predicts_the_same(tmp_path, re_head, mode):
    trained = fresh_model(re_head, mode)
    before = as_lists(predict(trained, TEXTS))
    assert any(p["entities"] for p in before)
    save_checkpoint(trained, tmp_path / "m", {"seed": 5, "data_hash": "abc"})
    loaded = load_checkpoint(tmp_path / "m", device="cpu", precision="fp32")
    assert as_lists(predict(loaded, TEXTS)) == before
    assert loaded.labels == LABELS and loaded.mode == mode and not loaded.model.training
    assert loaded.meta["seed"] == 5 and loaded.meta["data_hash"] == "abc"
    original = trained.model.state_dict()
    assert all(torch.equal(original[k], v) for k, v in loaded.model.state_dict().items())


def test_a_checkpoint_needs_nothing_but_its_folder(tmp_path):
    save_checkpoint(fresh_model(), tmp_path / "m", {})
    config = read_config(tmp_path / "m")
    assert config["labels"] == LABELS.to_dict() and config["model"]["re_head"] == "biaffine"
    assert config["format_version"] == checkpoint.FORMAT_VERSION
    assert json.loads((tmp_path / "m" / "encoder" / "config.json").read_text())[
        "hidden_size"] == TINY_ENCODER["hidden_size"]
    moved = tmp_path / "elsewhere"
    (tmp_path / "m").rename(moved)
    assert predict(load_checkpoint(moved, device="cpu", precision="fp32"), TEXTS[:1])


def test_saving_over_a_checkpoint_replaces_it_and_a_failed_save_keeps_it(tmp_path,
                                                                        monkeypatch):
    target = tmp_path / "m"
    save_checkpoint(fresh_model(), target, {"best_epoch": 1})
    save_checkpoint(fresh_model(), target, {"best_epoch": 2})
    assert read_config(target)["best_epoch"] == 2

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint, "save_encoder_files", broken)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(fresh_model(), target, {"best_epoch": 3})
    assert read_config(target)["best_epoch"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temporary folders left


def _linear_dtypes(module: nn.Module) -> set:
    return {m.weight.dtype for m in module.modules() if type(m) is nn.Linear}


def test_fp32_inference_keeps_every_weight_fp32():
    model = fresh_model().model
    prepare_for_inference(model, FP32)
    assert {p.dtype for p in model.parameters()} == {torch.float32} and not model.training


def test_bf16_inference_stores_the_encoder_in_bf16_and_keeps_the_heads_fp32():
    model = fresh_model().model
    model.train()
    prepare_for_inference(model, Runtime(torch.device("cpu"), bf16=True))
    assert {p.dtype for p in model.encoder.parameters()} == {torch.bfloat16}
    heads = [p for name, p in model.named_parameters() if not name.startswith("encoder.")]
    assert heads and {p.dtype for p in heads} == {torch.float32}
    assert not model.training


def test_int8_inference_quantizes_the_encoder_linears_only():
    model = fresh_model().model
    prepare_for_inference(model, Runtime(torch.device("cpu"), bf16=False, int8=True))
    assert not _linear_dtypes(model.encoder)  # no float nn.Linear left in the encoder
    assert any("quantized" in type(m).__module__ for m in model.encoder.modules())
    assert _linear_dtypes(model.ner_head) == {torch.float32}
    assert _linear_dtypes(model.pairs) == {torch.float32}


def test_loading_for_int8_predicts_nearly_the_same(tmp_path):
    trained = fresh_model()
    save_checkpoint(trained, tmp_path / "m", {})
    fp32 = predict(trained, TEXTS)
    int8 = predict(load_checkpoint(tmp_path / "m", device="cpu", precision="int8"), TEXTS)
    assert [p.text for p in int8] == [p.text for p in fp32]
    agree = sum(a.uncertainty["mnlp"] == pytest.approx(b.uncertainty["mnlp"], abs=0.05)
                for a, b in zip(fp32, int8))
    assert agree >= len(TEXTS) - 1
