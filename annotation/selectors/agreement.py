"""Reads behind the agreement report: every annotator's layer as dataclasses, the report,
and the two sides of one criterion (rules of the figures: ``mlcore.corpus.agreement``)."""
from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db.models import Count, Max, Sum

from annotation.models import Assignment, Entity, Project, Relation, Sentence, SentenceLayer
from annotation.selectors.corpus import documents_as_dataclasses
from annotation.selectors.layers import layer_annotators
from mlcore.corpus import agreement
from mlcore.corpus import model as dc


def _layer_document_ids(*, project: Project, annotator) -> set[int]:
    """The documents of an annotator's layer: assigned to them, or holding one of their entities."""
    assigned = Assignment.objects.filter(document__project=project, annotator=annotator)
    annotated = Entity.objects.filter(document__project=project, annotator=annotator)
    return (set(assigned.values_list("document_id", flat=True))
            | set(annotated.values_list("document_id", flat=True).distinct()))


def annotator_layers(*, project: Project, annotators=None,
                     document_id: int | None = None) -> dict[str, dict[str, dc.Document]]:
    """``{username: {document name: Document}}``, the layer of each annotator (all of
    :func:`layer_annotators` unless given), only ``document_id`` if given."""
    layers = {}
    for user in annotators if annotators is not None else layer_annotators(project=project):
        ids = _layer_document_ids(project=project, annotator=user)
        if document_id is not None:
            ids &= {document_id}
        layers[user.username] = {doc.name: doc for doc in documents_as_dataclasses(
            project=project, layer=user.pk, document_ids=ids)}
    return layers


def agreement_report(*, project: Project) -> dict:
    """The project's agreement report (see ``mlcore.corpus.agreement.agreement_report``);
    each disagreeing criterion also carries its ``sentence_id``."""
    report = agreement.agreement_report(annotator_layers(project=project))
    sentence_ids = {(name, index): pk for pk, name, index in Sentence.objects.filter(
        project=project).values_list("pk", "document__name", "index")}
    for pair in report["pairs"]:
        for criterion in pair["criteria"]:
            criterion["sentence_id"] = sentence_ids.get(
                (criterion["document"], criterion["sentence"]))
    return report


REPORT_CACHE_SECONDS = 3600


def layers_fingerprint(*, project: Project) -> tuple:
    """What changes whenever an annotator's layer does (four aggregate queries): every write in
    a layer moves its ``SentenceLayer`` version (undo too), imports and assignments add rows."""
    layers = SentenceLayer.objects.filter(sentence__project=project).aggregate(
        n=Count("id"), versions=Sum("version"), last=Max("updated_at"))
    assignments = Assignment.objects.filter(document__project=project).aggregate(
        n=Count("id"), last=Max("created_at"))
    return (project.pk, project.created_at.isoformat(), *layers.values(), *assignments.values(),
            Entity.objects.filter(document__project=project, annotator__isnull=False).count(),
            Relation.objects.filter(document__project=project, annotator__isnull=False).count())


def agreement_report_cached(*, project: Project) -> dict:
    """:func:`agreement_report`, kept in the cache until a layer changes (the page and the API:
    on Chia the report takes seconds; the command always computes it afresh)."""
    fingerprint = repr(layers_fingerprint(project=project)).encode()
    key = "agreement:" + hashlib.sha256(fingerprint).hexdigest()
    report = cache.get(key)
    if report is None:
        report = agreement_report(project=project)
        cache.set(key, report, REPORT_CACHE_SECONDS)
    return report


def report_pair(report: dict, left: str, right: str) -> dict | None:
    """The pair ``left``/``right`` (either order) of a report, or None."""
    wanted = sorted([left, right])
    return next((p for p in report["pairs"] if p["annotators"] == wanted), None)


def agreement_matrix(report: dict) -> list[dict]:
    """Rows of the annotator x annotator matrix: per row the annotator and one cell per
    annotator (None on the diagonal), each cell the pair's figures."""
    names = report["annotators"]
    return [{"annotator": row, "cells": [
        None if row == column else report_pair(report, row, column) for column in names]}
        for row in names]


def criterion_sides(*, sentence: Sentence, annotators: list) -> dict:
    """Two annotators' versions of one criterion, each annotation marked agreed/overlap/only,
    with the entities' texts: the drill-down and the curation view show this."""
    layers = annotator_layers(project=sentence.project, annotators=annotators,
                              document_id=sentence.document_id)
    name = sentence.document.name
    empty = dc.Document(name, sentence.document.text,
                        sentences=[dc.Sentence(s, e) for s, e in sentence.document.sentences
                                   .order_by("index").values_list("start", "end")])
    left, right = (layers[user.username].get(name, empty) for user in annotators)
    sides = agreement.criterion_comparison(left, right, sentence.index)
    return {"annotators": [user.username for user in annotators],
            "columns": [_column(annotators[0].username, left, sides, 0),
                        _column(annotators[1].username, right, sides, 1)]}


def _column(annotator: str, document: dc.Document, sides: dict, side: int) -> dict:
    texts = {e.id: e.text(document.text) for e in document.entities}
    return {
        "annotator": annotator,
        "entities": [{"id": e.id, "type": e.type, "text": texts[e.id], "mark": mark,
                      "fragments": [[f.start, f.end] for f in e.fragments]}
                     for e, mark in sides["entities"][side]],
        "relations": [{"id": r.id, "type": r.type, "head": texts.get(r.head, r.head),
                       "tail": texts.get(r.tail, r.tail), "mark": mark}
                      for r, mark in sides["relations"][side]],
    }
