"""Admin: every model, kept fast on large projects (raw id widgets, no costly joins)."""
from django import forms
from django.contrib import admin

from annotation import models
from annotation.services.projects import project_delete
from mlcore.corpus.names import document_name_problem


class MembershipInline(admin.TabularInline):
    model = models.Membership
    raw_id_fields = ["user"]
    extra = 0


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "annotation_mode", "created_at"]
    search_fields = ["name", "title"]
    inlines = [MembershipInline]

    def get_deleted_objects(self, objs, request):
        """A count per project instead of listing every sentence and entity (and no PROTECT
        refusal: ``project_delete`` removes the documents before the types)."""
        summary = [
            f"{project}: {project.documents.count()} documents, {project.sentences.count()} sentences, "
            f"{models.Entity.objects.filter(document__project=project).count()} entities"
            for project in objs
        ]
        perms_needed = set() if self.has_delete_permission(request) else {"project"}
        return summary, {"projects": len(summary)}, perms_needed, []

    def delete_model(self, request, obj):
        project_delete(project=obj)

    def delete_queryset(self, request, queryset):
        for project in queryset:
            project_delete(project=project)


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__name"]
    raw_id_fields = ["user", "project"]
    list_select_related = ["user", "project"]


@admin.register(models.EntityType)
class EntityTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "color", "key", "order"]
    list_filter = ["project"]
    search_fields = ["name"]
    raw_id_fields = ["project"]
    list_select_related = ["project"]


@admin.register(models.RelationType)
class RelationTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "key", "order"]
    list_filter = ["project"]
    search_fields = ["name"]
    raw_id_fields = ["project", "heads", "tails"]
    list_select_related = ["project"]


class DocumentAdminForm(forms.ModelForm):
    """The import's name rule (``mlcore.corpus.names``) for names edited here too."""

    class Meta:
        model = models.Document
        fields = "__all__"

    def clean_name(self):
        name = self.cleaned_data["name"]
        problem = document_name_problem(name)
        if problem:
            raise forms.ValidationError(f"The document name {problem}.")
        return name


@admin.register(models.Document)
class DocumentAdmin(admin.ModelAdmin):
    form = DocumentAdminForm
    list_display = ["name", "project", "created_at"]
    list_filter = ["project"]
    search_fields = ["name"]
    raw_id_fields = ["project"]
    list_select_related = ["project"]
    show_full_result_count = False


@admin.register(models.Sentence)
class SentenceAdmin(admin.ModelAdmin):
    list_display = ["id", "document", "index", "status", "version", "updated_by", "updated_at"]
    list_filter = ["status", "project"]
    search_fields = ["document__name"]
    raw_id_fields = ["project", "document", "updated_by"]
    list_select_related = ["document", "updated_by"]
    show_full_result_count = False


@admin.register(models.SentenceLayer)
class SentenceLayerAdmin(admin.ModelAdmin):
    list_display = ["id", "sentence", "annotator", "status", "version", "updated_at"]
    list_filter = ["status"]
    raw_id_fields = ["sentence", "annotator"]
    list_select_related = ["sentence__document", "annotator"]
    show_full_result_count = False


@admin.register(models.Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "document", "annotator", "assigned_by", "created_at"]
    list_filter = ["document__project"]
    search_fields = ["document__name", "annotator__username"]
    raw_id_fields = ["document", "annotator", "assigned_by"]
    list_select_related = ["document", "annotator", "assigned_by"]


class ProvenanceAdmin(admin.ModelAdmin):
    list_filter = ["source"]
    raw_id_fields = ["document", "created_by", "annotator"]
    show_full_result_count = False


@admin.register(models.Entity)
class EntityAdmin(ProvenanceAdmin):
    list_display = ["id", "document", "type", "fragments", "source", "created_by"]
    list_filter = ["source", "type__project"]
    search_fields = ["document__name", "type__name"]
    raw_id_fields = ["document", "sentence", "type", "created_by", "annotator"]
    list_select_related = ["document", "type", "created_by"]


@admin.register(models.Relation)
class RelationAdmin(ProvenanceAdmin):
    list_display = ["id", "document", "type", "head", "tail", "source"]
    list_filter = ["source", "type__project"]
    search_fields = ["document__name", "type__name"]
    raw_id_fields = ["document", "sentence", "type", "head", "tail", "head_event", "tail_event",
                     "created_by", "annotator"]
    list_select_related = ["document", "type", "head__type", "tail__type"]


class GroupMemberInline(admin.TabularInline):
    model = models.GroupMember
    raw_id_fields = ["entity"]
    extra = 0


@admin.register(models.Group)
class GroupAdmin(ProvenanceAdmin):
    list_display = ["id", "document", "type", "source"]
    list_filter = ["source", "type"]
    search_fields = ["document__name"]
    list_select_related = ["document"]
    inlines = [GroupMemberInline]


@admin.register(models.GroupMember)
class GroupMemberAdmin(admin.ModelAdmin):
    list_display = ["id", "group", "entity", "position"]
    raw_id_fields = ["group", "entity"]
    show_full_result_count = False


@admin.register(models.Attribute)
class AttributeAdmin(ProvenanceAdmin):
    list_display = ["id", "document", "name", "value", "entity", "relation", "source"]
    list_filter = ["source", "name"]
    search_fields = ["document__name", "name", "value"]
    raw_id_fields = ["document", "entity", "relation", "event", "created_by", "annotator"]
    list_select_related = ["document"]


@admin.register(models.Note)
class NoteAdmin(ProvenanceAdmin):
    list_display = ["id", "document", "type", "text", "entity", "relation", "source"]
    list_filter = ["source", "type"]
    search_fields = ["document__name", "text"]
    raw_id_fields = ["document", "entity", "relation", "event", "created_by", "annotator"]
    list_select_related = ["document"]


class EventArgumentInline(admin.TabularInline):
    model = models.EventArgument
    fk_name = "event"
    raw_id_fields = ["entity", "argument_event"]
    extra = 0


@admin.register(models.Event)
class EventAdmin(ProvenanceAdmin):
    list_display = ["id", "document", "type", "trigger", "source"]
    list_filter = ["source", "type"]
    search_fields = ["document__name", "type"]
    raw_id_fields = ["document", "trigger", "created_by", "annotator"]
    list_select_related = ["document", "trigger__type"]
    inlines = [EventArgumentInline]


@admin.register(models.EventArgument)
class EventArgumentAdmin(admin.ModelAdmin):
    list_display = ["id", "event", "position", "role", "entity", "argument_event"]
    raw_id_fields = ["event", "entity", "argument_event"]
    show_full_result_count = False


@admin.register(models.Normalization)
class NormalizationAdmin(ProvenanceAdmin):
    list_display = ["id", "document", "resource", "reference", "text", "entity", "event", "source"]
    list_filter = ["source", "resource"]
    search_fields = ["document__name", "reference", "text"]
    raw_id_fields = ["document", "entity", "event", "created_by", "annotator"]
    list_select_related = ["document"]


# --- the model-in-the-loop tables ------------------------------------------------------


@admin.register(models.TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "status", "phase", "epoch", "epochs", "started_by", "created_at"]
    list_filter = ["status", "project"]
    search_fields = ["project__name", "celery_task_id"]
    raw_id_fields = ["project", "started_by"]
    list_select_related = ["project", "started_by"]


@admin.register(models.ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "number", "is_active", "train_size", "device", "created_at"]
    list_filter = ["is_active", "project"]
    search_fields = ["project__name", "checkpoint_dir"]
    raw_id_fields = ["project", "run", "started_by"]
    list_select_related = ["project"]


@admin.register(models.PredictedEntity)
class PredictedEntityAdmin(admin.ModelAdmin):
    list_display = ["id", "model_version", "sentence", "type", "start", "end", "probability", "status"]
    list_filter = ["status"]
    raw_id_fields = ["model_version", "sentence", "type", "entity", "decided_by"]
    list_select_related = ["model_version", "sentence__document", "type"]
    show_full_result_count = False


@admin.register(models.PredictedRelation)
class PredictedRelationAdmin(admin.ModelAdmin):
    list_display = ["id", "model_version", "sentence", "type", "head", "tail", "probability", "status"]
    list_filter = ["status"]
    raw_id_fields = ["model_version", "sentence", "type", "head", "tail", "relation", "decided_by"]
    list_select_related = ["model_version", "sentence__document", "type"]
    show_full_result_count = False


@admin.register(models.SentenceScore)
class SentenceScoreAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "sentence", "model_version", "score", "created_at"]
    list_filter = ["project"]
    raw_id_fields = ["project", "sentence", "model_version"]
    list_select_related = ["project", "sentence__document", "model_version"]
    show_full_result_count = False


# --- audit trail and import jobs ----------------------------------------------------------


@admin.register(models.AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "project", "user", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type", "project"]
    search_fields = ["user__username", "object_type"]
    raw_id_fields = ["project", "user", "sentence"]
    list_select_related = ["project", "user"]
    show_full_result_count = False


@admin.register(models.ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "user", "format", "file_name", "size", "status", "created_at"]
    list_filter = ["status", "format", "project"]
    search_fields = ["file_name", "user__username"]
    raw_id_fields = ["project", "user"]
    list_select_related = ["project", "user"]
