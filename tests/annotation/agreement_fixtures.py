"""A project in independent mode holding the hand-computed agreement fixture of
``tests/mlcore/test_corpus_agreement.py``: ``alice`` and ``bob`` annotated the same
two-criterion document, each in their own layer."""
import pytest

from annotation.models import Assignment, Document, Entity, Relation, Role, Sentence
from mlcore.corpus.model import EntityType, RelationType, Schema
from tests.mlcore.test_corpus_agreement import ANN_A, ANN_B

AGREEMENT_SCHEMA = Schema(
    entity_types=[EntityType(name) for name in
                  ("Person", "Condition", "Value", "Drug", "Procedure", "Temporal")],
    relation_types=[RelationType("OR"), RelationType("Has_value")],
)


def layer_write(*, document: Document, annotator, layer) -> None:
    """Store the dataclass ``layer`` (entities, relations) as ``annotator``'s rows."""
    project = document.project
    entity_types = {t.name: t for t in project.entity_types.all()}
    relation_types = {t.name: t for t in project.relation_types.all()}
    sentences = list(document.sentences.order_by("index"))
    rows = {}
    for entity in layer.entities:
        sentence = next(s for s in reversed(sentences) if s.start <= entity.start)
        rows[entity.id] = Entity.objects.create(
            document=document, sentence=sentence, type=entity_types[entity.type],
            fragments=[[f.start, f.end] for f in entity.fragments], start=entity.start,
            end=entity.end, annotator=annotator)
    for relation in layer.relations:
        head = rows[relation.head]
        Relation.objects.create(document=document, sentence=head.sentence, head=head,
                                tail=rows[relation.tail], type=relation_types[relation.type],
                                annotator=annotator)
    Assignment.objects.create(document=document, annotator=annotator)


def agreement_project_create(*, members: dict, password: str):
    """Project ``iaa`` (independent) with ``members`` (user -> role) and the annotators
    ``alice`` and ``bob`` (``password``) holding layers A and B of the fixture document."""
    from django.contrib.auth import get_user_model

    from annotation.services.projects import membership_set, project_create

    project = project_create(name="iaa", schema=AGREEMENT_SCHEMA)
    project.annotation_mode = "independent"
    project.save(update_fields=["annotation_mode"])
    for user, role in members.items():
        membership_set(project=project, user=user, role=role)
    document = Document.objects.create(project=project, name=ANN_A.name, text=ANN_A.text)
    for index, s in enumerate(ANN_A.sentences):
        Sentence.objects.create(project=project, document=document, index=index, start=s.start,
                                end=s.end, text=ANN_A.text[s.start:s.end])
    for name, layer in (("alice", ANN_A), ("bob", ANN_B)):
        user = get_user_model().objects.create_user(username=name, password=password)
        membership_set(project=project, user=user, role=Role.ANNOTATOR)
        layer_write(document=document, annotator=user, layer=layer)
    return project


@pytest.fixture
def agreement_project(users):
    """:func:`agreement_project_create` with ``manager``, ``reviewer`` and ``annotator`` of
    ``users`` as members."""
    from tests.annotation.conftest import PASSWORD

    return agreement_project_create(password=PASSWORD, members={
        users["manager"]: Role.MANAGER, users["reviewer"]: Role.REVIEWER,
        users["annotator"]: Role.ANNOTATOR})
