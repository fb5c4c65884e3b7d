"""The queue through the REST API: next by the ranking with its claim, the claims list and
their release by managers."""
import pytest

from annotation.models import Claim, Sentence, SentenceScore
from tests.annotation.ml_fixtures import make_version
from tests.browser.scenario import make_document

NEXT = "/api/projects/trial/queue/next/"
CLAIMS = "/api/projects/trial/claims/"


@pytest.fixture
def ranked(project):
    make_document(project)
    sentences = list(Sentence.objects.filter(project=project).order_by("index"))
    version = make_version(project)
    SentenceScore.objects.bulk_create(
        SentenceScore(project=project, sentence=s, model_version=version, score=i / 10,
                      scores={"combined": i / 10, "mnlp": i / 5})
        for i, s in enumerate(sentences))
    return sentences[::-1]


def test_next_serves_by_ranking_with_the_reason(api_for, users, ranked, project):
    # the default ranking (auto): the random order
    cold = api_for(users["annotator"]).post(NEXT, {}, format="json").json()
    assert cold["rank"]["strategy"] == "random"
    project.model_options = {**project.model_options, "strategy": "combined"}
    project.save()
    body = api_for(users["annotator"]).post(NEXT, {}, format="json").json()
    assert body["sentence"]["id"] == ranked[0].pk
    assert body["rank"] == {"model_version": "model v1", "strategy": "combined", "score": 0.3,
                            "parts": {"combined": 0.3, "mnlp": 0.6}, "position": 1, "seeded": None}
    skipped = api_for(users["reviewer"]).post(NEXT, {"skipped": [ranked[1].pk]}, format="json")
    assert skipped.json()["sentence"]["id"] == ranked[2].pk


def test_next_with_nothing_left_and_bad_input(api_for, users, ranked):
    Sentence.objects.update(status="done")
    client = api_for(users["annotator"])
    assert client.post(NEXT, {}, format="json").json() == {"sentence": None, "rank": None}
    bad = client.post(NEXT, {"skipped": ["x"]}, format="json")
    assert bad.status_code == 400 and "skipped" in bad.json()["error"]["details"]


def test_managers_list_and_release_claims(api_for, users, ranked):
    api_for(users["annotator"]).post(NEXT, {}, format="json")
    claim = Claim.objects.get()
    assert api_for(users["reviewer"]).get(CLAIMS).status_code == 403
    assert api_for(users["annotator"]).delete(f"{CLAIMS}{claim.pk}/").status_code == 403
    manager = api_for(users["manager"])
    rows = manager.get(CLAIMS).json()["results"]
    assert [(r["sentence"], r["user"], r["document"]) for r in rows] == [
        (ranked[0].pk, "annotator", "NCT00000001_inc")]
    assert manager.delete(f"{CLAIMS}{claim.pk}/").status_code == 204
    assert not Claim.objects.exists()
    assert manager.delete(f"{CLAIMS}{claim.pk}/").status_code == 404
