import pytest
from django.db import IntegrityError

from annotation.models import EntityType, Membership, Role
from annotation.services.projects import (
    PALETTE,
    membership_remove,
    membership_set,
    project_create,
    project_schema_apply,
)
from mlcore.corpus.model import EntityType as EntityTypeSpec
from mlcore.corpus.model import RelationType as RelationTypeSpec
from mlcore.corpus.model import Schema
from tests.annotation.conftest import SMALL_SCHEMA


def test_project_create_applies_schema_and_makes_creator_manager(make_user):
    creator = make_user("alice")
    project = project_create(name="p1", schema=SMALL_SCHEMA, created_by=creator)
    names = list(project.entity_types.values_list("name", "color", "key"))
    assert names[0] == ("Condition", "#E69F00", "c")
    assert names[2][0] == "Negation" and names[2][1] in PALETTE and names[2][2]
    negated = project.relation_types.get(name="is negated")
    assert sorted(t.name for t in negated.heads.all()) == ["Condition", "Drug"]
    assert [t.name for t in negated.tails.all()] == ["Negation"]
    assert Membership.objects.get(project=project, user=creator).role == Role.MANAGER
    assert project.title == "p1"


def test_project_create_uses_the_default_schema(db):
    from annotation.schema_presets import DEFAULT_SCHEMA, RELATION_KEYS

    project = project_create(name="p-default")
    assert list(project.entity_types.values_list("name", flat=True)) == DEFAULT_SCHEMA.entity_names
    keys = dict(project.relation_types.values_list("name", "key"))
    assert keys == {name: RELATION_KEYS[name] for name in DEFAULT_SCHEMA.relation_names}


def test_project_name_is_unique(db):
    project_create(name="same", schema=Schema())
    with pytest.raises(IntegrityError):
        project_create(name="same", schema=Schema())


def test_schema_apply_adds_only_missing_types_with_free_keys_and_distinct_colours(project):
    before = dict(project.entity_types.values_list("name", "key"))
    added = project_schema_apply(project=project, schema=Schema(
        entity_types=[EntityTypeSpec("Condition", "#000000", "x"), EntityTypeSpec("Device"),
                      EntityTypeSpec("Visit", "", "c")],
        relation_types=[RelationTypeSpec("is negated"), RelationTypeSpec("uses", ("Device",), ("Visit",))],
        attribute_types=["Optional"], group_types=["OR"],
    ))
    assert (added["entity_types"], added["relation_types"]) == (2, 1)
    assert [(t["kind"], t["name"]) for t in added["added"]] == [
        ("entity", "Device"), ("entity", "Visit"), ("relation", "uses")]
    types = {t.name: t for t in EntityType.objects.filter(project=project)}
    assert types["Condition"].color == "#E69F00" and types["Condition"].key == before["Condition"]
    keys = [t.key for t in types.values()]
    assert len(keys) == len(set(keys)), "keys stay unique: Visit's wanted 'c' is taken"
    assert types["Device"].color != types["Visit"].color
    assert all(key not in "npszjk?" for key in keys)
    project.refresh_from_db()
    assert project.attribute_types == ["Optional"] and project.group_types == ["OR"]


def test_schema_apply_creates_undeclared_head_and_tail_types(project):
    project_schema_apply(project=project, schema=Schema(
        relation_types=[RelationTypeSpec("located", ("Condition",), ("Anatomy",))]))
    located = project.relation_types.get(name="located")
    assert [t.name for t in located.tails.all()] == ["Anatomy"]


def test_schema_apply_is_idempotent(project):
    assert project_schema_apply(project=project, schema=SMALL_SCHEMA) == {
        "entity_types": 0, "relation_types": 0, "added": []}


def test_membership_set_changes_role_and_remove_deletes(project, users):
    membership_set(project=project, user=users["annotator"], role=Role.REVIEWER)
    assert Membership.objects.get(project=project, user=users["annotator"]).role == Role.REVIEWER
    assert membership_remove(project=project, user=users["annotator"]) is True
    assert membership_remove(project=project, user=users["annotator"]) is False
    with pytest.raises(ValueError):
        membership_set(project=project, user=users["outsider"], role="boss")


def test_schema_apply_normalises_colours_and_refuses_reserved_or_long_keys(project):
    project_schema_apply(project=project, schema=Schema(entity_types=[
        EntityTypeSpec("Line", "lightblue", "L"), EntityTypeSpec("Short", "#abc", "n"),
        EntityTypeSpec("Long", "#123456", "xy"),
    ]))
    types = {t.name: t for t in project.entity_types.all()}
    assert types["Line"].color in PALETTE and types["Line"].key == "L"
    assert types["Short"].color == "#aabbcc" and types["Short"].key not in ("n", "")
    assert types["Long"].color == "#123456" and len(types["Long"].key) == 1


def test_project_delete_removes_a_project_with_annotations(imported_project):
    from annotation.models import Entity, Project
    from annotation.services.projects import project_delete

    project_delete(project=imported_project)
    assert not Project.objects.exists() and not Entity.objects.exists()
    assert not EntityType.objects.exists()
