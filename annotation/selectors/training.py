"""Reads for the active-learning loop: model options, training data, runs, versions, charts."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from annotation.models import (
    ACTIVE_RUN_STATUSES, Document, Entity, ModelVersion, PredictedEntity, PredictedRelation,
    Project, Relation, Sentence, SentenceStatus, SuggestionStatus, TrainingRun,
)
from mlcore.contract import (
    MODEL_OPTION_DEFAULTS, dev_score, dev_split_by_trial, strategy_for, trial_of,
)
from mlcore.corpus.model import Document as CorpusDocument
from mlcore.corpus.model import Entity as CorpusEntity
from mlcore.corpus.model import Fragment, SentenceExample, sentence_examples
from mlcore.corpus.model import Relation as CorpusRelation
from mlcore.corpus.model import Sentence as CorpusSentence

TRAINING_STATUSES = (SentenceStatus.DONE, SentenceStatus.REVIEWED)


def model_options_get(project: Project) -> dict:
    """The project's effective model options: defaults, then the project's own values."""
    options = dict(MODEL_OPTION_DEFAULTS)
    options.update({k: v for k, v in (project.model_options or {}).items() if k in options})
    if not options["encoder"]:
        options["encoder"] = settings.ELIGO_ENCODER
    return options


def ranking_strategy(*, version: ModelVersion, project: Project | None = None) -> str:
    """The score the version's predictions rank its project by: the project's strategy option,
    resolved by ``mlcore.contract.strategy_for`` (``cold_start`` by the criteria the version
    was trained on and its dev score, :func:`primary_f1`)."""
    option = model_options_get(project or version.project)["strategy"]
    if option != "cold_start":
        return strategy_for(option)
    return strategy_for(option, criteria=(version.train_size or 0) + (version.dev_size or 0),
                        dev_f1=primary_f1(version.dev_metrics or {}))


# --- the training data snapshot --------------------------------------------------------


def training_criteria_count(*, project: Project) -> int:
    """How many of the project's criteria a Retrain would train and validate on."""
    return Sentence.objects.filter(project=project, status__in=TRAINING_STATUSES).count()


def training_examples(project: Project, statuses=TRAINING_STATUSES, *,
                      flat: bool = True) -> list[SentenceExample]:
    """The model examples of the project's sentences with ``statuses`` (done and reviewed).

    Only those sentences, their entities (attached by first fragment) and the relations
    between them are read, from the shared (curated) layer; flattening follows
    ``mlcore.corpus.sentence_examples`` (``flat`` False: every entity kept, for the span entity
    layer).
    """
    sentences = list(
        Sentence.objects.filter(project=project, status__in=statuses)
        .order_by("document_id", "index").values("id", "document_id", "start", "end")
    )
    sentence_ids = [s["id"] for s in sentences]
    documents = Document.objects.filter(id__in={s["document_id"] for s in sentences}).only("name", "text")
    corpus = {
        d.pk: CorpusDocument(name=d.name, text=d.text) for d in documents
    }
    for s in sentences:
        corpus[s["document_id"]].sentences.append(CorpusSentence(s["start"], s["end"]))
    entities = Entity.objects.filter(sentence_id__in=sentence_ids, annotator__isnull=True)
    for e in entities.select_related("type"):
        fragments = tuple(Fragment(int(a), int(b)) for a, b in e.fragments)
        corpus[e.document_id].entities.append(CorpusEntity(str(e.pk), e.type.name, fragments))
    relations = Relation.objects.filter(
        head__sentence_id__in=sentence_ids, tail__sentence_id__in=sentence_ids,
        annotator__isnull=True,
    ).select_related("type")
    for r in relations:
        corpus[r.document_id].relations.append(
            CorpusRelation(str(r.pk), r.type.name, str(r.head_id), str(r.tail_id))
        )
    examples = []
    for document in sorted(corpus.values(), key=lambda d: d.name):
        examples += sentence_examples(document, flat=flat)
    return examples


def document_trials(*, project: Project) -> dict[str, str]:
    """Each document name of the project -> its trial (``mlcore.contract.trial_of``: the NCT id
    of its metadata or name, else the document itself)."""
    documents = Document.objects.filter(project=project).values_list("name", "metadata")
    return {name: trial_of(name, metadata) for name, metadata in documents}


def training_data_split(
    examples: list[SentenceExample], *, trials: dict[str, str] | None = None,
    dev_fraction: float, seed: int,
) -> tuple[list[SentenceExample], list[SentenceExample]]:
    """``(train, dev)`` split by trial: a trial's documents (its ``_inc`` and ``_exc``
    criteria) stay on one side, and a trial stays on its side as the project grows
    (``mlcore.contract.dev_split_by_trial``). ``trials`` maps document names to trials
    (:func:`document_trials`); a name it lacks is read by ``trial_of`` alone.

    With two or more trials each side gets at least one; with one the dev side stays empty.
    """
    trials = trials or {}

    def trial(example: SentenceExample) -> str:
        return trials.get(example.document) or trial_of(example.document)

    return dev_split_by_trial(examples, trial=trial, dev_fraction=dev_fraction, seed=seed)


# --- runs and versions -------------------------------------------------------------------


def training_run_active(project: Project) -> TrainingRun | None:
    return TrainingRun.objects.filter(project=project, status__in=ACTIVE_RUN_STATUSES).first()


def training_runs_for_project(project: Project, limit: int = 20) -> list[TrainingRun]:
    return list(
        TrainingRun.objects.filter(project=project).defer("log").select_related("started_by")[:limit]
    )


def model_versions_for_project(project: Project) -> QuerySet[ModelVersion]:
    return ModelVersion.objects.filter(project=project).select_related("started_by", "run")


#: the active version's columns read along with a sentence (the rest load on first use)
ACTIVE_VERSION_FIELDS = ("id", "project_id", "number", "options", "is_active")
_ACTIVE_VERSION = "_active_model_version"


def model_version_active(project: Project) -> ModelVersion | None:
    """The project's active version: the one read along with ``project``, where its reader
    did (:func:`model_version_active_known`: the annotation view's sentence query), so the
    rank, the suggestions and "Annotate next" of one request cost no statement for it;
    else one query."""
    if _ACTIVE_VERSION in project.__dict__:
        return project.__dict__[_ACTIVE_VERSION]
    return ModelVersion.objects.filter(project=project, is_active=True).first()


def model_version_active_known(*, project: Project, version: ModelVersion | None) -> None:
    """Remember on this ``project`` instance (one request's) that ``version`` is its active
    version, as read with it."""
    project.__dict__[_ACTIVE_VERSION] = version


def dev_display_threshold(version: ModelVersion | None) -> float | None:
    """The display threshold chosen on the version's dev split (``mlcore.calibration``);
    None for a version trained without a dev split, or before calibration existed."""
    if version is None:
        return None
    return ((version.dev_metrics or {}).get("calibration") or {}).get("display_threshold")


def primary_f1(metrics: dict) -> float:
    """The number a version is judged by: the contract's dev score of the end-to-end task
    (mean of NER F1 and end-to-end RE F1), whether joint or pipeline."""
    return dev_score("joint", metrics)


# --- the models page: acceptance rates and charts -----------------------------------------


@dataclass
class Acceptance:
    shown: int = 0
    accepted: int = 0
    rejected: int = 0

    @property
    def rate(self) -> float | None:
        """Accepted over shown (every suggestion the model made), None before any."""
        return self.accepted / self.shown if self.shown else None


def _acceptance_rows(model, versions) -> dict[int, dict[str, Acceptance]]:
    rows = (
        model.objects.filter(model_version__in=versions)
        .values("model_version_id", "type__name")
        .annotate(
            shown=Count("id"),
            accepted=Count("id", filter=Q(status=SuggestionStatus.ACCEPTED)),
            rejected=Count("id", filter=Q(status=SuggestionStatus.REJECTED)),
        )
    )
    result: dict[int, dict[str, Acceptance]] = defaultdict(dict)
    for row in rows:
        result[row["model_version_id"]][row["type__name"]] = Acceptance(
            row["shown"], row["accepted"], row["rejected"]
        )
    return result


def acceptance_by_version(versions) -> dict[int, dict]:
    """Per version: entity and relation acceptance, overall (``total``) and per type."""
    result = {}
    entity_rows = _acceptance_rows(PredictedEntity, versions)
    relation_rows = _acceptance_rows(PredictedRelation, versions)
    for version in versions:
        result[version.pk] = {}
        for kind, rows in (("entities", entity_rows), ("relations", relation_rows)):
            per_type = rows.get(version.pk, {})
            total = Acceptance(
                sum(a.shown for a in per_type.values()),
                sum(a.accepted for a in per_type.values()),
                sum(a.rejected for a in per_type.values()),
            )
            result[version.pk][kind] = {"total": total, "per_type": dict(sorted(per_type.items()))}
    return result


CHART_W, CHART_H, PAD = 480, 220, 36
SERIES = (("ner", "NER", "#0072B2"), ("re_end_to_end", "RE end-to-end", "#D55E00"),
          ("re_gs", "RE on gold entities", "#009E73"))


def learning_curve(versions) -> dict:
    """SVG coordinates of dev F1 against training sentences, one polyline per metric."""
    points = sorted(
        ((v.train_size, v.number, v.dev_metrics or {}) for v in versions), key=lambda p: (p[0], p[1])
    )
    max_x = max((p[0] for p in points), default=0) or 1

    def xy(size, f1):
        x = PAD + (CHART_W - 2 * PAD) * size / max_x
        y = CHART_H - PAD - (CHART_H - 2 * PAD) * f1
        return round(x, 1), round(y, 1)

    series = []
    for i, (key, label, color) in enumerate(SERIES):
        coords = [
            (*xy(size, (metrics.get(key) or {}).get("f1") or 0.0), number,
             (metrics.get(key) or {}).get("f1") or 0.0)
            for size, number, metrics in points if key in metrics
        ]
        series.append({
            "label": label, "color": color, "legend_y": 14 + 14 * i,
            "points": [{"x": x, "y": y, "version": n, "f1": f1} for x, y, n, f1 in coords],
            "polyline": " ".join(f"{x},{y}" for x, y, _, _ in coords),
        })
    y_ticks = [{"y": xy(0, t)[1], "label": f"{t:.1f}"} for t in (0, 0.25, 0.5, 0.75, 1.0)]
    x_ticks = [{"x": xy(max_x * t, 0)[0], "label": str(round(max_x * t))} for t in (0, 0.5, 1.0)]
    return {"width": CHART_W, "height": CHART_H, "pad": PAD, "series": series,
            "y_ticks": y_ticks, "x_ticks": x_ticks, "x0": PAD, "y0": CHART_H - PAD,
            "x1": CHART_W - PAD, "y1": PAD}


BAR_H, BAR_GAP, LABEL_W, BAR_W = 16, 6, 170, 260


def per_type_bars(metrics: dict, key: str = "ner") -> dict:
    """Horizontal SVG bars of per-type F1 for one metric of one version."""
    per_type = (metrics.get(key) or {}).get("per_type") or {}
    bars = []
    for i, (name, values) in enumerate(sorted(per_type.items())):
        f1 = (values or {}).get("f1") or 0.0
        y = i * (BAR_H + BAR_GAP)
        bars.append({"name": name, "f1": f1, "y": y, "text_y": y + BAR_H - 4,
                     "width": round(BAR_W * f1, 1), "value_x": LABEL_W + round(BAR_W * f1, 1) + 4})
    return {"bars": bars, "label_w": LABEL_W, "bar_h": BAR_H, "bar_w": BAR_W,
            "width": LABEL_W + BAR_W + 50, "height": max(1, len(bars)) * (BAR_H + BAR_GAP)}
