"""Reads behind the project list, the dashboard and the document list."""
from annotation.models import Entity, Sentence, SentenceStatus
from annotation.selectors.dashboard import (
    bar_chart, document_list, project_dashboard, projects_with_progress,
)
from annotation.services.projects import project_create
from mlcore.corpus.model import Schema
from tests.browser.scenario import make_document


def test_projects_with_progress_role_and_percent(project, users, make_user):
    make_document(project)
    Sentence.objects.filter(project=project, index__lt=2).update(status=SentenceStatus.DONE)
    project_create(name="other", schema=Schema())
    (mine,) = projects_with_progress(user=users["reviewer"])
    assert (mine.name, mine.role, mine.n_sentences, mine.n_finished, mine.percent) == (
        "trial", "reviewer", 4, 2, 50)
    root = make_user("root", is_superuser=True)
    assert [(p.name, p.role, p.percent) for p in projects_with_progress(user=root)] == [
        ("other", "manager", 0), ("trial", "manager", 50)]
    assert projects_with_progress(user=users["outsider"]) == []


def test_bar_chart_scales_to_the_largest_count():
    chart = bar_chart(rows=[("a", 2, "#111111"), ("b", 4, "#222222")], width=100)
    assert [(b.label, b.y, b.width) for b in chart["bars"]] == [("a", 0, 50.0), ("b", 22, 100.0)]
    assert bar_chart(rows=[])["bars"] == [] and bar_chart(rows=[])["height"] == 22


def test_project_dashboard_counts(imported_project, users):
    sentences = Sentence.objects.filter(project=imported_project)
    sentences.update(status=SentenceStatus.NEW, updated_by=None)
    first = sentences.first()
    Sentence.objects.filter(pk=first.pk).update(status=SentenceStatus.DONE, updated_by=users["annotator"])
    data = project_dashboard(project=imported_project)
    assert data["total"] == sentences.count() and data["finished"] == 1
    assert data["n_documents"] == 3
    assert [s["value"] for s in data["statuses"]] == list(SentenceStatus.values)
    assert data["per_annotator"] == [{"updated_by__username": "annotator", "touched": 1, "finished": 1}]
    assert sum(b.count for b in data["entity_chart"]["bars"]) == Entity.objects.filter(
        document__project=imported_project).count() > 0
    assert [m.user.username for m in data["members"]] == ["annotator", "manager", "reviewer"]


def test_document_list_filters(imported_project, users):
    Sentence.objects.filter(project=imported_project).update(status=SentenceStatus.NEW,
                                                             updated_by=None)
    names = [d.name for d in document_list(project=imported_project)]
    assert names == sorted(names) and len(names) == 3
    doc = document_list(project=imported_project, q=names[0][:-1].upper())
    assert names[0] in [d.name for d in doc]
    first = Sentence.objects.filter(document__name=names[1]).first()
    Sentence.objects.filter(pk=first.pk).update(status=SentenceStatus.REVIEWED,
                                               updated_by=users["reviewer"])
    reviewed = document_list(project=imported_project, status="reviewed")
    assert [(d.name, d.n_finished) for d in reviewed] == [(names[1], 1)]
    assert [d.name for d in document_list(project=imported_project,
                                          annotator=str(users["reviewer"].pk))] == [names[1]]
    assert list(document_list(project=imported_project, annotator=str(users["manager"].pk))) == []
