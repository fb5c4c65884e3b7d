"""bench/chia_entity_layers.py over grid results written by hand: means, spread, the choice."""
import json

from tests.bench import bench_module


def _report():
    return bench_module("chia_entity_layers")


def _block(f1: float, per_type: dict | None = None) -> dict:
    block = {"precision": f1, "recall": f1, "f1": f1}
    if per_type is not None:
        block["per_type"] = {name: {"precision": v, "recall": v, "f1": v, "support": 10}
                             for name, v in per_type.items()}
    return block


def _metrics(ner: float, re_gs: float, e2e: float) -> dict:
    flat = {"gold": "flattened", "ner": _block(ner - 0.01), "re_gs": _block(re_gs),
            "re_end_to_end": _block(e2e)}
    return {"gold": "original", "ner": _block(ner, {"Condition": ner, "Drug": ner / 2}),
            "re_gs": _block(re_gs), "re_end_to_end": _block(e2e), "flattened": flat}


def _write(tmp_path, seed: int, model: str, run: str, metrics: dict) -> None:
    folder = tmp_path / f"s{seed}_{model}"
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps({"runs": {run: {"test_metrics": metrics}}}))


def test_summary_means_spread_and_the_better_model(tmp_path, capsys):
    report = _report()
    for seed, shift in ((13, 0.0), (14, 0.02)):
        _write(tmp_path, seed, "span", "joint_biaffine_gs", _metrics(0.56 + shift, 0.7, 0.30))
        _write(tmp_path, seed, "bio", "joint_biaffine_gs", _metrics(0.52 + shift, 0.6, 0.28))
    _write(tmp_path, 13, "pipeline", "pipeline", _metrics(0.52, 0.5, 0.24))
    found = report.load(tmp_path, [13, 14, 15])
    assert sorted(found) == [13, 14] and sorted(found[13]) == ["bio", "pipeline", "span"]
    means = report.summary(found)
    span_ner = means["span"]["original"]["ner"]
    assert (span_ner["mean"], span_ner["values"]) == (57.0, [56.0, 58.0])
    assert span_ner["sd"] == 1.41
    assert means["span"]["flattened"]["ner"]["mean"] == 56.0
    assert means["span"]["score"] == 43.5 and means["bio"]["score"] == 40.5
    assert means["pipeline"]["original"]["ner"]["sd"] == 0.0  # one seed
    assert "| Condition | 10 | 57.0 | 53.0 | 52.0 |" in report.per_type_table(found)
    out = tmp_path / "summary.json"
    import sys
    argv, sys.argv = sys.argv, ["x", "--dir", str(tmp_path), "--json", str(out)]
    try:
        assert report.main() == 0
    finally:
        sys.argv = argv
    assert "best: span" in capsys.readouterr().out
    assert json.loads(out.read_text())["seeds"] == [13, 14]
