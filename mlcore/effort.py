"""What it costs a simulated expert to bring one criterion to gold in Eligo's annotation view.

Effort is counted in **UI inputs** (a drag, a click, a key press) and **tokens read**, for two
ways of working: from scratch (no suggestions: the expert creates every gold entity and
relation) and from the model's suggestions (the expert accepts the right ones, rejects the wrong
ones shown, fixes near misses, and creates what is missing). Framework-free, like all of mlcore.

The inputs of each action are those of the annotation view's key map
(``static/eligo/annotate.js``, the help overlay ``templates/annotation/partials/help.html``,
``docs/annotation-view.md``, section "Effort model", which lists them with their reasons):

=====================  ======  ==============================================================
action                 inputs  how, in the view
=====================  ======  ==============================================================
select a span          1       drag over the words (or double-click one word)
type key               1       the entity type's key creates the entity from the selection
create an entity       2       select a span + type key
add a fragment         2       click the entity + Shift+drag the far text (discontinuous)
create a relation      3       click the head + click the tail + the relation type's key
accept a suggestion    1       its ✓ button; a relation's also accepts its two entities
reject a suggestion    1       its ✗ button; an entity's also rejects the relations using it
accept all shown       1       ``*``: every shown suggestion still pending (entities, then the
                               relations between accepted entities), so the expert rejects
                               the wrong ones first and accepts the rest with one key
fix a type             3       accept + click the entity + the right type key
fix a boundary         3       accept + click the entity + Shift+drag the missing text (one
                               drag per gold fragment it lacks), when the suggestion lies
                               inside the gold entity (extending only grows an entity); else
                               reject + create (1 + 2)
mark done              1       Enter (done, on to the next open criterion)
=====================  ======  ==============================================================

Accepting is done the cheaper way: one click per suggestion, or, from two accepts on, one
``*`` after the wrong ones are rejected (the edits of near misses follow it either way).

A near miss (a suggestion overlapping a gold entity it does not equal) is fixed the cheaper way:
editing it, or rejecting it and creating the gold entity anew; an entity accepted with its
relation pays no accept of its own. There is no key to change a relation's type, so a relation
with right ends and a wrong type is rejected and created again (1 + 3).

Tokens read: the criterion's words once (whitespace tokens), and with suggestions also the words
of every suggestion shown (an entity's text; a relation's head and tail texts), which the expert
reads to decide it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from mlcore.corpus.model import SentenceExample

SELECT_SPAN = 1
TYPE_KEY = 1
CLICK = 1
SHIFT_DRAG = 1
RELATION_KEY = 1
ACCEPT = 1
REJECT = 1
ACCEPT_ALL_SHOWN = 1
DONE = 1

CREATE_ENTITY = SELECT_SPAN + TYPE_KEY
ADD_FRAGMENT = CLICK + SHIFT_DRAG
CREATE_RELATION = CLICK + CLICK + RELATION_KEY
RETYPE = CLICK + TYPE_KEY  # an accepted entity: select it, press the right type key
EXTEND = CLICK + SHIFT_DRAG  # an accepted entity: select it, Shift+drag (one drag per fragment)


def entity_inputs(fragments: int) -> int:
    """Creating one entity of ``fragments`` fragments by hand."""
    return CREATE_ENTITY + ADD_FRAGMENT * (fragments - 1)


def scratch_inputs(*, fragments: list[int], relations: int) -> int:
    """The inputs of annotating a criterion from scratch, entities of these fragment counts and
    ``relations`` relations, and marking it Done: :func:`criterion_effort` without suggestions,
    in closed form (what the ``per_input`` ranking divides by, with the predicted counts)."""
    return DONE + sum(entity_inputs(n) for n in fragments) + CREATE_RELATION * relations


@dataclass(frozen=True)
class Mention:
    """An entity of one criterion: its type and its ``(start, end)`` fragments in the
    criterion's text, in text order."""

    type: str
    fragments: tuple[tuple[int, int], ...]

    def chars(self) -> set[int]:
        return {i for start, end in self.fragments for i in range(start, end)}


@dataclass(frozen=True)
class CriterionAnnotations:
    """Entities and relations of one criterion; a relation is ``(head, tail, type)`` with
    ``head`` and ``tail`` indexes into ``entities`` (as in ``SentenceExample``)."""

    entities: tuple[Mention, ...] = ()
    relations: tuple[tuple[int, int, str], ...] = ()

    @classmethod
    def of_example(cls, example: SentenceExample) -> CriterionAnnotations:
        """The spans (their fragments) and relations of a gold or predicted example."""
        return cls(tuple(Mention(s.type, s.pieces) for s in example.spans),
                   tuple((h, t, r) for h, t, r in example.relations))


@dataclass
class Effort:
    """UI inputs and tokens read, and how many of each action it took."""

    inputs: int = 0
    tokens_read: int = 0
    actions: Counter = field(default_factory=Counter)

    def do(self, action: str, inputs: int, times: int = 1) -> None:
        self.actions[action] += times
        self.inputs += inputs * times


@dataclass(frozen=True)
class _Fate:
    """What the expert does with one suggested entity: ``action`` is "accept", "fix type",
    "fix boundary" (kept, as gold entity ``gold``, after ``edit`` inputs), "replace" (rejected,
    gold entity ``gold`` created instead) or "reject"."""

    action: str
    gold: int | None = None
    edit: int = 0

    @property
    def kept(self) -> bool:
        return self.action in ("accept", "fix type", "fix boundary")


def criterion_effort(*, text: str, gold: CriterionAnnotations,
                     suggested: CriterionAnnotations | None = None) -> Effort:
    """The effort to bring the criterion ``text`` to ``gold``: from scratch when ``suggested``
    is None, else from those suggestions (all of them shown)."""
    suggested = suggested or CriterionAnnotations()
    effort = Effort(tokens_read=_tokens_read(text, suggested))
    fates = _entity_fates(gold.entities, suggested.entities)
    accepted_with_relation = _decide_relations(effort, gold.relations, suggested.relations, fates)
    for index, fate in enumerate(fates):
        _carry_out(effort, fate, gold.entities, paid=index not in accepted_with_relation)
    matched = {fate.gold for fate in fates if fate.gold is not None}
    for g, mention in enumerate(gold.entities):
        if g not in matched:
            _create(effort, mention)
    _accept_all_when_cheaper(effort)
    effort.do("done", DONE)
    return effort


def _accept_all_when_cheaper(effort: Effort) -> None:
    """Several accepts become one ``*`` (the wrong suggestions are rejected before it, as
    they are counted): it takes every shown suggestion left pending."""
    accepts = effort.actions["accept"]
    if accepts * ACCEPT > ACCEPT_ALL_SHOWN:
        del effort.actions["accept"]
        effort.inputs -= accepts * ACCEPT
        effort.do("accept all shown", ACCEPT_ALL_SHOWN)


def _tokens_read(text: str, suggested: CriterionAnnotations) -> int:
    """The criterion's words, and the words of every suggestion shown."""
    words = len(text.split())
    words += sum(len(_text(text, entity).split()) for entity in suggested.entities)
    for head, tail, _ in suggested.relations:
        words += sum(len(_text(text, suggested.entities[end]).split()) for end in (head, tail))
    return words


def _text(text: str, mention: Mention) -> str:
    return " ".join(text[start:end] for start, end in mention.fragments)


def _create_cost(mention: Mention) -> int:
    return entity_inputs(len(mention.fragments))


def _create(effort: Effort, mention: Mention) -> None:
    effort.do("create entity", CREATE_ENTITY)
    if len(mention.fragments) > 1:
        effort.do("add fragment", ADD_FRAGMENT, len(mention.fragments) - 1)


def _entity_fates(gold: tuple, suggested: tuple) -> list[_Fate]:
    """Exact matches first, then each other suggestion against the unmatched gold entity it
    overlaps most (a near miss), fixed the cheaper way; the rest are rejected."""
    fates: list[_Fate | None] = [None] * len(suggested)
    matched: set[int] = set()
    for index, mention in enumerate(suggested):
        exact = next((g for g, m in enumerate(gold) if g not in matched and m == mention), None)
        if exact is not None:
            fates[index] = _Fate("accept", exact)
            matched.add(exact)
    for index, mention in enumerate(suggested):
        if fates[index] is not None:
            continue
        near = _nearest(mention, gold, matched)
        if near is None:
            fates[index] = _Fate("reject")
        else:
            fates[index] = _near_miss(mention, gold, near)
            matched.add(near)
    return fates


def _nearest(mention: Mention, gold: tuple, matched: set) -> int | None:
    """The unmatched gold entity sharing the most characters with ``mention`` (ties: same
    type first, then the first), or None when it overlaps none."""
    best, best_key = None, (0, False)
    for g, candidate in enumerate(gold):
        if g in matched:
            continue
        key = (len(mention.chars() & candidate.chars()), candidate.type == mention.type)
        if key[0] and key > best_key:
            best, best_key = g, key
    return best


def _near_miss(mention: Mention, gold: tuple, g: int) -> _Fate:
    """Edit the suggestion into gold entity ``g`` or replace it, whichever takes fewer inputs
    (a tie keeps it, so that relation suggestions using it stay acceptable)."""
    target = gold[g]
    anew = REJECT + _create_cost(target)
    if mention.fragments == target.fragments and ACCEPT + RETYPE <= anew:
        return _Fate("fix type", g, RETYPE)
    if mention.type == target.type and mention.chars() <= target.chars():
        missing = sum(fragment not in mention.fragments for fragment in target.fragments)
        edit = EXTEND + SHIFT_DRAG * (missing - 1)
        if ACCEPT + edit <= anew:
            return _Fate("fix boundary", g, edit)
    return _Fate("replace", g)


def _carry_out(effort: Effort, fate: _Fate, gold: tuple, *, paid: bool) -> None:
    """The inputs of one suggested entity's fate; ``paid``: its accept is a click of its own
    (not one that came with a relation suggestion, which accepts its two entities)."""
    if fate.kept:
        if paid:
            effort.do("accept", ACCEPT)
        if fate.action != "accept":
            effort.do(fate.action, fate.edit)
    elif fate.action == "replace":
        effort.do("reject", REJECT)
        _create(effort, gold[fate.gold])
    else:
        effort.do("reject", REJECT)


def _decide_relations(effort: Effort, gold: tuple, suggested: tuple, fates: list) -> set[int]:
    """Accept each suggested relation whose two kept ends and type make a gold relation (which
    accepts those ends too), reject the others (free when an end was rejected: rejecting an
    entity suggestion rejects the relation suggestions that use it), create the gold
    relations left. Returns the entity suggestions accepted with a relation."""
    left, with_relation = Counter(gold), set()
    for head, tail, type_ in suggested:
        ends = (fates[head], fates[tail])
        mapped = (ends[0].gold, ends[1].gold, type_)
        if all(end.kept for end in ends) and left[mapped] > 0:
            effort.do("accept", ACCEPT)
            left[mapped] -= 1
            with_relation.update((head, tail))
        elif all(end.kept for end in ends):
            effort.do("reject", REJECT)
        else:
            effort.do("rejected with its entity", 0)
    for _ in range(sum(left.values())):
        effort.do("create relation", CREATE_RELATION)
    return with_relation
