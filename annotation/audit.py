"""Writing the audit trail (``AuditEvent``) without touching the annotation services.

Choice (the least invasive one): signal receivers on ``Entity`` and ``Relation``
(created / changed / deleted) and on ``PredictedEntity`` / ``PredictedRelation`` (a status
change to accepted / rejected). The acting user comes from the instance when it says
(``created_by``, ``decided_by``) and otherwise from a context variable that
:class:`AuditUserMiddleware` sets for every request (web pages and the API alike) and that
scripts, commands and workers can set with :func:`acting_user`.

``bulk_create``/``QuerySet.update``/``QuerySet.delete`` fire no per-row signals: corpus
imports are audited as one ``imported`` event by their caller (``audit_record``), and
rejecting an entity suggestion records its own event, not one per dependent relation.
The annotation services (``services.annotations``) write that way on purpose, to keep an
action to a few statements, and record their events themselves with
:func:`audit_annotations`: one INSERT per action, whatever it created, changed or deleted.
The review services (``services.predictions``) likewise record a decision with
:func:`audit_decision` (their ``QuerySet.update`` fires no signal); the suggestion receivers
remain for suggestions saved one by one elsewhere (the admin).
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager

from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from annotation.models import (
    AuditAction,
    AuditEvent,
    Document,
    Entity,
    PredictedEntity,
    Project,
    PredictedRelation,
    Relation,
    SuggestionStatus,
)

_acting_user: contextvars.ContextVar = contextvars.ContextVar("eligo_acting_user", default=None)
# documents and projects being deleted: their annotations go with them, unaudited one by one
_vanishing: contextvars.ContextVar = contextvars.ContextVar("eligo_audit_vanishing", default=frozenset())


@contextmanager
def acting_user(user):
    """Attribute the writes inside the block to ``user`` (for commands, tasks, tests)."""
    token = _acting_user.set(user)
    try:
        yield
    finally:
        _acting_user.reset(token)


def current_user():
    user = _acting_user.get()
    return user if getattr(user, "is_authenticated", False) else None


class AuditUserMiddleware:
    """Makes ``request.user`` the acting user of the writes done while serving the request.

    DRF authenticates token requests inside the view, after this middleware ran, so the
    API views also call :func:`acting_user_set` (see ``annotation.api.views``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _acting_user.set(getattr(request, "user", None))
        try:
            return self.get_response(request)
        finally:
            _acting_user.reset(token)


def acting_user_set(user) -> None:
    """Set the acting user for the rest of the current request (reset by the middleware)."""
    _acting_user.set(user)


def _user_or_none(user):
    return user if getattr(user, "is_authenticated", False) else None


def audit_record(*, project, user, action: str, obj=None, payload: dict | None = None,
                 sentence=None, object_type: str = "") -> AuditEvent:
    """Store one audit event; ``obj`` gives the object type and id (and the sentence if it has one)."""
    sentence_id = getattr(sentence, "pk", sentence)
    if sentence_id is None and obj is not None:
        sentence_id = getattr(obj, "sentence_id", None)
    return AuditEvent.objects.create(
        project_id=getattr(project, "pk", project),
        user=_user_or_none(user),
        action=action,
        object_type=object_type or (type(obj).__name__.lower() if obj is not None else ""),
        object_id=getattr(obj, "pk", None),
        sentence_id=sentence_id,
        payload=payload or {},
    )


def audit_annotations(*, project_id: int, user, events: list[tuple[str, object]],
                      sentence_id: int | None = None) -> None:
    """Store ``(action, annotation)`` events in one INSERT, with the same payloads as the
    signal receivers write; ``user`` made them all. Annotations without a sentence of their
    own (attributes, notes, normalizations, groups) are recorded under ``sentence_id``."""
    if events:
        AuditEvent.objects.bulk_create([
            AuditEvent(project_id=project_id, user=_user_or_none(user), action=action,
                       object_type=type(obj).__name__.lower(), object_id=obj.pk,
                       sentence_id=getattr(obj, "sentence_id", None) or sentence_id,
                       payload=_payload(obj))
            for action, obj in events
        ])


def _payload(obj) -> dict:
    """An entity's or relation's payload; for what hangs on them, their own columns."""
    if type(obj) in PAYLOADS:
        return PAYLOADS[type(obj)](obj)
    skip = {"id", "created_at", "updated_at", "created_by_id", "source_detail"}
    return {f.attname.removesuffix("_id"): getattr(obj, f.attname)
            for f in obj._meta.concrete_fields
            if f.attname not in skip and getattr(obj, f.attname) not in (None, "")}


def _project_id(document_id: int, instance=None) -> int | None:
    """The annotation's project, from its loaded sentence when there is one (no query)."""
    if instance is not None and instance.sentence_id and type(instance).sentence.is_cached(instance):
        return instance.sentence.project_id
    return Document.objects.filter(pk=document_id).values_list("project_id", flat=True).first()


def _layer_payload(obj) -> dict:
    """The layer of an annotation in an annotator's own layer (none for the shared one)."""
    return {"annotator": obj.annotator_id} if obj.annotator_id is not None else {}


def _entity_payload(entity: Entity) -> dict:
    return {"type": entity.type_id, "fragments": entity.fragments, "source": entity.source,
            "document": entity.document_id, **_layer_payload(entity)}


def _relation_payload(relation: Relation) -> dict:
    return {"type": relation.type_id, "head": relation.head_id, "tail": relation.tail_id,
            "source": relation.source, "document": relation.document_id, **_layer_payload(relation)}


PAYLOADS = {Entity: _entity_payload, Relation: _relation_payload}


@receiver(pre_delete, sender=Document, dispatch_uid="audit_document_vanishing")
@receiver(pre_delete, sender=Project, dispatch_uid="audit_project_vanishing")
def _container_deleting(sender, instance, **kwargs):
    _vanishing.set(_vanishing.get() | {(sender.__name__, instance.pk)})


@receiver(post_delete, sender=Document, dispatch_uid="audit_document_gone")
@receiver(post_delete, sender=Project, dispatch_uid="audit_project_gone")
def _container_deleted(sender, instance, **kwargs):
    _vanishing.set(_vanishing.get() - {(sender.__name__, instance.pk)})


def _vanishes(document_id: int, project_id: int) -> bool:
    gone = _vanishing.get()
    return ("Document", document_id) in gone or ("Project", project_id) in gone


@receiver(post_save, sender=Entity, dispatch_uid="audit_entity_saved")
@receiver(post_save, sender=Relation, dispatch_uid="audit_relation_saved")
def _annotation_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    project_id = _project_id(instance.document_id, instance)
    if project_id is None:
        return
    user = (instance.created_by if created and instance.created_by_id else None) or current_user()
    audit_record(project=project_id, user=user,
                 action=AuditAction.CREATED if created else AuditAction.CHANGED,
                 obj=instance, payload=PAYLOADS[sender](instance))


@receiver(post_delete, sender=Entity, dispatch_uid="audit_entity_deleted")
@receiver(post_delete, sender=Relation, dispatch_uid="audit_relation_deleted")
def _annotation_deleted(sender, instance, **kwargs):
    project_id = _project_id(instance.document_id)
    if project_id is None or _vanishes(instance.document_id, project_id):
        return
    audit_record(project=project_id, user=current_user(), action=AuditAction.DELETED,
                 obj=instance, payload=PAYLOADS[sender](instance))


@receiver(pre_save, sender=PredictedEntity, dispatch_uid="audit_prediction_before")
@receiver(pre_save, sender=PredictedRelation, dispatch_uid="audit_prediction_relation_before")
def _remember_decision(sender, instance, **kwargs):
    """Note the stored status so that only a change of decision is audited."""
    if instance.pk is None:
        instance._audit_old_status = None
        return
    instance._audit_old_status = (
        sender.objects.filter(pk=instance.pk).values_list("status", flat=True).first()
    )


@receiver(post_save, sender=PredictedEntity, dispatch_uid="audit_prediction_saved")
@receiver(post_save, sender=PredictedRelation, dispatch_uid="audit_prediction_relation_saved")
def _prediction_decided(sender, instance, created, raw=False, **kwargs):
    decided = (SuggestionStatus.ACCEPTED, SuggestionStatus.REJECTED)
    if raw or instance.status not in decided:
        return
    if getattr(instance, "_audit_old_status", None) == instance.status:
        return
    audit_decision(prediction=instance, user=instance.decided_by or current_user())


def audit_decision(*, prediction, user) -> None:
    """Store the ``accepted``/``rejected`` event of a decided suggestion (the review services
    call it; so does the receiver above, for suggestions saved elsewhere, e.g. the admin)."""
    linked = (prediction.entity_id if isinstance(prediction, PredictedEntity)
              else prediction.relation_id)
    audit_record(
        project=prediction.model_version.project_id,
        user=user,
        action=AuditAction.ACCEPTED if prediction.status == SuggestionStatus.ACCEPTED
        else AuditAction.REJECTED,
        obj=prediction,
        payload={"model_version": prediction.model_version_id, "type": prediction.type_id,
                 "probability": prediction.probability, "annotation": linked},
    )
