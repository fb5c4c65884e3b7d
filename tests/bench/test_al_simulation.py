"""Smoke test of bench/al_simulation.py --quick: the demo criteria, a tiny random encoder."""
import json

import pytest

from tests.bench import bench_module


def _simulation():
    return bench_module("al_simulation")


@pytest.mark.slow
def test_quick_run_writes_every_curve_and_the_summary(tmp_path):
    out = tmp_path / "al.json"
    _simulation().main(["--quick", "--json", str(out), "--table", str(tmp_path / "al.md"),
                        "--out", str(tmp_path / "models")])
    result = json.loads(out.read_text())
    assert set(result["curves"]) == {"plain", "default", "ranking", "suggestions"}
    for curve in result["curves"].values():
        assert len(curve) >= 2
        assert all({"inputs", "tokens", "criteria", "ner_f1", "re_end_to_end_f1"} <= set(p)
                   for p in curve)
        assert curve[-1]["inputs"] >= result["meta"]["budget_inputs"] or \
            curve[-1]["criteria"] == result["meta"]["pool"]
    summary = result["summary"]
    assert {"default_effort_ratio_ner", "default_effort_ratio_re"} <= set(summary)
    for strategy in result["curves"]:
        assert set(summary["per_strategy"][strategy]) == {
            "inputs_to_plain_final_ner", "inputs_to_plain_final_re"}
    table = (tmp_path / "al.md").read_text()
    assert "Default loop's effort" in table and "| 1 | **default / plain** |" in table


def test_unknown_strategy_is_refused():
    with pytest.raises(SystemExit, match="unknown strategies"):
        _simulation().main(["--quick", "--strategies", "plain,bogus"])


def test_effort_to_reach_interpolates_and_says_none_when_not_reached():
    reach = _simulation().effort_to_reach
    curve = [{"inputs": 100, "f": 0.1}, {"inputs": 300, "f": 0.5}]
    assert reach(curve, 0.3, "f") == pytest.approx(200)
    assert reach(curve, 0.6, "f") is None


def test_suggestions_below_the_display_threshold_are_not_shown():
    """As the view: an entity under the threshold is hidden, and with it its relations."""
    from mlcore.inference import PredictedEntity, PredictedRelation, SentencePrediction

    prediction = SentencePrediction(
        text="No prior chemotherapy", entities=[
            PredictedEntity(0, 2, "Negation", 0.9), PredictedEntity(9, 21, "Procedure", 0.3),
            PredictedEntity(3, 8, "Temporal", 0.8)],
        relations=[PredictedRelation(1, 0, "is negated", 0.95),
                   PredictedRelation(2, 0, "modified by", 0.4),
                   PredictedRelation(0, 2, "modified by", 0.7)])
    shown = _simulation().suggestion_of(prediction, 0.5)
    assert [(m.type, m.fragments) for m in shown.entities] == [
        ("Negation", ((0, 2),)), ("Temporal", ((3, 8),))]
    assert shown.relations == ((0, 1, "modified by"),)
    everything = _simulation().suggestion_of(prediction)
    assert len(everything.entities) == 3 and len(everything.relations) == 3


def test_merge_reports_runs_of_several_files_together(tmp_path):
    """Runs split over sessions (e.g. some strategies on some seeds) make one report."""
    simulation = _simulation()
    made = []
    for strategies in ("plain", "default"):
        out = tmp_path / f"{strategies}.json"
        simulation.main(["--quick", "--strategies", strategies, "--json", str(out),
                         "--out", str(tmp_path / strategies)])
        made.append(str(out))
    merged = tmp_path / "merged.json"
    result = simulation.main(["--merge", *made, "--json", str(merged), "--table",
                              str(tmp_path / "merged.md")])
    assert set(result["curves"]) == {"plain", "default"}
    assert json.loads(merged.read_text())["summary"]["default_effort_ratio_ner"] is not None
    assert len(result["meta"]["commands"]) == 2 and 1 in result["summary"]["per_seed"]


def _prediction(score: float):
    from mlcore.inference import SentencePrediction

    return SentencePrediction(text="x", entities=[], relations=[],
                              uncertainty={"per_input": score, "random": 0.5})


def test_random_order_is_the_seeds_permutation_and_auto_keeps_it(monkeypatch):
    """Random-order chains take the unlabelled criteria in one seeded order (at equal effort
    they label nested sets); ``auto`` resolves to it, so the ranking predicts nothing; a
    named score sorts the candidates."""
    from mlcore import inference

    simulation = _simulation()
    args = simulation.build_parser().parse_args(["--candidates", "4"])
    order = [5, 3, 0, 4, 1, 2]
    plain = simulation.Chain(1, "plain", labelled=[3])
    assert simulation.next_order(plain, None, list(range(6)), args, order) == ([5, 0, 4, 1], {})

    def refuse(*_a, **_k):
        raise AssertionError("the random order predicts nothing to rank")

    monkeypatch.setattr(inference, "predict", refuse)
    ranking = simulation.Chain(1, "ranking", labelled=[3])
    assert simulation.next_order(ranking, object(), list(range(6)), args, order)[0] == [5, 0, 4, 1]
    monkeypatch.setattr(inference, "predict",
                        lambda model, examples, batch: [_prediction(e / 10) for e in examples])
    ranked = simulation.Chain(1, "rank_per_input", labelled=[3])
    assert simulation.next_order(ranked, object(), list(range(6)), args, order)[0] == [5, 4, 1, 0]


def test_the_gold_is_every_entity_unless_the_layer_is_bio():
    """The expert annotates (and the test scores) every entity; ``--entity-layer bio`` reads
    the flattened gold of the earlier runs. The demo has nested entities, so flattening loses
    some."""
    simulation = _simulation()
    full, _ = simulation.pool_and_test(simulation.build_parser().parse_args([]))
    flat, _ = simulation.pool_and_test(
        simulation.build_parser().parse_args(["--entity-layer", "bio"]))
    assert len(full) == len(flat)
    assert sum(len(e.spans) for e in full) > sum(len(e.spans) for e in flat)


@pytest.mark.slow
def test_each_round_trains_the_layer_the_option_resolves_to(tmp_path, monkeypatch):
    """``auto`` trains BIO below ``SPAN_LAYER_MIN_CRITERIA`` labelled criteria, span from
    there (as the app's Retrain does); the curve says which layer each round had."""
    simulation = _simulation()
    monkeypatch.setattr(simulation, "entity_layer_for",
                        lambda option, criteria: "span" if criteria >= 40 else "bio")
    out = tmp_path / "al.json"
    simulation.main(["--quick", "--strategies", "default", "--json", str(out),
                     "--out", str(tmp_path / "models")])
    curve = json.loads(out.read_text())["runs"][0]["curve"]
    labelled = [p["criteria"] for p in curve]
    assert [p["new"]["layer"] for p in curve] == ["span" if n >= 40 else "bio" for n in labelled]
    assert {p["new"]["layer"] for p in curve} == {"bio", "span"}


@pytest.mark.slow
@pytest.mark.parametrize("keep", ["better", "newest"])
def test_each_round_goes_on_with_the_model_the_app_would_keep(tmp_path, monkeypatch, keep):
    """``--keep better`` (the default): a new model replaces the active one only when
    ``keeps_new_version`` says so, given the active model's score on the new dev split; the
    round is scored by the active model. ``newest``: every new model."""
    from mlcore.contract import INCUMBENT

    simulation = _simulation()
    asked = []

    def refuse_after_the_first(new_metrics, active_metrics):
        asked.append((new_metrics, active_metrics))
        return active_metrics is None

    monkeypatch.setattr(simulation, "keeps_new_version", refuse_after_the_first)
    out = tmp_path / "al.json"
    simulation.main(["--quick", "--strategies", "default", "--keep", keep, "--json", str(out),
                     "--out", str(tmp_path / "models")])
    first, second = json.loads(out.read_text())["runs"][0]["curve"]
    assert first["kept"] and first["ner_f1"] == first["new"]["ner_f1"]
    if keep == "newest":
        assert asked == [] and second["kept"]
        assert second["ner_f1"] == second["new"]["ner_f1"]
        return
    assert [a is None for _, a in asked] == [True, False]
    assert INCUMBENT in asked[1][0] and asked[1][1] is not None
    assert not second["kept"]
    assert (second["ner_f1"], second["re_end_to_end_f1"], second["layer"]) == (
        first["ner_f1"], first["re_end_to_end_f1"], first["layer"])
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["1-default-0"]


def _dev_metrics(score: float) -> dict:
    """Dev metrics whose joint dev score is ``score``."""
    return {"ner": {"f1": score}, "re_end_to_end": {"f1": score}}


def test_cold_start_takes_diverse_picks_until_the_model_is_good_enough(monkeypatch):
    """As the app resolves it by the version: diverse while the chain's model is weak, the
    per-input ranking once its dev score reaches ``COLD_START_F1``."""
    from mlcore import inference
    from mlcore.contract import COLD_START_F1

    simulation = _simulation()
    args = simulation.build_parser().parse_args(["--candidates", "4"])
    order = [5, 3, 0, 4, 1, 2]
    monkeypatch.setattr(inference, "predict",
                        lambda model, examples, batch, **extras: [_prediction(e / 10) for e in examples])
    monkeypatch.setattr(simulation, "set_ranked",
                        lambda ranking, candidates, predictions, seed: list(reversed(candidates)))
    weak = simulation.Chain(1, "rank_cold_start", labelled=[3],
                            active_dev=_dev_metrics(COLD_START_F1 - 0.1))
    assert simulation.next_order(weak, object(), list(range(6)), args, order)[0] == [1, 4, 0, 5]
    good = simulation.Chain(1, "rank_cold_start", labelled=[3],
                            active_dev=_dev_metrics(COLD_START_F1))
    assert simulation.next_order(good, object(), list(range(6)), args, order)[0] == [5, 4, 1, 0]
