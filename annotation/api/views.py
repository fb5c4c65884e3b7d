"""REST API views: authorise, validate, call a service or a selector, serialise.

No business rule lives here: writes go through ``annotation.services`` (optimistic
locking, schema rules, training, suggestions), access through ``annotation.api.permissions``
and errors through ``annotation.api.errors``.
"""
from __future__ import annotations


from django.contrib.auth import get_user_model
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers as drf_serializers, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle

from annotation.access import AGREEMENT_READER, ASSIGNER, SUGGESTION_DECIDER
from annotation.api import serializers as s
from annotation.api.filters import (
    AuditEventFilter, DocumentFilter, ExpectedVersionFilter, ExportFilter, PredictionFilter,
    SentenceFilter, query_validated,
)
from annotation.api.permissions import IsStaff, ProjectScopedMixin
from annotation.models import (
    Assignment,
    AuditAction,
    AuditEvent,
    Document,
    Entity,
    Event,
    ImportJob,
    ImportJobStatus,
    ModelVersion,
    Normalization,
    PredictedEntity,
    PredictedRelation,
    Relation,
    Role,
    Sentence,
    SentenceStatus,
    SuggestionStatus,
    TrainingRun,
)
from annotation.selectors.agreement import agreement_report_cached
from annotation.selectors.annotations import sentence_get, sentence_relations
from annotation.selectors.audit import audit_events_for_project
from annotation.selectors.documents import (
    SENTENCE_ORDERINGS, documents_for_project, sentences_for_project,
)
from annotation.selectors.imports import import_jobs_for_project
from annotation.selectors.layers import (
    layer_annotator_get,
    layer_for,
    project_annotator_users,
    project_assignments,
    sentence_in_layer,
)
from annotation.selectors.projects import project_members, projects_for_user
from annotation.selectors.review import predictions_for_project
from annotation.selectors.training import model_options_get, model_versions_for_project
from annotation.services import annotations as annotation_services
from annotation.services import layers as layer_services
from annotation.services import predictions as prediction_services
from annotation.services import training as training_services
from annotation.services.corpus_io import corpus_export_download
from annotation.services.documents import document_rename
from annotation.schema_presets import preset_schema
from annotation.services.imports import import_job_cancel, import_job_confirm, import_job_create
from annotation.services.layers import project_mode_update
from annotation.services.projects import (
    membership_remove,
    membership_set,
    project_create,
    project_schema_apply,
)

def _validated(serializer_class, data, **kwargs):
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _is_fake(view) -> bool:
    """True while drf-spectacular introspects the view (no request, no project)."""
    return getattr(view, "swagger_fake_view", False)


# --- auth ----------------------------------------------------------------------------------


class TokenView(ObtainAuthToken):
    """``POST username, password`` -> ``{"token": ...}``; failed logins are throttled per user + IP."""

    throttle_classes = [AnonRateThrottle]

    @extend_schema(request=inline_serializer("TokenRequest", {
        "username": drf_serializers.CharField(), "password": drf_serializers.CharField()}),
        responses=inline_serializer("TokenResponse", {"token": drf_serializers.CharField()}))
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


# --- projects, schema, members ----------------------------------------------------------------


class ProjectViewSet(viewsets.GenericViewSet):
    """The projects you are a member of; creating one is for staff users."""

    lookup_field = "name"
    lookup_url_kwarg = "project"
    serializer_class = s.ProjectSerializer

    def get_queryset(self):
        return projects_for_user(user=self.request.user)

    def get_permissions(self):
        if self.action == "create":
            return [IsStaff()]
        return super().get_permissions()

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            s.ProjectSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(request=s.ProjectCreateSerializer, responses={201: s.ProjectDetailSerializer})
    def create(self, request):
        data = _validated(s.ProjectCreateSerializer, request.data)
        schema, relation_keys = None, None
        if "schema" in data:
            schema_input = s.SchemaSerializer(data=request.data["schema"])
            schema_input.is_valid(raise_exception=True)
            schema = schema_input.to_schema()
        elif "preset" in data:
            schema, relation_keys = preset_schema(data["preset"])
        project = project_create(name=data["name"], title=data["title"], schema=schema,
                                 relation_keys=relation_keys, new_types=data["new_types"],
                                 created_by=request.user)
        return Response(s.ProjectDetailSerializer(project, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class ProjectDetailView(ProjectScopedMixin, viewsets.GenericViewSet):
    """One project with its label schema; managers extend the schema."""

    serializer_class = s.ProjectDetailSerializer
    min_roles = {"apply_schema": Role.MANAGER, "*": Role.ANNOTATOR}

    def retrieve(self, request, project):
        return Response(s.ProjectDetailSerializer(self.project, context={"request": request}).data)

    @extend_schema(request=s.SchemaSerializer,
                   responses=inline_serializer("SchemaApplied", {
                       "entity_types": drf_serializers.IntegerField(),
                       "relation_types": drf_serializers.IntegerField(),
                       "added": drf_serializers.ListField(child=drf_serializers.DictField())}))
    def apply_schema(self, request, project):
        schema_input = s.SchemaSerializer(data=request.data)
        schema_input.is_valid(raise_exception=True)
        added = project_schema_apply(project=self.project, schema=schema_input.to_schema())
        return Response(added)


class MemberViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    """Project members and their roles (managers only)."""

    serializer_class = s.MemberSerializer
    min_roles = {"*": Role.MANAGER}

    def get_queryset(self):
        if _is_fake(self):
            return get_user_model().objects.none()
        return project_members(project=self.project)

    def list(self, request, project):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            [{"username": m.user.username, "role": m.role} for m in page])

    def create(self, request, project):
        data = _validated(s.MemberSerializer, request.data)
        user = get_user_model().objects.get(username=data["username"])
        membership_set(project=self.project, user=user, role=data["role"])
        return Response({"username": user.username, "role": data["role"]},
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=s.MemberRoleSerializer, responses=s.MemberSerializer)
    def partial_update(self, request, project, username):
        member = self._member(username)
        data = _validated(s.MemberRoleSerializer, request.data)
        membership_set(project=self.project, user=member, role=data["role"])
        return Response({"username": member.username, "role": data["role"]})

    @extend_schema(responses={204: None})
    def destroy(self, request, project, username):
        membership_remove(project=self.project, user=self._member(username))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _member(self, username: str):
        return get_object_or_404(get_user_model(), username=username,
                                 memberships__project=self.project)


# --- annotation layers: mode and assignments ---------------------------------------------------


class AnnotationModeView(ProjectScopedMixin, viewsets.GenericViewSet):
    """The project's annotation mode (``shared`` or ``independent``) and annotators per
    document; managers change them."""

    serializer_class = s.AnnotationModeSerializer
    min_roles = {"update": Role.MANAGER, "*": Role.ANNOTATOR}

    def _body(self):
        return {"annotation_mode": self.project.annotation_mode,
                "annotators_per_document": self.project.annotators_per_document}

    def retrieve(self, request, project):
        return Response(self._body())

    def update(self, request, project):
        data = _validated(s.AnnotationModeSerializer, request.data)
        project_mode_update(project=self.project, mode=data["annotation_mode"],
                            annotators_per_document=data.get("annotators_per_document"))
        return Response(self._body())


class AssignmentViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    """Which annotator annotates which document in their own layer (managers)."""

    serializer_class = s.AssignmentSerializer
    min_roles = {"*": ASSIGNER}

    def get_queryset(self):
        if _is_fake(self):
            return Assignment.objects.none()
        return project_assignments(project=self.project)

    def list(self, request, project):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.AssignmentSerializer(page, many=True).data)

    @extend_schema(request=s.AssignmentCreateSerializer, responses={201: s.AssignmentSerializer})
    def create(self, request, project):
        data = _validated(s.AssignmentCreateSerializer, request.data)
        assignment = layer_services.assignment_create(
            project=self.project, document=self._document(data["document"]),
            annotator=data["annotator"], assigned_by=request.user)
        return Response(s.AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request, project, document_id, username):
        annotator = get_object_or_404(get_user_model(), username=username)
        layer_services.assignment_delete(project=self.project, document=self._document(document_id),
                                         annotator=annotator)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.AssignmentAutoSerializer,
                   responses=inline_serializer("AssignmentsMade", {"created": drf_serializers.IntegerField()}))
    def auto(self, request, project):
        """Balanced automatic assignment: every document gets ``k`` of ``annotators``."""
        data = _validated(s.AssignmentAutoSerializer, request.data)
        annotators = data.get("annotators") or list(project_annotator_users(project=self.project))
        created = layer_services.assignment_auto(
            project=self.project, annotators=annotators,
            k=data.get("k") or self.project.annotators_per_document, assigned_by=request.user)
        return Response({"created": created})

    def _document(self, document_id) -> Document:
        return get_object_or_404(Document, pk=document_id, project=self.project)


# --- documents and sentences -------------------------------------------------------------------


class DocumentViewSet(ProjectScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      viewsets.GenericViewSet):
    """The project's documents; ``?name=`` filters by a part of the name; managers rename
    one with ``PATCH {"name": ...}`` (the import's name rule, see docs/formats.md)."""

    lookup_url_kwarg = "document_id"
    min_roles = {"partial_update": Role.MANAGER, "*": Role.ANNOTATOR}

    @extend_schema(request=s.DocumentRenameSerializer, responses=s.DocumentSerializer)
    def partial_update(self, request, *args, **kwargs):
        data = _validated(s.DocumentRenameSerializer, request.data)
        document = document_rename(document=self.get_object(), name=data["name"], user=request.user)
        return Response(self.get_serializer(document).data)

    def get_serializer_class(self):
        return s.DocumentDetailSerializer if self.action == "retrieve" else s.DocumentSerializer

    def get_queryset(self):
        if _is_fake(self):
            return Document.objects.none()
        filters = query_validated(DocumentFilter, self.request.query_params)
        return documents_for_project(project=self.project, name=filters.get("name", ""),
                                     with_text=self.action != "list")


class SentenceViewSet(ProjectScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      viewsets.GenericViewSet):
    """Sentences (criteria) with status and lock version.

    Filters: ``status``, ``text`` (contains), ``document``. ``ordering``: ``index``
    (default), ``-uncertainty`` (most uncertain first under the active model), ...
    """

    lookup_url_kwarg = "sentence_id"

    def get_serializer_class(self):
        if self.action == "retrieve":
            return s.SentenceDetailSerializer
        if self.action == "set_status":
            return s.SentenceStatusSerializer
        return s.SentenceSerializer

    @extend_schema(parameters=[
        OpenApiParameter("status", str, enum=SentenceStatus.values),
        OpenApiParameter("text", str), OpenApiParameter("document", int),
        OpenApiParameter("ordering", str, enum=list(SENTENCE_ORDERINGS))])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        if _is_fake(self):
            return Sentence.objects.none()
        filters = query_validated(SentenceFilter, self.request.query_params)
        return sentences_for_project(project=self.project, status=filters.get("status", ""),
                                     text=filters.get("text", ""),
                                     document_id=filters.get("document"),
                                     ordering=filters.get("ordering") or "index")

    def retrieve(self, request, *args, **kwargs):
        sentence = _in_users_layer(self, self.get_object())
        data = s.SentenceSerializer(sentence).data
        data["entities"] = s.EntitySerializer(_entities_of(sentence), many=True).data
        data["relations"] = s.RelationSerializer(sentence_relations(sentence=sentence), many=True).data
        data["events"] = s.EventSerializer(_events_of(sentence), many=True).data
        return Response(data)

    @extend_schema(request=s.SentenceStatusSerializer, responses=s.SentenceSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, *args, **kwargs):
        """Set the status (``reviewed`` needs the reviewer role); 409 on a stale version."""
        data = _validated(s.SentenceStatusSerializer, request.data)
        sentence = _in_users_layer(self, sentence_get(project=self.project,
                                                      sentence_id=kwargs["sentence_id"]))
        annotation_services.sentence_set_status(sentence=sentence, user=request.user,
                                                status=data["status"],
                                                expected_version=data["expected_version"])
        sentence.refresh_from_db()
        return Response(s.SentenceSerializer(_in_users_layer(self, sentence)).data)


def _in_users_layer(view, sentence: Sentence) -> Sentence:
    """The sentence in the layer the requesting user edits (``selectors.layers.layer_for``)."""
    return sentence_in_layer(sentence=sentence, layer=layer_for(
        project=view.project, user=view.request.user, role=view.role))


def _entities_of(sentence: Sentence):
    return Entity.objects.filter(sentence=sentence, annotator_id=sentence.layer).select_related(
        "type", "created_by").prefetch_related("normalizations__created_by")


def _events_of(sentence: Sentence):
    """The events triggered in the sentence, with their arguments in file order."""
    return Event.objects.filter(trigger__sentence=sentence, annotator_id=sentence.layer).select_related(
        "created_by").prefetch_related("arguments").order_by("pk")


EXPECTED_VERSION_PARAM = OpenApiParameter("expected_version", int, required=True,
                                          description="The sentence version you read (409 when stale).")


class _SentenceChildMixin(ProjectScopedMixin):
    """Entities and relations of one sentence: ``/sentences/<sentence_id>/...``; deleting one
    calls ``delete_service`` with the object's id as ``delete_id``."""

    lookup_url_kwarg = "pk"
    delete_service = None
    delete_id = ""

    def sentence(self) -> Sentence:
        if not hasattr(self, "_sentence"):
            self._sentence = _in_users_layer(self, sentence_get(
                project=self.project, sentence_id=self.kwargs["sentence_id"]))
        return self._sentence

    def _expected_version(self, request) -> int:
        return query_validated(ExpectedVersionFilter, request.query_params)["expected_version"]

    @extend_schema(parameters=[EXPECTED_VERSION_PARAM], responses={204: None})
    def destroy(self, request, *args, **kwargs):
        target = self.get_object()
        type(self).delete_service(sentence=self.sentence(), user=request.user,
                                  expected_version=self._expected_version(request),
                                  **{self.delete_id: target.pk})
        return Response(status=status.HTTP_204_NO_CONTENT)


class EntityViewSet(_SentenceChildMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    viewsets.GenericViewSet):
    serializer_class = s.EntitySerializer
    delete_service, delete_id = staticmethod(annotation_services.entity_delete), "entity_id"

    def get_queryset(self):
        if _is_fake(self):
            return Entity.objects.none()
        return _entities_of(self.sentence())

    @extend_schema(request=s.EntityCreateSerializer, responses={201: s.EntitySerializer})
    def create(self, request, *args, **kwargs):
        data = _validated(s.EntityCreateSerializer, request.data)
        entity = annotation_services.entity_create(
            sentence=self.sentence(), user=request.user, type=data["type"],
            fragments=data["fragments"], expected_version=data["expected_version"])
        return Response(s.EntitySerializer(entity).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.EntityUpdateSerializer, responses=s.EntitySerializer)
    def partial_update(self, request, *args, **kwargs):
        entity = self.get_object()
        data = _validated(s.EntityUpdateSerializer, request.data)
        entity = annotation_services.entity_update_type(
            sentence=self.sentence(), user=request.user, entity_id=entity.pk, type=data["type"],
            expected_version=data["expected_version"])
        return Response(s.EntitySerializer(entity).data)


class RelationViewSet(_SentenceChildMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      viewsets.GenericViewSet):
    serializer_class = s.RelationSerializer
    delete_service, delete_id = staticmethod(annotation_services.relation_delete), "relation_id"

    def get_queryset(self):
        if _is_fake(self):
            return Relation.objects.none()
        ids = [r.pk for r in sentence_relations(sentence=self.sentence())]
        return Relation.objects.filter(pk__in=ids).select_related("type", "created_by").order_by("pk")

    @extend_schema(request=s.RelationCreateSerializer, responses={201: s.RelationSerializer})
    def create(self, request, *args, **kwargs):
        data = _validated(s.RelationCreateSerializer, request.data)
        relation = annotation_services.relation_create(
            sentence=self.sentence(), user=request.user, type=data["type"], head_id=data["head"],
            tail_id=data["tail"], expected_version=data["expected_version"])
        return Response(s.RelationSerializer(relation).data, status=status.HTTP_201_CREATED)


class NormalizationViewSet(_SentenceChildMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                           viewsets.GenericViewSet):
    """An entity's links to knowledge-base entries (brat ``N``); written by the same services
    as the annotation view's (checked, audited, optimistic lock)."""

    serializer_class = s.NormalizationSerializer

    def entity(self) -> Entity:
        return get_object_or_404(Entity, sentence=self.sentence(), annotator_id=self.sentence().layer,
                                 pk=self.kwargs["entity_id"])

    def get_queryset(self):
        if _is_fake(self):
            return Normalization.objects.none()
        return self.entity().normalizations.select_related("created_by").order_by("pk")

    @extend_schema(request=s.NormalizationCreateSerializer, responses={201: s.NormalizationSerializer})
    def create(self, request, *args, **kwargs):
        entity = self.entity()
        data = _validated(s.NormalizationCreateSerializer, request.data)
        normalization = annotation_services.normalization_create(
            sentence=self.sentence(), user=request.user, entity_id=entity.pk, resource=data["resource"],
            reference=data["reference"], text=data["text"], expected_version=data["expected_version"])
        return Response(s.NormalizationSerializer(normalization).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[EXPECTED_VERSION_PARAM], responses={204: None})
    def destroy(self, request, *args, **kwargs):
        normalization = self.get_object()
        annotation_services.normalization_delete(sentence=self.sentence(), user=request.user,
                                                 normalization_id=normalization.pk,
                                                 expected_version=self._expected_version(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventViewSet(_SentenceChildMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                   viewsets.GenericViewSet):
    """The brat events triggered in the sentence, read-only (they are kept for brat export;
    their trigger and entity arguments cannot be deleted while they exist)."""

    serializer_class = s.EventSerializer

    def get_queryset(self):
        if _is_fake(self):
            return Event.objects.none()
        return _events_of(self.sentence())


# --- model suggestions -------------------------------------------------------------------------


class _PredictionViewSet(ProjectScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         viewsets.GenericViewSet):
    """Model suggestions; ``?sentence=``, ``?status=``, ``?model_version=<number>`` filter them.

    Accepting or rejecting needs the reviewer role; ``expected_version`` (optional) guards
    against a sentence changed meanwhile (409).
    """

    model = None
    accept_service = reject_service = None
    min_roles = {"accept": SUGGESTION_DECIDER, "reject": SUGGESTION_DECIDER, "*": Role.ANNOTATOR}

    @extend_schema(parameters=[OpenApiParameter("sentence", int), OpenApiParameter("model_version", int),
                               OpenApiParameter("status", str, enum=SuggestionStatus.values)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        if _is_fake(self):
            return self.model.objects.none()
        filters = query_validated(PredictionFilter, self.request.query_params)
        return predictions_for_project(model=self.model, project=self.project,
                                       sentence_id=filters.get("sentence"),
                                       model_version_number=filters.get("model_version"),
                                       status=filters.get("status", ""))

    def _decide(self, request, service):
        prediction = self.get_object()
        data = _validated(s.OptionalVersionSerializer, request.data)
        service(prediction=prediction, user=request.user, expected_version=data["expected_version"])
        prediction.refresh_from_db()
        return Response(self.get_serializer(prediction).data)

    @extend_schema(request=s.OptionalVersionSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, *args, **kwargs):
        return self._decide(request, type(self).accept_service)

    @extend_schema(request=s.OptionalVersionSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        return self._decide(request, type(self).reject_service)


class PredictedEntityViewSet(_PredictionViewSet):
    model = PredictedEntity
    serializer_class = s.PredictedEntitySerializer
    accept_service = staticmethod(prediction_services.predicted_entity_accept)
    reject_service = staticmethod(prediction_services.predicted_entity_reject)


class PredictedRelationViewSet(_PredictionViewSet):
    model = PredictedRelation
    serializer_class = s.PredictedRelationSerializer
    accept_service = staticmethod(prediction_services.predicted_relation_accept)
    reject_service = staticmethod(prediction_services.predicted_relation_reject)


# --- model versions, options, training runs ---------------------------------------------------


class ModelVersionViewSet(ProjectScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    """Trained model versions, newest first; managers activate one (also a roll back)."""

    serializer_class = s.ModelVersionSerializer
    lookup_field = "number"
    lookup_url_kwarg = "number"
    min_roles = {"activate": Role.MANAGER, "*": Role.ANNOTATOR}

    def get_queryset(self):
        if _is_fake(self):
            return ModelVersion.objects.none()
        return model_versions_for_project(project=self.project)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def activate(self, request, *args, **kwargs):
        version = training_services.model_version_activate(version=self.get_object())
        return Response(self.get_serializer(version).data)


class ModelOptionsView(ProjectScopedMixin, viewsets.GenericViewSet):
    """The project's training and uncertainty options (managers change them)."""

    serializer_class = s.ModelOptionsSerializer
    min_roles = {"update": Role.MANAGER, "*": Role.ANNOTATOR}

    def retrieve(self, request, project):
        return Response({"options": model_options_get(self.project)})

    def update(self, request, project):
        data = _validated(s.ModelOptionsSerializer, request.data)
        try:
            options = training_services.model_options_update(project=self.project,
                                                             options=data["options"])
        except (ValueError, TypeError) as exc:
            raise drf_serializers.ValidationError({"options": [str(exc)]}) from None
        return Response({"options": options})


class TrainingRunViewSet(ProjectScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         viewsets.GenericViewSet):
    """Retrain (reviewers), follow the progress, cancel; 409 while a run is active."""

    serializer_class = s.TrainingRunSerializer
    lookup_url_kwarg = "run_id"
    min_roles = {"create": Role.REVIEWER, "cancel": Role.REVIEWER, "*": Role.ANNOTATOR}

    def get_queryset(self):
        if _is_fake(self):
            return TrainingRun.objects.none()
        return (TrainingRun.objects.filter(project=self.project).defer("log")
                .select_related("started_by", "model_version"))

    @extend_schema(request=None, responses={201: s.TrainingRunSerializer})
    def create(self, request, *args, **kwargs):
        run = training_services.training_run_start(project=self.project, user=request.user)
        return Response(self.get_serializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        run = training_services.training_run_cancel(run=self.get_object())
        return Response(self.get_serializer(run).data)


# --- import, export, audit ----------------------------------------------------------------------


class ImportJobViewSet(ProjectScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       viewsets.GenericViewSet):
    """Upload a corpus (multipart ``format`` + ``file``); small files are imported at once
    (201), large ones by a worker (202): poll the job until ``succeeded`` or ``failed``."""

    serializer_class = s.ImportJobSerializer
    lookup_url_kwarg = "job_id"
    min_roles = {"*": Role.MANAGER}
    throttle_scope = "uploads"

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.action == "create":
            throttles.append(ScopedRateThrottle())
        return throttles

    def get_queryset(self):
        if _is_fake(self):
            return ImportJob.objects.none()
        return import_jobs_for_project(project=self.project)

    @extend_schema(request={"multipart/form-data": s.ImportUploadSerializer},
                   responses={201: s.ImportJobSerializer, 202: s.ImportJobSerializer})
    def create(self, request, *args, **kwargs):
        data = _validated(s.ImportUploadSerializer, request.data)
        job = import_job_create(project=self.project, user=request.user, upload=data["file"],
                                fmt=data["format"], new_types=data.get("new_types"),
                                annotator=data.get("annotator"))
        return self._job_response(job)

    @extend_schema(request=None, responses={201: s.ImportJobSerializer, 202: s.ImportJobSerializer})
    def confirm(self, request, *args, **kwargs):
        """Add the types a job waiting for a confirmation would add, and import it."""
        return self._job_response(import_job_confirm(job=self.get_object(), user=request.user))

    @extend_schema(request=None, responses=s.ImportJobSerializer)
    def cancel(self, request, *args, **kwargs):
        """Drop a job waiting for a confirmation (nothing is imported)."""
        return Response(self.get_serializer(import_job_cancel(job=self.get_object())).data)

    def _job_response(self, job):
        """201 imported, 202 queued, 409 waiting for a confirmation of new types, 400 failed."""
        body = self.get_serializer(job).data
        if job.status in (ImportJobStatus.FAILED, ImportJobStatus.NEEDS_CONFIRMATION):
            pending = job.status == ImportJobStatus.NEEDS_CONFIRMATION
            code = "new_types_pending" if pending else "import_failed"
            return Response({"error": {"code": code, "message": job.error, "details": {"job": body}}},
                            status=status.HTTP_409_CONFLICT if pending else status.HTTP_400_BAD_REQUEST)
        code = status.HTTP_201_CREATED if job.status == ImportJobStatus.SUCCEEDED else status.HTTP_202_ACCEPTED
        return Response(body, status=code)


class ExportView(ProjectScopedMixin, viewsets.GenericViewSet):
    """Download the corpus as ``brat`` (.zip), ``jsonl`` or ``conll``; ``?status=done&status=reviewed``
    keeps only the annotations of sentences with those statuses; ``?layer=<username>`` exports
    that annotator's own layer instead of the curated (shared) one."""

    min_roles = {"*": Role.MANAGER}

    @extend_schema(parameters=[OpenApiParameter("status", str, many=True, enum=SentenceStatus.values),
                               OpenApiParameter("layer", str)],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def retrieve(self, request, project, fmt):
        params = request.query_params.copy()
        params["format"] = fmt
        filters = query_validated(ExportFilter, params)
        layer = None
        if filters["layer"]:
            layer = layer_annotator_get(project=self.project, username=filters["layer"])
            if layer is None:
                raise ValidationError({"layer": [f"{filters['layer']} has no layer in this project."]})
        download = corpus_export_download(project=self.project, fmt=filters["format"],
                                          statuses=filters["status"], user=request.user, layer=layer)
        return FileResponse(download.file, as_attachment=True, content_type=download.content_type,
                            filename=download.filename)


class AuditEventViewSet(ProjectScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Who did what to which annotation, newest first (managers); ``?sentence=``, ``?user=``."""

    serializer_class = s.AuditEventSerializer
    min_roles = {"*": Role.MANAGER}

    @extend_schema(parameters=[OpenApiParameter("sentence", int), OpenApiParameter("user", str),
                               OpenApiParameter("action", str, enum=AuditAction.values)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        if _is_fake(self):
            return AuditEvent.objects.none()
        filters = query_validated(AuditEventFilter, self.request.query_params)
        return audit_events_for_project(project=self.project, sentence_id=filters.get("sentence"),
                                        username=filters.get("user", ""),
                                        action=filters.get("action", ""))



class AgreementView(ProjectScopedMixin, viewsets.GenericViewSet):
    """Inter-annotator agreement between the annotators' layers (reviewers and managers): the
    same report as ``manage.py agreement --json``; rules in docs/agreement.md."""

    min_roles = {"*": AGREEMENT_READER}

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def retrieve(self, request, project):
        return Response(agreement_report_cached(project=self.project))
