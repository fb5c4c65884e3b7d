"""The ranked queue over HTTP: "Annotate next", Enter and Skip follow the project's ranking
(the active model's scores, else the seeded random order), claim what they serve, and
managers see and release claims."""
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from annotation.models import Claim, Sentence, SentenceScore
from annotation.services.projects import membership_set, project_create
from tests.annotation.ml_fixtures import make_version
from tests.browser.scenario import make_document

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def sentences(project):
    """Two documents of four criteria: eight open sentences, in document order."""
    make_document(project, "NCT00000001_inc")
    make_document(project, "NCT00000002_exc")
    return list(Sentence.objects.filter(project=project).order_by("document_id", "index"))


@pytest.fixture
def second(make_user, project):
    user = make_user("annotator2")
    membership_set(project=project, user=user, role="annotator")
    return user


@pytest.fixture
def ranked(project, sentences):
    """An active model version whose scores rank the sentences in reverse document order."""
    version = make_version(project)
    SentenceScore.objects.bulk_create(
        SentenceScore(project=project, sentence=s, model_version=version, score=i / 10,
                      scores={"combined": i / 10, "mnlp": i / 5, "relation_entropy": 0.0})
        for i, s in enumerate(sentences))
    return sentences[::-1]


def page(sentence):
    return reverse("sentence_annotate", args=["trial", sentence.pk])


def annotate_next(client):
    return client.get(reverse("project_queue", args=["trial"]))["Location"]


def skip(client, sentence):
    return client.get(reverse("sentence_step", args=["trial", sentence.pk, "skip"]))["Location"]


def enter(client, sentence):
    """Enter on the annotation view: mark done and go on (the htmx status POST)."""
    sentence.refresh_from_db()
    response = client.post(reverse("sentence_action", args=["trial", sentence.pk, "status"]),
                           {"status": "done", "advance": "on", "version": sentence.version}, **HX)
    assert response.status_code == 200
    return response["HX-Redirect"]


def seeded(sentences):
    return sorted(sentences, key=lambda s: (s.queue_key, s.pk))


def test_next_follows_the_model_ranking_and_two_annotators_get_different_ones(
        client_for, users, second, ranked):
    first, other = client_for(users["annotator"]), client_for(second)
    assert annotate_next(first) == page(ranked[0])
    assert annotate_next(other) == page(ranked[1])
    assert annotate_next(first) == page(ranked[0])  # still theirs: they hold the claim
    assert dict(Claim.objects.values_list("sentence_id", "user__username")) == {
        ranked[0].pk: "annotator", ranked[1].pk: "annotator2"}


def test_seeded_random_order_before_any_model(client_for, users, second, project, sentences):
    expected = seeded(sentences)
    assert expected != sentences  # not document order
    assert annotate_next(client_for(users["annotator"])) == page(expected[0])
    assert annotate_next(client_for(second)) == page(expected[1])
    assert seeded(sentences) == expected  # the same on every request


def test_seeded_order_differs_between_projects(users, project, sentences):
    other = project_create(name="other")
    make_document(other, "NCT00000001_inc")
    keys = [s.queue_key for s in sentences[:4]]
    other_keys = list(Sentence.objects.filter(project=other).order_by("index")
                      .values_list("queue_key", flat=True))
    assert keys != other_keys and len(set(keys + other_keys)) == 8


def test_enter_goes_to_the_next_of_the_ranking_and_moves_the_claim(
        client_for, users, second, ranked):
    first, other = client_for(users["annotator"]), client_for(second)
    annotate_next(first)
    annotate_next(other)  # holds ranked[1]
    assert enter(first, ranked[0]) == page(ranked[2])
    assert Sentence.objects.get(pk=ranked[0].pk).status == "done"
    assert Claim.objects.get(user=users["annotator"]).sentence_id == ranked[2].pk
    assert annotate_next(other) == page(ranked[1])


def test_skip_serves_the_next_of_the_ranking_and_remembers_the_skipped(
        client_for, users, ranked):
    client = client_for(users["annotator"])
    assert annotate_next(client) == page(ranked[0])
    assert skip(client, ranked[0]) == page(ranked[1])
    assert skip(client, ranked[1]) == page(ranked[2])
    assert annotate_next(client) == page(ranked[2])  # the skipped ones wait
    Sentence.objects.filter(pk__in=[s.pk for s in ranked[2:]]).update(status="done")
    # only skipped criteria are left: they come back, the one just skipped last
    assert skip(client, ranked[2]) == page(ranked[0])


def test_skip_before_any_model_follows_the_seeded_order(client_for, users, sentences):
    expected = seeded(sentences)
    client = client_for(users["annotator"])
    assert skip(client, expected[0]) == page(expected[1])


def test_claim_expires_after_inactivity(client_for, users, second, ranked):
    first, other = client_for(users["annotator"]), client_for(second)
    annotate_next(first)
    past = timezone.now() - timedelta(minutes=31)
    Claim.objects.update(claimed_at=past - timedelta(minutes=30), expires_at=past)
    assert annotate_next(other) == page(ranked[0])
    assert Claim.objects.get(sentence=ranked[0]).user == second


def test_claim_length_is_a_setting(client_for, users, second, ranked, settings):
    settings.ELIGO_CLAIM_MINUTES = 0
    annotate_next(client_for(users["annotator"]))
    assert annotate_next(client_for(second)) == page(ranked[0])


def test_activity_keeps_the_claim(client_for, users, ranked, settings):
    client = client_for(users["annotator"])
    annotate_next(client)
    Claim.objects.update(expires_at=timezone.now() + timedelta(minutes=1))
    client.post(reverse("sentence_action", args=["trial", ranked[0].pk, "status"]),
                {"status": "in_progress", "version": 1}, **HX)
    assert Claim.objects.get().expires_at > timezone.now() + timedelta(minutes=29)


def test_a_burst_of_edits_writes_the_claim_once(client_for, users, ranked):
    """An edit within a minute of the claim's last move leaves it alone (no write per edit);
    one that finds it a minute or more behind moves it on."""
    client = client_for(users["annotator"])
    annotate_next(client)
    taken = Claim.objects.get().expires_at
    for version in (1, 2):
        client.post(reverse("sentence_action", args=["trial", ranked[0].pk, "status"]),
                    {"status": "in_progress" if version == 1 else "new", "version": version}, **HX)
    assert Sentence.objects.get(pk=ranked[0].pk).version == 3
    assert Claim.objects.get().expires_at == taken
    Claim.objects.update(expires_at=taken - timedelta(minutes=1))
    client.post(reverse("sentence_action", args=["trial", ranked[0].pk, "status"]),
                {"status": "in_progress", "version": 3}, **HX)
    assert Claim.objects.get().expires_at > taken


def test_opening_a_criterion_claimed_by_someone_else_says_who(client_for, users, second, ranked):
    annotate_next(client_for(users["annotator"]))
    html = client_for(second).get(page(ranked[0])).content.decode()
    assert 'id="claim-notice"' in html and "annotator is annotating this criterion" in html
    assert Claim.objects.get(sentence=ranked[0]).user == users["annotator"]


def test_opening_an_open_criterion_claims_it(client_for, users, second, ranked):
    client_for(users["annotator"]).get(page(ranked[3]))
    assert annotate_next(client_for(second)) == page(ranked[0])
    assert Claim.objects.get(user=users["annotator"]).sentence_id == ranked[3].pk
    assert annotate_next(client_for(users["annotator"])) == page(ranked[1])


def test_the_page_says_why_a_criterion_ranks_where_it_does(client_for, users, ranked, sentences):
    html = client_for(users["annotator"]).get(page(ranked[1])).content.decode()
    assert "Ranked <strong>#2</strong> by model v1" in html
    assert "<strong>0.600</strong>" in html and "mnlp 1.200" in html
    # the default ranking (auto): the random order
    assert "random order (the default: no ranking beat it in the simulation)" in html
    project = ranked[1].project
    project.model_options = {**project.model_options, "strategy": "mnlp"}
    project.save()
    html = client_for(users["annotator"]).get(page(ranked[1])).content.decode()
    assert "mnlp uncertainty <strong>" in html and "the default: no ranking" not in html
    SentenceScore.objects.filter(sentence=ranked[1]).update(scores={"cluster": 7, "per_input": 0.2})
    project.model_options = {**project.model_options, "strategy": "diverse"}
    project.save()
    html = client_for(users["annotator"]).get(page(ranked[1])).content.decode()
    assert "round-robin over clusters of similar criteria (this one's cluster: 7;" in html
    project.model_options = {**project.model_options, "strategy": "typical"}
    project.save()
    html = client_for(users["annotator"]).get(page(ranked[1])).content.decode()
    assert "in proportion to their size (this one's cluster: 7;" in html
    project.model_options = {**project.model_options, "strategy": "cold_start"}
    project.save()  # the version has no training size or dev score: a weak one, so diverse
    html = client_for(users["annotator"]).get(page(ranked[1])).content.decode()
    assert "round-robin over clusters of similar criteria (this one's cluster: 7;" in html


def test_the_top_criterion_ranks_first_in_one_statement(client_for, users, ranked,
                                                         django_assert_num_queries):
    """With an active model the page reads the version with the sentence and the rank (score,
    parts and place) in one query: session, user, sentence + version, context, annotations,
    type lists, suggestions, rank, claim."""
    client = client_for(users["annotator"])
    client.get(page(ranked[0]))
    with django_assert_num_queries(9):
        html = client.get(page(ranked[0])).content.decode()
    assert "Ranked <strong>#1</strong> by model v1" in html


def test_the_page_says_seeded_order_without_a_model(client_for, users, sentences):
    html = client_for(users["annotator"]).get(page(sentences[0])).content.decode()
    assert "No model yet: in the project's seeded random order" in html


def test_nothing_left_goes_to_the_dashboard(client_for, users, project, sentences):
    Sentence.objects.filter(project=project).update(status="done")
    client = client_for(users["annotator"])
    response = client.get(reverse("project_queue", args=["trial"]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("project_dashboard", args=["trial"])
    assert "Nothing left to annotate" in response.content.decode()


def test_manager_sees_and_releases_claims(client_for, users, second, ranked):
    annotate_next(client_for(users["annotator"]))
    claim = Claim.objects.get()
    manager = client_for(users["manager"])
    dashboard = manager.get(reverse("project_dashboard", args=["trial"])).content.decode()
    assert f'data-claim-id="{claim.pk}"' in dashboard and "Release" in dashboard
    assert 'id="claims"' not in client_for(users["reviewer"]).get(
        reverse("project_dashboard", args=["trial"])).content.decode()
    release = reverse("claim_release", args=["trial", claim.pk])
    assert client_for(users["annotator"]).post(release).status_code == 403
    assert manager.get(release).status_code == 405
    response = manager.post(release, follow=True)
    assert "Released annotator&#x27;s claim" in response.content.decode()
    assert not Claim.objects.exists()
    assert manager.post(release).status_code == 404
    assert annotate_next(client_for(second)) == page(ranked[0])


def test_review_queue_shows_claims_and_parts(client_for, users, ranked):
    annotate_next(client_for(users["annotator"]))
    reviewer = client_for(users["reviewer"])
    html = reviewer.get(reverse("review_queue", args=["trial"])).content.decode()
    row = html[html.index(f'data-sentence="{ranked[0].pk}"'):]
    row = row[:row.index("</tr>")]
    assert '<td class="claimed-by">annotator</td>' in row and "mnlp 1.400" in row


def test_skipping_the_last_free_one_says_so(client_for, users, project, sentences):
    Sentence.objects.exclude(pk=sentences[0].pk).update(status="done")
    response = client_for(users["annotator"]).get(
        reverse("sentence_step", args=["trial", sentences[0].pk, "skip"]), follow=True)
    assert "the one you skipped is the last one left" in response.content.decode()


def test_finishing_and_reopening_moves_the_scores_out_of_and_into_the_queue(
        client_for, users, ranked):
    client = client_for(users["annotator"])
    assert enter(client, ranked[0]) == page(ranked[1])
    assert not SentenceScore.objects.get(sentence=ranked[0]).is_open
    response = client.post(reverse("sentence_action", args=["trial", ranked[0].pk, "status"]),
                           {"status": "in_progress", "version": 2}, **HX)
    assert response.status_code == 200
    assert SentenceScore.objects.get(sentence=ranked[0]).is_open
    assert annotate_next(client) == page(ranked[0])


def test_done_and_advance_statements(client_for, users, sentences, django_assert_num_queries):
    """Done-and-advance renders nothing (htmx follows HX-Redirect) and claims the next one:
    session, user, sentence (with the active version; the annotations are not read: the
    status leaves them alone and nothing is rendered); the status write in a savepoint
    (version and status, the scores leave the queue, the undo step in the session); others'
    claims, one row of the seeded order; the claim: one upsert, release the old one (on
    PostgreSQL the upsert releases it: 11 statements there)."""
    client = client_for(users["annotator"])
    first = seeded(sentences)[0]
    assert annotate_next(client) == page(first)
    with django_assert_num_queries(11 if connection.vendor == "postgresql" else 12):
        response = client.post(reverse("sentence_action", args=["trial", first.pk, "status"]),
                               {"status": "done", "advance": "on", "version": 1}, **HX)
    assert response.status_code == 200 and response.content == b""
    assert response["HX-Redirect"] == page(seeded(sentences)[1])
    assert Claim.objects.get().sentence_id == seeded(sentences)[1].pk
