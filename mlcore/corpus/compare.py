"""Id-free comparison of documents: what a lossless round trip must preserve.

Annotations are keyed by the spans they cover, not by their ids (brat ids may be
renumbered, ``*`` groups get ids only when read), and kept as multisets (Chia
has identical entities twice).
"""
from __future__ import annotations

from collections import Counter

from .model import Document


def _span(fragments) -> tuple[tuple[int, int], ...]:
    return tuple((f.start, f.end) for f in fragments)


def document_signature(document: Document, *, metadata: bool = True) -> dict:
    """Everything a lossless format keeps, with ids replaced by the spans they refer to."""
    entities = {e.id: (e.type, _span(e.fragments)) for e in document.entities}
    relations = {
        r.id: (r.type, entities.get(r.head, ("?", r.head)), entities.get(r.tail, ("?", r.tail)))
        for r in document.relations
    }
    targets = {**entities, **relations}

    def target(id_: str):
        return targets.get(id_, ("?", id_))

    signature = {
        "name": document.name,
        "text": document.text,
        "sentences": tuple((s.start, s.end) for s in document.sentences),
        "entities": Counter(entities.values()),
        "relations": Counter(relations.values()),
        "groups": Counter(
            (g.type, tuple(sorted(entities.get(m, ("?", m)) for m in g.members))) for g in document.groups
        ),
        "attributes": Counter((a.name, target(a.target), a.value) for a in document.attributes),
        "notes": Counter((n.type, target(n.target), n.text) for n in document.notes),
    }
    if metadata:
        signature["metadata"] = document.metadata
    return signature


def signature_differences(a: Document, b: Document, *, metadata: bool = True) -> list[str]:
    """Names of the signature parts in which ``a`` and ``b`` differ (empty when equivalent)."""
    left = document_signature(a, metadata=metadata)
    right = document_signature(b, metadata=metadata)
    return [key for key in left if left[key] != right[key]]
