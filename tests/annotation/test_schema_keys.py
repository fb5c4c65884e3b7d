"""The one key rule: presets, conf uploads, schema edits and imports choose keys through it."""
from annotation.schema_keys import ENTITY_KEY_ORDER, RESERVED_KEYS, key_choose, key_problem
from annotation.services.projects import project_create, project_schema_apply
from annotation.schema_presets import CHIA_SCHEMA
from mlcore.corpus.model import EntityType, RelationType, Schema


def test_key_problem_names_each_refusal():
    assert key_problem("", {"a"}) is None and key_problem("b", {"a"}) is None
    assert "already used" in key_problem("a", {"a"})
    assert "reserved" in key_problem("n", set())
    assert "single character" in key_problem("ab", set()) and "single character" in key_problem(" ", set())
    # the annotation view matches keys without case: N is n (next), V is Device's v
    assert "reserved" in key_problem("N", set()) and "already used" in key_problem("V", {"v"})


def test_key_choose_keeps_a_free_wish_else_takes_the_next_in_the_kinds_order():
    used = {"a", "1"}
    assert key_choose("b", used) == "b" and "b" in used
    assert key_choose("1", used) == "c", "taken by a relation type: the next free letter"
    assert key_choose("", used, relation=True) == "2", "relation types take digits first"
    assert key_choose("s", used) == "d", "reserved"
    assert key_choose("B", used) == "e", "b is taken, so is B"
    everything = set(ENTITY_KEY_ORDER)
    assert key_choose("", everything) == "" and not (set(ENTITY_KEY_ORDER) & RESERVED_KEYS)


def test_issue_14_chia_types_into_the_default_schema_take_no_existing_key(db):
    """The incident: a brat corpus merged into the default schema gave ``1`` to an entity type
    and ``m`` to a relation type. Every new type now gets a key no type holds."""
    project = project_create(name="default")
    before = {**dict(project.entity_types.values_list("name", "key")),
              **dict(project.relation_types.values_list("name", "key"))}
    wanting = Schema(entity_types=[EntityType("Value", "", "1"), EntityType("Scope", "", "m")],
                     relation_types=[RelationType("Has_value")])
    added = project_schema_apply(project=project, schema=wanting)["added"]
    added += project_schema_apply(project=project, schema=CHIA_SCHEMA)["added"]
    keys = [*project.entity_types.values_list("key", flat=True),
            *project.relation_types.values_list("key", flat=True)]
    assert len([k for k in keys if k]) == len({k for k in keys if k})
    assert not {t["key"] for t in added} - {""} & set(before.values())
    after = {**dict(project.entity_types.values_list("name", "key")),
             **dict(project.relation_types.values_list("name", "key"))}
    assert {name: after[name] for name in before} == before, "existing keys never change"
