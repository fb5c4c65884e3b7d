"""Document list (search, filters, pagination) and opening a document, over HTTP."""
import pytest
from django.urls import reverse

from annotation.models import Document, Sentence
from annotation.services.annotations import entity_create
from tests.browser.scenario import make_document, span

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def corpus(project, users):
    for n in range(30):
        make_document(project, name=f"NCT{n:08d}_inc")
    first = Sentence.objects.get(document__name="NCT00000003_inc", index=1)
    entity_create(sentence=first, user=users["reviewer"], type=project.entity_types.get(name="Drug"),
                  fragments=[span(first, "metformin")], expected_version=1)
    Sentence.objects.filter(document__name="NCT00000004_inc").update(status="done")
    return project


def get(client, **params):
    return client.get(reverse("document_list", args=["trial"]), params, **HX)


def names(response) -> list[str]:
    html = response.content.decode()
    return [line.split(">")[1].split("<")[0] for line in html.split('<td><a href="')[1:]]


def test_paginated_full_page(client_for, users, corpus, django_assert_max_num_queries):
    client = client_for(users["annotator"])
    with django_assert_max_num_queries(10):
        response = client.get(reverse("document_list", args=["trial"]))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html and "30 documents" in html
    assert "Page 1 of 2" in html
    assert len(names(get(client, page=2))) == 5


def test_htmx_returns_table_only(client_for, users, corpus):
    html = get(client_for(users["annotator"])).content.decode()
    assert "<html" not in html and '<table class="table documents">' in html


def test_search_by_nct_id_and_text(client_for, users, corpus):
    client = client_for(users["annotator"])
    assert names(get(client, q="NCT00000007")) == ["NCT00000007_inc"]
    assert len(names(get(client, q="renal impairment"))) == 25
    assert names(get(client, q="no such words")) == []


def test_search_by_nct_id_in_the_metadata(client_for, users, corpus):
    Document.objects.filter(name="NCT00000009_inc").update(
        name="trial-nine_inc", metadata={"nct_id": "NCT04567890", "section": "inclusion"})
    client = client_for(users["annotator"])
    assert names(get(client, q="NCT04567890")) == ["trial-nine_inc"]
    assert names(get(client, q="nct0456")) == ["trial-nine_inc"]


def test_filters(client_for, users, corpus, project):
    client = client_for(users["annotator"])
    drug = project.entity_types.get(name="Drug")
    assert names(get(client, entity_type=drug.pk)) == ["NCT00000003_inc"]
    assert names(get(client, status="done")) == ["NCT00000004_inc"]
    assert names(get(client, annotator=users["reviewer"].pk)) == ["NCT00000003_inc"]
    assert names(get(client, status="in_progress", annotator=users["manager"].pk)) == []


def test_invalid_filter_values_are_ignored_not_500(client_for, users, corpus):
    response = get(client_for(users["annotator"]), status="bogus", entity_type="x", page="999")
    assert response.status_code == 200


def test_non_member_404(client_for, users, corpus):
    assert client_for(users["outsider"]).get(reverse("document_list", args=["trial"])).status_code == 404


def test_document_open_goes_to_first_open_sentence(client_for, users, corpus):
    client = client_for(users["annotator"])
    document = Document.objects.get(name="NCT00000005_inc")
    Sentence.objects.filter(document=document, index=0).update(status="done")
    response = client.get(reverse("document_open", args=["trial", document.pk]))
    target = Sentence.objects.get(document=document, index=1)
    assert response["Location"] == reverse("sentence_annotate", args=["trial", target.pk])
    assert client.get(reverse("document_open", args=["trial", 999999])).status_code == 404
