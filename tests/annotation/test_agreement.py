"""The agreement report read from the layers in the database: selector, ``manage.py
agreement --json``, the API and the pages (figures: tests/mlcore/test_corpus_agreement.py)."""
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from annotation.models import Entity, Sentence
from annotation.selectors.agreement import agreement_report
from tests.annotation.agreement_fixtures import agreement_project  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
STRICT, RELAXED, KAPPA = round(8 / 13, 4), round(12 / 13, 4), round(59 / 124, 4)


def _figures(report) -> tuple:
    return (report["entities"]["strict_f1"], report["entities"]["relaxed_f1"],
            report["relations"]["strict_f1"], report["kappa"])


def test_report_of_the_layers_in_the_database(agreement_project):
    report = agreement_report(project=agreement_project)
    assert report["annotators"] == ["alice", "bob"]
    assert _figures(report) == (STRICT, RELAXED, 0.5, KAPPA)
    criteria = report["pairs"][0]["criteria"]
    ids = dict(Sentence.objects.filter(project=agreement_project).values_list("index", "pk"))
    assert [(c["sentence"], c["sentence_id"], c["entities"], c["relations"]) for c in criteria] == [
        (0, ids[0], 2, 2), (1, ids[1], 3, 0)]


def test_the_shared_layer_is_not_an_annotator(agreement_project):
    """Rows without annotator (the curated layer) take part in no pair."""
    bob_entity = Entity.objects.filter(annotator__username="bob", type__name="Temporal").get()
    Entity.objects.create(document=bob_entity.document, sentence=bob_entity.sentence,
                          type=bob_entity.type, fragments=bob_entity.fragments,
                          start=bob_entity.start, end=bob_entity.end, annotator=None)
    assert _figures(agreement_report(project=agreement_project)) == (STRICT, RELAXED, 0.5, KAPPA)


def test_command_json(agreement_project):
    out = StringIO()
    call_command("agreement", "--project", "iaa", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert _figures(report) == (STRICT, RELAXED, 0.5, KAPPA)
    assert len(report["pairs"]) == 1
    pair = report["pairs"][0]
    assert pair["annotators"] == ["alice", "bob"] and _figures(pair) == _figures(report)


def test_command_table_and_errors(agreement_project, project):
    out = StringIO()
    call_command("agreement", "--project", "iaa", stdout=out)
    assert f"alice / bob\t1\t{STRICT:.3f}\t{RELAXED:.3f}\t0.500\t{KAPPA:.3f}" in out.getvalue()
    with pytest.raises(CommandError, match="No project named 'nope'"):
        call_command("agreement", "--project", "nope")
    with pytest.raises(CommandError, match="at least two annotators"):
        call_command("agreement", "--project", project.name)


def test_api(agreement_project, users, client_for):
    url = "/api/projects/iaa/agreement/"
    body = client_for(users["reviewer"]).get(url).json()
    assert _figures(body) == (STRICT, RELAXED, 0.5, KAPPA)
    assert body["pairs"][0]["entities"]["by_type"]["Procedure"]["relaxed_f1"] == 1.0
    assert client_for(users["annotator"]).get(url).status_code == 403
    assert client_for(users["outsider"]).get(url).status_code == 404


def test_page_matrix_types_and_criteria(agreement_project, users, client_for):
    client = client_for(users["manager"])
    html = client.get("/projects/iaa/agreement/").content.decode()
    assert 'id="agreement-matrix"' in html and html.count('data-pair="alice,bob"') == 3
    assert f'data-figure="entities.strict_f1">{STRICT:.3f}<' in html
    assert f'data-figure="kappa">{KAPPA:.3f}<' in html
    assert '<tr data-type="Procedure">' in html
    ids = dict(Sentence.objects.filter(project=agreement_project).values_list("index", "pk"))
    assert f"/projects/iaa/agreement/sentences/{ids[1]}/?pair=alice,bob" in html
    assert client_for(users["annotator"]).get("/projects/iaa/agreement/").status_code == 403


def test_page_refuses_a_bad_pair(agreement_project, users, client_for):
    client = client_for(users["reviewer"])
    for query in ("pair=alice", "pair=alice,alice", "pair=alice,reviewer"):
        response = client.get(f"/projects/iaa/agreement/?{query}")
        assert response.status_code == 400, query
    assert b"No annotation layer of reviewer" in response.content


def test_drill_down_marks_both_sides(agreement_project, users, client_for):
    sentence = Sentence.objects.get(project=agreement_project, index=1)
    html = client_for(users["reviewer"]).get(
        f"/projects/iaa/agreement/sentences/{sentence.pk}/?pair=alice,bob").content.decode()
    alice, bob = html.split('data-annotator="bob"')
    assert 'data-mark="overlap" data-entity="Procedure:insulin therapy"' in alice
    assert 'data-mark="agreed" data-entity="Drug:metformin"' in alice
    assert 'data-mark="only" data-entity="Temporal:prior"' in bob
    assert 'data-mark="overlap" data-entity="Procedure:metformin therapy"' in bob
    assert 'data-mark="agreed" data-relation="OR"' in alice


def test_the_cached_report_follows_an_edit_in_a_layer(agreement_project, users, client_for):
    from annotation.selectors.layers import sentence_in_layer
    from annotation.services.annotations import entity_delete

    url = "/api/projects/iaa/agreement/"
    client = client_for(users["reviewer"])
    assert client.get(url).json()["entities"]["strict_f1"] == STRICT
    temporal = Entity.objects.get(annotator__username="bob", type__name="Temporal")
    sentence = sentence_in_layer(sentence=temporal.sentence, layer=temporal.annotator_id)
    entity_delete(sentence=sentence, user=temporal.annotator, entity_id=temporal.pk,
                  expected_version=sentence.version)
    assert client.get(url).json()["entities"]["strict_f1"] == round(8 / 12, 4)
