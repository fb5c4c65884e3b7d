"""The effort model: UI inputs and tokens read to bring one criterion to gold."""
from mlcore.corpus.model import SentenceExample, Span
from mlcore.effort import CriterionAnnotations, Mention, criterion_effort, scratch_inputs

TEXT = "No history of heart failure or severe renal impairment"
WORDS = 9


def at(type_, *surfaces) -> Mention:
    """A mention of ``type_`` over the first occurrence of each surface text (its fragments)."""
    fragments = tuple((TEXT.index(s), TEXT.index(s) + len(s)) for s in surfaces)
    return Mention(type_, tuple(sorted(fragments)))


NO = at("Negation", "No")
HEART = at("Condition", "heart failure")
RENAL = at("Condition", "severe", "impairment")  # discontinuous: two fragments
GOLD = CriterionAnnotations((NO, HEART, RENAL), ((0, 1, "negates"),))


def test_from_scratch_every_gold_entity_and_relation_is_created():
    effort = criterion_effort(text=TEXT, gold=GOLD)
    # 3 entities x (select + type key), 1 extra fragment (click + Shift+drag),
    # 1 relation (click, click, key), Enter
    assert effort.inputs == 3 * 2 + 2 + 3 + 1 == 12
    assert effort.actions == {"create entity": 3, "add fragment": 1, "create relation": 1,
                              "done": 1}
    assert effort.tokens_read == WORDS
    # the closed form the per_input ranking uses counts the same
    assert scratch_inputs(fragments=[1, 1, 2], relations=1) == effort.inputs


def test_right_suggestions_are_taken_with_one_accept_all_key():
    effort = criterion_effort(text=TEXT, gold=GOLD, suggested=GOLD)
    # one by one: the relation's accept takes its two entities, the third has its own click
    # (2); the * key takes every shown suggestion at once (1)
    assert effort.inputs == 1 + 1
    assert effort.actions == {"accept all shown": 1, "done": 1}
    # the criterion, the three entities' words, the relation's head and tail words
    assert effort.tokens_read == WORDS + (1 + 2 + 2) + (1 + 2)


def test_a_wrong_suggestion_is_rejected_and_the_missing_gold_created():
    gold = CriterionAnnotations((HEART,))
    wrong = CriterionAnnotations((at("Drug", "history"),))
    effort = criterion_effort(text=TEXT, gold=gold, suggested=wrong)
    assert effort.inputs == 1 + 2 + 1  # reject, create, done
    assert effort.actions == {"reject": 1, "create entity": 1, "done": 1}
    assert effort.tokens_read == WORDS + 1


def test_a_type_near_miss_is_accepted_and_retyped():
    gold = CriterionAnnotations((RENAL,))
    effort = criterion_effort(text=TEXT, gold=gold,
                              suggested=CriterionAnnotations((Mention("Drug", RENAL.fragments),)))
    # accept + click + type key (3) beats reject + create two fragments (1 + 2 + 2)
    assert effort.inputs == 3 + 1
    assert effort.actions == {"accept": 1, "fix type": 1, "done": 1}


def test_a_short_boundary_is_extended_a_long_one_replaced():
    gold = CriterionAnnotations((HEART,))
    short = criterion_effort(text=TEXT, gold=gold,
                             suggested=CriterionAnnotations((at("Condition", "heart"),)))
    assert short.inputs == 3 + 1  # accept, click, Shift+drag; done
    assert short.actions == {"accept": 1, "fix boundary": 1, "done": 1}
    long = criterion_effort(text=TEXT, gold=gold,
                            suggested=CriterionAnnotations((at("Condition", "heart failure or"),)))
    assert long.inputs == 1 + 2 + 1  # extending cannot shrink: reject, create; done
    assert long.actions == {"reject": 1, "create entity": 1, "done": 1}


def test_a_missing_fragment_is_added_to_the_accepted_part():
    gold = CriterionAnnotations((RENAL,))
    effort = criterion_effort(text=TEXT, gold=gold,
                              suggested=CriterionAnnotations((at("Condition", "severe"),)))
    assert effort.inputs == 3 + 1
    assert effort.actions["fix boundary"] == 1


def test_relations_follow_their_entities():
    gold = CriterionAnnotations((NO, HEART), ((0, 1, "negates"),))
    # the head is wrong (rejected, which rejects the relation too), the tail right
    wrong_head = CriterionAnnotations((at("Drug", "history"), HEART), ((0, 1, "negates"),))
    effort = criterion_effort(text=TEXT, gold=gold, suggested=wrong_head)
    assert effort.actions == {"reject": 1, "rejected with its entity": 1, "accept": 1,
                              "create entity": 1, "create relation": 1, "done": 1}
    assert effort.inputs == 1 + 0 + 1 + 2 + 3 + 1
    # right ends, wrong relation type: no key changes it, so reject and create (1 + 3)
    retyped = CriterionAnnotations((NO, HEART), ((0, 1, "has value"),))
    effort = criterion_effort(text=TEXT, gold=gold, suggested=retyped)
    # reject it, accept both entities with *, create, done
    assert effort.actions == {"reject": 1, "accept all shown": 1, "create relation": 1,
                              "done": 1}
    assert effort.inputs == 1 + 1 + 3 + 1


def test_a_single_accept_stays_a_click_and_edits_follow_accept_all():
    gold = CriterionAnnotations((NO, RENAL))
    one = criterion_effort(text=TEXT, gold=gold, suggested=CriterionAnnotations((NO,)))
    assert one.actions == {"accept": 1, "create entity": 1, "add fragment": 1, "done": 1}
    # a right entity and a retyped near miss: * accepts both, the retype is paid on its own
    two = criterion_effort(text=TEXT, gold=gold, suggested=CriterionAnnotations(
        (NO, Mention("Drug", RENAL.fragments))))
    assert two.actions == {"accept all shown": 1, "fix type": 1, "done": 1}
    assert two.inputs == 1 + 2 + 1


def test_suggestions_pay_off_against_scratch_on_a_mostly_right_model():
    suggested = CriterionAnnotations((NO, at("Condition", "heart"), at("Drug", "renal")),
                                     ((0, 1, "negates"),))
    assert (criterion_effort(text=TEXT, gold=GOLD, suggested=suggested).inputs
            < criterion_effort(text=TEXT, gold=GOLD).inputs)


def test_of_example_reads_spans_and_relations():
    example = SentenceExample(TEXT, [Span(0, 2, "Negation"), Span(14, 27, "Condition")],
                              [(0, 1, "negates")])
    assert CriterionAnnotations.of_example(example) == CriterionAnnotations(
        (NO, HEART), ((0, 1, "negates"),))


def test_of_example_keeps_the_fragments_of_a_discontinuous_span():
    pieces = RENAL.fragments
    example = SentenceExample(TEXT, [Span(pieces[0][0], pieces[-1][1], "Condition", pieces)])
    assert CriterionAnnotations.of_example(example).entities == (RENAL,)
    assert criterion_effort(text=TEXT, gold=CriterionAnnotations.of_example(example)).actions[
        "add fragment"] == 1
