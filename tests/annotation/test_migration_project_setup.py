"""Migration 0006_project_setup repairs keys shared by an entity and a relation type (issue 14's
import gave the entity type Value the key 1 of "is negated", a relation Measurement's m)."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("annotation", "0005_annotation_layers")]
AFTER = [("annotation", "0006_project_setup")]


@pytest.mark.slow
def test_colliding_keys_are_repaired_letters_to_entities_digits_to_relations(transactional_db):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Project = apps.get_model("annotation", "Project")
    EntityType = apps.get_model("annotation", "EntityType")
    RelationType = apps.get_model("annotation", "RelationType")
    project = Project.objects.create(name="broken")
    EntityType.objects.create(project=project, name="Measurement", key="m")
    RelationType.objects.create(project=project, name="is negated", key="1")
    EntityType.objects.create(project=project, name="Value", key="1")
    RelationType.objects.create(project=project, name="Has_value", key="m")
    EntityType.objects.create(project=project, name="Visit", key="V")
    EntityType.objects.create(project=project, name="Device", key="v")
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        apps = executor.loader.project_state(AFTER).apps
        entity = dict(apps.get_model("annotation", "EntityType").objects.values_list("name", "key"))
        relation = dict(apps.get_model("annotation", "RelationType").objects.values_list("name", "key"))
        assert entity["Measurement"] == "m" and relation["is negated"] == "1"
        assert entity["Value"] not in ("", "m", "1") and relation["Has_value"] not in ("", "m", "1")
        assert relation["Has_value"].isdigit() and entity["Value"].isalpha()
        assert entity["Visit"] == "V" and entity["Device"] not in ("v", "V"), "keys ignore case"
        keys = [k.lower() for k in (*entity.values(), *relation.values())]
        assert len(keys) == len(set(keys))
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
