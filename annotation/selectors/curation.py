"""Reads behind curation (independent mode): every annotator's version of one criterion
next to the curated layer, each annotation marked, and curation progress.

Marks: an annotator's entity is ``taken`` when the curated layer holds an identical one
(same type and fragments), else ``agreed`` when every annotator of the criterion has it,
else ``differs``; a relation likewise (same type, direction and ends). The keys are those of
the agreement report's strict match (``mlcore.corpus.agreement``).
"""
from __future__ import annotations

import copy
from collections import Counter

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q

from annotation.models import Entity, Project, Sentence, SentenceLayer, SentenceStatus
from annotation.selectors.annotations import sentence_entities, sentence_relations
from annotation.selectors.layers import sentence_in_layer
from mlcore.corpus import agreement
from mlcore.corpus import model as dc

CURATED = (SentenceStatus.DONE, SentenceStatus.REVIEWED)


def criterion_annotators(*, sentence: Sentence) -> list:
    """The users with a layer of the criterion's document: assigned it, or owning an entity
    of the criterion, by user name."""
    owners = Entity.objects.filter(sentence_id=sentence.pk, annotator__isnull=False)
    return list(get_user_model().objects.filter(
        Q(assignments__document_id=sentence.document_id) | Q(pk__in=owners.values("annotator"))
    ).distinct().order_by("username"))


def criterion_layer(*, sentence: Sentence, annotator_id: int | None) -> tuple[list, list]:
    """The criterion's entities and relations in one layer (``None``: the curated one)."""
    view = sentence_in_layer(sentence=copy.copy(sentence), layer=annotator_id)
    return sentence_entities(sentence=view), sentence_relations(sentence=view)


def layer_as_document(sentence: Sentence, entities, relations) -> dc.Document:
    """One layer of a criterion as a corpus dataclass, the rows' ids as annotation ids."""
    return dc.Document(
        sentence.document.name, sentence.document.text,
        sentences=[dc.Sentence(sentence.start, sentence.end)],
        entities=[dc.Entity(str(e.pk), e.type.name,
                            tuple(dc.Fragment(s, t) for s, t in e.fragments)) for e in entities],
        relations=[dc.Relation(str(r.pk), r.type.name, str(r.head_id), str(r.tail_id))
                   for r in relations])


def _keys(document: dc.Document) -> tuple[dict, dict]:
    return ({e.id: agreement.entity_key(e) for e in document.entities},
            agreement.relation_keys(document))


def _shared_by_all(key_sets: list[dict]) -> set:
    counts = Counter(key for keys in key_sets for key in set(keys.values()))
    return {key for key, count in counts.items() if count == len(key_sets)}


def _mark(key, curated: set, agreed: set) -> str:
    return "taken" if key in curated else "agreed" if key in agreed else "differs"


def _entity_rows(text: str, entities, marks) -> list[dict]:
    return [{"pk": e.pk, "type": e.type.name, "color": e.type.color, "mark": mark,
             "text": " … ".join(text[start:end] for start, end in e.fragments)}
            for e, mark in zip(entities, marks)]


def _relation_rows(entity_rows: list[dict], relations, marks) -> list[dict]:
    texts = {row["pk"]: row["text"] for row in entity_rows}
    return [{"pk": r.pk, "type": r.type.name, "mark": mark, "head": texts.get(r.head_id, "?"),
             "tail": texts.get(r.tail_id, "?")} for r, mark in zip(relations, marks)]


def _layer_rows(sentence: Sentence, entities, relations, entity_marks, relation_marks) -> dict:
    rows = _entity_rows(sentence.document.text, entities, entity_marks)
    return {"entities": rows, "relations": _relation_rows(rows, relations, relation_marks)}


def sentence_curation(*, sentence: Sentence) -> dict:
    """The curated layer of the criterion and each annotator's column, marked (module doc).
    ``agreed`` lists the first annotator's agreed entity and relation ids that the curated
    layer lacks yet (what "merge agreed" takes), ``agreed_missing`` how many."""
    annotators = criterion_annotators(sentence=sentence)
    curated_entities, curated_relations = criterion_layer(sentence=sentence, annotator_id=None)
    curated_keys = [set(k.values()) for k in _keys(
        layer_as_document(sentence, curated_entities, curated_relations))]
    layers = [criterion_layer(sentence=sentence, annotator_id=user.pk) for user in annotators]
    keys = [_keys(layer_as_document(sentence, *rows)) for rows in layers]
    agreed = [_shared_by_all([k[kind] for k in keys]) if len(keys) > 1 else set()
              for kind in (0, 1)]
    columns, missing = [], {"entities": [], "relations": []}
    for user, (entities, relations), (entity_keys, relation_keys) in zip(annotators, layers, keys):
        entity_marks = [_mark(entity_keys[str(e.pk)], curated_keys[0], agreed[0]) for e in entities]
        relation_marks = [_mark(relation_keys.get(str(r.pk)), curated_keys[1], agreed[1])
                          for r in relations]
        columns.append({"annotator": user, "status": _layer_status(sentence, user),
                        **_layer_rows(sentence, entities, relations, entity_marks, relation_marks)})
        if len(columns) == 1:
            missing = {
                "entities": [e.pk for e, m in zip(entities, entity_marks) if m == "agreed"],
                "relations": [r.pk for r, m in zip(relations, relation_marks) if m == "agreed"]}
    curated = _layer_rows(sentence, curated_entities, curated_relations,
                          ["curated"] * len(curated_entities), ["curated"] * len(curated_relations))
    return {"annotators": annotators, "columns": columns, "curated": curated, "agreed": missing,
            "agreed_missing": len(missing["entities"]) + len(missing["relations"])}


def _layer_status(sentence: Sentence, user) -> str:
    return (SentenceLayer.objects.filter(sentence_id=sentence.pk, annotator=user)
            .values_list("status", flat=True).first() or SentenceStatus.NEW)


def _curatable(project: Project):
    """The project's criteria of documents given to two or more annotators, each with
    ``assigned`` and ``finished`` (how many annotators marked their layer done or reviewed)."""
    return (Sentence.objects.filter(project=project)
            .annotate(assigned=Count("document__assignments", distinct=True),
                      finished=Count("layers", filter=Q(layers__status__in=CURATED), distinct=True))
            .filter(assigned__gte=2))


def curation_progress(*, project: Project) -> dict:
    """How far curation is: criteria ``curated`` (done or reviewed in the curated layer),
    ``ready`` (every assigned annotator done, not curated yet) and ``annotating`` (the rest),
    of ``total`` criteria given to two or more annotators, and ``percent`` curated."""
    sentences = _curatable(project)
    total = sentences.count()
    curated = sentences.filter(status__in=CURATED).count()
    ready = sentences.exclude(status__in=CURATED).filter(finished__gte=F("assigned")).count()
    return {"total": total, "curated": curated, "ready": ready,
            "annotating": total - curated - ready,
            "percent": round(100 * curated / total) if total else 0}


def next_to_curate(*, project: Project):
    """The first criterion (document, index order) ready for curation, else the first one not
    curated yet, else None."""
    pending = _curatable(project).exclude(status__in=CURATED).order_by("document_id", "index")
    return (pending.filter(finished__gte=F("assigned")).only("id").first()
            or pending.only("id").first())
