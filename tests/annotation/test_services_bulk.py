"""The multi-row insert that stores a version's suggestions and scores."""
import pytest

from annotation.models import PredictedEntity, Sentence, SentenceScore, SuggestionStatus
from annotation.services.bulk import ROWS_PER_STATEMENT, rows_insert
from tests.annotation.ml_fixtures import make_version, ml_project  # noqa: F401

pytestmark = pytest.mark.django_db


def test_rows_come_back_with_ids_in_order_and_the_fields_defaults(ml_project):
    version = make_version(ml_project)
    sentence = Sentence.objects.filter(project=ml_project).first()
    condition = ml_project.entity_types.get(name="Condition")
    count = ROWS_PER_STATEMENT + 3  # two statements
    rows = [(version.pk, sentence.pk, condition.pk, [[k, k + 1], [k + 3, k + 4]], k, k + 4,
             0.5, None) for k in range(count)]
    ids = rows_insert(PredictedEntity, ("model_version_id", "sentence_id", "type_id",
                                        "fragments", "start", "end", "probability",
                                        "calibrated_confidence"), rows, returning_ids=True)
    assert len(ids) == count == len(set(ids))
    stored = {e.pk: e for e in PredictedEntity.objects.filter(pk__in=ids)}
    for k, pk in enumerate(ids):
        entity = stored[pk]
        assert (entity.start, entity.fragments) == (k, [[k, k + 1], [k + 3, k + 4]])
        assert entity.status == SuggestionStatus.PENDING and entity.entity_id is None
        assert entity.calibrated_confidence is None and entity.decided_by_id is None


def test_ignore_conflicts_keeps_the_row_already_there(ml_project):
    version = make_version(ml_project)
    first, second = Sentence.objects.filter(project=ml_project)[:2]
    names = ("project_id", "sentence_id", "model_version_id", "scores", "score")
    rows_insert(SentenceScore, names, [(ml_project.pk, first.pk, version.pk, {"mnlp": 0.1}, 0.1)])
    rows_insert(SentenceScore, names, [(ml_project.pk, first.pk, version.pk, {"mnlp": 0.9}, 0.9),
                                       (ml_project.pk, second.pk, version.pk, {"mnlp": 0.2}, 0.2)],
                ignore_conflicts=True)
    kept = SentenceScore.objects.get(sentence=first)
    assert (kept.score, kept.scores) == (0.1, {"mnlp": 0.1})
    added = SentenceScore.objects.get(sentence=second)
    assert added.is_open is True and added.created_at is not None and added.score == 0.2
    with pytest.raises(ValueError):
        rows_insert(SentenceScore, names, [], returning_ids=True, ignore_conflicts=True)
