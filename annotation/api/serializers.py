"""Serializers: output shapes of the models and validated inputs for the services."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from annotation.access import project_role
from annotation.models import (
    AnnotationMode,
    Assignment,
    AuditEvent,
    Document,
    Entity,
    Event,
    EventArgument,
    ImportJob,
    NewTypes,
    ModelVersion,
    Normalization,
    PredictedEntity,
    PredictedRelation,
    Project,
    Relation,
    Role,
    Sentence,
    SentenceStatus,
    TrainingRun,
)
from mlcore.corpus import model as dc
from mlcore.corpus.formats import READ_FORMATS, format_choices


# --- projects, schema, members ---------------------------------------------------------------


class EntityTypeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=100)
    color = serializers.RegexField(r"^#[0-9A-Fa-f]{6}$", required=False, allow_blank=True, default="")
    key = serializers.CharField(max_length=1, required=False, allow_blank=True, default="")


class RelationTypeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=100)
    key = serializers.CharField(read_only=True)
    heads = serializers.ListField(child=serializers.CharField(max_length=100), required=False, default=list)
    tails = serializers.ListField(child=serializers.CharField(max_length=100), required=False, default=list)


class SchemaSerializer(serializers.Serializer):
    """A label schema; applying it adds the types the project lacks (never removes any)."""

    entity_types = EntityTypeSerializer(many=True, required=False, default=list)
    relation_types = RelationTypeSerializer(many=True, required=False, default=list)
    attribute_types = serializers.ListField(child=serializers.CharField(max_length=100),
                                            required=False, default=list)
    group_types = serializers.ListField(child=serializers.CharField(max_length=100),
                                        required=False, default=list)

    def to_schema(self) -> dc.Schema:
        data = self.validated_data
        return dc.Schema(
            entity_types=[dc.EntityType(t["name"], t.get("color", ""), t.get("key", ""))
                          for t in data["entity_types"]],
            relation_types=[dc.RelationType(t["name"], tuple(t["heads"]), tuple(t["tails"]))
                            for t in data["relation_types"]],
            attribute_types=list(data["attribute_types"]),
            group_types=list(data["group_types"]),
        )


def schema_representation(project: Project) -> dict:
    entity_types = list(project.entity_types.all())
    relation_types = project.relation_types.prefetch_related("heads", "tails")
    return {
        "entity_types": [{"id": t.pk, "name": t.name, "color": t.color, "key": t.key}
                         for t in entity_types],
        "relation_types": [{"id": t.pk, "name": t.name, "key": t.key,
                            "heads": [h.name for h in t.heads.all()],
                            "tails": [h.name for h in t.tails.all()]} for t in relation_types],
        "attribute_types": list(project.attribute_types),
        "group_types": list(project.group_types),
    }


class ProjectSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["id", "name", "title", "description", "new_types", "schema_version", "created_at",
                  "role"]

    def get_role(self, project) -> str | None:
        request = self.context.get("request")
        role = project_role(user=request.user, project_id=project.pk) if request else None
        return str(role) if role else None


class ProjectDetailSerializer(ProjectSerializer):
    schema = serializers.SerializerMethodField()

    class Meta(ProjectSerializer.Meta):
        fields = ProjectSerializer.Meta.fields + ["guidelines", "schema"]

    def get_schema(self, project) -> SchemaSerializer:
        return schema_representation(project)


class ProjectCreateSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=100)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    schema = SchemaSerializer(required=False)
    preset = serializers.ChoiceField(choices=[], required=False,
                                     help_text="a preset schema (annotation/schema_presets.py) instead of `schema`")
    new_types = serializers.ChoiceField(choices=NewTypes.choices, required=False, default=NewTypes.ASK)

    def __init__(self, *args, **kwargs):
        from annotation.schema_presets import PRESETS

        super().__init__(*args, **kwargs)
        self.fields["preset"].choices = [(key, preset.label) for key, preset in PRESETS.items()]

    def validate(self, data):
        if "schema" in data and "preset" in data:
            raise serializers.ValidationError("Give a schema or a preset, not both.")
        return data

    def validate_name(self, value):
        if Project.objects.filter(name=value).exists():
            raise serializers.ValidationError("A project with this name already exists.")
        return value


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)

    def validate_username(self, value):
        if not get_user_model().objects.filter(username=value, is_active=True).exists():
            raise serializers.ValidationError("No such user.")
        return value


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


# --- annotation layers: mode and assignments ---------------------------------------------------


class AnnotationModeSerializer(serializers.Serializer):
    annotation_mode = serializers.ChoiceField(choices=AnnotationMode.choices)
    annotators_per_document = serializers.IntegerField(min_value=1, max_value=10, required=False)


class AssignmentSerializer(serializers.ModelSerializer):
    document_name = serializers.CharField(source="document.name", read_only=True)
    annotator = serializers.SlugRelatedField(slug_field="username", read_only=True)
    assigned_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Assignment
        fields = ["document", "document_name", "annotator", "assigned_by", "created_at"]
        read_only_fields = fields


class AssignmentCreateSerializer(serializers.Serializer):
    document = serializers.IntegerField(min_value=1)
    annotator = serializers.SlugRelatedField(slug_field="username",
                                             queryset=get_user_model().objects.all())


class AssignmentAutoSerializer(serializers.Serializer):
    annotators = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all(), many=True, required=False,
        help_text="default: the project's members with the annotator role")
    k = serializers.IntegerField(min_value=1, max_value=10, required=False,
                                 help_text="default: the project's annotators per document")


# --- documents and sentences -------------------------------------------------------------------


class DocumentSerializer(serializers.ModelSerializer):
    sentences = serializers.IntegerField(source="sentence_count", read_only=True)

    class Meta:
        model = Document
        fields = ["id", "name", "metadata", "created_at", "sentences"]


class DocumentRenameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255, trim_whitespace=False)


class DocumentDetailSerializer(DocumentSerializer):
    class Meta(DocumentSerializer.Meta):
        fields = DocumentSerializer.Meta.fields + ["text"]


class SentenceSerializer(serializers.ModelSerializer):
    document_name = serializers.CharField(source="document.name", read_only=True)
    uncertainty = serializers.FloatField(read_only=True, allow_null=True, default=None)
    updated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Sentence
        fields = ["id", "document", "document_name", "index", "start", "end", "text", "status",
                  "version", "updated_at", "updated_by", "uncertainty"]


class NormalizationSerializer(serializers.ModelSerializer):
    """A link of an entity to a knowledge-base entry (brat ``N``), e.g. UMLS C0011849."""

    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Normalization
        fields = ["id", "entity", "type", "resource", "reference", "text", "source", "created_by",
                  "created_at"]


class NormalizationCreateSerializer(serializers.Serializer):
    expected_version = serializers.IntegerField(min_value=1, max_value=2**31 - 1,
                                                help_text="The sentence version you read (409 when stale).")
    resource = serializers.CharField(max_length=100, help_text="e.g. UMLS (no blanks, no colon)")
    reference = serializers.CharField(max_length=200, help_text="e.g. C0011849 (no blanks)")
    text = serializers.CharField(max_length=500, required=False, allow_blank=True, default="",
                                 help_text="the entry's name there (optional)")


class EntitySerializer(serializers.ModelSerializer):
    type_name = serializers.CharField(source="type.name", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    normalizations = NormalizationSerializer(many=True, read_only=True)

    class Meta:
        model = Entity
        fields = ["id", "sentence", "document", "type", "type_name", "fragments", "start", "end",
                  "source", "source_detail", "created_by", "created_at", "normalizations"]


class EventArgumentSerializer(serializers.ModelSerializer):
    """One ``Role:ID`` of an event: ``entity`` or (an event as argument) ``event``."""

    event = serializers.IntegerField(source="argument_event_id", read_only=True, allow_null=True)

    class Meta:
        model = EventArgument
        fields = ["role", "entity", "event"]


class EventSerializer(serializers.ModelSerializer):
    """A brat event (``E`` line), read-only: kept so that brat goes out as it came in."""

    arguments = EventArgumentSerializer(many=True, read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Event
        fields = ["id", "document", "type", "trigger", "arguments", "source", "source_detail",
                  "created_by", "created_at"]


class RelationSerializer(serializers.ModelSerializer):
    type_name = serializers.CharField(source="type.name", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Relation
        fields = ["id", "sentence", "document", "type", "type_name", "head", "tail", "source",
                  "source_detail", "created_by", "created_at"]


class SentenceDetailSerializer(SentenceSerializer):
    entities = EntitySerializer(many=True, read_only=True)
    relations = RelationSerializer(many=True, read_only=True)
    events = EventSerializer(many=True, read_only=True)

    class Meta(SentenceSerializer.Meta):
        fields = SentenceSerializer.Meta.fields + ["entities", "relations", "events"]


class VersionedSerializer(serializers.Serializer):
    expected_version = serializers.IntegerField(min_value=1, max_value=2**31 - 1,
                                                help_text="The sentence version you read (409 when stale).")


class OptionalVersionSerializer(serializers.Serializer):
    expected_version = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False,
                                                allow_null=True, default=None)


class SentenceStatusSerializer(VersionedSerializer):
    status = serializers.ChoiceField(choices=SentenceStatus.choices)


class FragmentField(serializers.ListField):
    child = serializers.IntegerField(min_value=0, max_value=2**31 - 1)
    min_length = max_length = 2


class EntityCreateSerializer(VersionedSerializer):
    type = serializers.IntegerField(min_value=1, max_value=2**62)
    fragments = serializers.ListField(child=FragmentField(), min_length=1, max_length=50)


class EntityUpdateSerializer(VersionedSerializer):
    type = serializers.IntegerField(min_value=1, max_value=2**62)


class RelationCreateSerializer(VersionedSerializer):
    type = serializers.IntegerField(min_value=1, max_value=2**62)
    head = serializers.IntegerField(min_value=1, max_value=2**62)
    tail = serializers.IntegerField(min_value=1, max_value=2**62)


# --- model in the loop -------------------------------------------------------------------------


class PredictedEntitySerializer(serializers.ModelSerializer):
    type_name = serializers.CharField(source="type.name", read_only=True)
    model_version = serializers.IntegerField(source="model_version.number", read_only=True)

    class Meta:
        model = PredictedEntity
        fields = ["id", "sentence", "model_version", "type", "type_name", "fragments", "start",
                  "end", "probability", "calibrated_confidence", "status", "entity", "decided_at"]


class PredictedRelationSerializer(serializers.ModelSerializer):
    type_name = serializers.CharField(source="type.name", read_only=True)
    model_version = serializers.IntegerField(source="model_version.number", read_only=True)

    class Meta:
        model = PredictedRelation
        fields = ["id", "sentence", "model_version", "type", "type_name", "head", "tail",
                  "probability", "calibrated_confidence", "status", "relation", "decided_at"]


class ModelVersionSerializer(serializers.ModelSerializer):
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ModelVersion
        fields = ["number", "is_active", "activated_at", "created_at", "dev_metrics", "options",
                  "train_size", "dev_size", "duration_s", "device", "run", "started_by"]


class TrainingRunSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    model_version = serializers.SerializerMethodField()

    class Meta:
        model = TrainingRun
        fields = ["id", "status", "percent", "phase", "epoch", "epochs", "step", "total_steps",
                  "loss", "examples_per_s", "eta_s", "train_size", "dev_size", "device",
                  "cancel_requested", "created_at", "started_at", "finished_at", "heartbeat_at",
                  "error", "options", "started_by", "model_version"]

    def get_model_version(self, run) -> int | None:
        version = getattr(run, "model_version", None)  # reverse one-to-one: None when missing
        return version.number if version else None


class ModelOptionsSerializer(serializers.Serializer):
    options = serializers.DictField()


# --- import, export, audit ----------------------------------------------------------------------


class ImportUploadSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=format_choices(READ_FORMATS))
    file = serializers.FileField(allow_empty_file=False, use_url=False)
    new_types = serializers.ChoiceField(
        choices=NewTypes.choices, required=False,
        help_text="types the project lacks: ask (answer 409 listing them; confirm the job), add "
                  "(the report lists them), refuse; default: the project's setting")
    annotator = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all(), required=False,
        allow_null=True, help_text="import into this user's own layer (independent mode)")


class ImportJobSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    annotator = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ImportJob
        fields = ["id", "format", "file_name", "size", "status", "new_types", "report", "error",
                  "user", "annotator", "created_at", "finished_at"]


class AuditEventSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "user", "action", "object_type", "object_id", "sentence",
                  "payload"]
