"""API fixtures: the annotation fixtures (users with roles, ``project``/``imported_project``)
plus model-in-the-loop rows and a second project whose objects must stay invisible."""
import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from annotation.models import (
    Entity, ImportJob, ModelVersion, PredictedEntity, PredictedRelation, Relation, Role, Sentence,
    SentenceScore, TrainingRun, TrainingRunStatus,
)
from tests.annotation.conftest import (  # noqa: F401  (fixtures)
    PASSWORD, SMALL_SCHEMA, client_for, imported_project, make_user, project, users,
)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle and login-failure counters must not leak from one test into the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_for(db):
    def make(user) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


def seed_ml(project, user=None) -> dict:
    """An active model v1 with one entity and one relation suggestion on an open sentence."""
    sentence = Sentence.objects.filter(project=project).order_by("document__name", "index").first()
    run = TrainingRun.objects.create(project=project, status=TrainingRunStatus.SUCCEEDED, started_by=user)
    version = ModelVersion.objects.create(project=project, number=1, run=run, checkpoint_dir="/nonexistent",
                                          is_active=True, dev_metrics={"ner": {"f1": 0.5}})
    # Condition -is negated-> Negation: a relation suggestion the schema allows
    types = {t.name: t for t in project.entity_types.all()}
    a = PredictedEntity.objects.create(model_version=version, sentence=sentence, type=types["Condition"],
                                       fragments=[[sentence.start, sentence.start + 3]],
                                       start=sentence.start, end=sentence.start + 3, probability=0.6)
    b = PredictedEntity.objects.create(model_version=version, sentence=sentence, type=types["Negation"],
                                       fragments=[[sentence.start + 4, sentence.start + 8]],
                                       start=sentence.start + 4, end=sentence.start + 8, probability=0.7)
    relation = PredictedRelation.objects.create(model_version=version, sentence=sentence,
                                                type=project.relation_types.get(name="is negated"),
                                                head=a, tail=b, probability=0.55)
    SentenceScore.objects.create(project=project, sentence=sentence, model_version=version,
                                 scores={"combined": 0.9}, score=0.9)
    job = ImportJob.objects.create(project=project, user=user, format="jsonl", file_name="x.jsonl",
                                   path="/nonexistent", status="succeeded")
    return {"sentence": sentence, "version": version, "run": run, "pe": a, "pe2": b, "pr": relation,
            "job": job}


def objects_of(project) -> dict:
    """Ids of one object of each kind in ``project`` (after ``seed_ml``)."""
    sentence = Sentence.objects.filter(project=project, entities__isnull=False).order_by("pk").first()
    entity = Entity.objects.filter(sentence=sentence).first()
    relation = Relation.objects.filter(document__project=project, sentence__isnull=False).first()
    return {
        "project": project.name,
        "document": sentence.document_id,
        "sentence": sentence.pk,
        "version": sentence.version,
        "entity": entity.pk,
        "relation_sentence": relation.sentence_id,
        "relation": relation.pk,
        "pe": PredictedEntity.objects.filter(sentence__project=project).first().pk,
        "pr": PredictedRelation.objects.filter(sentence__project=project).first().pk,
        "model": ModelVersion.objects.filter(project=project).first().number,
        "run": TrainingRun.objects.filter(project=project).first().pk,
        "job": ImportJob.objects.filter(project=project).first().pk,
        "entity_type": project.entity_types.first().pk,
    }


@pytest.fixture
def seeded(imported_project, users):
    seed_ml(imported_project, users["manager"])
    return objects_of(imported_project)


@pytest.fixture
def other_project(db, make_user):
    """Project ``secret`` (brat fixture imported, ML rows seeded) with its own manager only."""
    from annotation.services.corpus_io import corpus_import
    from annotation.services.projects import membership_set, project_create
    from tests.annotation.conftest import FIXTURES

    owner = make_user("secret-owner")
    other = project_create(name="secret", title="Secret", schema=SMALL_SCHEMA)
    membership_set(project=other, user=owner, role=Role.MANAGER)
    corpus_import(project=other, path=FIXTURES / "brat_small", fmt="brat")
    seed_ml(other, owner)
    return objects_of(other)
