"""The audit trail written by signal receivers: who, what, when; silent on cascades."""
from annotation.audit import acting_user, audit_record
from annotation.models import AuditEvent, Entity, Project, Sentence
from annotation.services.annotations import entity_create, entity_delete


def _sentence(project):
    return Sentence.objects.filter(project=project, entities__isnull=False).order_by("pk").first()


def test_service_writes_are_audited_with_the_acting_user(imported_project, users):
    sentence = _sentence(imported_project)
    annotator = users["annotator"]
    entity = entity_create(sentence=sentence, user=annotator, type=imported_project.entity_types.first(),
                           fragments=[[sentence.start, sentence.start + 3]],
                           expected_version=sentence.version)
    with acting_user(annotator):
        entity_delete(sentence=sentence, user=annotator, entity_id=entity.pk,
                      expected_version=sentence.version)
    events = list(AuditEvent.objects.filter(object_type="entity", object_id=entity.pk).order_by("id"))
    assert [(e.action, e.user, e.sentence_id) for e in events] == [
        ("created", annotator, sentence.pk), ("deleted", annotator, sentence.pk)]
    assert events[1].payload["fragments"] == [[sentence.start, sentence.start + 3]]


def test_cascaded_relation_deletes_are_audited_too(imported_project, users):
    relation_sentence = Sentence.objects.filter(project=imported_project, relations__isnull=False).first()
    head = relation_sentence.relations.first().head
    with acting_user(users["manager"]):
        entity_delete(sentence=head.sentence, user=users["manager"], entity_id=head.pk,
                      expected_version=head.sentence.version)
    assert AuditEvent.objects.filter(action="deleted", object_type="relation").exists()


def test_deleting_a_document_or_project_writes_no_events_and_succeeds(imported_project):
    before = AuditEvent.objects.count()
    for document in imported_project.documents.all():
        document.delete()
    assert AuditEvent.objects.count() == before
    Project.objects.filter(pk=imported_project.pk).delete()
    assert not Entity.objects.exists() and not AuditEvent.objects.exists()


def test_audit_record_for_explicit_events(project, users):
    event = audit_record(project=project, user=users["manager"], action="exported",
                         object_type="corpus", payload={"format": "jsonl"})
    assert event.object_type == "corpus" and event.payload == {"format": "jsonl"}


def test_ui_requests_are_attributed_through_the_middleware(imported_project, users, client_for):
    sentence = _sentence(imported_project)
    entity = sentence.entities.first()
    client = client_for(users["reviewer"])
    response = client.delete(f"/api/projects/trial/sentences/{sentence.pk}/entities/{entity.pk}/"
                             f"?expected_version={sentence.version}")
    assert response.status_code == 204
    assert AuditEvent.objects.get(action="deleted", object_type="entity", object_id=entity.pk).user == users["reviewer"]
