"""Active-learning simulation: how much effort does Eligo's default loop need to reach the
final F1 of a plain annotation tool, compared with that plain tool?

A simulated expert annotates a pool of criteria in rounds. Each round spends a budget of
**UI inputs** (``mlcore.effort``: drags, clicks and keys, counted from the annotation view's key
map), taking criteria in the strategy's order and bringing each one to gold, from scratch or
from the active model's suggestions. After each round a model is trained with the app's
recipe (``mlcore.contract.MODEL_OPTION_DEFAULTS``: at least ``min_steps`` steps, early stopping
on the app's dev split by trial of the labelled criteria, ``dev_split_by_trial``, a warm start
from the active model with shrink-and-perturb) and becomes the active model as the app's
``auto_activate`` decides (``--keep better``: its dev score beats the active model's on the
same dev split, ``contract.keeps_new_version``). Each round is scored by its active model on
the test set (strict NER F1, end-to-end RE F1); the new model's scores are kept beside.

Strategies (a random order is the seed's one permutation of the pool, for every strategy):

- ``plain``: a plain tool, random order, no suggestions;
- ``default``: Eligo's default loop, its ranking (the ``strategy`` option's default, ``auto``:
  ``contract.AUTO_STRATEGY``, random order since 2026-12-07; the run of that day had it switch to
  ``per_input`` at 1,000 criteria) and its suggestions as the view shows them: those whose calibrated
  confidence reaches the display threshold chosen on the dev split
  (``mlcore.calibration.display_threshold``, what a project follows by default);
- ``ranking``: the default ranking without suggestions;
- ``suggestions``: suggestions (above the threshold) in random order;
- ``default_unfiltered``: the default loop showing every suggestion;
- ``rank_<ranking>`` for each of ``RANKINGS`` (``per_input``, ``combined``, ``margin``, ``bald``,
  ``diverse``, ``typical``, ``cold_start``; ``contract.PROJECT_STRATEGIES``): that ranking from the first
  model on, without suggestions; ``default_<ranking>``: the same with suggestions
  (``cold_start`` resolves by the criteria the model was trained on and its dev score, as the
  app resolves it by the version's).

Rounds go on until at least the effort of ``--budget-criteria`` (2,000) random criteria from
scratch is spent (or the pool is used up). The first round is the same random criteria, from
scratch, for every strategy of a seed (there is no model yet).

    # one chain of the Chia run of docs/al-simulation.md (its section "The run" has them all:
    # one process per seed and strategy, side by side, then --merge of their JSON files)
    .venv/bin/python bench/al_simulation.py --pool /work/shared/data/chia/chia_without_scope \\
        --budget-criteria 2000 --rounds 4 --test-criteria 800 \\
        --candidates 1500 --threads 1 --seeds 13 --strategies default --json s13-default.json
    # the runs before 2026-12-08: --entity-layer bio --keep newest --precision fp32
    # a smoke run: the demo criteria, a tiny random encoder (seconds; numbers meaningless)
    .venv/bin/python bench/al_simulation.py --quick --json /tmp/al.json --table /tmp/al.md
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlcore.contract import (  # noqa: E402
    DIVERSITY_CLUSTERS, MODEL_OPTION_DEFAULTS, PROJECT_ENTITY_LAYERS, RANKED_STRATEGY,
    SET_STRATEGIES, dev_score, dev_split_by_trial, entity_layer_for, keeps_new_version,
    split_by_trial, strategy_for, trial_of,
)
from mlcore.corpus.brat import read_brat  # noqa: E402
from mlcore.corpus.model import flat_example, sentence_examples  # noqa: E402
from mlcore.corpus.splitting import split_criteria  # noqa: E402
from mlcore.effort import CriterionAnnotations, Mention, criterion_effort  # noqa: E402

# (ranking option or None for the seeded random order, suggested, filtered): suggestions below
# the display threshold chosen on dev hidden, as the app hides them (Project.suggestion_threshold
# follows the active version's); ``auto`` resolves as the app resolves it (contract.strategy_for)
DEFAULT = MODEL_OPTION_DEFAULTS["strategy"]
RANKINGS = ("per_input", "combined", "margin", "bald", "diverse", "typical", "cold_start")
STRATEGIES = {"plain": (None, False, False), "default": (DEFAULT, True, True),
              "ranking": (DEFAULT, False, False), "suggestions": (None, True, True),
              "default_unfiltered": (DEFAULT, True, False),
              **{f"rank_{name}": (name, False, False) for name in RANKINGS},
              **{f"default_{name}": (name, True, True) for name in RANKINGS}}
TINY = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 64, "max_position_embeddings": 160}
METRICS = {"ner": "ner_f1", "re": "re_end_to_end_f1"}
AXES = ("inputs", "tokens", "criteria")


def load_examples(folder: Path | None, *, flat: bool) -> list:
    """Non-blank criteria of a brat folder (the demo's criteria without one): every gold
    entity, or with ``flat`` the flattened gold (``sentence_examples``)."""
    if folder is None:
        from annotation.demo_data import demo_documents
        documents = demo_documents()
    else:
        documents = list(read_brat(folder, strict=False))
    examples = []
    for doc in documents:
        if not doc.sentences:
            doc.sentences = split_criteria(doc.text)
        examples += [e for e in sentence_examples(doc, flat=flat) if e.text.strip()]
    return examples


def pool_and_test(args) -> tuple[list, list]:
    """The gold the simulated expert annotates and the test set is scored on: every entity,
    except with ``--entity-layer bio``, the flattened gold of the runs before 2026-12-07."""
    flat = args.entity_layer == "bio"
    pool = load_examples(args.pool, flat=flat)
    if args.test is not None:
        test = load_examples(args.test, flat=flat)
    else:
        pool, test = split_by_trial(pool, trial=lambda e: trial_of(e.document),
                                    train_fraction=1 - args.test_fraction, seed=args.split_seed)
    return pool, whole_trials(test, args.test_criteria, args.split_seed)


def whole_trials(examples: list, limit: int | None, seed: int) -> list:
    """Whole trials of ``examples``, in a seeded random order, until ``limit`` criteria are
    taken (all of them without a limit): a smaller test set that still keeps trials whole."""
    if not limit or len(examples) <= limit:
        return examples
    by_trial: dict[str, list] = {}
    for example in examples:
        by_trial.setdefault(trial_of(example.document), []).append(example)
    trials = sorted(by_trial)
    random.Random(seed).shuffle(trials)
    taken: list = []
    for trial in trials:
        if len(taken) >= limit:
            break
        taken += by_trial[trial]
    return taken


def train_options(args, seed: int, labels: tuple, active: Path | None, layer: str):
    """The app's recipe (its model option defaults) on the CPU in ``--precision``, with
    ``layer``: a warm start from the active model, which the run also scores on its dev split
    with ``--keep better`` (the incumbent the new model must beat)."""
    from mlcore.trainer import TrainOptions

    known = {f.name for f in fields(TrainOptions)}
    recipe = {k: v for k, v in MODEL_OPTION_DEFAULTS.items()
              if k in known and k not in ("encoder", "warm_start") and v is not None}
    recipe.update(entity_types=labels[0], relation_types=labels[1], seed=seed, device="cpu",
                  precision=args.precision, num_threads=args.threads, entity_layer=layer,
                  warm_start=str(active) if active and MODEL_OPTION_DEFAULTS["warm_start"]
                  else None, incumbent=str(active) if active and args.keep == "better" else None)
    if args.quick:
        recipe.update(encoder_config=TINY, lr=5e-3, min_steps=4, epochs=2, batch_size=8)
    return TrainOptions(**recipe)


@dataclass
class Chain:
    """One (seed, strategy) run: what is labelled, what it cost, the curve so far."""

    seed: int
    strategy: str
    labelled: list = field(default_factory=list)
    spent: dict = field(default_factory=lambda: dict.fromkeys(AXES, 0))
    curve: list = field(default_factory=list)
    # the active model (``--keep``): its folder, dev metrics and test scores
    active: Path | None = None
    active_dev: dict | None = None
    scores: dict = field(default_factory=dict)

    @property
    def threshold(self) -> float:
        """The active model's display threshold, chosen on its dev split (0 without one)."""
        return ((self.active_dev or {}).get("calibration") or {}).get("display_threshold") or 0.0

    @property
    def dev_f1(self) -> float:
        """The active model's dev score (what ``cold_start`` resolves by)."""
        return dev_score("joint", self.active_dev or {})


def gold_of(example) -> CriterionAnnotations:
    return CriterionAnnotations.of_example(example)


def suggestion_of(prediction, threshold: float = 0.0) -> CriterionAnnotations:
    """What the view shows of a prediction: the entities and relations whose calibrated
    confidence reaches ``threshold``, relations only between shown entities."""
    shown = [i for i, e in enumerate(prediction.entities) if e.confidence >= threshold]
    place = {old: new for new, old in enumerate(shown)}
    entities = tuple(Mention(prediction.entities[i].type,
                             tuple(tuple(f) for f in prediction.entities[i].fragments))
                     for i in shown)
    return CriterionAnnotations(entities, tuple(
        (place[r.head], place[r.tail], r.type) for r in prediction.relations
        if r.confidence >= threshold and r.head in place and r.tail in place))


def scratch_inputs(example) -> int:
    return criterion_effort(text=example.text, gold=gold_of(example)).inputs


def label(chain: Chain, pool: list, order: list[int], budget: int, suggestions: dict) -> None:
    """Annotate criteria in ``order`` until ``budget`` inputs are spent."""
    spent = 0
    for index in order:
        if spent >= budget:
            break
        example = pool[index]
        effort = criterion_effort(text=example.text, gold=gold_of(example),
                                  suggested=suggestions.get(index))
        spent += effort.inputs
        chain.spent["inputs"] += effort.inputs
        chain.spent["tokens"] += effort.tokens_read
        chain.spent["criteria"] += 1
        chain.labelled.append(index)


def next_order(chain: Chain, model, pool: list, args, order: list[int]) -> tuple[list[int], dict]:
    """The unlabelled criteria in the strategy's order, and the suggestions shown on them:
    the next ``--candidates`` of the seed's random ``order`` (the same for every strategy, so
    that at equal effort the random-order chains label nested sets), sorted by the ranking's
    score unless it resolves to ``random`` (the app's seeded random order)."""
    from mlcore.inference import predict, ranking_extras

    option, suggested, filtered = STRATEGIES[chain.strategy]
    taken = set(chain.labelled)
    candidates = [i for i in order if i not in taken][:args.candidates]
    ranking = option and strategy_for(option, criteria=len(chain.labelled), dev_f1=chain.dev_f1)
    ranked = ranking not in (None, "random")
    if not (ranked or suggested) or model is None:
        return candidates, {}
    predictions = dict(zip(candidates, predict(model, [pool[i] for i in candidates], 32,
                                               **ranking_extras(ranking or "random"))))
    if ranking in SET_STRATEGIES:
        candidates = set_ranked(ranking, candidates, predictions, chain.seed)
    elif ranked:
        candidates.sort(key=lambda i: -predictions[i].uncertainty[ranking])
    threshold = chain.threshold if filtered else 0.0
    shown = {i: suggestion_of(p, threshold) for i, p in predictions.items()} if suggested else {}
    return candidates, shown


def set_ranked(ranking: str, candidates: list[int], predictions: dict, seed: int) -> list[int]:
    """``candidates`` in a set ranking's order (``diverse``, ``typical``:
    ``mlcore.selection.set_order``), as the app ranks a version's open criteria."""
    from mlcore.selection import set_order

    vectors = np.stack([predictions[i].vector for i in candidates])
    scores = np.array([predictions[i].uncertainty[RANKED_STRATEGY] for i in candidates])
    order, _ = set_order(ranking, vectors, scores, clusters=DIVERSITY_CLUSTERS, seed=seed)
    return [candidates[k] for k in order]


def train_round(chain: Chain, pool, test, args, labels, out: Path):
    """Train on the labelled criteria (dev: the app's split by trial of them), score the new
    model on test, and keep it as the active model as the app would (``--keep better``: its
    ``auto_activate``, ``contract.keeps_new_version``; ``newest``: always). Returns the
    active model (loaded) and the round's record: the active model's scores, the new one's."""
    from mlcore.evaluator import evaluate
    from mlcore.inference import load_model
    from mlcore.trainer import train

    layer = entity_layer_for(args.entity_layer, criteria=len(chain.labelled))
    examples = [pool[i] if layer == "span" else flat_example(pool[i]) for i in chain.labelled]
    fit, dev = dev_split_by_trial(examples, trial=lambda e: trial_of(e.document),
                                  dev_fraction=MODEL_OPTION_DEFAULTS["dev_fraction"],
                                  seed=chain.seed)
    model_dir = out / f"{chain.seed}-{chain.strategy}-{len(chain.curve)}"
    result = train(fit, dev, train_options(args, chain.seed, labels, chain.active, layer),
                   model_dir)
    dev_metrics = result.dev_metrics or {}
    model = load_model(model_dir, device="cpu", precision=args.precision)
    metrics = evaluate(model, test, 32, tasks=("ner", "re_end_to_end"))
    new = {"layer": layer, "ner_f1": metrics["ner"]["f1"],
           "re_end_to_end_f1": metrics["re_end_to_end"]["f1"]}
    kept = args.keep == "newest" or keeps_new_version(dev_metrics, chain.active_dev)
    if kept:
        if chain.active is not None:
            shutil.rmtree(chain.active, ignore_errors=True)  # a chain keeps its active model only
        chain.active, chain.active_dev, chain.scores = model_dir, dev_metrics, new
    else:
        shutil.rmtree(model_dir, ignore_errors=True)
        model = load_model(chain.active, device="cpu", precision=args.precision)
    return model, {**chain.scores, "kept": kept, "new": new,
                   "dev_score": round(dev_score("joint", dev_metrics), 4)}


def run_chain(seed: int, strategy: str, pool, test, args, labels, budget: int, out: Path):
    """One learning curve: rounds of labelling ``budget / rounds`` inputs, then training."""
    import torch

    torch.set_num_threads(args.threads)
    chain = Chain(seed, strategy)
    order = list(range(len(pool)))
    random.Random(seed).shuffle(order)
    per_round = -(-budget // args.rounds)
    label(chain, pool, order, per_round, {})
    while True:
        started = time.monotonic()
        model, scores = train_round(chain, pool, test, args, labels, out)
        chain.curve.append({**chain.spent, **scores,
                            "seconds": round(time.monotonic() - started, 1)})
        print(f"seed {seed} {strategy}: {chain.curve[-1]}", file=sys.stderr, flush=True)
        if chain.spent["inputs"] >= budget or len(chain.labelled) >= len(pool):
            return {"seed": seed, "strategy": strategy, "curve": chain.curve}
        ranked, shown = next_order(chain, model, pool, args, order)
        label(chain, pool, ranked, min(per_round, budget - chain.spent["inputs"]), shown)


def mean_curve(runs: list[dict]) -> list[dict]:
    """Round by round, the mean over seeds of every axis and metric (rounds all seeds have)."""
    rounds = min(len(r["curve"]) for r in runs)
    keys = (*AXES, *METRICS.values())
    return [{k: statistics.mean(r["curve"][i][k] for r in runs) for k in keys}
            | {f"{m}_std": statistics.pstdev(r["curve"][i][m] for r in runs)
               for m in METRICS.values()} for i in range(rounds)]


def effort_to_reach(curve: list[dict], target: float, metric: str, axis: str = "inputs"):
    """The effort at which a mean curve first reaches ``target`` (linear interpolation)."""
    if curve and curve[0][metric] >= target:
        return curve[0][axis]
    for a, b in zip(curve, curve[1:]):
        if b[metric] >= target:
            share = (target - a[metric]) / max(1e-12, b[metric] - a[metric])
            return a[axis] + (b[axis] - a[axis]) * share
    return None


def summarise(curves: dict) -> dict:
    """Per strategy, the effort (inputs) to reach the plain tool's final F1, and the ratios."""
    summary: dict = {"per_strategy": {}}
    plain = curves.get("plain")
    for key, metric in METRICS.items():
        target = plain[-1][metric] if plain else None
        summary[f"plain_final_{key}_f1"] = target
        for strategy, curve in curves.items():
            reached = None if target is None else effort_to_reach(curve, target, metric)
            summary["per_strategy"].setdefault(strategy, {})[f"inputs_to_plain_final_{key}"] = reached
        plain_effort = summary["per_strategy"].get("plain", {}).get(f"inputs_to_plain_final_{key}")
        default = summary["per_strategy"].get("default", {}).get(f"inputs_to_plain_final_{key}")
        summary[f"default_effort_ratio_{key}"] = (
            default / plain_effort if default is not None and plain_effort else None)
    return summary


def markdown(curves: dict, summary: dict, meta: dict, runs: list[dict]) -> str:
    lines = [f"Seeds {meta['seeds']}; pool {meta['pool']} criteria, test {meta['test']}; "
             f"budget {meta['budget_inputs']} inputs (= {meta['budget_criteria']} random "
             f"criteria from scratch) in {meta['rounds']} rounds; encoder {meta['encoder']}.", "",
             "| strategy | round | inputs | tokens | criteria | NER F1 | RE F1 |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for strategy, curve in curves.items():
        for i, p in enumerate(curve):
            lines.append(f"| {strategy} | {i} | {p['inputs']:.0f} | {p['tokens']:.0f} | "
                         f"{p['criteria']:.0f} | {100 * p['ner_f1']:.1f} ± "
                         f"{100 * p['ner_f1_std']:.1f} | {100 * p['re_end_to_end_f1']:.1f} ± "
                         f"{100 * p['re_end_to_end_f1_std']:.1f} |")
    lines += ["", "| strategy | inputs to plain's final NER F1 | inputs to plain's final RE F1 |",
              "| --- | ---: | ---: |"]
    for strategy, reach in summary["per_strategy"].items():
        cells = [_inputs(reach[f"inputs_to_plain_final_{k}"]) for k in METRICS]
        lines.append(f"| {strategy} | " + " | ".join(cells) + " |")
    ratios = [summary[f"default_effort_ratio_{k}"] for k in METRICS]
    lines += ["", "Default loop's effort / plain tool's: NER "
              + " , RE ".join("not reached" if r is None else f"{r:.2f}" for r in ratios), ""]
    return "\n".join(lines + per_seed_table(runs, summary))


def _inputs(value) -> str:
    return "not reached" if value is None else f"{value:.0f}"


def per_seed_table(runs: list[dict], summary: dict) -> list[str]:
    """Each run's end (effort spent, final F1) and the inputs it took to reach its seed's plain
    final F1, with the default loop's ratio per seed."""
    lines = ["", "| seed | strategy | inputs | tokens | criteria | final NER F1 | final RE F1 "
             "| inputs to plain's final NER F1 | inputs to plain's final RE F1 |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for seed, seed_summary in summary["per_seed"].items():
        for run in (r for r in runs if r["seed"] == seed):
            end, reach = run["curve"][-1], seed_summary["per_strategy"][run["strategy"]]
            lines.append(
                f"| {seed} | {run['strategy']} | {end['inputs']} | {end['tokens']} | "
                f"{end['criteria']} | {100 * end['ner_f1']:.1f} | "
                f"{100 * end['re_end_to_end_f1']:.1f} | "
                + " | ".join(_inputs(reach[f"inputs_to_plain_final_{k}"]) for k in METRICS) + " |")
        if "default" in seed_summary["per_strategy"]:  # the ratios are None without it
            ratio = [seed_summary[f"default_effort_ratio_{k}"] for k in METRICS]
            lines.append(f"| {seed} | **default / plain** | | | | | | " + " | ".join(
                "not reached" if r is None else f"**{r:.2f}**" for r in ratio) + " |")
    return lines + [""]


def plot(curves: dict, path: Path) -> None:
    """The mean curves, NER F1 and end-to-end RE F1 (rows) against inputs, tokens read and
    criteria labelled (columns)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, grid = plt.subplots(2, 3, figsize=(14, 7.5), constrained_layout=True)
    for row, (metric, title) in zip(grid, (("ner_f1", "NER F1 (strict)"),
                                           ("re_end_to_end_f1", "End-to-end RE F1"))):
        for ax, axis in zip(row, AXES):
            for strategy, curve in curves.items():
                ax.plot([p[axis] for p in curve], [100 * p[metric] for p in curve],
                        marker="o", label=strategy)
            ax.set(title=f"{title} against {axis}", xlabel=f"{axis} spent" if axis != "criteria"
                   else "criteria labelled", ylabel="F1 (%)")
            ax.grid(alpha=0.3)
    grid[0][0].legend()
    fig.savefig(path, dpi=110)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=Path, default=None, help="brat folder (default: demo)")
    parser.add_argument("--test", type=Path, default=None,
                        help="brat folder; without it a seeded split of the pool by trial")
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--split-seed", type=int, default=13)
    parser.add_argument("--test-criteria", type=int, default=None,
                        help="score on whole test trials up to about this many criteria")
    parser.add_argument("--seeds", default="13,14,15")
    parser.add_argument("--strategies", default="plain,default,ranking,suggestions",
                        help=f"of {', '.join(STRATEGIES)}")
    parser.add_argument("--budget-criteria", type=int, default=2000,
                        help="budget: the inputs of this many random criteria from scratch")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--candidates", type=int, default=3000,
                        help="unlabelled criteria ranked (and shown suggestions) per round")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--entity-layer", default=MODEL_OPTION_DEFAULTS["entity_layer"],
                        choices=tuple(PROJECT_ENTITY_LAYERS),
                        help="the app's option (auto: BIO below SPAN_LAYER_MIN_CRITERIA "
                             "criteria, span from there); bio reads the gold flattened, as the "
                             "runs before 2026-12-07 did")
    parser.add_argument("--keep", default="better", choices=("better", "newest"),
                        help="the model each round goes on with and is scored by: better = "
                             "the app's auto_activate (the new model only if its dev score "
                             "beats the active one's on the same dev split); newest = every "
                             "new model (the runs before 2026-12-08)")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                        help="training and inference; auto = the app's (bf16 where the CPU "
                             "has it natively); the runs before 2026-12-08 used fp32")
    parser.add_argument("--quick", action="store_true",
                        help="tiny data and a tiny random encoder (a smoke test)")
    parser.add_argument("--out", type=Path, default=None, help="checkpoints (default: temp)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--table", type=Path, default=None)
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--merge", type=Path, nargs="+", default=None, metavar="JSON",
                        help="no training: report the runs of these --json files together")
    return parser


def merged(files: list[Path], args) -> dict:
    """One report over the runs of several ``--json`` files (runs split across sessions)."""
    parts = [json.loads(f.read_text()) for f in files]
    runs = [r for part in parts for r in part["runs"]]
    meta = {**parts[0]["meta"], "seeds": sorted({r["seed"] for r in runs}),
            "commands": [part["meta"].get("command") for part in parts],
            "wall_seconds": sum(part["meta"].get("wall_seconds", 0) for part in parts)}
    return report(runs, meta, args, final=True)


def budget_inputs(pool: list, criteria: int, seed: int) -> int:
    """The inputs of ``criteria`` random pool criteria from scratch (all of them if fewer)."""
    order = list(range(len(pool)))
    random.Random(seed).shuffle(order)
    return sum(scratch_inputs(pool[i]) for i in order[:criteria])


def report(runs: list[dict], meta: dict, args, *, final: bool) -> dict:
    """Curves, summary (mean curves and per seed) and the files; after every chain, so that an
    interrupted run keeps what it measured (``meta["complete"]`` says whether it finished)."""
    strategies = list(dict.fromkeys(r["strategy"] for r in runs))
    curves = {s: mean_curve([r for r in runs if r["strategy"] == s]) for s in strategies}
    summary = summarise(curves)
    summary["per_seed"] = {
        seed: summarise({r["strategy"]: r["curve"] for r in runs if r["seed"] == seed})
        for seed in dict.fromkeys(r["seed"] for r in runs)}
    result = {"meta": {**meta, "complete": final}, "runs": runs, "curves": curves,
              "summary": summary}
    text = markdown(curves, summary, result["meta"], runs)
    if final:
        print(text)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    if args.table:
        args.table.write_text(text)
    if args.plot:
        plot(curves, args.plot)
    return result


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    if args.merge:
        return merged(args.merge, args)
    strategies = [s.strip() for s in args.strategies.split(",")]
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise SystemExit(f"unknown strategies {unknown}; choose from {list(STRATEGIES)}")
    if args.quick:
        args.seeds, args.rounds, args.budget_criteria = "1", 2, 60
    started = time.monotonic()
    pool, test = pool_and_test(args)
    everything = pool + test
    labels = (sorted({s.type for e in everything for s in e.spans}),
              sorted({r[2] for e in everything for r in e.relations}))
    seeds = [int(s) for s in args.seeds.split(",")]
    budget = budget_inputs(pool, args.budget_criteria, args.split_seed)
    out = args.out or Path(tempfile.mkdtemp(prefix="eligo-al-"))
    meta = {"seeds": seeds, "pool": len(pool), "test": len(test), "budget_inputs": budget,
            "command": " ".join(sys.argv[1:]) if argv is None else " ".join(argv),
            "budget_criteria": args.budget_criteria, "rounds": args.rounds,
            "encoder": "tiny random BERT" if args.quick else "packaged MiniLM-L6",
            "entity_layer": args.entity_layer, "keep": args.keep,
            "precision": args.precision,
            "recipe": {k: MODEL_OPTION_DEFAULTS[k] for k in ("epochs", "min_steps", "batch_size",
                                                             "lr", "patience", "warm_start")}}
    runs, result = [], {}
    for seed in seeds:
        for strategy in strategies:
            runs.append(run_chain(seed, strategy, pool, test, args, labels, budget, out))
            meta["wall_seconds"] = round(time.monotonic() - started)
            result = report(runs, meta, args, final=False)
    result = report(runs, meta, args, final=True)
    return result


if __name__ == "__main__":
    main()
