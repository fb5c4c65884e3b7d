"""Attributes, notes and OR groups in the annotation view (brat ``A``, ``#`` and ``*`` lines):
shown, added, changed and deleted by htmx POSTs, checked against the project's schema, audited,
and undone and redone per browser tab like every other edit."""
import json

import pytest
from django.urls import reverse

from annotation.models import Attribute, AuditEvent, Entity, Group, GroupMember, Note, Sentence
from tests.annotation.test_views_annotate import annotation_rows
from tests.browser.scenario import make_document, span

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def types(project):
    return {t.name: t for t in project.entity_types.all()}


@pytest.fixture
def doc_a(imported_project):
    return imported_project.documents.get(name="doc_a")


def entity_at(document, start: int, type_name: str = "") -> Entity:
    entities = Entity.objects.filter(document=document, start=start)
    return entities.get(type__name=type_name) if type_name else entities.get()


def post(client, sentence, action, tab="", refresh=True, **values):
    if refresh:
        sentence.refresh_from_db()
    address = (reverse("sentence_action", args=["trial", sentence.pk, action])
               if action not in ("undo", "redo") else
               reverse(f"sentence_{action}", args=["trial", sentence.pk]))
    headers = {**HX, "HTTP_X_ELIGO_TAB": tab} if tab else HX
    return client.post(address, {**values, "version": sentence.version}, **headers)


def test_imported_attributes_notes_and_groups_are_shown(client_for, users, doc_a):
    client = client_for(users["annotator"])

    def page(entity):
        return client.get(reverse("sentence_annotate", args=["trial", entity.sentence_id])).content.decode()

    html = page(entity_at(doc_a, 58))
    assert 'data-attribute-id="%d"' % Attribute.objects.get(name="Optional").pk in html
    assert '<option selected>High</option>' in html  # Confidence=High on "type 2 diabetes"
    assert 'value="breast only"' in html  # notes are shown in an input, to edit them
    assert 'id="group-list"' in html and "OR 1" in html
    assert '<span class="flag grp-flag">OR1</span>' in html  # and marked on the chip in the text
    assert 'value="age range"' in page(entity_at(doc_a, 0))  # a note on a relation


def test_attribute_added_changed_deleted_and_undone(client_for, users, doc_a):
    client = client_for(users["annotator"])
    person = entity_at(doc_a, 0)
    sentence = person.sentence
    response = post(client, sentence, "attribute-create", entity=person.pk, attribute="Confidence=Low")
    assert response.status_code == 200, response.content.decode()
    attribute = Attribute.objects.get(entity=person)
    assert (attribute.name, attribute.value, attribute.source, attribute.created_by) == (
        "Confidence", "Low", "human", users["annotator"])
    assert AuditEvent.objects.filter(object_type="attribute", action="created",
                                     object_id=attribute.pk, user=users["annotator"]).exists()

    assert post(client, sentence, "attribute-update", attribute=attribute.pk,
                value="High").status_code == 200
    assert Attribute.objects.get(pk=attribute.pk).value == "High"
    response = post(client, sentence, "undo")
    assert response.status_code == 200 and "Undone: change attribute" in response.content.decode()
    assert Attribute.objects.get(pk=attribute.pk).value == "Low"
    response = post(client, sentence, "redo")
    assert response.status_code == 200 and "Redone: change attribute" in response.content.decode()
    assert Attribute.objects.get(pk=attribute.pk).value == "High"

    before = annotation_rows()
    assert post(client, sentence, "attribute-delete", attribute=attribute.pk).status_code == 200
    assert not Attribute.objects.filter(pk=attribute.pk).exists()
    assert AuditEvent.objects.filter(object_type="attribute", action="deleted").exists()
    post(client, sentence, "undo")
    assert annotation_rows() == before


@pytest.mark.parametrize("attribute, message", [
    ("Negated", "not an attribute of this project"),
    ("Confidence=Medium", "takes one of: High, Low"),
    ("Confidence", "takes one of"),
    ("Optional=yes", "is a flag"),
])
def test_attribute_outside_the_schema_is_refused(client_for, users, doc_a, attribute, message):
    person = entity_at(doc_a, 0)
    before = annotation_rows()
    response = post(client_for(users["annotator"]), person.sentence, "attribute-create",
                    entity=person.pk, attribute=attribute)
    assert response.status_code == 422 and message in response.content.decode()
    assert annotation_rows() == before
    assert Sentence.objects.get(pk=person.sentence_id).version == person.sentence.version


def test_second_attribute_of_a_name_and_a_bad_target_are_refused(client_for, users, doc_a):
    client = client_for(users["annotator"])
    diabetes = entity_at(doc_a, 39, "Condition")  # already Confidence=High
    response = post(client, diabetes.sentence, "attribute-create", entity=diabetes.pk,
                    attribute="Confidence=Low")
    assert response.status_code == 422 and "already has Confidence" in response.content.decode()
    response = post(client, diabetes.sentence, "attribute-create", attribute="Optional")
    assert response.status_code == 422 and "either an entity or a relation" in response.content.decode()
    response = post(client, diabetes.sentence, "attribute-create", entity=10**9, attribute="Optional")
    assert response.status_code == 422 and "not in this sentence" in response.content.decode()


def test_note_added_edited_deleted_undone_and_redone(client_for, users, doc_a):
    client = client_for(users["annotator"])
    person = entity_at(doc_a, 0)
    sentence = person.sentence
    response = post(client, sentence, "note-create", entity=person.pk, text="  adults\nonly ")
    assert response.status_code == 200
    note = Note.objects.get(entity=person)
    assert note.text == "adults only"  # one line, as brat writes it
    assert post(client, sentence, "note-update", note=note.pk, text="18+").status_code == 200
    assert Note.objects.get(pk=note.pk).text == "18+"
    assert AuditEvent.objects.filter(object_type="note", action="changed", object_id=note.pk).exists()
    assert post(client, sentence, "note-delete", note=note.pk).status_code == 200
    assert not Note.objects.filter(pk=note.pk).exists()
    post(client, sentence, "undo")
    assert Note.objects.get(pk=note.pk).text == "18+"
    assert AuditEvent.objects.filter(object_type="note", action="created", object_id=note.pk,
                                     sentence=sentence).count() == 2  # made, then put back
    post(client, sentence, "undo")
    assert Note.objects.get(pk=note.pk).text == "adults only"
    post(client, sentence, "undo")
    assert not Note.objects.filter(entity=person).exists()
    post(client, sentence, "redo")
    assert Note.objects.get(pk=note.pk).text == "adults only"
    response = post(client, sentence, "note-create", entity=person.pk, text="   ")
    assert response.status_code == 422 and "text: This field is required" in response.content.decode()


def test_note_on_a_relation(client_for, users, doc_a):
    relation = entity_at(doc_a, 0).outgoing.get()
    response = post(client_for(users["annotator"]), relation.sentence, "note-create",
                    relation=relation.pk, text="checked")
    assert response.status_code == 200
    assert Note.objects.filter(relation=relation, text="checked").exists()


def test_or_group_built_emptied_and_undone(client_for, users, doc_a):
    client = client_for(users["annotator"])
    chemo, radio = entity_at(doc_a, 82), entity_at(doc_a, 98)
    sentence = chemo.sentence
    old_group = Group.objects.get(groupmember__entity=chemo)
    before = annotation_rows()
    groups_before = list(Group.objects.values())
    for member in GroupMember.objects.filter(group=old_group).order_by("pk"):
        assert post(client, sentence, "group-remove", member=member.pk).status_code == 200
    assert not Group.objects.filter(pk=old_group.pk).exists()  # the last member took it along
    response = post(client, sentence, "group-add", entity=chemo.pk, into="new:OR")
    assert response.status_code == 200
    group = Group.objects.get(groupmember__entity=chemo)
    assert (group.type, group.source) == ("OR", "human")
    assert "add another entity to it" in response.content.decode()
    response = post(client, sentence, "group-add", entity=radio.pk, into=f"group:{group.pk}")
    assert response.status_code == 200
    assert sorted(group.members.values_list("pk", flat=True)) == [chemo.pk, radio.pk]
    response = post(client, sentence, "group-add", entity=radio.pk, into=f"group:{group.pk}")
    assert response.status_code == 422 and "already in that group" in response.content.decode()
    response = post(client, sentence, "group-add", entity=radio.pk, into="new:AND")
    assert response.status_code == 422 and "Unknown group type" in response.content.decode()
    for _ in range(4):
        assert post(client, sentence, "undo").status_code == 200
    assert annotation_rows() == before and list(Group.objects.values()) == groups_before


def test_undo_and_redo_are_per_tab(client_for, users, project, types):
    make_document(project)
    sentence = Sentence.objects.get(project=project, index=2)
    client = client_for(users["annotator"])  # one session, two tabs
    one, two = "tab-one", "tab-two"
    post(client, sentence, "entity-create", tab=one, type=types["Condition"].pk,
         fragments=json.dumps([span(sentence, "heart failure")]))
    response = post(client, sentence, "undo", tab=two)
    assert response.status_code == 422 and "Nothing to undo" in response.content.decode()
    assert Entity.objects.count() == 1
    post(client, sentence, "entity-create", tab=two, type=types["Drug"].pk,
         fragments=json.dumps([span(sentence, "renal impairment")]))
    # tab one's step no longer applies: tab two changed the sentence since
    response = post(client, sentence, "undo", tab=one)
    assert response.status_code == 422 and "or by you in another tab" in response.content.decode()
    assert post(client, sentence, "undo", tab=two).status_code == 200
    assert list(Entity.objects.values_list("type__name", flat=True)) == ["Condition"]
    # the page tells each tab what it can undo and redo
    page = client.get(reverse("sentence_annotate", args=["trial", sentence.pk])).content.decode()
    assert "&quot;tab-two&quot;: [&quot;&quot;, &quot;create entity&quot;]" in page


def test_redo_until_a_new_edit(client_for, users, project, types):
    make_document(project)
    sentence = Sentence.objects.get(project=project, index=2)
    client = client_for(users["annotator"])
    post(client, sentence, "entity-create", type=types["Condition"].pk,
         fragments=json.dumps([span(sentence, "heart failure")]))
    created = Entity.objects.get()
    post(client, sentence, "undo")
    assert not Entity.objects.exists()
    response = post(client, sentence, "redo")
    assert response.status_code == 200 and "Redone: create entity" in response.content.decode()
    assert Entity.objects.get().pk == created.pk  # the same row, id and all
    post(client, sentence, "undo")
    post(client, sentence, "entity-create", type=types["Drug"].pk,
         fragments=json.dumps([span(sentence, "renal impairment")]))
    response = post(client, sentence, "redo")
    assert response.status_code == 422 and "Nothing to redo" in response.content.decode()
    assert list(Entity.objects.values_list("type__name", flat=True)) == ["Drug"]


def test_an_odd_tab_id_falls_back_to_the_shared_stacks(client_for, users, project, types):
    make_document(project)
    sentence = Sentence.objects.get(project=project, index=2)
    client = client_for(users["annotator"])
    post(client, sentence, "entity-create", tab="<script>", type=types["Condition"].pk,
         fragments=json.dumps([span(sentence, "heart failure")]))
    assert post(client, sentence, "undo").status_code == 200
    assert not Entity.objects.exists()


def test_new_actions_and_redo_stay_within_the_statement_count(
        client_for, users, doc_a, django_assert_num_queries):
    """Like every action: session, user, sentence, its annotations (1), begin/commit, the
    version bump, the write, its audit event, the session, the suggestions drawn (the claim,
    taken when the criterion was opened, is fresh: not moved on)."""
    client = client_for(users["annotator"])
    person = entity_at(doc_a, 0)
    sentence = person.sentence
    client.get(reverse("sentence_annotate", args=[sentence.project.name, sentence.pk]))
    for action, values, statements in (
            ("attribute-create", {"entity": person.pk, "attribute": "Optional"}, 11),
            ("note-create", {"entity": person.pk, "text": "n"}, 11),
            # undo and redo: the annotations read before and after, the DELETE (INSERT), its audit event
            ("undo", {}, 12), ("redo", {}, 12)):
        sentence.refresh_from_db()
        with django_assert_num_queries(statements):
            response = post(client, sentence, action, refresh=False, **values)
        assert response.status_code == 200, (action, response.content.decode())
