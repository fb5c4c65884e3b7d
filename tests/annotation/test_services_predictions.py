"""Pre-annotation storage and the review actions on suggestions."""
import numpy as np
import pytest
from django.core.exceptions import PermissionDenied

from annotation.services import tasks as tasks_service
from annotation.models import (
    Entity, ModelVersion, PredictedEntity, PredictedRelation, Relation, Sentence, SentenceScore,
    SentenceStatus, Source, SuggestionStatus,
)
from annotation.services.predictions import (
    SentenceVersionConflict, SuggestionError, predicted_entity_accept, predicted_entity_reject,
    predicted_relation_accept, predicted_relation_reject, predictions_accept_all,
    predictions_generate, predictions_refresh_for_sentences,
)
from mlcore.inference import PredictedEntity as Entity_, PredictedRelation as Relation_, SentencePrediction
from tests.annotation.ml_fixtures import make_version, ml_project, suggest, suggest_relation  # noqa: F401


class PredictCalls(list):
    """Batch sizes ``predict`` was called with; ``loads``: the options of each model load;
    ``extras``: the ``mc_samples`` and ``vectors`` of each call."""

    loads: list
    extras: list


@pytest.fixture
def stub_inference(monkeypatch):
    """mlcore.inference with a fixed model: 'No' -> Negation, the 4th word -> Condition."""
    from mlcore import inference

    calls = PredictCalls()

    def predict(model, examples, batch_size=64, *, mc_samples=0, vectors=False):
        calls.append(len(examples))
        calls.extras.append((mc_samples, vectors))
        result = []
        for i, example in enumerate(examples):
            words = example.text.split()
            entities, relations = [], []
            if words[0] == "No":
                entities = [Entity_(0, 2, "Negation", 0.95, confidence=0.85),
                            Entity_(example.text.index(words[3]),
                                    example.text.index(words[3]) + len(words[3]), "Condition", 0.6)]
                relations = [Relation_(1, 0, "is negated", 0.7, 0.55)]
            uncertainty = {"combined": 0.1 * (i % 7), "mnlp": 1.0 - 0.1 * (i % 7),
                           "per_input": 0.33 + 0.05 * (i % 5), "random": 0.51 - 0.01 * (i % 5)}
            if mc_samples:
                uncertainty["bald"] = 0.02 * (i % 3)
            result.append(SentencePrediction(
                example.text, entities, relations, uncertainty=uncertainty,
                vector=np.array([1.0, 0.0] if words[0] == "No" else [0.0, 1.0]) if vectors else None,
            ))
        return result

    def load_model(path, **options):
        loads.append(options)
        return object()

    loads = []
    monkeypatch.setattr(inference, "load_model", load_model)
    monkeypatch.setattr(inference, "predict", predict)
    calls.loads, calls.extras = loads, []
    return calls


def test_preannotation_is_int8_on_a_cpu_without_bf16_unless_set(ml_project, stub_inference, settings,
                                                           monkeypatch):
    from mlcore import devices

    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)
    monkeypatch.setattr(devices.torch.cuda, "is_available", lambda: False)
    predictions_generate(model_version_id=make_version(ml_project).pk)
    settings.ELIGO_INFERENCE_PRECISION = "fp32"
    predictions_generate(model_version_id=make_version(ml_project, number=2, active=False).pk)
    assert stub_inference.loads == [{"precision": "int8"}, {"precision": "fp32"}]


def test_generate_stores_suggestions_in_document_offsets_for_sentences_to_annotate(ml_project, stub_inference):
    version = make_version(ml_project)
    assert predictions_generate(model_version_id=version.pk, batch_size=4) == 10
    assert stub_inference == [4, 4, 2]
    scores = SentenceScore.objects.filter(model_version=version)
    assert scores.count() == 10
    assert not scores.exclude(sentence__status=SentenceStatus.NEW).exists()
    negation = PredictedEntity.objects.filter(type__name="Negation").first()
    document = negation.sentence.document
    assert document.text[negation.start:negation.end] == "No"
    assert negation.fragments == [[negation.start, negation.end]]
    relation = PredictedRelation.objects.first()
    assert (relation.head.type.name, relation.tail.type.name) == ("Condition", "Negation")
    # both the softmax's probability and the calibrated confidence are stored
    assert (negation.probability, negation.calibrated_confidence, negation.confidence) == (0.95, 0.85, 0.85)
    assert (relation.probability, relation.calibrated_confidence) == (0.7, 0.55)
    condition = PredictedEntity.objects.filter(type__name="Condition").first()
    assert condition.calibrated_confidence == condition.probability == 0.6  # not calibrated
    score = scores.first()
    # the project's strategy, auto: the random order
    assert score.score == score.scores["random"]
    assert Entity.objects.filter(source=Source.MODEL).count() == 0
    # idempotent: a second pass predicts nothing
    assert predictions_generate(model_version_id=version.pk) == 0


def test_the_strategy_option_picks_the_ranking_score(ml_project, stub_inference):
    ml_project.model_options = {**ml_project.model_options, "strategy": "mnlp"}
    ml_project.save()
    version = make_version(ml_project)
    predictions_generate(model_version_id=version.pk)
    for score in SentenceScore.objects.all():
        assert score.score == score.scores["mnlp"]


def test_bald_draws_the_heads_and_ranks_by_their_information(ml_project, stub_inference):
    from mlcore.contract import MC_DROPOUT_SAMPLES

    ml_project.model_options = {**ml_project.model_options, "strategy": "bald"}
    ml_project.save()
    predictions_generate(model_version_id=make_version(ml_project).pk)
    assert set(stub_inference.extras) == {(MC_DROPOUT_SAMPLES, False)}
    scores = SentenceScore.objects.all()
    assert scores.exists()
    assert all(score.score == score.scores["bald"] for score in scores)


def test_diverse_ranks_round_robin_over_clusters_most_uncertain_first(ml_project,
                                                                     stub_inference):
    """The stub's vectors put the criteria starting with "No" in one cluster, the rest in
    another: the ranking alternates between them, each one's highest per_input first."""
    ml_project.model_options = {**ml_project.model_options, "strategy": "diverse"}
    ml_project.save()
    version = make_version(ml_project)
    predictions_generate(model_version_id=version.pk, batch_size=4)
    assert set(stub_inference.extras) == {(0, True)}  # vectors, no draws
    ranked = list(SentenceScore.objects.filter(model_version=version)
                  .select_related("sentence").order_by("-score"))
    assert len({r.score for r in ranked}) == len(ranked) == 10
    negated = [r.sentence.text.startswith("No") for r in ranked]
    assert 0 < sum(negated) < 10
    first_two = ranked[:2]
    assert negated[0] != negated[1]
    for top in first_two:
        group = [r for r in ranked if r.sentence.text.startswith("No") == top.sentence.text.startswith("No")]
        assert top.scores["per_input"] == max(r.scores["per_input"] for r in group)
        assert {r.scores["cluster"] for r in group} == {top.scores["cluster"]}


def test_typical_ranks_each_cluster_in_proportion_to_its_size(ml_project, stub_inference):
    """The stub's vectors make two clusters ("No ..." criteria and the rest): every prefix of
    the stored order takes each cluster in proportion to its size (within one criterion),
    the cluster goes into the score parts."""
    ml_project.model_options = {**ml_project.model_options, "strategy": "typical"}
    ml_project.save()
    version = make_version(ml_project)
    predictions_generate(model_version_id=version.pk, batch_size=4)
    assert set(stub_inference.extras) == {(0, True)}
    ranked = list(SentenceScore.objects.filter(model_version=version)
                  .select_related("sentence").order_by("-score"))
    negated = [r.sentence.text.startswith("No") for r in ranked]
    share = sum(negated) / len(negated)
    assert 0 < share < 1 and len({r.score for r in ranked}) == len(ranked)
    for m in range(1, len(ranked) + 1):
        assert abs(sum(negated[:m]) - m * share) <= 1
    for r in ranked:
        assert r.score == r.scores["typical"]
        assert {x.scores["cluster"] for x in ranked
                if x.sentence.text.startswith("No") == r.sentence.text.startswith("No")} == {
            r.scores["cluster"]}


def test_cold_start_ranks_diverse_for_a_small_version_then_per_input(ml_project,
                                                                    stub_inference):
    """``cold_start`` resolves by the version: trained on few criteria with a weak dev score,
    the diverse ranking (vectors computed); on ``COLD_START_CRITERIA`` criteria, per input."""
    from mlcore.contract import COLD_START_CRITERIA

    ml_project.model_options = {**ml_project.model_options, "strategy": "cold_start"}
    ml_project.save()
    small = make_version(ml_project)
    ModelVersion.objects.filter(pk=small.pk).update(train_size=40, dev_size=10,
                                                    dev_metrics={"ner": {"f1": 0.1}})
    predictions_generate(model_version_id=small.pk)
    assert stub_inference.extras == [(0, True)]
    assert all("cluster" in s.scores for s in SentenceScore.objects.filter(model_version=small))
    ModelVersion.objects.filter(pk=small.pk).update(is_active=False)
    large = make_version(ml_project, number=2)
    ModelVersion.objects.filter(pk=large.pk).update(train_size=COLD_START_CRITERIA, dev_size=0)
    predictions_generate(model_version_id=large.pk)
    assert stub_inference.extras[-1] == (0, False)
    for score in SentenceScore.objects.filter(model_version=large):
        assert score.score == score.scores["per_input"]


def test_auto_keeps_the_random_order_however_much_the_version_learnt_from(ml_project,
                                                                          stub_inference):
    version = make_version(ml_project)
    ModelVersion.objects.filter(pk=version.pk).update(train_size=4000, dev_size=1000)
    predictions_generate(model_version_id=version.pk)
    assert SentenceScore.objects.exists()
    for score in SentenceScore.objects.all():
        assert score.score == score.scores["random"]


def test_refresh_hook_queues_the_active_model_for_new_sentences(ml_project, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(tasks_service, "task_send", lambda name, args, task_id=None: sent.append((name, args)))
    ids = list(Sentence.objects.filter(status=SentenceStatus.NEW).values_list("pk", flat=True))
    assert predictions_refresh_for_sentences(sentence_ids=ids) is False  # no active model
    version = make_version(ml_project)
    with django_capture_on_commit_callbacks(execute=True):
        assert predictions_refresh_for_sentences(sentence_ids=ids) is True
    assert sent == [("worker.tasks.preannotate", [version.pk, sorted(ids)])]


@pytest.fixture
def negated(ml_project):
    """A new sentence 'No history of ...' with suggestions Negation, Condition and the relation."""
    sentence = Sentence.objects.filter(status=SentenceStatus.NEW, text__startswith="No ").first()
    version = make_version(ml_project)
    negation = suggest(version, sentence, "No", "Negation", 0.95)
    condition = suggest(version, sentence, sentence.text.split()[3], "Condition", 0.6)
    relation = suggest_relation(condition, negation)
    return sentence, version, negation, condition, relation


def test_accepting_an_entity_creates_a_human_annotation_and_bumps_the_version(negated, users):
    sentence, version, negation, _, _ = negated
    entity = predicted_entity_accept(prediction=negation, user=users["reviewer"], expected_version=1)
    assert (entity.source, entity.source_detail, entity.created_by) == (Source.MODEL, "model v1", users["reviewer"])
    assert (entity.start, entity.end, entity.type.name, entity.sentence) == (negation.start, negation.end, "Negation", sentence)
    negation.refresh_from_db()
    assert negation.status == SuggestionStatus.ACCEPTED and negation.entity == entity
    sentence.refresh_from_db()
    assert sentence.version == 2
    with pytest.raises(SentenceVersionConflict):
        predicted_entity_reject(prediction=negated[3], user=users["reviewer"], expected_version=1)


def test_accepting_reuses_an_identical_human_entity(negated, users):
    sentence, _, negation, _, _ = negated
    human = Entity.objects.create(document=sentence.document, sentence=sentence, type=negation.type,
                                  fragments=negation.fragments, start=negation.start, end=negation.end)
    assert predicted_entity_accept(prediction=negation, user=users["reviewer"]) == human
    assert Entity.objects.filter(sentence=sentence).count() == 1


def test_accepting_a_relation_accepts_its_entities_first(negated, users):
    sentence, _, negation, condition, relation = negated
    created = predicted_relation_accept(prediction=relation, user=users["reviewer"])
    assert created.source == Source.MODEL and created.type.name == "is negated"
    assert (created.head.start, created.tail.start) == (condition.start, negation.start)
    assert set(PredictedEntity.objects.values_list("status", flat=True)) == {SuggestionStatus.ACCEPTED}
    assert Entity.objects.filter(sentence=sentence).count() == 2


def test_rejecting_an_entity_rejects_its_relations_which_then_cannot_be_accepted(negated, users):
    _, _, negation, condition, relation = negated
    predicted_entity_reject(prediction=negation, user=users["reviewer"])
    relation.refresh_from_db()
    assert relation.status == SuggestionStatus.REJECTED
    with pytest.raises(SuggestionError):
        predicted_relation_accept(prediction=relation, user=users["reviewer"])
    with pytest.raises(SuggestionError):
        predicted_entity_accept(prediction=negation, user=users["reviewer"])
    assert not Entity.objects.filter(source=Source.MODEL).exists()
    assert not Relation.objects.filter(source=Source.MODEL).exists()


def test_a_relation_whose_entity_was_rejected_is_refused(negated, users):
    _, _, negation, condition, relation = negated
    PredictedEntity.objects.filter(pk=negation.pk).update(status=SuggestionStatus.REJECTED)
    with pytest.raises(SuggestionError):
        predicted_relation_accept(prediction=relation, user=users["reviewer"])
    predicted_relation_reject(prediction=relation, user=users["reviewer"])
    relation.refresh_from_db()
    assert relation.status == SuggestionStatus.REJECTED


def test_accept_all_and_accept_above_threshold(negated, users):
    sentence, version, negation, condition, relation = negated
    counts = predictions_accept_all(sentence=sentence, model_version=version, user=users["reviewer"], threshold=0.9)
    assert counts == {"entities": 1, "relations": 0}
    assert PredictedEntity.objects.get(pk=condition.pk).status == SuggestionStatus.PENDING
    counts = predictions_accept_all(sentence=sentence, model_version=version, user=users["reviewer"])
    assert counts == {"entities": 1, "relations": 1}
    assert Relation.objects.get(source=Source.MODEL).source_detail == "model v1"
    sentence.refresh_from_db()
    assert sentence.version == 3
    assert predictions_accept_all(sentence=sentence, model_version=version, user=users["reviewer"]) == {
        "entities": 0, "relations": 0}


@pytest.mark.parametrize("accept", [
    lambda s, v, negation, relation, user: predicted_entity_accept(prediction=negation, user=user,
                                                                   expected_version=1),
    lambda s, v, negation, relation, user: predicted_relation_accept(prediction=relation, user=user,
                                                                     expected_version=1),
    lambda s, v, negation, relation, user: predictions_accept_all(
        sentence=s, model_version=v, user=user, expected_version=1),
], ids=["entity", "relation", "all"])
def test_accepting_moves_a_new_sentence_to_in_progress_like_a_hand_made_edit(
        negated, users, accept):
    sentence, version, negation, _, relation = negated
    assert sentence.status == SentenceStatus.NEW
    accept(sentence, version, negation, relation, users["reviewer"])
    sentence.refresh_from_db()
    assert (sentence.status, sentence.version, sentence.updated_by) == (
        SentenceStatus.IN_PROGRESS, 2, users["reviewer"])


def test_rejecting_leaves_status_and_version_alone(negated, users):
    sentence, _, negation, _, _ = negated
    predicted_entity_reject(prediction=negation, user=users["reviewer"], expected_version=1)
    sentence.refresh_from_db()
    assert (sentence.status, sentence.version) == (SentenceStatus.NEW, 1)


def test_a_done_sentence_keeps_its_status_when_a_suggestion_is_accepted(negated, users):
    sentence, _, negation, _, _ = negated
    Sentence.objects.filter(pk=sentence.pk).update(status=SentenceStatus.DONE)
    predicted_entity_accept(prediction=negation, user=users["reviewer"], expected_version=1)
    sentence.refresh_from_db()
    assert (sentence.status, sentence.version) == (SentenceStatus.DONE, 2)


@pytest.mark.parametrize("decide", [
    lambda s, v, negation, relation, user: predicted_entity_accept(prediction=negation, user=user),
    lambda s, v, negation, relation, user: predicted_entity_reject(prediction=negation, user=user),
    lambda s, v, negation, relation, user: predicted_relation_accept(prediction=relation, user=user),
    lambda s, v, negation, relation, user: predicted_relation_reject(prediction=relation, user=user),
    lambda s, v, negation, relation, user: predictions_accept_all(sentence=s, model_version=v,
                                                                  user=user),
], ids=["entity-accept", "entity-reject", "relation-accept", "relation-reject", "all"])
def test_the_services_refuse_annotators_and_outsiders_whoever_calls_them(negated, users, decide):
    sentence, version, negation, _, relation = negated
    for name in ("annotator", "outsider"):
        with pytest.raises(PermissionDenied, match="needs the reviewer role"):
            decide(sentence, version, negation, relation, users[name])
    assert set(PredictedEntity.objects.values_list("status", flat=True)) == {SuggestionStatus.PENDING}
    assert PredictedRelation.objects.get().status == SuggestionStatus.PENDING
    assert not Entity.objects.filter(source=Source.MODEL).exists()


def test_overlapping_and_discontinuous_predictions_are_stored_and_accepted_whole(
        ml_project, monkeypatch, users):
    """The span layer's output: a discontinuous entity (first and fourth word) and an entity
    overlapping it; both are stored with their fragments, and accepting keeps them whole."""
    from mlcore import inference

    def predict(model, examples, batch_size=64):
        result = []
        for example in examples:
            text = example.text
            words = text.split()
            fourth = text.index(words[3])
            second_end = text.index(words[1]) + len(words[1])
            whole = Entity_(0, fourth + len(words[3]), "Condition", 0.8,
                            [(0, len(words[0])), (fourth, fourth + len(words[3]))])
            result.append(SentencePrediction(text, [whole, Entity_(0, second_end, "Drug", 0.7)],
                                             [], uncertainty={"combined": 0.3}))
        return result

    monkeypatch.setattr(inference, "load_model", lambda path, **options: object())
    monkeypatch.setattr(inference, "predict", predict)
    version = make_version(ml_project)
    predictions_generate(model_version_id=version.pk)
    discontinuous = PredictedEntity.objects.filter(type__name="Condition").first()
    sentence = discontinuous.sentence
    words = sentence.text.split()
    text = sentence.document.text
    assert [text[a:b] for a, b in discontinuous.fragments] == [words[0], words[3]]
    overlapping = PredictedEntity.objects.get(sentence=sentence, type__name="Drug")
    assert overlapping.start == discontinuous.start < overlapping.end < discontinuous.end
    entity = predicted_entity_accept(prediction=discontinuous, user=users["reviewer"])
    assert entity.fragments == discontinuous.fragments
    other = predicted_entity_accept(prediction=overlapping, user=users["reviewer"])
    assert Entity.objects.filter(sentence=sentence).count() == 2 and other.pk != entity.pk


def test_the_task_predicts_the_shortest_criteria_first(ml_project, stub_inference,
                                                       monkeypatch):
    """Chunks of similar length: ``predict`` sorts only within a call, so a chunk in document
    order would pad its batches to its longest criterion."""
    from annotation.services.predictions import sentences_to_preannotate
    from mlcore import inference

    version = make_version(ml_project)
    lengths = [s.end - s.start for s in sentences_to_preannotate(version=version)]
    assert lengths == sorted(lengths) and len(set(lengths)) > 1
    chunks, stub = [], inference.predict

    def recording(model, examples, *args, **kwargs):
        chunks.append([len(e.text) for e in examples])
        return stub(model, examples, *args, **kwargs)

    monkeypatch.setattr(inference, "predict", recording)
    predictions_generate(model_version_id=version.pk, batch_size=3)
    assert len(chunks) > 1 and sum(map(len, chunks)) == len(lengths)
    assert all(max(a) <= min(b) for a, b in zip(chunks, chunks[1:]))
