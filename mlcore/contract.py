"""The ML contract: what the web app, the worker and the CLI agree on, importable without torch.

The web process never loads torch or transformers, yet its forms, services and selectors must
use the same option names, choices and defaults as the trainer and the CLI. They all read them
here, as well as the three rules that decide results:

- the split by trial (:func:`trial_of`; :func:`split_by_trial`, the CLI's
  ``--split-by-document``; :func:`dev_split_by_trial`, the app's train/dev snapshot, stable as
  the corpus grows);
- the one fingerprint of the training data (:func:`data_hash` of :func:`snapshot_json`), stored
  as ``data_hash`` in a checkpoint's ``config.json``, on its training run and on its version;
- the scores things are chosen by: :func:`dev_score` (early stopping and auto-activation pick
  a model) and :func:`selection_score` (active learning picks the sentences to annotate).
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import TypeVar

# --- option names, choices and defaults --------------------------------------------------------

MODEL_MODES = ("joint", "ner", "re")  # what one checkpoint is (``ModelConfig.mode``)
PIPELINE = "pipeline"  # standalone NER then standalone RE: two checkpoints
CLI_MODES = (*MODEL_MODES, PIPELINE)
# value -> label, the default first (the order of a form's choices)
PROJECT_MODES = {"joint": "joint NER + RE", PIPELINE: "standalone NER then RE"}
RE_HEADS = {"biaffine": "biaffine (re_m2)", "additive": "additive (re_m1)",
            "biaffine_bilinear_only": "bilinear only (re_m2)"}
NEGATIVES = {"gs": "gs-based", "incremental": "incremental"}
POOLINGS = {"mean": "mean over the entity's word-pieces", "first": "first word-piece"}
# the entity layer: the paper's BIO tagger (flat entities), or a classifier of enumerated word
# spans that predicts nested, overlapping and discontinuous entities as they are annotated
ENTITY_LAYERS = {"span": "span classification (nested, overlapping, discontinuous)",
                 "bio": "BIO tagging (flat entities, the paper's)"}
# A project's Retrain picks the layer by the size of its training data (``auto``, the app's
# default): BIO learns faster from a few hundred criteria, the span layer is better from about
# 500 (Chia, the app's recipe: docs/results-chia.md, "Which layer for how much data").
SPAN_LAYER_MIN_CRITERIA = 500
PROJECT_ENTITY_LAYERS = {
    "auto": f"by the data: span from {SPAN_LAYER_MIN_CRITERIA} done criteria, BIO below",
    **ENTITY_LAYERS}
FRAGMENT_RELATION = "<fragment>"  # the span layer's link from a fragment to the next one
UNCERTAINTY_STRATEGIES = ("combined", "least_confidence", "margin", "token_entropy", "mnlp",
                          "relation_entropy", "per_input", "random")
# A project's ranking (its ``strategy`` option): one of the scores above, ``bald``, ``diverse``,
# or ``auto``, the default: the seeded random order. No ranking measured on Chia beat it
# (docs/al-simulation.md): combined, MNLP, per-input, BALD, margin, diversity and typicality
# up to 600 criteria, and per-input from 1,000 to 2,000 criteria (the run of 2026-12-07, where
# ``auto`` switched to it at 1,000 and fell behind the plain tool); the suggestions are what
# saves inputs. Typical examples beat uncertain ones at low budgets (Hacohen et al. 2022).
AUTO_STRATEGY = "random"
RANKED_STRATEGY = "per_input"  # the uncertainty ``diverse`` takes first within a cluster
SCORE_FALLBACK = "combined"  # the score a prediction from before a strategy existed has
# Rankings that need more than one pass's scores (mlcore.inference, mlcore.selection):
# ``bald``, the heads' MC-dropout mutual information per expected input (``MC_DROPOUT_SAMPLES``
# draws of the heads); ``diverse``, k-means over the encoder's sentence vectors
# (``DIVERSITY_CLUSTERS``), round-robin over the clusters, each one's most uncertain
# (``RANKED_STRATEGY``) first.
MC_DROPOUT_SAMPLES = 10
DIVERSITY_CLUSTERS = 50
SAMPLED_STRATEGIES = ("bald",)
SET_STRATEGIES = ("diverse", "typical")
# ``cold_start``: diverse picks while the model is weak (typical examples first, Hacohen et al.
# 2022), then the uncertainty ranking: ``diverse`` until the version was trained on
# ``COLD_START_CRITERIA`` criteria or its dev score (``dev_score``) reaches ``COLD_START_F1``,
# ``RANKED_STRATEGY`` from there.
COLD_START_CRITERIA = 1000
COLD_START_F1 = 0.4
PROJECT_STRATEGIES = {
    "auto": "random order (no ranking beat it on Chia up to 2,000 criteria)",
    **{name: name.replace("_", " ") for name in UNCERTAINTY_STRATEGIES},
    "bald": "BALD (MC dropout on the heads, per input)",
    "diverse": f"diverse ({DIVERSITY_CLUSTERS} k-means clusters, most uncertain of each first)",
    "typical": f"typical ({DIVERSITY_CLUSTERS} k-means clusters in proportion to their size, "
               f"most central of each first)",
    "cold_start": f"cold start: diverse until {COLD_START_CRITERIA:,} trained criteria or dev "
                  f"F1 {COLD_START_F1}, then per input"}
DEFAULT_STRATEGY = "auto"

# The training hyperparameters (paper, Table 3) of ``TrainOptions`` and the CLI.
TRAINING_DEFAULTS = {
    "mode": "joint", "re_head": "biaffine", "negatives": "gs", "epochs": 20, "batch_size": 32,
    "max_length": 128, "lr": 2e-5, "head_lr": 1e-3, "label_embedding_dim": 16, "pooling": "mean",
    "patience": 3, "seed": 13, "entity_layer": "span", "max_span_width": 10,
    "min_steps": 0,  # the paper's fixed epochs; projects use APP_RECIPE (docs/mlcore.md)
}
# The app's recipe for little data (Retrain and bench/al_simulation.py; docs/benchmarks.md,
# "Retrain on the demo project"): small batches at a higher rate, at least ``min_steps``
# steps, early stopping on the dev split, a warm start from the active version.
APP_RECIPE = {"batch_size": 8, "lr": 1e-4, "epochs": 10, "patience": 4, "min_steps": 120,
              "warm_start": True, "entity_layer": "auto"}

# A project's model options (``Project.model_options``); a missing key takes its default here.
MODEL_OPTION_DEFAULTS = {
    **{name: TRAINING_DEFAULTS[name] for name in (
        "mode", "re_head", "negatives", "epochs", "batch_size", "lr", "head_lr",
        "label_embedding_dim", "pooling", "patience", "seed", "entity_layer",
        "max_span_width")},
    **APP_RECIPE,
    "encoder": "",  # empty: the deployment's ELIGO_ENCODER, else the packaged MiniLM
    "encoder_config": None,  # a random BERT config instead of weights (tests, smoke runs)
    "num_threads": None,
    "dev_fraction": 0.2,  # share of the trials held out as the dev set
    "strategy": DEFAULT_STRATEGY,
    "auto_activate": True,  # a new version becomes active when its dev score is higher
}

OPTION_CHOICES = {"mode": tuple(PROJECT_MODES), "re_head": tuple(RE_HEADS),
                  "negatives": tuple(NEGATIVES), "pooling": tuple(POOLINGS),
                  "entity_layer": tuple(PROJECT_ENTITY_LAYERS),
                  "strategy": tuple(PROJECT_STRATEGIES)}
OPTION_RANGES = {"epochs": (1, 200), "batch_size": (1, 512), "label_embedding_dim": (1, 256),
                 "patience": (1, 1000), "seed": (0, 2**31 - 1), "num_threads": (1, 256),
                 "max_span_width": (1, 64), "min_steps": (0, 100000)}
# options that are neither a choice nor a number: what type each must be
OPTION_TYPES = {"encoder": (str, "a text"), "encoder_config": (dict, "an object or null"),
                "auto_activate": (bool, "true or false"),
                "warm_start": (bool, "true or false")}
MAX_ENCODER_LENGTH = 500


def option_errors(options: Mapping) -> list[str]:
    """What is wrong with a set of model options (empty when nothing is); ``None`` is only
    allowed where the default is ``None`` (it then means "unset")."""
    unknown = sorted(set(options) - set(MODEL_OPTION_DEFAULTS))
    errors = [f"unknown model options: {', '.join(unknown)}"] if unknown else []
    errors += [f"{name} must be set (null is not allowed)" for name, value in options.items()
               if value is None and name in MODEL_OPTION_DEFAULTS
               and MODEL_OPTION_DEFAULTS[name] is not None]
    given = {name: value for name, value in options.items() if value is not None}
    for name, choices in OPTION_CHOICES.items():
        if name in given and given[name] not in choices:
            errors.append(f"{name} must be one of {', '.join(choices)} (got {given[name]!r})")
    for name, (low, high) in OPTION_RANGES.items():
        if name in given and not _number_within(given[name], low, high, whole=True):
            errors.append(f"{name} must be a whole number from {low} to {high}")
    for name in ("lr", "head_lr"):
        if name in given and not _number_within(given[name], 0, 1, whole=False):
            errors.append(f"{name} must be a number above 0 and at most 1")
    for name, (kind, what) in OPTION_TYPES.items():
        if name in given and not isinstance(given[name], kind):
            errors.append(f"{name} must be {what}")
    if isinstance(given.get("encoder"), str) and len(given["encoder"]) > MAX_ENCODER_LENGTH:
        errors.append(f"encoder must be a text of at most {MAX_ENCODER_LENGTH} characters")
    if "dev_fraction" in given and not _number_within(given["dev_fraction"], 0, 1, whole=False,
                                                      open_high=True):
        errors.append("dev_fraction must be between 0 and 1")
    return errors


def entity_layer_for(option: str, *, criteria: int) -> str:
    """The entity layer a run trains: ``option`` itself, or for ``auto`` the one measured
    better for ``criteria`` training criteria (done or reviewed)."""
    if option != "auto":
        return option
    return "span" if criteria >= SPAN_LAYER_MIN_CRITERIA else "bio"


def strategy_for(option: str, *, criteria: int = 0, dev_f1: float = 0.0) -> str:
    """The score a project ranks by: ``option`` itself, for ``auto`` :data:`AUTO_STRATEGY`,
    for ``cold_start`` ``diverse`` or :data:`RANKED_STRATEGY` by the ranking model's
    ``criteria`` (those it was trained on) and ``dev_f1`` (its ``dev_score``)."""
    if option == "auto":
        return AUTO_STRATEGY
    if option == "cold_start":
        weak = criteria < COLD_START_CRITERIA and dev_f1 < COLD_START_F1
        return "diverse" if weak else RANKED_STRATEGY
    return option


def _number_within(value, low, high, *, whole: bool, open_high: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if whole:
        return value == int(value) and low <= value <= high
    return low < value < high if open_high else low < value <= high


# --- the split by trial -------------------------------------------------------------------------

_NCT_ID = re.compile(r"NCT\d{8}(?!\d)")
T = TypeVar("T")


def trial_of(name: str, metadata: Mapping | None = None) -> str:
    """The trial a document belongs to, so that a trial's inclusion and exclusion criteria
    fall on the same side of a split: the metadata's ``nct_id``; else the NCT id the name
    starts with (Chia's ``NCT00050349_exc``; folders ignored); else the document's own name,
    a trial of its own."""
    nct_id = (metadata or {}).get("nct_id")
    if isinstance(nct_id, str) and nct_id.strip():
        return nct_id.strip()
    match = _NCT_ID.match(name.replace("\\", "/").rsplit("/", 1)[-1])
    return match.group() if match else name


def split_by_trial(items: Iterable[T], *, trial: Callable[[T], str], train_fraction: float,
                   seed: int) -> tuple[list[T], list[T]]:
    """``(train, held_out)``: a seeded split of ``items`` in which all items of a trial
    (``trial(item)``) land on the same side, each side in the input order.

    The sorted trials are shuffled with ``random.Random(seed)`` and the first
    ``round(train_fraction * trials)`` go to training (the CLI's split since the Chia results,
    kept so they stay reproducible); with two or more trials each side gets at least one, a
    single trial is all training.
    """
    if not 0 < train_fraction < 1:
        raise ValueError(f"the training fraction must be between 0 and 1 (got {train_fraction})")
    items = list(items)
    keys = [trial(item) for item in items]
    trials = sorted(set(keys))
    random.Random(seed).shuffle(trials)
    n_train = min(max(round(train_fraction * len(trials)), 1), max(len(trials) - 1, 1))
    train_trials = set(trials[:n_train])
    train = [item for item, key in zip(items, keys) if key in train_trials]
    held_out = [item for item, key in zip(items, keys) if key not in train_trials]
    return train, held_out


def dev_split_by_trial(items: Iterable[T], *, trial: Callable[[T], str], dev_fraction: float,
                       seed: int) -> tuple[list[T], list[T]]:
    """``(train, dev)`` by trial, each trial's side fixed by a hash of ``seed`` and its id
    alone, so that a growing corpus never moves a trial: every Retrain's dev split holds the
    previous one's trials (still unseen by its model), and two versions can be compared on
    one dev split (:func:`keeps_new_version`). ``split_by_trial`` reshuffles all trials
    whenever one is added.

    A trial is dev when its hash, read as a fraction of 1, is below ``dev_fraction``. With two
    or more trials each side keeps at least one (the lowest hash is dev, the highest
    training); a single trial is all training.
    """
    if not 0 < dev_fraction < 1:
        raise ValueError(f"the dev fraction must be between 0 and 1 (got {dev_fraction})")
    items = list(items)
    keys = [trial(item) for item in items]
    hashes = {key: _trial_hash(seed, key) for key in keys}
    trials = sorted(hashes, key=lambda t: (hashes[t], t))
    dev_trials = {t for t in trials if hashes[t] < dev_fraction}
    if len(trials) >= 2:
        dev_trials = (dev_trials or {trials[0]}) - {trials[-1]}
    else:
        dev_trials = set()
    train = [item for item, key in zip(items, keys) if key not in dev_trials]
    dev = [item for item, key in zip(items, keys) if key in dev_trials]
    return train, dev


def _trial_hash(seed: int, trial: str) -> float:
    digest = hashlib.sha256(f"{seed}:{trial}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


# --- the data hash ------------------------------------------------------------------------------


def snapshot_json(train: Sequence, dev: Sequence = ()) -> str:
    """The training snapshot (train and dev sentence examples, dataclasses) as canonical JSON:
    sorted keys, no spaces, UTF-8 text. The app writes exactly this as the run's ``data.json``.
    A contiguous span's empty ``fragments`` is left out, so flat data hashes as it always did."""
    data = {"train": [_example_dict(e) for e in train], "dev": [_example_dict(e) for e in dev]}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _example_dict(example) -> dict:
    data = asdict(example)
    for span in data.get("spans", ()):
        if not span.get("fragments", True):
            del span["fragments"]
    return data


def data_hash(train: Sequence, dev: Sequence = ()) -> str:
    """SHA-256 of :func:`snapshot_json`: the one ``data_hash`` (a checkpoint's, a run's and a
    version's are equal for the same data, and equal the hash of the run's ``data.json``)."""
    return hashlib.sha256(snapshot_json(train, dev).encode("utf-8")).hexdigest()


# --- the scores things are chosen by ------------------------------------------------------------


def _f1(metrics: Mapping, key: str) -> float:
    return float((metrics.get(key) or {}).get("f1") or 0.0)


def dev_score(mode: str, metrics: Mapping) -> float:
    """The dev score a model is chosen by (early stopping; auto-activating a version): NER F1
    for ``ner``, RE gs F1 for ``re``, else (``joint``, ``pipeline``) the mean of NER F1 and
    end-to-end RE F1. A missing metric counts 0."""
    if mode == "ner":
        return _f1(metrics, "ner")
    if mode == "re":
        return _f1(metrics, "re_gs")
    return (_f1(metrics, "ner") + _f1(metrics, "re_end_to_end")) / 2


#: where a run records the active version's score on the run's own dev split
INCUMBENT = "incumbent"


def keeps_new_version(new_metrics: Mapping, active_metrics: Mapping | None) -> bool:
    """Whether a new version replaces the active one (auto-activation, and the simulation's
    kept model): a higher joint dev score than the active version's on the new run's dev
    split (``new_metrics[INCUMBENT]["score"]``, written when the run scored it), else than
    the score stored with the active version, on its own dev split. No active version: yes."""
    if active_metrics is None:
        return True
    return dev_score("joint", new_metrics) > score_to_beat(new_metrics, active_metrics)


def score_to_beat(new_metrics: Mapping, active_metrics: Mapping) -> float:
    """The active version's joint dev score a new version is judged against: on the new run's
    dev split when the run scored it there, else the one stored with the active version."""
    incumbent = new_metrics.get(INCUMBENT)
    return incumbent["score"] if incumbent else dev_score("joint", active_metrics)


def selection_score(uncertainty: Mapping, strategy: str) -> float:
    """A sentence's rank for annotation (higher = asked first): its uncertainty under
    ``strategy`` (a score name, :func:`strategy_for` resolves ``auto``); under
    :data:`SCORE_FALLBACK` when the prediction lacks that one; 0 without either."""
    value = uncertainty.get(strategy)
    if value is None:
        value = uncertainty.get(SCORE_FALLBACK)
    return 0.0 if value is None else float(value)
