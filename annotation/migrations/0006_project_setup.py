"""Project setup (issue 14): the new-types policy of projects and import jobs, the schema's
optimistic-lock version, the ``needs_confirmation`` job status, and keys repaired to be unique
across entity and relation types."""

from django.db import migrations, models

from annotation.schema_keys import key_choose


def rekey_collisions(apps, schema_editor):
    """Keys used to be chosen per kind, so an import could give an entity type a relation's key
    (issue 14: ``1`` made a Value entity where the help said "is negated", ``m`` a relation
    instead of a Measurement). Within a kind keys were unique, so a collision is an entity and
    a relation type (or two keys differing in case only, which the view reads as one): a letter
    stays with the entity type, any other key with the relation type (the presets' convention),
    and the other one gets the next free key by today's rule."""
    EntityType = apps.get_model("annotation", "EntityType")
    RelationType = apps.get_model("annotation", "RelationType")
    for project_id in EntityType.objects.values_list("project_id", flat=True).distinct():
        types = [*EntityType.objects.filter(project_id=project_id).exclude(key=""),
                 *RelationType.objects.filter(project_id=project_id).exclude(key="")]
        types.sort(key=lambda t: (isinstance(t, RelationType) == t.key.isalpha(), t.pk))
        used = set()
        for item in types:
            if item.key.lower() in {k.lower() for k in used}:
                item.key = key_choose("", used, relation=isinstance(item, RelationType))
                item.save(update_fields=["key"])
            else:
                used.add(item.key)


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0005_annotation_layers'),
    ]

    operations = [
        migrations.AddField(
            model_name='importjob',
            name='new_types',
            field=models.CharField(default='ask', help_text="this import's policy for new types (annotation.models.NewTypes)", max_length=10),
        ),
        migrations.AddField(
            model_name='project',
            name='new_types',
            field=models.CharField(choices=[('ask', 'Show them and ask first'), ('add', 'Add them (the report lists them)'), ('refuse', 'Refuse the import')], default='ask', help_text='what an import does with types the project lacks', max_length=10),
        ),
        migrations.AddField(
            model_name='project',
            name='schema_version',
            field=models.PositiveIntegerField(default=1, help_text='optimistic lock of schema edits, bumped by every schema change'),
        ),
        migrations.AlterField(
            model_name='importjob',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('needs_confirmation', 'Waiting for confirmation of new types')], default='queued', max_length=20),
        ),
        migrations.RunPython(rekey_collisions, migrations.RunPython.noop),
    ]
