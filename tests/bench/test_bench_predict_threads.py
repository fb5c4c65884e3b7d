"""bench/bench_predict_threads.py on a tiny trained model: both ways give the same predictions."""
import torch

from tests.bench import bench_module


def test_side_by_side_and_one_batch_at_a_time_predict_the_same(tmp_path, capsys):
    from mlcore.trainer import train
    from tests.mlcore.conftest import TINY_CORPUS, tiny_options

    checkpoint = tmp_path / "model"
    train(TINY_CORPUS, [], tiny_options(epochs=2), checkpoint)
    before = torch.get_num_threads()
    try:
        result = bench_module("bench_predict_threads").main(
            ["--checkpoint", str(checkpoint), "--sentences", "70", "--threads", "2",
             "--batch", "8", "--repeats", "1", "--precision", "fp32"])
    finally:
        torch.set_num_threads(before)
    assert result["same_predictions"] is True
    assert result["sentences"] == 70 and result["runtime"] == "cpu/fp32"
    assert set(result["seconds"]) == {"one batch at a time", "side by side"}
    assert result["speedup"] > 0 and '"speedup"' in capsys.readouterr().out
