import json

import pytest
import torch

from mlcore.contract import data_hash
from mlcore.trainer import Progress, TrainingCancelled, train, train_pipeline

from .conftest import TINY_CORPUS, tiny_options


def test_checkpoint_contents(trained_dir):
    files = {p.name for p in trained_dir.iterdir()}
    assert {"model.safetensors", "config.json", "encoder"} <= files
    config = json.loads((trained_dir / "config.json").read_text())
    assert config["labels"]["entity_types"] == ["Condition", "Drug", "Person", "Temporal", "Value"]
    assert config["model"]["mode"] == "joint" and config["model"]["re_head"] == "biaffine"
    assert config["data_hash"] == data_hash(TINY_CORPUS)
    assert config["seed"] == 3 and config["runtime"] == "cpu/fp32"
    assert config["epochs_run"] == 40 and config["train_seconds"] > 0
    assert (trained_dir / "encoder" / "tokenizer.json").exists()
    assert not list(trained_dir.parent.glob(".joint.*"))  # no temp dirs left behind


def test_loss_goes_down_and_progress_is_reported(tmp_path):
    seen: list[Progress] = []
    train(TINY_CORPUS, [], tiny_options(epochs=12, log_every=1), tmp_path / "m", seen.append)
    losses = [p.loss for p in seen if p.phase == "train"]
    assert losses[-1] < 0.5 * losses[0]
    last = [p for p in seen if p.phase == "train"][-1]
    assert (last.step, last.total_steps, last.epoch, last.epochs) == (12, 12, 12, 12)
    assert seen[-1].phase == "done" and last.examples_per_s > 0


def test_cancellation_stops_within_one_step(tmp_path):
    steps = []

    def cancel_at_three(progress):
        steps.append(progress.step)
        if progress.step == 3:
            raise TrainingCancelled()

    with pytest.raises(TrainingCancelled):
        train(TINY_CORPUS, [], tiny_options(), tmp_path / "m", cancel_at_three)
    assert max(steps) == 3


def test_early_stopping_and_incremental(tmp_path):
    """With a dev set: evaluation each epoch, best checkpoint kept, patience honoured."""
    seen = []
    result = train(TINY_CORPUS, TINY_CORPUS[:2], tiny_options(epochs=6, lr=0.0, head_lr=0.0,
                                                              patience=2, negatives="incremental"),
                   tmp_path / "m", seen.append)
    assert result.epochs_run == 3 and result.best_epoch == 1  # nothing learns: stops after 1 + 2
    assert set(result.dev_metrics) == {"ner", "re_gs", "re_end_to_end", "calibration"}
    assert any(p.phase == "evaluate" for p in seen)


def test_seeded_training_is_reproducible(tmp_path):
    first = train(TINY_CORPUS, [], tiny_options(epochs=2), tmp_path / "a")
    second = train(TINY_CORPUS, [], tiny_options(epochs=2), tmp_path / "b")
    from safetensors.torch import load_file

    a = load_file(str(first.out_dir / "model.safetensors"))
    b = load_file(str(second.out_dir / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_pipeline_trains_both_parts(tmp_path):
    results = train_pipeline(TINY_CORPUS, [], tiny_options(epochs=1), tmp_path / "p")
    assert set(results) == {"ner", "re"}
    assert (tmp_path / "p" / "pipeline.json").exists()
    assert json.loads((tmp_path / "p" / "re" / "config.json").read_text())["model"]["mode"] == "re"


def test_min_steps_adds_epochs_and_early_stopping_waits_for_them(tmp_path):
    """Little data: ``min_steps`` plans more epochs than ``epochs``, and a run that learns
    nothing (patience 2) still trains until the minimum is reached."""
    result = train(TINY_CORPUS, TINY_CORPUS[:2], tiny_options(
        epochs=2, lr=0.0, head_lr=0.0, patience=2, batch_size=len(TINY_CORPUS), min_steps=6),
        tmp_path / "m")
    assert result.epochs_run == 6 and result.history[-1]["step"] == 6
    assert result.best_epoch == 1


def test_warm_start_shrinks_towards_the_checkpoint_and_perturbs(tmp_path, trained_dir):
    from safetensors.torch import load_file

    from mlcore.checkpoint import WEIGHTS

    warm = load_file(str(trained_dir / WEIGHTS))
    options = tiny_options(epochs=1, lr=0.0, head_lr=0.0, warm_start=str(trained_dir),
                           warm_shrink=1.0, warm_noise=0.0)
    train(TINY_CORPUS, [], options, tmp_path / "exact")
    exact = load_file(str(tmp_path / "exact" / WEIGHTS))
    assert all(torch.equal(exact[name], warm[name]) for name in warm)  # lr 0: the warm weights
    train(TINY_CORPUS, [], tiny_options(epochs=1, lr=0.0, head_lr=0.0, warm_start=str(trained_dir)),
          tmp_path / "mixed")
    mixed = load_file(str(tmp_path / "mixed" / WEIGHTS))
    assert any(not torch.equal(mixed[name], warm[name]) for name in warm)


def test_warm_start_from_a_missing_checkpoint_is_a_cold_start(tmp_path):
    cold = train(TINY_CORPUS, [], tiny_options(epochs=1), tmp_path / "cold")
    warm = train(TINY_CORPUS, [], tiny_options(epochs=1, warm_start=str(tmp_path / "none")),
                 tmp_path / "warm")
    assert warm.history[-1]["loss"] == cold.history[-1]["loss"]


def test_the_active_model_is_scored_on_the_new_runs_dev_split(tmp_path, trained_dir):
    """What auto-activation compares: both models on one dev split (``keeps_new_version``)."""
    from mlcore.contract import INCUMBENT, dev_score
    from mlcore.evaluator import evaluate
    from mlcore.inference import load_model

    dev = TINY_CORPUS[:2]
    result = train(TINY_CORPUS[2:], dev, tiny_options(epochs=1, incumbent=str(trained_dir)),
                   tmp_path / "new")
    incumbent = result.dev_metrics[INCUMBENT]
    expected = evaluate(load_model(trained_dir, device="cpu", precision="fp32"), dev, 32)
    assert incumbent["checkpoint"] == str(trained_dir)
    assert incumbent["score"] == pytest.approx(dev_score("joint", expected))
    assert incumbent["ner_f1"] == pytest.approx(expected["ner"]["f1"])
    saved = json.loads((tmp_path / "new" / "config.json").read_text())["dev_metrics"]
    assert saved[INCUMBENT] == incumbent


def test_an_unreadable_incumbent_leaves_the_run_standing_without_a_score(tmp_path):
    from mlcore.contract import INCUMBENT

    result = train(TINY_CORPUS[2:], TINY_CORPUS[:2],
                   tiny_options(epochs=1, incumbent=str(tmp_path / "gone")), tmp_path / "new")
    assert INCUMBENT not in result.dev_metrics and (tmp_path / "new" / "config.json").exists()
