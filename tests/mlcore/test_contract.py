"""The ML contract: importable without torch, the split by trial, the data hash, the scores."""
import hashlib
import json
import random
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from mlcore import contract
from mlcore.contract import (
    INCUMBENT, MODEL_OPTION_DEFAULTS, TRAINING_DEFAULTS, data_hash, dev_score,
    dev_split_by_trial, keeps_new_version, option_errors, selection_score, snapshot_json,
    split_by_trial, trial_of,
)
from mlcore.corpus.model import Span

from .conftest import TINY_CORPUS


def test_imports_and_works_without_torch_or_transformers():
    script = textwrap.dedent("""
        import sys
        sys.modules["torch"] = None
        sys.modules["transformers"] = None
        from mlcore import contract
        from mlcore.corpus.model import SentenceExample
        train, held_out = contract.split_by_trial(
            ["NCT00000001_inc", "NCT00000001_exc", "NCT00000002_inc"],
            trial=contract.trial_of, train_fraction=0.5, seed=13)
        assert len(train) + len(held_out) == 3 and train and held_out
        assert len(contract.data_hash([SentenceExample("No insulin")])) == 64
        assert contract.option_errors(contract.MODEL_OPTION_DEFAULTS) == []
        print("ok", "torch" in sys.modules and sys.modules["torch"] is None)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok", "True"]


# --- the trial of a document ------------------------------------------------------------


@pytest.mark.parametrize("name,metadata,trial", [
    ("NCT00050349_exc", None, "NCT00050349"),
    ("NCT00050349_inc", {}, "NCT00050349"),
    ("chia/NCT00050349_inc", None, "NCT00050349"),  # folders ignored
    ("DEMO-T01_inc", {"nct_id": "NCT-DEMO-01"}, "NCT-DEMO-01"),  # the metadata wins
    ("NCT00050349_inc", {"nct_id": "NCT99999999"}, "NCT99999999"),
    ("NCT00050349_inc", {"nct_id": "  "}, "NCT00050349"),  # blank metadata: the name
    ("protocol-7_inc", None, "protocol-7_inc"),  # no trial id: the document is its own
    ("NCT0005034_inc", None, "NCT0005034_inc"),  # not an NCT id (7 digits)
    ("xNCT00050349_inc", None, "xNCT00050349_inc"),
])
def test_trial_of(name, metadata, trial):
    assert trial_of(name, metadata) == trial


# --- the split by trial -----------------------------------------------------------------


def _cli_split_before_the_contract(names, train_fraction, seed):
    """The CLI's split as it was when docs/results-chia.md was produced (mlcore/cli.py)."""
    def trial(name):
        return name.split("/")[-1].split("_")[0]

    trials = sorted({trial(n) for n in names})
    random.Random(seed).shuffle(trials)
    train_trials = set(trials[:round(train_fraction * len(trials))])
    return ([n for n in names if trial(n) in train_trials],
            [n for n in names if trial(n) not in train_trials])


@pytest.mark.parametrize("seed", [13, 14, 15, 0, 7])
@pytest.mark.parametrize("fraction", [0.8, 0.9, 1 - 0.1, 0.5])
def test_split_is_the_one_the_chia_results_used(seed, fraction):
    names = [f"NCT{n:08d}_{part}" for n in random.Random(1).sample(range(10**7), 60)
             for part in ("inc", "exc")]
    assert split_by_trial(names, trial=trial_of, train_fraction=fraction, seed=seed) \
        == _cli_split_before_the_contract(names, fraction, seed)


def test_a_trial_never_falls_on_both_sides():
    names = [f"NCT{n:08d}_{part}" for n in range(30) for part in ("inc", "exc")]
    names += [f"loose-{n}" for n in range(10)]
    for seed in range(20):
        train, held_out = split_by_trial(names, trial=trial_of, train_fraction=0.7, seed=seed)
        assert sorted(train + held_out) == sorted(names)
        assert {trial_of(n) for n in train}.isdisjoint({trial_of(n) for n in held_out})
        assert len({trial_of(n) for n in train}) == 28  # round(0.7 * 40)
    assert split_by_trial(names, trial=trial_of, train_fraction=0.7, seed=3) \
        == split_by_trial(names, trial=trial_of, train_fraction=0.7, seed=3)
    assert split_by_trial(names, trial=trial_of, train_fraction=0.7, seed=3) \
        != split_by_trial(names, trial=trial_of, train_fraction=0.7, seed=4)


def test_the_split_keeps_input_order_and_depends_on_the_set_of_trials_only():
    names = [f"NCT{n:08d}_{part}" for n in range(12) for part in ("inc", "exc")]
    train, held_out = split_by_trial(names, trial=trial_of, train_fraction=0.5, seed=4)
    assert train == [n for n in names if n in train] and held_out == [n for n in names
                                                                        if n in held_out]
    shuffled = random.Random(0).sample(names, len(names))
    again = split_by_trial(shuffled, trial=trial_of, train_fraction=0.5, seed=4)
    assert set(again[0]) == set(train) and set(again[1]) == set(held_out)


@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.99])
def test_two_trials_put_one_on_each_side_and_one_trial_all_in_training(fraction):
    two = ["NCT00000001_inc", "NCT00000001_exc", "NCT00000002_inc"]
    train, held_out = split_by_trial(two, trial=trial_of, train_fraction=fraction, seed=13)
    assert {trial_of(n) for n in train} and {trial_of(n) for n in held_out}
    one = ["NCT00000001_inc", "NCT00000001_exc"]
    assert split_by_trial(one, trial=trial_of, train_fraction=fraction, seed=13) == (one, [])
    assert split_by_trial([], trial=trial_of, train_fraction=fraction, seed=13) == ([], [])


@pytest.mark.parametrize("fraction", [0, 1, -0.2, 1.5])
def test_a_fraction_outside_zero_and_one_is_refused(fraction):
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_by_trial(["a", "b"], trial=trial_of, train_fraction=fraction, seed=13)



# --- the app's dev split: stable as the corpus grows -------------------------------------------


def _documents(trials: int) -> list[str]:
    return [f"NCT{i:08d}_{part}" for i in range(trials) for part in ("inc", "exc")]


def test_the_dev_split_never_moves_a_trial_as_trials_are_added():
    """Each Retrain's dev split holds the previous one's trials, none of which the previous
    model trained on, so two versions can be compared on the newer dev split."""
    sides = []
    for trials in (10, 40, 160, 400):
        train, dev = dev_split_by_trial(_documents(trials), trial=trial_of, dev_fraction=0.2,
                                        seed=13)
        assert not {trial_of(d) for d in train} & {trial_of(d) for d in dev}
        sides.append(({trial_of(d) for d in train}, {trial_of(d) for d in dev}))
    for (train, dev), (later_train, later_dev) in zip(sides[1:], sides[2:]):
        assert train <= later_train and dev <= later_dev
    train, dev = sides[-1]
    assert 0.15 < len(dev) / (len(train) + len(dev)) < 0.25
    shuffled = split_by_trial(_documents(40), trial=trial_of, train_fraction=0.8, seed=13)[1]
    reshuffled = split_by_trial(_documents(41), trial=trial_of, train_fraction=0.8, seed=13)[1]
    assert not set(shuffled) <= set(reshuffled)  # what the CLI's split does, and this avoids


def test_the_dev_split_depends_on_the_seed_and_keeps_input_order():
    documents = _documents(50)
    train, dev = dev_split_by_trial(documents, trial=trial_of, dev_fraction=0.3, seed=1)
    assert train == [d for d in documents if d in set(train)]
    assert dev == [d for d in documents if d in set(dev)]
    assert dev != dev_split_by_trial(documents, trial=trial_of, dev_fraction=0.3, seed=2)[1]


def test_the_dev_split_keeps_a_trial_on_each_side_from_two_trials():
    for seed in range(20):
        train, dev = dev_split_by_trial(_documents(2), trial=trial_of, dev_fraction=0.01,
                                        seed=seed)
        assert len({trial_of(d) for d in train}) == len({trial_of(d) for d in dev}) == 1
        train, dev = dev_split_by_trial(_documents(3), trial=trial_of, dev_fraction=0.99,
                                        seed=seed)
        assert train and dev
    one = _documents(1)
    assert dev_split_by_trial(one, trial=trial_of, dev_fraction=0.5, seed=1) == (one, [])
    with pytest.raises(ValueError, match="between 0 and 1"):
        dev_split_by_trial(one, trial=trial_of, dev_fraction=1, seed=1)


def _metrics(ner: float, re: float, **extra) -> dict:
    return {"ner": {"f1": ner}, "re_end_to_end": {"f1": re}, **extra}


def test_a_new_version_must_beat_the_active_one_on_the_new_dev_split():
    active = _metrics(0.5, 0.3)  # 0.4 on its own, older dev split
    scored = {"checkpoint": "/m/v1", "score": 0.2}
    assert keeps_new_version(_metrics(0.3, 0.2, **{INCUMBENT: scored}), active)
    assert not keeps_new_version(_metrics(0.3, 0.1, **{INCUMBENT: scored}), active)
    assert not keeps_new_version(_metrics(0.3, 0.2), active)  # not scored: the stored 0.4
    assert keeps_new_version(_metrics(0.5, 0.4), active)
    assert keeps_new_version(_metrics(0.0, 0.0), None)
    assert not keeps_new_version(_metrics(0.5, 0.3), active)  # a tie keeps the active one

# --- the data hash ----------------------------------------------------------------------


def test_the_data_hash_is_the_sha256_of_the_canonical_snapshot():
    train, dev = TINY_CORPUS[:3], TINY_CORPUS[3:]
    text = snapshot_json(train, dev)
    assert data_hash(train, dev) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    data = json.loads(text)
    assert [e["text"] for e in data["train"]] == [e.text for e in train]
    assert data["dev"][0]["spans"][0] == {"start": 0, "end": 3, "type": "Person"}
    assert json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) == text
    pieces = ((0, 3), (9, 12))
    split = replace(dev[0], spans=[Span(0, 12, "Person", pieces)])
    assert json.loads(snapshot_json([split]))["train"][0]["spans"][0]["fragments"] == [[0, 3],
                                                                                      [9, 12]]
    assert data_hash([split]) != data_hash([replace(dev[0], spans=[Span(0, 12, "Person")])])


def test_the_data_hash_changes_with_the_data_and_with_the_split():
    train, dev = list(TINY_CORPUS[:3]), list(TINY_CORPUS[3:])
    base = data_hash(train, dev)
    assert data_hash(list(train), list(dev)) == base
    assert data_hash(train + dev, []) != base  # a sentence moved from dev to train
    moved = replace(train[0], spans=[Span(0, 9, "Person"), *train[0].spans[1:]])
    assert data_hash([moved, *train[1:]], dev) != base
    renamed = replace(train[0], document="NCT00000001_inc")
    assert data_hash([renamed, *train[1:]], dev) != base
    accented = replace(train[0], text="Patients with diabète")
    assert data_hash([accented], []) == hashlib.sha256(
        snapshot_json([accented], []).encode("utf-8")).hexdigest()
    assert "diabète" in snapshot_json([accented], [])


# --- options ----------------------------------------------------------------------------


def test_defaults_are_the_papers_table_3_and_valid():
    assert (TRAINING_DEFAULTS["epochs"], TRAINING_DEFAULTS["lr"], TRAINING_DEFAULTS["batch_size"],
            TRAINING_DEFAULTS["max_length"], TRAINING_DEFAULTS["label_embedding_dim"]) \
        == (20, 2e-5, 32, 128, 16)
    assert option_errors(MODEL_OPTION_DEFAULTS) == []
    for name, choices in contract.OPTION_CHOICES.items():
        assert MODEL_OPTION_DEFAULTS[name] == next(iter(choices)), name  # the default is first
    assert MODEL_OPTION_DEFAULTS["strategy"] == contract.DEFAULT_STRATEGY


def test_trainer_and_model_take_the_contract_defaults():
    from mlcore.models import ModelConfig
    from mlcore.trainer import TrainOptions

    options = TrainOptions()
    for name, default in TRAINING_DEFAULTS.items():
        assert getattr(options, name) == default, name
    config = ModelConfig(num_bio=3, num_relations=2)
    assert (config.re_head, config.pooling, config.label_embedding_dim) == ("biaffine", "mean", 16)
    for head in contract.RE_HEADS:
        ModelConfig(num_bio=3, num_relations=2, re_head=head)
    with pytest.raises(ValueError, match="re_head"):
        ModelConfig(num_bio=3, num_relations=2, re_head="trilinear")


@pytest.mark.parametrize("options,message", [
    ({"colour": "red"}, "unknown model options: colour"),
    ({"mode": "ner"}, "mode must be one of joint, pipeline"),
    ({"re_head": "trilinear"}, "re_head must be one of"),
    ({"negatives": "random"}, "negatives must be one of gs, incremental"),
    ({"pooling": "max"}, "pooling must be one of mean, first"),
    ({"strategy": "astrology"}, "strategy must be one of auto, combined"),
    ({"epochs": 0}, "epochs must be a whole number from 1 to 200"),
    ({"epochs": 201}, "epochs must be a whole number from 1 to 200"),
    ({"epochs": "3"}, "epochs must be a whole number"),
    ({"epochs": 2.5}, "epochs must be a whole number"),
    ({"batch_size": True}, "batch_size must be a whole number"),
    ({"label_embedding_dim": 0}, "label_embedding_dim must be a whole number"),
    ({"lr": 0}, "lr must be a number above 0"),
    ({"head_lr": "fast"}, "head_lr must be a number above 0"),
    ({"dev_fraction": 1.0}, "dev_fraction must be between 0 and 1"),
    ({"dev_fraction": 0}, "dev_fraction must be between 0 and 1"),
    ({"entity_layer": "crf"}, "entity_layer must be one of auto, span, bio"),
    ({"max_span_width": 0}, "max_span_width must be a whole number from 1 to 64"),
])
def test_option_errors_name_what_is_wrong(options, message):
    errors = option_errors({**MODEL_OPTION_DEFAULTS, **options})
    assert len(errors) == 1 and message in errors[0], errors


def test_option_errors_accept_good_values_and_null_only_where_the_default_is_null():
    good = {"mode": "pipeline", "re_head": "biaffine_bilinear_only", "negatives": "incremental",
            "pooling": "first", "strategy": "mnlp", "epochs": 200, "batch_size": 1, "lr": 5e-3,
            "head_lr": 1.0, "dev_fraction": 0.25, "seed": 1, "num_threads": None,
            "encoder_config": None, "auto_activate": False, "entity_layer": "span",
            "max_span_width": 12}
    assert option_errors(good) == []
    assert option_errors({"epochs": None, "strategy": None}) == [
        "epochs must be set (null is not allowed)", "strategy must be set (null is not allowed)"]


# --- scores -----------------------------------------------------------------------------


METRICS = {"ner": {"f1": 0.6}, "re_gs": {"f1": 0.5}, "re_end_to_end": {"f1": 0.2}}


@pytest.mark.parametrize("mode,score", [("ner", 0.6), ("re", 0.5), ("joint", 0.4),
                                        ("pipeline", 0.4)])
def test_dev_score_per_mode(mode, score):
    assert dev_score(mode, METRICS) == pytest.approx(score)


def test_dev_score_counts_a_missing_metric_as_zero():
    assert dev_score("joint", {"ner": {"f1": 0.6}}) == pytest.approx(0.3)
    assert dev_score("joint", {}) == 0.0


def test_selection_score_is_the_strategy_then_the_fallback():
    parts = {"mnlp": 0.7, "combined": 0.4, "random": 0.1}
    assert selection_score(parts, "mnlp") == 0.7
    assert selection_score(parts, "margin") == 0.4  # not computed: the combined score
    assert selection_score({"mnlp": 0.7}, "margin") == 0.0
    assert selection_score({"mnlp": 0}, "mnlp") == 0.0


def test_every_strategy_is_scored_by_the_uncertainty_module():
    import numpy as np

    from mlcore.uncertainty import sentence_scores

    scores = sentence_scores(np.array([[0.7, 0.2, 0.1]]), np.array([[0.5, 0.5]]))
    assert set(scores) == set(contract.UNCERTAINTY_STRATEGIES)
    for strategy in contract.UNCERTAINTY_STRATEGIES:
        assert selection_score(scores, strategy) == scores[strategy]


def test_auto_ranks_in_random_order_and_a_chosen_ranking_is_itself():
    from mlcore.contract import strategy_for

    assert MODEL_OPTION_DEFAULTS["strategy"] == "auto"
    assert strategy_for("auto") == "random"
    assert strategy_for("mnlp") == "mnlp" and strategy_for("bald") == "bald"
    assert option_errors({"strategy": "auto"}) == []
    assert option_errors({"strategy": "bald"}) == option_errors({"strategy": "diverse"}) == []
    assert option_errors({"strategy": "typical"}) == []
    assert option_errors({"strategy": "astrology"}) != []


def test_cold_start_is_diverse_until_enough_criteria_or_a_good_enough_model():
    from mlcore.contract import COLD_START_CRITERIA, COLD_START_F1, strategy_for

    assert strategy_for("cold_start") == "diverse"
    assert strategy_for("cold_start", criteria=COLD_START_CRITERIA - 1,
                        dev_f1=COLD_START_F1 - 0.01) == "diverse"
    assert strategy_for("cold_start", criteria=COLD_START_CRITERIA) == "per_input"
    assert strategy_for("cold_start", criteria=10, dev_f1=COLD_START_F1) == "per_input"
    assert option_errors({"strategy": "cold_start"}) == []


def test_auto_picks_the_entity_layer_by_the_amount_of_data():
    from mlcore.contract import SPAN_LAYER_MIN_CRITERIA, entity_layer_for

    assert entity_layer_for("auto", criteria=SPAN_LAYER_MIN_CRITERIA - 1) == "bio"
    assert entity_layer_for("auto", criteria=SPAN_LAYER_MIN_CRITERIA) == "span"
    assert entity_layer_for("bio", criteria=10 * SPAN_LAYER_MIN_CRITERIA) == "bio"
    assert entity_layer_for("span", criteria=1) == "span"
