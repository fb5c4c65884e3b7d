"""HTTP: the review queue page and the suggestion partial's actions."""
import re

from annotation.models import Entity, Sentence, SentenceScore, SentenceStatus, Source, SuggestionStatus
from annotation.views.models import REVIEW_PAGE_SIZE
from tests.annotation.ml_fixtures import make_version, ml_project, suggest, suggest_relation  # noqa: F401


def test_review_page_ranks_filters_and_paginates(ml_project, users, client_for):
    version = make_version(ml_project)
    sentences = list(Sentence.objects.filter(project=ml_project))
    SentenceScore.objects.bulk_create([
        SentenceScore(project=ml_project, sentence=s, model_version=version, score=i / 100)
        for i, s in enumerate(sentences)])
    client = client_for(users["annotator"])
    html = client.get("/projects/trial/review/").content.decode()
    scores = [float(x) for x in re.findall(r'data-score="([\d.]+)"', html)]
    assert len(scores) == min(REVIEW_PAGE_SIZE, len(sentences))
    assert scores == sorted(scores, reverse=True) and scores[0] == (len(sentences) - 1) / 100
    html = client.get("/projects/trial/review/?status=new").content.decode()
    assert len(re.findall(r"data-sentence=", html)) == 10
    assert client.get("/projects/trial/review/?page=2").status_code == 200


def test_accept_reject_and_accept_all_over_http(ml_project, users, client_for):
    version = make_version(ml_project)
    sentence = Sentence.objects.filter(status=SentenceStatus.NEW, text__startswith="No ").first()
    negation = suggest(version, sentence, "No", "Negation", 0.95)
    condition = suggest(version, sentence, sentence.text.split()[3], "Condition", 0.5)
    relation = suggest_relation(condition, negation)
    client = client_for(users["reviewer"])
    base = f"/projects/trial/sentences/{sentence.pk}/suggestions/"
    html = client.get(base).content.decode()
    assert f'data-suggestion="entity-{negation.pk}" data-status="pending"' in html
    # a stale sentence version is refused with 409 and changes nothing
    response = client.post(f"{base}entity/{negation.pk}/accept/", {"version": 99}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409 and not Entity.objects.filter(source=Source.MODEL).exists()
    response = client.post(f"{base}entity/{negation.pk}/accept/", {"version": 1}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Trigger"] == "eligo:annotations-changed"
    assert 'data-sentence-version="2"' in response.content.decode()
    response = client.post(f"{base}relation/{relation.pk}/reject/", {"version": 2}, HTTP_HX_REQUEST="true")
    relation.refresh_from_db()
    assert relation.status == SuggestionStatus.REJECTED
    response = client.post(f"{base}accept-all/", {"version": 2, "threshold": "0.4"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    condition.refresh_from_db()
    assert condition.status == SuggestionStatus.ACCEPTED
    assert Entity.objects.filter(source=Source.MODEL, source_detail="model v1").count() == 2
    assert client.post(f"{base}entity/{negation.pk}/explode/").status_code == 404
    assert client_for(users["outsider"]).get(base).status_code == 404


def test_the_annotation_page_loads_the_suggestion_partial(ml_project, users, client_for):
    sentence = Sentence.objects.filter(status=SentenceStatus.NEW).first()
    html = client_for(users["annotator"]).get(f"/projects/trial/sentences/{sentence.pk}/").content.decode()
    assert f'hx-get="/projects/trial/sentences/{sentence.pk}/suggestions/"' in html


def test_review_page_query_count_does_not_grow_with_documents(ml_project, users, client_for,
                                                            django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotation.models import Document

    version = make_version(ml_project)
    SentenceScore.objects.bulk_create([
        SentenceScore(project=ml_project, sentence=s, model_version=version, score=0.5)
        for s in Sentence.objects.filter(project=ml_project)])
    client = client_for(users["annotator"])
    client.get("/projects/trial/review/")
    with CaptureQueriesContext(connection) as before:
        client.get("/projects/trial/review/")
    Document.objects.bulk_create(Document(project=ml_project, name=f"extra-{i}", text="x")
                                 for i in range(25))
    with django_assert_num_queries(len(before.captured_queries)):
        html = client.get("/projects/trial/review/").content.decode()
    assert all(f">extra-{i}</option>" in html for i in range(25))
