"""Forms: each annotation action posts the sentence ``version`` it was rendered from."""
from django import forms

from annotation.models import NewTypes, Project, Role, SentenceStatus
from mlcore.corpus.brat import parse_annotation_conf
from mlcore.corpus.errors import CorpusFormatError


class _VersionedForm(forms.Form):
    version = forms.IntegerField(min_value=1)


class FragmentsField(forms.JSONField):
    """``[[start, end], ...]`` as JSON; bounds are checked by the service."""

    def validate(self, value):
        super().validate(value)
        if not isinstance(value, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, int) for x in pair)
            for pair in value
        ):
            raise forms.ValidationError("Fragments must be a list of [start, end] integer pairs.")


class EntityCreateForm(_VersionedForm):
    type = forms.IntegerField()
    fragments = FragmentsField()


class EntityTypeForm(_VersionedForm):
    entity = forms.IntegerField()
    type = forms.IntegerField()


class EntityExtendForm(_VersionedForm):
    entity = forms.IntegerField()
    fragments = FragmentsField()


class EntityDeleteForm(_VersionedForm):
    entity = forms.IntegerField()


class RelationCreateForm(_VersionedForm):
    type = forms.IntegerField()
    head = forms.IntegerField()
    tail = forms.IntegerField()


class RelationDeleteForm(_VersionedForm):
    relation = forms.IntegerField()


class NormalizationCreateForm(_VersionedForm):
    entity = forms.IntegerField()
    resource = forms.CharField(max_length=100)
    reference = forms.CharField(max_length=200)
    text = forms.CharField(max_length=500, required=False)


class NormalizationDeleteForm(_VersionedForm):
    normalization = forms.IntegerField()


class _TargetForm(_VersionedForm):
    """An attribute or a note goes on one entity or one relation of the sentence."""

    entity = forms.IntegerField(required=False)
    relation = forms.IntegerField(required=False)

    def clean(self):
        data = super().clean()
        if (data.get("entity") is None) == (data.get("relation") is None):
            raise forms.ValidationError("Give either an entity or a relation.")
        return data


class AttributeCreateForm(_TargetForm):
    """``attribute`` is ``Name`` (a flag) or ``Name=Value``; the schema is checked by the service."""

    attribute = forms.CharField(max_length=301)

    def clean(self):
        data = super().clean()
        name, _, value = data.get("attribute", "").partition("=")
        data["name"], data["value"] = name.strip(), value.strip()
        return data


class AttributeUpdateForm(_VersionedForm):
    attribute = forms.IntegerField()
    value = forms.CharField(max_length=200)


class AttributeDeleteForm(_VersionedForm):
    attribute = forms.IntegerField()


class NoteCreateForm(_TargetForm):
    text = forms.CharField(max_length=4000)


class NoteUpdateForm(_VersionedForm):
    note = forms.IntegerField()
    text = forms.CharField(max_length=4000)


class NoteDeleteForm(_VersionedForm):
    note = forms.IntegerField()


class GroupAddForm(_VersionedForm):
    """Into an existing group of the sentence (``group``) or a new one of a type (``type``)."""

    entity = forms.IntegerField()
    group = forms.IntegerField(required=False)
    type = forms.CharField(max_length=100, required=False)

    def clean(self):
        data = super().clean()
        choice = self.data.get("into", "")
        if choice.startswith("group:") and choice[6:].isdigit():
            data["group"] = int(choice[6:])
        elif choice.startswith("new:"):
            data["type"] = choice[4:]
        if data.get("group") is None and not data.get("type"):
            raise forms.ValidationError("Choose a group, or a type for a new one.")
        return data


class GroupRemoveForm(_VersionedForm):
    member = forms.IntegerField()


class StatusForm(_VersionedForm):
    status = forms.ChoiceField(choices=SentenceStatus.choices)
    advance = forms.BooleanField(required=False)


class SuggestionDecideForm(_VersionedForm):
    """Accept or reject one model suggestion drawn in the annotation view."""

    kind = forms.ChoiceField(choices=[("entity", "entity"), ("relation", "relation")])
    suggestion = forms.IntegerField(min_value=1)


class SuggestionsAcceptShownForm(_VersionedForm):
    """Accept every suggestion shown (at or above the project's display threshold)."""


class UndoForm(_VersionedForm):
    pass


class GuidelinesForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["guidelines"]
        widgets = {"guidelines": forms.Textarea(attrs={"rows": 18, "class": "mono"})}


class DocumentFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=200)
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *SentenceStatus.choices])
    entity_type = forms.ChoiceField(required=False, label="Has entity type")
    annotator = forms.ChoiceField(required=False)

    def __init__(self, *args, entity_types=(), annotators=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entity_type"].choices = [("", "Any entity type")] + [
            (str(t.pk), t.name) for t in entity_types]
        self.fields["annotator"].choices = [("", "Any annotator")] + [
            (str(u.pk), u.username) for u in annotators]


# --- project setup: creation, settings, schema, members -------------------------------------

CONF_MAX_BYTES = 1 << 20


def conf_schema(text: str, file: str = "annotation.conf"):
    """The schema a brat ``annotation.conf`` declares (mlcore's reader, the one parser), or a
    ValidationError naming the line."""
    try:
        return parse_annotation_conf(text, file=file)
    except CorpusFormatError as error:
        raise forms.ValidationError(str(error)) from None


def _conf_text(upload) -> str:
    if upload.size > CONF_MAX_BYTES:
        raise forms.ValidationError("An annotation.conf larger than 1 MiB is not a schema.")
    try:
        return upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise forms.ValidationError("The annotation.conf is not UTF-8 text.") from None


class ConfUploadForm(forms.Form):
    """A brat ``annotation.conf``, uploaded (``conf``) or re-posted from a preview (``conf_text``)."""

    conf = forms.FileField(required=False, label="annotation.conf")
    conf_text = forms.CharField(required=False, widget=forms.HiddenInput, max_length=CONF_MAX_BYTES)

    def clean(self):
        data = super().clean()
        text = _conf_text(data["conf"]) if data.get("conf") else data.get("conf_text", "")
        if not text.strip():
            raise forms.ValidationError("Choose an annotation.conf file.")
        data["conf_text"], data["schema"] = text, conf_schema(text, getattr(data.get("conf"), "name", "annotation.conf"))
        return data


class ProjectCreateForm(ConfUploadForm):
    """A new project: its name, title, policy for new types, and a preset or an annotation.conf."""

    name = forms.SlugField(max_length=100, help_text="letters, digits, - and _: the project's address")
    title = forms.CharField(max_length=200, required=False)
    schema_source = forms.ChoiceField(label="Schema", widget=forms.RadioSelect)
    new_types = forms.ChoiceField(choices=NewTypes.choices, initial=NewTypes.ASK,
                                  label="Imports that would add types")

    field_order = ["name", "title", "schema_source", "conf", "new_types"]

    def __init__(self, *args, **kwargs):
        from annotation.schema_presets import PRESETS

        super().__init__(*args, **kwargs)
        self.fields["schema_source"].choices = [
            *((key, preset.label) for key, preset in PRESETS.items()),
            ("conf", "From a brat annotation.conf (upload below)")]
        self.fields["schema_source"].initial = "eligibility"

    def clean_name(self):
        name = self.cleaned_data["name"]
        if Project.objects.filter(name=name).exists():
            raise forms.ValidationError("A project with this name already exists.")
        return name

    def clean(self):
        if self.data.get("schema_source") != "conf":
            return forms.Form.clean(self)
        return super().clean()


class AnnotationModeForm(forms.Form):
    """A project's annotation mode and k (the assignments page, and the setup page's settings)."""

    annotation_mode = forms.ChoiceField(choices=Project._meta.get_field("annotation_mode").choices,
                                        label="Mode")
    annotators_per_document = forms.IntegerField(min_value=1, max_value=10,
                                                 label="Annotators per document (k)")


class ProjectSettingsForm(AnnotationModeForm, forms.ModelForm):
    """The settings page: title, description, the new-types policy, and the annotation mode
    (the same fields as the assignments page's ``AnnotationModeForm``)."""

    class Meta:
        model = Project
        fields = ["title", "description", "new_types", "annotation_mode", "annotators_per_document"]
        labels = {"new_types": "Imports that would add types"}
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class _SchemaVersionForm(forms.Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class SchemaEntityTypeForm(_SchemaVersionForm):
    name = forms.CharField(max_length=100)
    color = forms.CharField(max_length=7, required=False)
    key = forms.CharField(max_length=1, required=False, strip=False)


class SchemaRelationTypeForm(_SchemaVersionForm):
    """``heads``/``tails``: entity type ids (none ticked: any type); checked by the service."""

    name = forms.CharField(max_length=100)
    key = forms.CharField(max_length=1, required=False, strip=False)
    heads = forms.TypedMultipleChoiceField(coerce=int, required=False)
    tails = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args, entity_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(t.pk, t.name) for t in entity_types]
        self.fields["heads"].choices = self.fields["tails"].choices = choices


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices)
# --- annotation layers: assignments (managers) ---------------------------------------------

class AssignmentForm(forms.Form):
    """One document to (or from) one annotator, among the project's."""

    document = forms.ModelChoiceField(queryset=None)
    annotator = forms.ModelChoiceField(queryset=None, to_field_name="username")

    def __init__(self, *args, documents, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document"].queryset = documents
        self.fields["annotator"].queryset = members


class AssignmentAutoForm(forms.Form):
    """Balanced assignment: ``k`` of the chosen annotators for every document."""

    annotators = forms.ModelMultipleChoiceField(queryset=None, to_field_name="username",
                                                widget=forms.CheckboxSelectMultiple)
    k = forms.IntegerField(min_value=1, max_value=10, label="Annotators per document (k)")

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["annotators"].queryset = members


# --- curation (reviewers) ------------------------------------------------------------------

CURATION_ACTIONS = ("take-entity", "take-all", "merge-agreed", "drop-entity", "finish")


class CurationActionForm(_VersionedForm):
    """One curation action; ``annotator`` names whose version is taken, ``target`` the
    annotator's entity (take-entity) or the curated entity (drop-entity)."""

    action = forms.ChoiceField(choices=[(a, a) for a in CURATION_ACTIONS])
    annotator = forms.CharField(max_length=150, required=False)
    target = forms.IntegerField(required=False)

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action in ("take-entity", "take-all") and not data.get("annotator"):
            self.add_error("annotator", "Name the annotator whose version to take.")
        if action in ("take-entity", "drop-entity") and data.get("target") is None:
            self.add_error("target", "Name the entity.")
        return data
