"""The review queue: order, filters, and speed with 30,000 ranked sentences."""
import time

import pytest
from django.db import connection

from annotation.models import Document, Sentence, SentenceScore, SentenceStatus
from annotation.selectors.review import review_queue, sentence_suggestions
from tests.annotation.ml_fixtures import make_version, ml_project, suggest  # noqa: F401


def _score_all(version, sentences, score_of):
    SentenceScore.objects.bulk_create([
        SentenceScore(project=version.project, sentence=s, model_version=version,
                      scores={"combined": score_of(s)}, score=score_of(s))
        for s in sentences
    ])


def test_queue_is_most_uncertain_first_and_filters(ml_project):
    version = make_version(ml_project)
    sentences = list(Sentence.objects.filter(project=ml_project))
    _score_all(version, sentences, lambda s: (s.pk * 37 % 11) / 10)
    queue = list(review_queue(project=ml_project))
    assert len(queue) == len(sentences)
    assert [r.score for r in queue] == sorted((r.score for r in queue), reverse=True)
    new = list(review_queue(project=ml_project, status=SentenceStatus.NEW))
    assert new and {r.sentence.status for r in new} == {SentenceStatus.NEW}
    document = Document.objects.get(project=ml_project, name="doc-1")
    assert {r.sentence.document_id for r in review_queue(project=ml_project, document_id=document.pk)} == {document.pk}
    # another version's scores are not mixed in; no active version: empty queue
    other = make_version(ml_project, number=2, active=False)
    _score_all(other, sentences[:3], lambda s: 5.0)
    assert review_queue(project=ml_project)[0].score <= 1.0
    version.is_active = False
    version.save()
    assert not review_queue(project=ml_project).exists()


@pytest.mark.slow
def test_queue_page_is_fast_with_30000_ranked_sentences(project):
    version = make_version(project)
    document = Document.objects.create(project=project, name="big", text="x" * 30000)
    Sentence.objects.bulk_create(
        [Sentence(project=project, document=document, index=i, start=i, end=i + 1, text="x")
         for i in range(30000)], batch_size=2000)
    sentences = Sentence.objects.filter(project=project).only("id")
    _score_all(version, sentences, lambda s: (s.pk * 7919 % 30011) / 30011)
    queue = review_queue(project=project, model_version=version)
    started = time.perf_counter()
    page = list(queue[:50])
    count = queue.count()
    elapsed = time.perf_counter() - started
    assert count == 30000 and len(page) == 50
    assert page[0].score >= page[-1].score
    assert elapsed < 0.5, elapsed
    if connection.vendor == "sqlite":
        sql, params = queue[:50].query.sql_with_params()
        with connection.cursor() as cursor:
            plan = " ".join(str(row) for row in cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())
        assert "review_queue_idx" in plan, plan


def test_sentence_suggestions_carry_their_text(ml_project):
    version = make_version(ml_project)
    sentence = Sentence.objects.filter(text__startswith="No ", status=SentenceStatus.NEW).first()
    suggest(version, sentence, "No", "Negation")
    suggestions = sentence_suggestions(sentence=sentence)
    assert [e.text for e in suggestions.entities] == ["No"]
    assert suggestions.has_pending and suggestions.model_version == version
