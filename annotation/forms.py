"""Forms: each annotation action posts the sentence ``version`` it was rendered from."""
from django import forms

from annotation.models import Project, SentenceStatus


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


class StatusForm(_VersionedForm):
    status = forms.ChoiceField(choices=SentenceStatus.choices)
    advance = forms.BooleanField(required=False)


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
