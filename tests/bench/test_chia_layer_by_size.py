"""bench/chia_layer_by_size.py: the subsets keep a trial's documents together, on the training
side only, k trials each; the table scores what it is given."""
from pathlib import Path

from tests.bench import bench_module


def _module():
    return bench_module("chia_layer_by_size")


def _corpus(folder: Path, trials: int) -> None:
    folder.mkdir()
    for t in range(trials):
        for part in ("inc", "exc"):
            (folder / f"NCT{t:08d}_{part}.txt").write_text("Age over 18 years\n")
            (folder / f"NCT{t:08d}_{part}.ann").write_text("T1\tPerson 0 3\tAge\n")


def _trials(folder: Path) -> set[str]:
    return {p.name.split("_")[0] for p in folder.glob("*.txt")}


def test_subsets_take_k_whole_training_trials_and_hold_the_rest_out(tmp_path):
    module = _module()
    _corpus(tmp_path / "data", 20)
    folders = module.subsets(tmp_path / "data", 13, [2, 8], tmp_path / "out")
    test, small, large = (_trials(folders[k]) for k in ("test", "train2", "train8"))
    assert len(test) == 4 and len(small) == 2 and len(large) == 8
    assert small < large and not large & test
    for folder in folders.values():  # both halves of every trial, text and annotations
        texts, annotations = (len(list(folder.glob(f"*.{kind}"))) for kind in ("txt", "ann"))
        assert texts == annotations == 2 * len(_trials(folder))
    assert module.criteria_in(folders["train2"]) == 4


def test_the_table_scores_the_mean_of_ner_and_end_to_end_f1():
    block = lambda f1: {"precision": f1, "recall": f1, "f1": f1}  # noqa: E731
    row = {"trials": 8, "criteria": 94, "layer": "bio", "train_seconds": 56.6,
           "ner": block(0.265), "re_gs": block(0.263), "re_end_to_end": block(0.043)}
    last = _module().table([row]).splitlines()[-1]
    assert last == "| 8 | 94 | bio | 26.5 | 26.5 | 26.5 | 26.3 | 4.3 | 15.4 | 57 |"
