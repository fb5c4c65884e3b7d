"""Reads for training and the models page: options, the data snapshot, runs, charts."""
import re

import pytest

from annotation.models import Sentence, SentenceStatus, SuggestionStatus, TrainingRun
from annotation.selectors import training as sel
from mlcore.contract import MODEL_OPTION_DEFAULTS, data_hash
from tests.annotation.ml_fixtures import make_version, ml_project, suggest  # noqa: F401


def test_model_options_get_merges_defaults_and_ignores_unknown_keys(project, settings):
    settings.ELIGO_ENCODER = "some/encoder"
    project.model_options = {"epochs": 7, "bogus": 1}
    options = sel.model_options_get(project)
    assert options["epochs"] == 7 and "bogus" not in options
    assert options["encoder"] == "some/encoder"
    assert options["batch_size"] == MODEL_OPTION_DEFAULTS["batch_size"]


def test_training_examples_read_only_finished_sentences(ml_project):
    finished = Sentence.objects.filter(project=ml_project, status__in=sel.TRAINING_STATUSES)
    examples = sel.training_examples(ml_project)
    assert len(examples) == finished.count()
    assert {e.text for e in examples} == set(finished.values_list("text", flat=True))
    assert any(e.spans for e in examples) and any(e.relations for e in examples)
    assert data_hash(examples) == data_hash(sel.training_examples(ml_project))
    Sentence.objects.filter(pk=finished.first().pk).update(status=SentenceStatus.NEW)
    assert data_hash(sel.training_examples(ml_project)) != data_hash(examples)


def test_training_data_split_keeps_documents_whole(ml_project):
    examples = sel.training_examples(ml_project)
    train, dev = sel.training_data_split(examples, dev_fraction=0.25, seed=1)
    assert len(train) + len(dev) == len(examples) and dev
    assert not {e.document for e in train} & {e.document for e in dev}
    one_document = [e for e in examples if e.document == examples[0].document]
    assert sel.training_data_split(one_document, dev_fraction=0.5, seed=1)[1] == []


def test_runs_and_versions(ml_project):
    assert sel.training_run_active(ml_project) is None and sel.model_version_active(ml_project) is None
    run = TrainingRun.objects.create(project=ml_project)
    assert sel.training_run_active(ml_project) == run
    assert sel.training_runs_for_project(ml_project) == [run]
    old, new = make_version(ml_project, 1, active=False), make_version(ml_project, 2)
    assert sel.model_version_active(ml_project) == new
    assert set(sel.model_versions_for_project(ml_project)) == {old, new}


def test_primary_f1_is_the_mean_of_ner_and_end_to_end_re():
    assert sel.primary_f1({"ner": {"f1": 0.8}, "re_end_to_end": {"f1": 0.4}}) == pytest.approx(0.6)
    assert sel.primary_f1({}) == 0.0


def test_acceptance_by_version_counts_decisions_per_type(ml_project):
    version = make_version(ml_project)
    sentence = Sentence.objects.filter(project=ml_project).first()
    word = sentence.text.split()[0]
    accepted = suggest(version, sentence, word, "Condition")
    accepted.status = SuggestionStatus.ACCEPTED
    accepted.save()
    suggest(version, sentence, word, "Drug")
    result = sel.acceptance_by_version([version])[version.pk]
    total = result["entities"]["total"]
    assert (total.shown, total.accepted, total.rejected, total.rate) == (2, 1, 0, 0.5)
    assert set(result["entities"]["per_type"]) == {"Condition", "Drug"}
    assert result["relations"]["total"].rate is None


def test_learning_curve_and_per_type_bars(ml_project):
    make_version(ml_project, 1, active=False, train_size=10, dev_metrics={"ner": {"f1": 0.5}})
    make_version(ml_project, 2, train_size=20, dev_metrics={"ner": {"f1": 1.0}})
    curve = sel.learning_curve(list(sel.model_versions_for_project(ml_project)))
    ner = next(s for s in curve["series"] if s["label"] == "NER")
    assert [p["version"] for p in ner["points"]] == [1, 2]
    assert ner["points"][1]["x"] == curve["x1"] and ner["points"][1]["y"] == curve["y1"]
    bars = sel.per_type_bars({"ner": {"per_type": {"Drug": {"f1": 1.0}, "Condition": {"f1": 0.5}}}})
    assert [(b["name"], b["width"]) for b in bars["bars"]] == [("Condition", 130.0), ("Drug", 260.0)]
    assert sel.per_type_bars({})["bars"] == []


def test_training_examples_for_the_span_layer_keep_overlapping_and_discontinuous_entities(
        ml_project):
    from annotation.models import Entity

    entity = Entity.objects.filter(sentence__project=ml_project,
                                   sentence__status__in=sel.TRAINING_STATUSES).first()
    sentence = entity.sentence
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", sentence.text)]
    (a, b), (c, d) = words[0], words[2]
    fragments = [[sentence.start + a, sentence.start + b], [sentence.start + c, sentence.start + d]]
    Entity.objects.create(document=sentence.document, sentence=sentence, type=entity.type,
                          fragments=fragments, start=fragments[0][0], end=fragments[1][1])
    Entity.objects.create(document=sentence.document, sentence=sentence, type=entity.type,
                          fragments=[fragments[0]], start=fragments[0][0], end=fragments[0][1])
    flat = next(e for e in sel.training_examples(ml_project) if e.text == sentence.text)
    spans = next(e for e in sel.training_examples(ml_project, flat=False)
                 if e.text == sentence.text).spans
    assert len(spans) > len(flat.spans)
    assert [(a, b), (c, d)] in [list(s.pieces) for s in spans]
    assert all(not s.fragments for s in flat.spans)
