"""End to end through ``python -m mlcore``: train -> evaluate -> predict on a tiny brat corpus."""
import json
import subprocess
import sys
from collections import Counter

import pytest

from mlcore.cli import build_parser, document_trial, main, read_documents, split_documents
from mlcore.contract import CLI_MODES, RE_HEADS, TRAINING_DEFAULTS
from mlcore.corpus.model import Document

from .conftest import TINY_ENCODER

LINES = {
    "NCT00000001_inc": ["Patients with diabetes", "Age over 65 years"],
    "NCT00000001_exc": ["No insulin for 6 months"],
    "NCT00000002_inc": ["Hypertension treated with aspirin"],
    "NCT00000002_exc": ["No aspirin for 6 months"],
}
ENTITIES = {
    "diabetes": "Condition", "Age": "Person", "over 65 years": "Value", "insulin": "Drug",
    "6 months": "Temporal", "Hypertension": "Condition", "aspirin": "Drug",
}
RELATIONS = {("Age", "over 65 years"): "Has_value", ("insulin", "6 months"): "Has_temporal",
             ("aspirin", "6 months"): "Has_temporal", ("aspirin", "Hypertension"): "Treats"}


def write_brat(folder):
    """A brat folder written here, one criterion per line, LF line ends."""
    folder.mkdir()
    for name, lines in LINES.items():
        text = "\n".join(lines) + "\n"
        (folder / f"{name}.txt").write_text(text)
        ann, ids, cursor = [], {}, 0
        for line in lines:
            for surface, type_ in ENTITIES.items():
                at = line.find(surface)
                if at >= 0:
                    start = cursor + at
                    ids[surface] = f"T{len(ids) + 1}"
                    ann.append(f"{ids[surface]}\t{type_} {start} {start + len(surface)}\t{surface}")
            cursor += len(line) + 1
        for number, ((head, tail), type_) in enumerate(RELATIONS.items(), start=1):
            if head in ids and tail in ids:
                ann.append(f"R{number}\t{type_} Arg1:{ids[head]} Arg2:{ids[tail]}\t")
        (folder / f"{name}.ann").write_text("\n".join(ann) + "\n")
    return folder


def test_split_by_document_keeps_trials_together():
    docs = [Document(name=n, text="") for n in LINES]
    train, test = split_documents(docs, 0.5, seed=13)
    assert {document_trial(d) for d in train}.isdisjoint({document_trial(d) for d in test})
    assert len(train) == 2 and len(test) == 2
    assert split_documents(docs, 0.5, seed=13) == (train, test)


def test_a_trial_named_in_the_metadata_stays_together():
    docs = [Document(name="site-a_inc", text="", metadata={"nct_id": "NCT00000009"}),
            Document(name="site-b_exc", text="", metadata={"nct_id": "NCT00000009"}),
            Document(name="NCT00000009_inc", text=""), Document(name="loose", text="")]
    train, test = split_documents(docs, 0.5, seed=1)
    names = {d.name for d in train}, {d.name for d in test}
    assert {"site-a_inc", "site-b_exc", "NCT00000009_inc"} in names
    assert ({"loose"} in names) and len(train) + len(test) == 4


def test_training_options_take_the_contract_defaults_and_choices(capsys):
    args = build_parser().parse_args(["train", "--train", "x", "--out", "y"])
    for name, default in TRAINING_DEFAULTS.items():
        assert getattr(args, name) == default, name
    assert set(CLI_MODES) == {"joint", "ner", "re", "pipeline"}
    for head in RE_HEADS:
        assert build_parser().parse_args(["train", "--train", "x", "--out", "y",
                                          "--re-head", head]).re_head == head
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--train", "x", "--out", "y", "--pooling", "max"])
    assert "--pooling" in capsys.readouterr().err


def test_train_evaluate_predict(tmp_path, capsys):
    data = write_brat(tmp_path / "brat")
    model = tmp_path / "model"
    assert main(["train", "--train", str(data), "--format", "brat", "--mode", "joint",
                 "--re-head", "additive", "--negatives", "incremental", "--epochs", "25",
                 "--batch-size", "4", "--lr", "2e-3", "--head-lr", "1e-2", "--threads", "1",
                 "--encoder-config", json.dumps(TINY_ENCODER), "--device", "cpu",
                 "--precision", "fp32", "--out", str(model)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs_run"] == 25 and summary["runtime"] == "cpu/fp32"

    assert main(["evaluate", "--model", str(model), "--data", str(data)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert set(metrics) == {"gold", "ner", "re_gs", "re_end_to_end", "flattened", "gold_stats"}
    assert metrics["gold"] == "original" and metrics["flattened"]["gold"] == "flattened"
    assert metrics["ner"]["f1"] > 0.5 and set(metrics["ner"]["per_type"]) >= {"Condition", "Drug"}
    assert metrics["gold_stats"]["entities_in"] == sum(
        len(d.entities) for d in read_documents(str(data), "brat"))

    assert main(["evaluate", "--model", str(model), "--data", str(data), "--gold", "chia11"]) == 0
    chia11 = json.loads(capsys.readouterr().out)
    assert chia11["gold"] == "chia11" and chia11["re_gs"] is None and "flattened" not in chia11
    with pytest.raises(SystemExit):
        main(["evaluate", "--model", str(model), "--data", str(data), "--gold", "nested"])
    assert "unknown gold nested" in capsys.readouterr().err

    assert main(["evaluate", "--model", str(model), "--data", str(data), "--table"]) == 0
    table = capsys.readouterr().out
    assert "| re_end_to_end |" in table and "Scored against the **flattened** gold" in table

    assert main(["evaluate", "--model", str(model), "--data", str(data),
                 "--split-by-document", "0.5", "--seed", "13", "--ignore-types", "Drug"]) == 0
    held_out = json.loads(capsys.readouterr().out)
    _, test_docs = split_documents(read_documents(str(data), "brat"), 0.5, seed=13)
    expected = Counter(e.type for d in test_docs for e in d.entities if e.type != "Drug")
    assert {name: t["support"] for name, t in held_out["ner"]["per_type"].items()} == expected

    out = tmp_path / "predictions.jsonl"
    assert main(["predict", "--model", str(model), "--data", str(data), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 5
    assert {"text", "entities", "relations", "uncertainty", "document", "offset"} <= set(rows[0])
    assert "mnlp" in rows[0]["uncertainty"]


def test_module_entry_point_help():
    result = subprocess.run([sys.executable, "-m", "mlcore", "--help"], capture_output=True,
                            text=True)
    assert result.returncode == 0 and "grid" in result.stdout


def test_train_span_layer_on_brat_with_discontinuous_and_nested_entities(tmp_path, capsys):
    data = tmp_path / "brat"
    data.mkdir()
    (data / "NCT00000003_inc.txt").write_text("Breast and ovarian cancer\nType 2 diabetes\n")
    (data / "NCT00000003_inc.ann").write_text(
        "T1\tCondition 19 25;0 6\tcancer Breast\nT2\tCondition 11 25\tovarian cancer\n"
        "T3\tCondition 26 41\tType 2 diabetes\nT4\tQualifier 26 32\tType 2\n"
        "R1\tHas_qualifier Arg1:T3 Arg2:T4\t\n")
    model = tmp_path / "model"
    assert main(["train", "--train", str(data), "--entity-layer", "span", "--max-span-width",
                 "4", "--epochs", "40", "--batch-size", "2", "--lr", "2e-3", "--head-lr", "1e-2",
                 "--threads", "1", "--encoder-config", json.dumps(TINY_ENCODER), "--device",
                 "cpu", "--precision", "fp32", "--out", str(model)]) == 0
    capsys.readouterr()
    config = json.loads((model / "config.json").read_text())
    assert config["model"]["entity_layer"] == "span" and config["model"]["max_span_width"] == 4
    assert "<fragment>" in config["labels"]["relation_types"]
    assert main(["evaluate", "--model", str(model), "--data", str(data)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["ner"]["f1"] == 1.0 and metrics["re_end_to_end"]["f1"] == 1.0
    out = tmp_path / "predictions.jsonl"
    assert main(["predict", "--model", str(model), "--data", str(data), "--out", str(out)]) == 0
    first = json.loads(out.read_text().splitlines()[0])
    assert sorted(e["fragments"] for e in first["entities"]) == [[[0, 6], [19, 25]], [[11, 25]]]
