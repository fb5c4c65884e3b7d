"""Undo and redo of annotation actions: the steps, applying them, and the stacks that hold them.

A *step* says how to put a sentence back as it was before an action: the status before, the
rows the action changed or deleted as they were (entities, relations, and what hangs on them:
normalizations, attributes, notes, OR groups and their members, suggestion links, relations of
other sentences), the ids of the rows it created, and for a decision on model suggestions the
decisions as they were (``suggestions``: status, the annotation an accept made, who decided
and when), so that undoing an accept deletes what it made and puts the suggestion back to
pending, and undoing a reject puts it back to pending. The view takes
:func:`sentence_snapshot` before an action and turns it into a step with :func:`undo_step`
after it. :func:`step_apply` puts the rows back under their old ids, with provenance and
timestamps unchanged, and returns the step that undoes *that*: undoing pushes it on the redo
stack, redoing applies it and pushes its own inverse back on the undo stack.

The stacks live in the session, one undo and one redo stack per browser tab (the page sends
its tab id in the ``X-Eligo-Tab`` header, kept in the tab's ``sessionStorage``), sentence and
layer (``Sentence.layer``: what a user did in their own layer is never undone in the curated
one, should their role change);
each entry remembers the sentence version it applies to, and is refused when the sentence has
moved on since (someone else, or the same user in another tab, changed it). A new action
empties that tab's redo stack. The session keeps each step packed (rows as value lists, empty
parts left out): it is decoded and encoded whole on every request.
"""
from __future__ import annotations

import re
import zlib

from django.core.exceptions import ValidationError

from annotation.audit import audit_annotations
from annotation.models import (
    AuditAction, Entity, GroupMember, PredictedEntity, PredictedRelation, Relation, Sentence,
)
from annotation.rows import instance_of, row_of, rows_insert
from annotation.selectors.annotations import EXTRAS, SentenceAnnotations, sentence_annotations
from annotation.services.annotations import _atomic, sentence_version_bump
from annotation.services.dependents import CASCADES, annotations_delete, dependents_restore

UNDO_DEPTH = 30
UNDO_SENTENCES = 20
SESSION_KEY = "undo_tabs"
TAB_HEADER = "X-Eligo-Tab"
_TAB = re.compile(r"[A-Za-z0-9_-]{1,40}")
EXTRA_KINDS = tuple(kind for kind, _, _ in EXTRAS)
_MODELS = {kind: model for kind, model, _ in EXTRAS}
# the kinds of a step whose rows are whole rows (``row_of``), and their models
_ROW_MODELS = {"entities": Entity, "relations": Relation, **_MODELS, **{
    kind: model for kind, model, _, _ in CASCADES}}
# 4: rows carry the layer's ``annotator_id``, a decision the suggestions' as they were; 5:
# rows kept as value lists in the session, the checksum of the models' columns refusing steps
# recorded before a migration changed them
UNDO_FORMAT = "5." + str(zlib.crc32(" ".join(
    f"{model._meta.db_table}.{f.attname}" for model in sorted(set(_ROW_MODELS.values()), key=str)
    for f in model._meta.concrete_fields).encode()))
_EMPTY_STEP = {"entities": [], "relations": [], "created_entities": [], "created_relations": [],
               "created": {}, "dependents": {}}


# --- steps -------------------------------------------------------------------------------

def sentence_snapshot(*, sentence: Sentence, annotations: SentenceAnnotations) -> dict:
    """A JSON-able copy of the sentence's status and of the rows of its annotations (every
    column, provenance and timestamps included); no query. Taken before an action."""
    snapshot = {"status": sentence.status}
    for kind in ("entities", "relations", *EXTRA_KINDS):
        snapshot[kind] = sorted((row_of(obj) for obj in getattr(annotations, kind)),
                                key=lambda row: row["id"])
    return snapshot


def undo_step(*, before: dict, after: SentenceAnnotations, dependents: dict | None = None) -> dict:
    """What undoing an action takes, from the snapshot before it and the annotations after it
    (and, for a delete, the rows of other tables it took along: ``Dependents.rows``).

    Only the difference is kept: the session holds up to 30 steps for each of 20 sentences
    and is decoded and encoded on every action, so whole snapshots there cost several
    milliseconds of CPU per request.
    """
    def changes(kind: str) -> tuple[list[dict], list[int]]:
        current = {obj.pk: row_of(obj) for obj in getattr(after, kind)}
        old = {row["id"] for row in before[kind]}
        return [row for row in before[kind] if current.get(row["id"]) != row], sorted(set(current) - old)

    entities, created_entities = changes("entities")
    relations, created_relations = changes("relations")
    restore, created = dict(dependents or {}), {}
    for kind in EXTRA_KINDS:
        rows, created[kind] = changes(kind)
        restore[kind] = _merged(restore.get(kind, []), rows)
    return {"format": UNDO_FORMAT, "status": before["status"], "entities": entities,
            "relations": relations, "created_entities": created_entities,
            "created_relations": created_relations,
            "created": {k: v for k, v in created.items() if v},
            "dependents": {k: v for k, v in restore.items() if v}}


def decisions_changed(*, before: dict[str, dict], after: dict[str, dict]) -> list[dict]:
    """The decisions (``DrawnSuggestions.decisions``) an action changed, as they were before."""
    return [decision for key, decision in before.items() if after.get(key) != decision]


_DECIDED = {"entity": (PredictedEntity, "entity_id"), "relation": (PredictedRelation, "relation_id")}


def _decisions_now(decisions: list[dict]) -> list[dict]:
    """The suggestions of ``decisions`` as they are decided now (read before a step touches
    anything: deleting an accepted annotation unlinks its suggestion). One read per kind."""
    current = []
    for kind, (model, link) in _DECIDED.items():
        ids = [d["id"] for d in decisions if d["kind"] == kind]
        if ids:
            rows = model.objects.filter(pk__in=ids).values(
                "id", "status", link, "decided_by_id", "decided_at")
            current += [{"kind": kind, "id": row["id"], "status": row["status"],
                         "link_id": row[link], "decided_by_id": row["decided_by_id"],
                         "decided_at": row["decided_at"].isoformat() if row["decided_at"] else None}
                        for row in rows]
    return current


def _decisions_write(decisions: list[dict]) -> None:
    """Put suggestion decisions back as they were (after the annotations they link to)."""
    for decision in decisions:
        model, link = _DECIDED[decision["kind"]]
        model.objects.filter(pk=decision["id"]).update(
            status=decision["status"], decided_by_id=decision["decided_by_id"],
            decided_at=decision["decided_at"], **{link: decision["link_id"]})


def _merged(rows: list[dict], more: list[dict]) -> list[dict]:
    seen = {row["id"] for row in rows}
    return rows + [row for row in more if row["id"] not in seen]


@_atomic
def step_apply(*, sentence: Sentence, user, step: dict,
               expected_version: int) -> tuple[dict, SentenceAnnotations]:
    """Apply an undo (or redo) step: remove what the action created, put back the rows it
    changed or deleted, and its status before. Audited like the action: its entities,
    relations and the attributes, notes, normalizations and group members it touched
    directly (not those that only came back with their entity or relation). Returns the step that reverses this one and
    the sentence's annotations as they are now (read again, for the page).

    Rows come back under their old ids with their provenance and timestamps, so older
    steps on the stacks stay valid and an undone delete leaves no trace but the version
    and the audit trail. Only this sentence's annotations are touched.
    """
    if step.get("format") != UNDO_FORMAT:
        raise ValidationError("This undo step was recorded by an older version of Eligo.")
    status_before = sentence.status
    sentence_version_bump(sentence=sentence, user=user, expected_version=expected_version,
                          status=step["status"])
    current = sentence_annotations(sentence=sentence)
    before = {**sentence_snapshot(sentence=sentence, annotations=current), "status": status_before}
    decisions = _decisions_now(step.get("suggestions", []))
    taken = _extras_remove(current=current, created=step.get("created", {}))
    removed, events = _remove_created(current=current, step=step)
    events += _restore_entities(current=current, wanted=step["entities"])
    restored = [instance_of(Relation, row) for row in step["relations"]
                if current.relation(row["id"]) is None]
    rows_insert(Relation, [row_of(r) for r in restored])
    dependents = dict(step.get("dependents", {}))
    extras = {kind: dependents.pop(kind, []) for kind in EXTRA_KINDS}
    _extras_restore(rows=extras, present={kind: {row["id"] for row in before[kind]}
                                          for kind in EXTRA_KINDS})
    restored += dependents_restore(rows=dependents)
    events += [(AuditAction.DELETED, instance_of(_MODELS[kind], row))
               for kind, rows in taken.items() for row in rows]
    back = ({("entity", row["id"]) for row in step["entities"]}
            | {("relation", row["id"]) for row in step["relations"]})
    events += [(AuditAction.CHANGED if any(r["id"] == row["id"] for r in before[kind])
                 else AuditAction.CREATED, instance_of(_MODELS[kind], row))
               for kind, rows in extras.items() for row in rows
               if not back & {("entity", row.get("entity_id")), ("relation", row.get("relation_id"))}]
    audit_annotations(project_id=sentence.project_id, user=user, sentence_id=sentence.pk,
                      events=[*events, *((AuditAction.CREATED, r) for r in restored)])
    _decisions_write(step.get("suggestions", []))
    after = sentence_annotations(sentence=sentence)
    for kind, rows in taken.items():
        removed[kind] = _merged(removed.get(kind, []), rows)
    reverse = undo_step(before=before, after=after, dependents=removed)
    if decisions:
        reverse["suggestions"] = decisions
    return reverse, after


def _extras_remove(*, current: SentenceAnnotations, created: dict) -> dict[str, list]:
    """Delete the normalizations, attributes, notes, group members and groups the action
    created (a group with all its members); return their rows."""
    taken: dict[str, list] = {}
    group_ids = created.get("groups", [])
    members = list(GroupMember.objects.filter(group_id__in=group_ids)) if group_ids else []
    member_ids = set(created.get("group_members", [])) | {m.pk for m in members}
    by_kind = {**created, "group_members": sorted(member_ids)}
    for kind in EXTRA_KINDS:
        ids = set(by_kind.get(kind, []))
        if not ids:
            continue
        mine = [obj for obj in getattr(current, kind) if obj.pk in ids]
        if kind == "group_members":
            mine = _merged_objects(mine, members)
        taken[kind] = [row_of(obj) for obj in mine]
        setattr(current, kind, [obj for obj in getattr(current, kind) if obj.pk not in ids])
    for kind in ("group_members", *(k for k in EXTRA_KINDS if k != "group_members")):
        if taken.get(kind):
            model = _MODELS[kind]
            model.objects.filter(pk__in=[row["id"] for row in taken[kind]])._raw_delete(model.objects.db)
    return taken


def _merged_objects(objs: list, more: list) -> list:
    seen = {obj.pk for obj in objs}
    return objs + [obj for obj in more if obj.pk not in seen]


def _extras_restore(*, rows: dict[str, list], present: dict[str, set]) -> None:
    """Put back extra rows as they were: rows still ``present`` (changed since) are replaced;
    groups go in before their members."""
    for kind in ("group_members", *(k for k in EXTRA_KINDS if k != "group_members")):
        replaced = [row["id"] for row in rows.get(kind, []) if row["id"] in present[kind]]
        if replaced:
            model = _MODELS[kind]
            model.objects.filter(pk__in=replaced)._raw_delete(model.objects.db)
    for kind in ("groups", *(k for k in EXTRA_KINDS if k != "groups")):
        rows_insert(_MODELS[kind], rows.get(kind, []))


def _remove_created(*, current: SentenceAnnotations, step: dict) -> tuple[dict, list]:
    """Delete the entities and relations the action created (with what hangs on them); return
    what went besides them (for the reverse step) and the audit events."""
    entities = [e for e in current.entities if e.pk in step["created_entities"]]
    gone = {e.pk for e in entities}
    relations = [r for r in current.relations
                 if r.pk in step["created_relations"] or gone & {r.head_id, r.tail_id}]
    if not entities and not relations:
        return {}, []
    removed = annotations_delete(entities=entities, relations=relations)
    current.entities[:] = [e for e in current.entities if e.pk not in gone]
    current.relations[:] = [r for r in current.relations if r not in removed.relations]
    events = ([(AuditAction.DELETED, r) for r in removed.relations]
              + [(AuditAction.DELETED, e) for e in entities])
    return removed.rows, events


def _restore_entities(*, current: SentenceAnnotations, wanted: list[dict]) -> list:
    """Insert the missing entities, put back the changed ones; their audit events."""
    missing, events = [], []
    for row in wanted:
        entity = current.entity(row["id"])
        if entity is None:
            missing.append(row)
            events.append((AuditAction.CREATED, instance_of(Entity, row)))
        elif row_of(entity) != row:
            fields = {k: v for k, v in vars(instance_of(Entity, row)).items()
                      if k in row and k != "id"}
            Entity.objects.filter(pk=entity.pk).update(**fields)
            events.append((AuditAction.CHANGED, instance_of(Entity, row)))
    rows_insert(Entity, missing)
    return events


def _packed(step: dict) -> dict:
    """A step as the session keeps it: its empty parts left out, each row as the list of its
    values in field order. The session is decoded and encoded whole on every action, so its
    size is time: this makes it less than half as long."""
    packed = {key: value for key, value in step.items() if value or key not in _EMPTY_STEP}
    for key in ("entities", "relations"):
        if key in packed:
            packed[key] = [_values(key, row) for row in packed[key]]
    if "dependents" in packed:
        packed["dependents"] = {kind: [_values(kind, row) for row in rows]
                                if kind in _ROW_MODELS else rows
                                for kind, rows in packed["dependents"].items()}
    return packed


def _unpacked(packed: dict) -> dict:
    """The step :func:`_packed` made (one of another format as it is: applying it is refused)."""
    if packed.get("format") != UNDO_FORMAT:
        return packed
    step = {**_EMPTY_STEP, **packed}
    for key in ("entities", "relations"):
        step[key] = [_row(key, values) for values in step[key]]
    step["dependents"] = {kind: [_row(kind, values) for values in rows]
                          if kind in _ROW_MODELS else rows
                          for kind, rows in step["dependents"].items()}
    return step


def _values(kind: str, row: dict) -> list:
    return [row[f.attname] for f in _ROW_MODELS[kind]._meta.concrete_fields]


def _row(kind: str, values: list) -> dict:
    return dict(zip((f.attname for f in _ROW_MODELS[kind]._meta.concrete_fields), values))


# --- stacks ------------------------------------------------------------------------------

def undo_tab(request) -> str:
    """The browser tab the request comes from (``X-Eligo-Tab``, or the ``tab`` field of a
    form); ``""`` for clients that send none (they share one pair of stacks)."""
    tab = request.headers.get(TAB_HEADER) or request.POST.get("tab", "")
    return tab if _TAB.fullmatch(tab) else ""


def _sentence_key(sentence: Sentence) -> str:
    """The sentence's part of a stack key: its id, and the annotator's id in their layer."""
    return str(sentence.pk) if sentence.layer is None else f"{sentence.pk}.{sentence.layer}"


def _stacks(session, tab: str, sentence: Sentence, *, create: bool = False) -> dict | None:
    every = session.get(SESSION_KEY, {})
    key = f"{tab}/{_sentence_key(sentence)}"
    if key not in every and not create:
        return None
    stacks = every.pop(key, None) or {"undo": [], "redo": []}
    every[key] = stacks  # most recently used last
    while len(every) > UNDO_SENTENCES:
        every.pop(next(iter(every)))
    session[SESSION_KEY] = every
    return stacks


def undo_record(*, session, tab: str, sentence: Sentence, step: dict, label: str) -> None:
    """Remember a new action of this tab on the sentence (now at ``sentence.version``): push
    its step on the undo stack and empty the redo stack."""
    stacks = _stacks(session, tab, sentence, create=True)
    stacks["undo"] = stacks["undo"][-(UNDO_DEPTH - 1):] + [
        {"version": sentence.version, "step": _packed(step), "label": label}]
    stacks["redo"] = []


def undo_entry(*, session, tab: str, sentence: Sentence, direction: str) -> dict | None:
    """The entry that undo (``direction="undo"``) or redo would apply next, if any."""
    stacks = session.get(SESSION_KEY, {}).get(f"{tab}/{_sentence_key(sentence)}")
    if not stacks or not stacks[direction]:
        return None
    entry = stacks[direction][-1]
    return {**entry, "step": _unpacked(entry.get("step", {}))}


def undo_labels(*, session, sentence: Sentence) -> dict[str, list[str]]:
    """For each tab with something to undo or redo on the sentence as it is now: the labels
    of its next undo and redo (``""`` where there is none). The page picks its own tab's."""
    labels = {}
    for key, stacks in session.get(SESSION_KEY, {}).items():
        tab, _, sentence_key = key.rpartition("/")
        if sentence_key != _sentence_key(sentence):
            continue
        pair = [stacks[d][-1]["label"] if stacks[d] and stacks[d][-1]["version"] == sentence.version
                else "" for d in ("undo", "redo")]
        if any(pair):
            labels[tab] = pair
    return labels


def undo_moved(*, session, tab: str, sentence: Sentence, direction: str, reverse: dict) -> None:
    """After an undo (or a redo) was applied: take its entry off its stack, push ``reverse``
    on the other one, and make both tops apply to the sentence's new version."""
    stacks = _stacks(session, tab, sentence, create=True)
    other = "redo" if direction == "undo" else "undo"
    entry = stacks[direction].pop()
    stacks[other] = stacks[other][-(UNDO_DEPTH - 1):] + [
        {"version": sentence.version, "step": _packed(reverse), "label": entry["label"]}]
    if stacks[direction]:
        stacks[direction][-1]["version"] = sentence.version


def undo_forget(*, session, tab: str, sentence: Sentence) -> None:
    """Drop this tab's stacks of the sentence in its layer (they no longer apply)."""
    every = session.get(SESSION_KEY, {})
    every.pop(f"{tab}/{_sentence_key(sentence)}", None)
    session[SESSION_KEY] = every

