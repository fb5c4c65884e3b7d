"""``python -m mlcore train|evaluate|predict|grid`` (see docs/mlcore.md for examples)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path

from mlcore.contract import CLI_MODES, ENTITY_LAYERS, NEGATIVES, PIPELINE, POOLINGS, RE_HEADS
from mlcore.contract import TRAINING_DEFAULTS as DEFAULTS
from mlcore.contract import split_by_trial, trial_of
from mlcore.corpus.formats import ANNOTATED_FORMATS, read_corpus
from mlcore.corpus.model import Document, FlattenStats
from mlcore.gold import DEFAULT_GOLDS, GOLDS, document_examples, gold_blocks, gold_standards

GRID = [
    # (run name, mode, re_head, negatives, table label)
    ("joint_additive_gs", "joint", "additive", "gs", "Joint re_m1 (additive)"),
    ("joint_additive_incremental", "joint", "additive", "incremental", "Joint re_m1 (additive)"),
    ("joint_biaffine_gs", "joint", "biaffine", "gs", "Joint re_m2 bilinear+linear"),
    ("joint_biaffine_incremental", "joint", "biaffine", "incremental",
     "Joint re_m2 bilinear+linear"),
    ("joint_bilinear_only_gs", "joint", "biaffine_bilinear_only", "gs",
     "Joint re_m2 bilinear only"),
    ("joint_bilinear_only_incremental", "joint", "biaffine_bilinear_only", "incremental",
     "Joint re_m2 bilinear only"),
    ("standalone_ner", "ner", "biaffine", "gs", "Standalone NER"),
    ("standalone_re", "re", "biaffine", "gs", "Standalone RE (linear)"),
]


# --- data -------------------------------------------------------------------------------------


def read_documents(path: str, fmt: str, limit: int | None = None) -> list[Document]:
    result = read_corpus(path, fmt, strict=False)
    documents = []
    for document in result.documents:
        documents.append(document)
        if limit and len(documents) >= limit:
            break
    return documents


def document_trial(document: Document) -> str:
    """The trial of a document (:func:`mlcore.contract.trial_of`): ``_inc``/``_exc`` together."""
    return trial_of(document.name, document.metadata)


def split_documents(documents: list[Document], train_fraction: float, seed: int
                    ) -> tuple[list[Document], list[Document]]:
    """``--split-by-document``: the contract's seeded split by trial (the app's too)."""
    return split_by_trial(documents, trial=document_trial, train_fraction=train_fraction,
                          seed=seed)


def to_examples(documents: list[Document], stats: FlattenStats | None = None, *,
                flat: bool = True):
    """Sentence examples by the shared flattening rule (``flat=False``: every entity, for
    the span layer; :func:`mlcore.gold.document_examples`); blank sentences are skipped."""
    return document_examples(documents, stats, flat=flat)


def gold_names(text: str) -> list[str]:
    """``--gold original,flattened``: known gold names, the first one the headline."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in GOLDS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown gold {', '.join(unknown) or '(none)'}; choose from {', '.join(GOLDS)}")
    return names


def _datasets(args) -> tuple[list, list]:
    documents = read_documents(args.train, args.format, args.limit_docs)
    flat = args.entity_layer == "bio"
    if args.dev:
        return (to_examples(documents, flat=flat),
                to_examples(read_documents(args.dev, args.format), flat=flat))
    if args.split_by_document:
        train_docs, dev_docs = split_documents(documents, args.split_by_document, args.seed)
        return to_examples(train_docs, flat=flat), to_examples(dev_docs, flat=flat)
    return to_examples(documents, flat=flat), []


def _flat_for(model) -> bool:
    """Whether a loaded model's examples are flattened: all but the span layer's."""
    single = getattr(model, "ner", model)
    return single.model.config.entity_layer == "bio"


# --- commands ---------------------------------------------------------------------------------


def _options(args, **overrides):
    from mlcore.trainer import TrainOptions

    values = dict(
        mode=args.mode, re_head=args.re_head, negatives=args.negatives, encoder=args.encoder,
        epochs=args.epochs, batch_size=args.batch_size, max_length=args.max_length, lr=args.lr,
        head_lr=args.head_lr, seed=args.seed, patience=args.patience, device=args.device,
        label_embedding_dim=args.label_embedding_dim, pooling=args.pooling,
        precision=args.precision, num_threads=args.threads,
        entity_layer=args.entity_layer, max_span_width=args.max_span_width,
        min_steps=args.min_steps,
        encoder_config=json.loads(args.encoder_config) if args.encoder_config else None,
    )
    values.update(overrides)
    return TrainOptions(**values)


def _print_progress(progress) -> None:
    if progress.phase != "train" or progress.step % 50 == 0:
        loss = "-" if progress.loss is None else f"{progress.loss:.4f}"
        print(f"[{progress.phase}] epoch {progress.epoch}/{progress.epochs} step "
              f"{progress.step}/{progress.total_steps} loss {loss} "
              f"{progress.examples_per_s:.1f} ex/s", file=sys.stderr, flush=True)


def cmd_train(args) -> int:
    from mlcore.trainer import train, train_pipeline

    train_examples, dev_examples = _datasets(args)
    if args.mode == PIPELINE:
        results = train_pipeline(train_examples, dev_examples, _options(args, mode="ner"),
                                 args.out, _print_progress)
        summary = {mode: _result_summary(r) for mode, r in results.items()}
    else:
        summary = _result_summary(train(train_examples, dev_examples, _options(args), args.out,
                                        _print_progress))
    print(json.dumps(summary, indent=2))
    return 0


def _result_summary(result) -> dict:
    return {"out_dir": str(result.out_dir), "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run, "train_seconds": round(result.train_seconds, 1),
            "runtime": result.runtime, "dev_metrics": result.dev_metrics}


def cmd_evaluate(args) -> int:
    from mlcore.evaluator import evaluate, to_markdown
    from mlcore.inference import load_model

    model = load_model(args.model, device=args.device, precision=args.precision)
    documents = read_documents(args.data, args.format, args.limit_docs)
    if args.split_by_document:
        _, documents = split_documents(documents, args.split_by_document, args.seed)
    ignore = [name.strip() for name in args.ignore_types.split(",") if name.strip()]
    golds = gold_standards(documents, args.gold)
    metrics = evaluate(model, to_examples(documents, flat=_flat_for(model)), args.batch_size,
                       ignore_types=ignore, golds=golds)
    metrics["gold_stats"] = asdict(golds[0].stats)
    print(to_markdown(metrics) if args.table else json.dumps(metrics, indent=2))
    return 0


def cmd_predict(args) -> int:
    from mlcore.inference import load_model, predict

    model = load_model(args.model, device=args.device, precision=args.precision)
    examples = to_examples(read_documents(args.data, args.format), flat=_flat_for(model))
    predictions = predict(model, examples, args.batch_size)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for prediction in predictions:
            handle.write(json.dumps(prediction.to_dict(), ensure_ascii=False) + "\n")
    print(f"{len(predictions)} sentences -> {out}", file=sys.stderr)
    return 0


# --- grid -------------------------------------------------------------------------------------


def _grid_run(name: str, options, train_examples, dev_examples, test_examples, out_dir: str,
              golds=None):
    """Train one grid run and score it on the test set against ``golds`` (runs in a worker
    process)."""
    from mlcore.evaluator import evaluate
    from mlcore.inference import load_model
    from mlcore.trainer import train

    log = open(Path(out_dir).parent / f"{name}.log", "w")

    def progress(p):
        if p.phase != "train" or p.step % 10 == 0:
            log.write(f"{time.strftime('%H:%M:%S')} {p}\n")
            log.flush()

    result = train(train_examples, dev_examples, options, out_dir, progress)
    metrics = evaluate(load_model(out_dir, device=options.device), test_examples,
                       options.eval_batch_size, golds=golds)
    log.close()
    return name, {**_result_summary(result), "test_metrics": metrics}


def cmd_grid(args) -> int:
    from mlcore.evaluator import evaluate
    from mlcore.inference import Pipeline, load_model

    started = time.monotonic()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    documents = read_documents(args.train, args.format, args.limit_docs)
    if args.dev:
        train_docs, test_docs = documents, read_documents(args.dev, args.format)
    else:
        train_docs, test_docs = split_documents(documents, args.split_by_document, args.seed)
    fit_docs, stop_docs = train_docs, []
    if args.early_stopping_fraction > 0:
        fit_docs, stop_docs = split_documents(train_docs, 1 - args.early_stopping_fraction,
                                                args.seed)
    flat = args.entity_layer == "bio"
    fit, stop, test = (to_examples(docs, flat=flat) for docs in (fit_docs, stop_docs, test_docs))
    golds = gold_standards(test_docs, GOLDS)
    print(f"train {len(fit)} sentences, early-stopping dev {len(stop)}, test {len(test)}",
          file=sys.stderr, flush=True)
    by_name = {r[0]: r for r in GRID}
    runs = [by_name[name] for name in args.only] if args.only else GRID
    jobs = []
    for name, mode, re_head, negatives, _ in runs:
        options = _options(args, mode=mode, re_head=re_head, negatives=negatives)
        jobs.append((name, options, fit, stop, test, str(out / name), golds))
    summary = {
        "train": args.train, "split_by_document": args.split_by_document, "seed": args.seed,
        "early_stopping_fraction": args.early_stopping_fraction,
        "sentences": {"train": len(fit), "early_stopping_dev": len(stop), "test": len(test)},
        "options": asdict(_options(args)), "runs": {},
    }

    def record_result(name: str, record: dict) -> None:
        """Add a finished run and rewrite the results files (partial results survive)."""
        summary["runs"][name] = record
        if {"standalone_ner", "standalone_re"} <= set(summary["runs"]) \
                and "pipeline" not in summary["runs"]:
            pipeline = Pipeline(load_model(out / "standalone_ner", device=args.device),
                                load_model(out / "standalone_re", device=args.device))
            summary["runs"]["pipeline"] = {"test_metrics": evaluate(pipeline, test,
                                                                    golds=golds)}
        summary["wall_seconds"] = round(time.monotonic() - started, 1)
        (out / "results.json").write_text(json.dumps(summary, indent=2, default=str))
        (out / "results.md").write_text(grid_markdown(summary))
        print(f"done {name} at {summary['wall_seconds']} s", file=sys.stderr, flush=True)

    if args.workers > 1:
        with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
            for name, record in pool.map(_grid_run_star, jobs):
                record_result(name, record)
    else:
        for job in jobs:
            record_result(*_grid_run(*job))
    print(grid_markdown(summary))
    return 0


def _grid_run_star(job):
    return _grid_run(*job)


def _cells(metrics: dict | None) -> str:
    if metrics is None:
        return "- | - | -"
    return " | ".join(f"{100 * metrics[k]:.2f}" for k in ("precision", "recall", "f1"))


def grid_markdown(summary: dict) -> str:
    """One table per gold standard the runs were scored against, each titled with it."""
    runs = list(summary["runs"].items())
    names = [name for name, _ in gold_blocks(runs[0][1]["test_metrics"])] if runs else []
    tables = [_grid_table(runs, position) for position in range(len(names))]
    return "\n".join(f"Scored against the **{name}** gold:\n\n{table}"
                     for name, table in zip(names, tables))


def _grid_table(runs, position: int) -> str:
    labels = {name: (label, re_head, negatives) for name, _, re_head, negatives, label in GRID}
    labels["pipeline"] = ("Standalone end-to-end (NER -> RE)", "linear", "-")
    lines = [
        "| # | run | method | RE negatives | NER P | NER R | NER F1 | RE gs P | RE gs R | RE gs F1 "
        "| RE e2e P | RE e2e R | RE e2e F1 | epochs (best) | train s |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: |",
    ]
    for number, (name, record) in enumerate(runs, start=1):
        label, _, negatives = labels.get(name, (name, "", ""))
        m = gold_blocks(record["test_metrics"])[position][1]
        epochs = f"{record['epochs_run']} ({record['best_epoch']})" if "epochs_run" in record \
            else "-"
        seconds = f"{record['train_seconds']:.0f}" if "train_seconds" in record else "-"
        lines.append(f"| {number} | {name} | {label} | {negatives} | {_cells(m['ner'])} | "
                     f"{_cells(m['re_gs'])} | {_cells(m['re_end_to_end'])} | {epochs} | "
                     f"{seconds} |")
    return "\n".join(lines) + "\n"


# --- argument parsing -------------------------------------------------------------------------


def _add_runtime(parser) -> None:
    parser.add_argument("--device", default="auto", help="auto|cpu|cuda")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "int8"],
                        help="int8: CPU inference only (evaluate, predict)")
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])


def _add_training(parser, with_mode: bool) -> None:
    parser.add_argument("--train", required=True)
    parser.add_argument("--dev")
    parser.add_argument("--split-by-document", type=float, default=None,
                        help="train on this share of the trials, hold out the rest")
    parser.add_argument("--format", default="brat", choices=ANNOTATED_FORMATS)
    if with_mode:
        parser.add_argument("--mode", default=DEFAULTS["mode"], choices=CLI_MODES)
        parser.add_argument("--re-head", default=DEFAULTS["re_head"], choices=tuple(RE_HEADS))
        parser.add_argument("--negatives", default=DEFAULTS["negatives"],
                            choices=tuple(NEGATIVES))
    parser.add_argument("--encoder", default=None, help="name or path (default: packaged MiniLM)")
    parser.add_argument("--encoder-config", default=None,
                        help="JSON BertConfig overrides: train a RANDOMLY initialised encoder of "
                             "that shape with the --encoder tokenizer (tests, smoke runs)")
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    parser.add_argument("--max-length", type=int, default=DEFAULTS["max_length"])
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"], help="encoder learning rate")
    parser.add_argument("--head-lr", type=float, default=DEFAULTS["head_lr"])
    parser.add_argument("--label-embedding-dim", type=int,
                        default=DEFAULTS["label_embedding_dim"])
    parser.add_argument("--pooling", default=DEFAULTS["pooling"], choices=tuple(POOLINGS))
    parser.add_argument("--entity-layer", default=DEFAULTS["entity_layer"],
                        choices=tuple(ENTITY_LAYERS),
                        help="bio: the paper's tagger (flat entities); span: nested, "
                             "overlapping and discontinuous entities")
    parser.add_argument("--max-span-width", type=int, default=DEFAULTS["max_span_width"],
                        help="span layer: widest entity fragment, in words")
    parser.add_argument("--patience", type=int, default=DEFAULTS["patience"])
    parser.add_argument("--min-steps", type=int, default=DEFAULTS["min_steps"],
                        help="at least this many steps (more epochs on little data); "
                             "0: the paper's fixed epochs")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--limit-docs", type=int, default=None)
    parser.add_argument("--out", required=True)
    _add_runtime(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mlcore")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train one model (or a pipeline)")
    _add_training(train, with_mode=True)
    train.set_defaults(func=cmd_train)
    evaluate = sub.add_parser("evaluate", help="score a model; prints one JSON object")
    evaluate.add_argument("--model", required=True)
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--format", default="brat", choices=ANNOTATED_FORMATS)
    evaluate.add_argument("--table", action="store_true", help="Markdown instead of JSON")
    evaluate.add_argument("--split-by-document", type=float, default=None,
                          help="score only the held-out part of this split of --data (the "
                               "test set of train/grid with the same fraction and --seed)")
    evaluate.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    evaluate.add_argument("--limit-docs", type=int, default=None,
                          help="read only the first N documents (as train/grid do)")
    evaluate.add_argument("--ignore-types", default="",
                          help="comma-separated entity types left out of the scores")
    evaluate.add_argument("--gold", type=gold_names, default=list(DEFAULT_GOLDS),
                          help="comma-separated gold standards scored against, the first at "
                               f"the top level: {', '.join(GOLDS)} (default "
                               f"{','.join(DEFAULT_GOLDS)}; chia11 = Tian et al. 2021's protocol)")
    _add_runtime(evaluate)
    evaluate.set_defaults(func=cmd_evaluate)
    predict = sub.add_parser("predict", help="JSONL of per-sentence predictions + uncertainty")
    predict.add_argument("--model", required=True)
    predict.add_argument("--data", required=True)
    predict.add_argument("--format", default="brat", choices=ANNOTATED_FORMATS)
    predict.add_argument("--out", required=True)
    _add_runtime(predict)
    predict.set_defaults(func=cmd_predict)
    grid = sub.add_parser("grid", help="the paper's Table 4 family for one encoder")
    _add_training(grid, with_mode=False)
    grid.add_argument("--early-stopping-fraction", type=float, default=0.1,
                      help="share of the training trials held out for early stopping")
    grid.add_argument("--workers", type=int, default=1, help="runs trained in parallel")
    grid.add_argument("--only", nargs="*", help="run names to keep")
    grid.set_defaults(func=cmd_grid, mode=DEFAULTS["mode"], re_head=DEFAULTS["re_head"],
                      negatives=DEFAULTS["negatives"], split_by_document=0.8)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
