"""The annotation view over HTTP: permissions, htmx fragments, 409 on stale versions, undo."""
import json

import pytest
from django.db.models import Q
from django.urls import reverse

from annotation.models import (
    Attribute,
    AuditEvent,
    Entity,
    EntityType,
    Group,
    GroupMember,
    Note,
    PredictedEntity,
    PredictedRelation,
    Relation,
    RelationType,
    Sentence,
)
from tests.browser.scenario import make_document, span

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def sentence(project):
    make_document(project)
    return Sentence.objects.get(project=project, index=2)


@pytest.fixture
def types(project):
    return {t.name: t for t in EntityType.objects.filter(project=project)}


def url(sentence, action=None):
    if action is None:
        return reverse("sentence_annotate", args=["trial", sentence.pk])
    if action == "undo":
        return reverse("sentence_undo", args=["trial", sentence.pk])
    return reverse("sentence_action", args=["trial", sentence.pk, action])


def create(client, sentence, type_, words, version):
    return client.post(url(sentence, "entity-create"), {
        "type": type_.pk, "fragments": json.dumps([span(sentence, words)]), "version": version,
    }, **HX)


def test_login_required(client, sentence):
    response = client.get(url(sentence))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_non_member_gets_404(client_for, users, sentence):
    client = client_for(users["outsider"])
    assert client.get(url(sentence)).status_code == 404
    assert client.post(url(sentence, "entity-delete"), {"entity": 1, "version": 1}).status_code == 404


def test_full_page_and_htmx_fragment(client_for, users, sentence, types, django_assert_num_queries):
    client = client_for(users["annotator"])
    create(client, sentence, types["Condition"], "heart failure", 1)
    client.get(url(sentence))  # the first opening claims the criterion (tests/.../test_queue)
    # session, user, sentence + project + role + the active model version (the rank's),
    # context, the annotations (entities, relations and what hangs on them, one query), both
    # type lists (one query), the active model's suggestions (events: none without event
    # types), the claim's expiry moved on
    with django_assert_num_queries(8):
        page = client.get(url(sentence))
    html = page.content.decode()
    assert page.status_code == 200 and "<html" in html and 'id="help"' in html
    assert "No history of heart failure" in html
    assert "Adults with type 2 diabetes" in html  # previous criterion, as greyed context
    fragment = client.get(url(sentence), **HX).content.decode()
    assert "<html" not in fragment and 'id="sentence"' in fragment
    assert 'data-version="2"' in fragment and 'data-type="Condition"' in fragment


def test_create_entity_returns_fragment_within_query_budget(
        client_for, users, sentence, types, django_assert_num_queries):
    client = client_for(users["annotator"])
    client.get(url(sentence))  # opened, so claimed: the claim is fresh, no refresh is due
    with django_assert_num_queries(12):
        response = create(client, sentence, types["Condition"], "heart failure", 1)
    assert response.status_code == 200
    assert 'data-version="2"' in response.content.decode()
    entity = Entity.objects.get()
    assert entity.fragments == [span(sentence, "heart failure")]


def test_every_action_stays_within_its_statement_count(
        client_for, users, sentence, types, project, django_assert_num_queries):
    """Each action reads session, user, sentence (+ project and role), its annotations (one
    query: entities, relations and what hangs on them), then writes in one transaction (2 statements: begin/commit or savepoint/
    release): the version bump, the change, one audit INSERT and the session's undo stack,
    and renders what it read and wrote without reading it back, with the active model's
    suggestions (one query). The user's claim, read with the sentence, is fresh (opened just
    now), so no action moves it on (test_views_queue: when one does)."""
    client = client_for(users["annotator"])
    client.get(url(sentence))
    create(client, sentence, types["Negation"], "No", 1)
    negation = Entity.objects.get()
    rtype = RelationType.objects.get(project=project)
    steps = [
        # name, payload, statements: + entity type lookup
        ("entity-create", {"type": types["Condition"].pk,
                           "fragments": json.dumps([span(sentence, "heart failure")])}, 12),
        # + entity type lookup, + the relations that would refuse the new type
        ("entity-type", {"entity": "new", "type": types["Drug"].pk}, 13),
        ("entity-extend", {"entity": "new",
                           "fragments": json.dumps([span(sentence, "renal impairment")])}, 11),
        # + relation type with its allowed heads and tails
        ("relation-create", {"type": rtype.pk, "head": "new", "tail": negation.pk}, 12),
        # + which dependents exist (none), + DELETE
        ("relation-delete", {"relation": "relation"}, 12),
        # undo: the annotations read before and after the restore, + INSERT
        ("undo", {}, 12),
        # + which dependents exist, + DELETE relations, + DELETE entity
        ("entity-delete", {"entity": "new"}, 13),
        # + the scores of the criterion leave the queue (is_open)
        ("status", {"status": "done"}, 10),
    ]
    for version, (action, payload, statements) in enumerate(steps, start=2):
        new = Entity.objects.exclude(pk=negation.pk).values_list("pk", flat=True).first()
        relation = Relation.objects.values_list("pk", flat=True).first()
        payload = {k: {"new": new, "relation": relation}.get(v, v) for k, v in payload.items()}
        with django_assert_num_queries(statements):
            response = client.post(url(sentence, action), {**payload, "version": version}, **HX)
        assert response.status_code == 200, (action, response.content.decode())
        assert f'data-version="{version + 1}"' in response.content.decode()
    assert not Relation.objects.exists()
    assert list(Entity.objects.values_list("pk", flat=True)) == [negation.pk]


def test_stale_version_gets_409_with_fresh_version(client_for, users, sentence, types):
    first, second = client_for(users["annotator"]), client_for(users["reviewer"])
    assert create(first, sentence, types["Condition"], "heart failure", 1).status_code == 200
    response = create(second, sentence, types["Drug"], "renal impairment", 1)
    html = response.content.decode()
    assert response.status_code == 409
    assert "Not saved" in html and "annotator changed this sentence" in html
    assert 'data-version="2"' in html and 'data-type="Condition"' in html
    assert list(Entity.objects.values_list("type__name", flat=True)) == ["Condition"]


@pytest.mark.parametrize("payload, message", [
    ({"type": "x", "fragments": "[[1, 2]]", "version": 1}, "type"),
    ({"type": 1, "fragments": "not json", "version": 1}, "fragments"),
    ({"type": 1, "fragments": "[[1, 2]]"}, "version"),
])
def test_invalid_form_is_422(client_for, users, sentence, payload, message):
    response = client_for(users["annotator"]).post(url(sentence, "entity-create"), payload, **HX)
    assert response.status_code == 422 and message in response.content.decode()
    assert Sentence.objects.get(pk=sentence.pk).version == 1


def test_out_of_sentence_selection_is_422(client_for, users, sentence, types):
    response = client_for(users["annotator"]).post(url(sentence, "entity-create"), {
        "type": types["Condition"].pk, "fragments": "[[0, 6]]", "version": 1}, **HX)
    assert response.status_code == 422 and "inside the sentence" in response.content.decode()
    assert not Entity.objects.exists()


def test_unknown_action_is_404_and_get_is_405(client_for, users, sentence):
    client = client_for(users["annotator"])
    assert client.post(url(sentence, "explode"), {"version": 1}).status_code == 404
    assert client.get(url(sentence, "entity-create")).status_code == 405


def test_relation_and_type_change_and_delete(client_for, users, sentence, types, project):
    client = client_for(users["annotator"])
    create(client, sentence, types["Negation"], "No", 1)
    create(client, sentence, types["Condition"], "heart failure", 2)
    neg, cond = (Entity.objects.get(type__name=n) for n in ("Negation", "Condition"))
    rtype = RelationType.objects.get(project=project)
    response = client.post(url(sentence, "relation-create"), {
        "type": rtype.pk, "head": cond.pk, "tail": neg.pk, "version": 3}, **HX)
    assert response.status_code == 200 and 'data-type="is negated"' in response.content.decode()
    response = client.post(url(sentence, "entity-type"), {
        "entity": cond.pk, "type": types["Drug"].pk, "version": 4}, **HX)
    assert response.status_code == 200
    assert Entity.objects.get(pk=cond.pk).type == types["Drug"]
    relation = Relation.objects.get()
    response = client.post(url(sentence, "relation-delete"), {"relation": relation.pk, "version": 5}, **HX)
    assert response.status_code == 200 and not Relation.objects.exists()
    response = client.post(url(sentence, "entity-delete"), {"entity": neg.pk, "version": 6}, **HX)
    assert response.status_code == 200 and Entity.objects.count() == 1


def test_extend_makes_discontinuous_entity(client_for, users, sentence, types):
    client = client_for(users["annotator"])
    create(client, sentence, types["Condition"], "heart", 1)
    entity = Entity.objects.get()
    response = client.post(url(sentence, "entity-extend"), {
        "entity": entity.pk, "fragments": json.dumps([span(sentence, "renal impairment")]),
        "version": 2}, **HX)
    assert response.status_code == 200 and 'class="discontinuous"' in response.content.decode()
    entity.refresh_from_db()
    assert entity.fragments == [span(sentence, "heart"), span(sentence, "renal impairment")]


def test_undo_steps_back_through_own_actions(client_for, users, sentence, types):
    client = client_for(users["annotator"])
    create(client, sentence, types["Condition"], "heart failure", 1)
    entity = Entity.objects.get()
    client.post(url(sentence, "entity-type"), {"entity": entity.pk, "type": types["Drug"].pk,
                                               "version": 2}, **HX)
    response = client.post(url(sentence, "undo"), {"version": 3}, **HX)
    assert response.status_code == 200 and "Undone: change type" in response.content.decode()
    assert Entity.objects.get().type == types["Condition"]
    response = client.post(url(sentence, "undo"), {"version": 4}, **HX)
    assert response.status_code == 200 and not Entity.objects.exists()
    response = client.post(url(sentence, "undo"), {"version": 5}, **HX)
    assert response.status_code == 422 and "Nothing to undo" in response.content.decode()


def test_undo_refused_after_someone_else_edited(client_for, users, sentence, types):
    mine, theirs = client_for(users["annotator"]), client_for(users["reviewer"])
    create(mine, sentence, types["Condition"], "heart failure", 1)
    create(theirs, sentence, types["Drug"], "renal impairment", 2)
    response = mine.post(url(sentence, "undo"), {"version": 1}, **HX)
    assert response.status_code == 409
    response = mine.post(url(sentence, "undo"), {"version": 3}, **HX)
    assert response.status_code == 422 and "changed by someone else" in response.content.decode()
    assert Entity.objects.count() == 2


def test_mark_done_advances_to_next_open_sentence(client_for, users, sentence, project):
    """Where it goes is the ranking's business (tests/annotation/test_views_queue.py)."""
    client = client_for(users["annotator"])
    response = client.post(url(sentence, "status"), {"status": "done", "advance": "on", "version": 1}, **HX)
    assert response.status_code == 200
    target = Sentence.objects.get(pk=response["HX-Redirect"].split("/")[-2])
    assert target.status == "new" and target.pk != sentence.pk
    assert Sentence.objects.get(pk=sentence.pk).status == "done"


def test_only_reviewers_mark_reviewed(client_for, users, sentence):
    payload = {"status": "reviewed", "version": 1}
    assert client_for(users["annotator"]).post(url(sentence, "status"), payload, **HX).status_code == 403
    assert client_for(users["reviewer"]).post(url(sentence, "status"), payload, **HX).status_code == 200
    assert Sentence.objects.get(pk=sentence.pk).status == "reviewed"


def test_step_navigation_in_the_document(client_for, users, project, sentence):
    client = client_for(users["annotator"])
    sentences = list(Sentence.objects.filter(project=project).order_by("index"))
    step = lambda s, d: client.get(reverse("sentence_step", args=["trial", s.pk, d]))  # noqa: E731
    assert step(sentence, "next")["Location"] == url(sentences[3])
    assert step(sentence, "previous")["Location"] == url(sentences[1])
    assert step(sentences[3], "next")["Location"] == reverse("project_dashboard", args=["trial"])
    assert step(sentence, "sideways").status_code == 404


def test_sentence_of_other_project_is_404(client_for, users, sentence):
    from annotation.services.projects import membership_set, project_create

    other = project_create(name="other")
    membership_set(project=other, user=users["annotator"], role="annotator")
    response = client_for(users["annotator"]).get(
        reverse("sentence_annotate", args=["other", sentence.pk]))
    assert response.status_code == 404


ANNOTATION_TABLES = (Entity, Relation, Attribute, Note, Group, GroupMember, PredictedEntity,
                     PredictedRelation)


def annotation_rows() -> dict:
    return {model.__name__: list(model.objects.order_by("pk").values())
            for model in ANNOTATION_TABLES}


def audited(user, action: str) -> list[str]:
    events = AuditEvent.objects.filter(user=user, action=action)
    return sorted(events.values_list("object_type", flat=True))


@pytest.fixture
def entangled(imported_project):
    """'breast cancer' (imported with an attribute, a note and an OR group) also gets a relation
    in its sentence (with an attribute and a note), an incoming relation from the next sentence,
    and accepted suggestions linked to it and to its relation."""
    from tests.annotation.ml_fixtures import make_version

    document = imported_project.documents.get(name="doc_a")
    cancer = Entity.objects.get(document=document, start=58)
    diabetes = Entity.objects.get(document=document, start=46)
    chemotherapy = Entity.objects.get(document=document, start=82)
    negation = RelationType.objects.get(project=imported_project, name="Has_negation")
    inside = Relation.objects.create(document=document, sentence=cancer.sentence, type=negation,
                                     head=cancer, tail=diabetes, source="imported")
    Relation.objects.create(document=document, sentence=chemotherapy.sentence, type=negation,
                            head=chemotherapy, tail=cancer, source="imported")
    Attribute.objects.create(document=document, relation=inside, name="Optional")
    Note.objects.create(document=document, relation=inside, text="checked")
    version = make_version(imported_project)
    suggestion = PredictedEntity.objects.create(
        model_version=version, sentence=cancer.sentence, type=cancer.type,
        fragments=cancer.fragments, start=cancer.start, end=cancer.end, probability=0.9,
        status="accepted", entity=cancer)
    PredictedRelation.objects.create(
        model_version=version, sentence=cancer.sentence, type=negation, head=suggestion,
        tail=suggestion, probability=0.8, status="accepted", relation=inside)
    return cancer


def test_delete_then_undo_restores_every_row(client_for, users, entangled):
    sentence, before = entangled.sentence, annotation_rows()
    assert all(before[name] for name in ("Attribute", "Note", "GroupMember"))
    client = client_for(users["annotator"])
    response = client.post(url(sentence, "entity-delete"),
                           {"entity": entangled.pk, "version": sentence.version}, **HX)
    assert response.status_code == 200
    assert not Entity.objects.filter(pk=entangled.pk).exists()
    assert not Relation.objects.filter(Q(head=entangled.pk) | Q(tail=entangled.pk)).exists()
    assert not Attribute.objects.filter(Q(entity=entangled.pk) | Q(relation__isnull=False)).exists()
    assert not GroupMember.objects.filter(entity=entangled.pk).exists()
    assert not PredictedEntity.objects.filter(entity__isnull=False).exists()
    assert not PredictedRelation.objects.filter(relation__isnull=False).exists()
    assert audited(users["annotator"], "deleted") == ["entity", "relation", "relation"]

    response = client.post(url(sentence, "undo"), {"version": sentence.version + 1}, **HX)
    assert response.status_code == 200 and "Undone: delete entity" in response.content.decode()
    assert annotation_rows() == before
    assert 'data-type="Has_negation"' in response.content.decode()
    assert audited(users["annotator"], "created") == ["entity", "relation", "relation"]


def test_type_change_that_a_relation_forbids_is_refused(
        client_for, users, sentence, types, project):
    client = client_for(users["annotator"])
    create(client, sentence, types["Negation"], "No", 1)
    create(client, sentence, types["Condition"], "heart failure", 2)
    negation, condition = (Entity.objects.get(type__name=n) for n in ("Negation", "Condition"))
    rtype = RelationType.objects.get(project=project)
    client.post(url(sentence, "relation-create"),
                {"type": rtype.pk, "head": condition.pk, "tail": negation.pk, "version": 3}, **HX)
    before = annotation_rows()
    response = client.post(url(sentence, "entity-type"),
                           {"entity": negation.pk, "type": types["Drug"].pk, "version": 4}, **HX)
    html = response.content.decode()
    assert response.status_code == 422
    assert "Not changed: Drug is not allowed by this relation of the entity" in html
    assert "Condition “heart failure” –is negated→ Negation “No”" in html
    assert annotation_rows() == before and Sentence.objects.get(pk=sentence.pk).version == 4
    # the other end may change within what the relation type allows
    response = client.post(url(sentence, "entity-type"),
                           {"entity": condition.pk, "type": types["Drug"].pk, "version": 4}, **HX)
    assert response.status_code == 200 and Entity.objects.get(pk=condition.pk).type == types["Drug"]


def test_undo_step_from_before_an_upgrade_is_refused_and_dropped(
        client_for, users, sentence, types):
    client = client_for(users["annotator"])
    create(client, sentence, types["Condition"], "heart failure", 1)
    session = client.session
    session["undo_tabs"] = {f"/{sentence.pk}": {"undo": [{"version": 2, "label": "create entity", "step": {
        "format": 2, "status": "new", "entities": [], "relations": []}}], "redo": []}}
    session.save()
    response = client.post(url(sentence, "undo"), {"version": 2}, **HX)
    assert response.status_code == 422
    assert "recorded by an older version of Eligo" in response.content.decode()
    assert Entity.objects.count() == 1 and Sentence.objects.get(pk=sentence.pk).version == 2
    assert client.session["undo_tabs"] == {}
