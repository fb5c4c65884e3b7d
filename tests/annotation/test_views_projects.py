"""Project list, dashboard and guidelines over HTTP."""
import pytest
from django.urls import reverse

from annotation.models import Sentence
from annotation.services.annotations import entity_create
from tests.browser.scenario import make_document, span

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def annotated(project, users):
    make_document(project)
    sentence = Sentence.objects.get(project=project, index=1)
    entity_create(sentence=sentence, user=users["annotator"],
                  type=project.entity_types.get(name="Condition"),
                  fragments=[span(sentence, "type 2 diabetes")], expected_version=1)
    Sentence.objects.filter(project=project, index=0).update(status="done")
    return project


def test_project_list_shows_only_own_projects(client_for, users, project, django_assert_max_num_queries):
    from annotation.services.projects import project_create

    project_create(name="secret-project")
    client = client_for(users["annotator"])
    with django_assert_max_num_queries(5):
        html = client.get(reverse("project_list")).content.decode()
    assert "Trial project" in html and "secret-project" not in html
    assert "not a member of any project" in client_for(users["outsider"]).get("/").content.decode()


def test_pages_require_login(client, project):
    for name in ("project_dashboard", "project_guidelines", "document_list", "project_queue"):
        response = client.get(reverse(name, args=["trial"]))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/").status_code == 302


def test_dashboard_counts_and_chart(client_for, users, annotated, django_assert_max_num_queries):
    client = client_for(users["annotator"])
    with django_assert_max_num_queries(12):
        response = client.get(reverse("project_dashboard", args=["trial"]))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert 'data-status="done">1<' in html and 'data-status="in_progress">1<' in html
    assert 'data-status="new">2<' in html
    assert '<svg class="bar-chart"' in html and "Condition: 1" in html
    assert "/projects/trial/import/" not in html  # import/export are for managers
    assert "/projects/trial/export/" not in html
    assert 'action="/projects/trial/runs/"' not in html  # retrain: reviewers and managers
    reviewer_html = client_for(users["reviewer"]).get(
        reverse("project_dashboard", args=["trial"])).content.decode()
    assert 'action="/projects/trial/runs/"' in reviewer_html and ">Retrain</button>" in reviewer_html
    for member in ("manager", "reviewer", "annotator"):
        assert f"<span>{member}</span>" in html
    manager_html = client_for(users["manager"]).get(reverse("project_dashboard", args=["trial"])).content.decode()
    assert "/projects/trial/import/" in manager_html and "/projects/trial/export/" in manager_html


def test_dashboard_counts_imported_work_as_unattributed(client_for, users, imported_project):
    """Imported criteria that are done belong to no user: shown as such, not as "nobody"."""
    finished = Sentence.objects.filter(project=imported_project, status__in=["done", "reviewed"]).count()
    assert finished and not Sentence.objects.filter(updated_by__isnull=False).exists()
    html = client_for(users["annotator"]).get(
        reverse("project_dashboard", args=["trial"])).content.decode()
    assert "Nobody has annotated yet" not in html
    row = html.split("<tr data-unattributed>")[1].split("</tr>")[0]
    assert "Imported (no user)" in row and f'<td class="num">{finished}</td>' in row


def test_dashboard_says_nobody_annotated_only_when_nothing_is_done(client_for, users, project):
    make_document(project)
    html = client_for(users["annotator"]).get(
        reverse("project_dashboard", args=["trial"])).content.decode()
    assert "Nobody has annotated yet" in html and "data-unattributed" not in html


def test_dashboard_htmx_partial_and_non_member(client_for, users, annotated):
    html = client_for(users["annotator"]).get(
        reverse("project_dashboard", args=["trial"]), **HX).content.decode()
    assert "<html" not in html and "Entities by type" in html
    assert client_for(users["outsider"]).get(
        reverse("project_dashboard", args=["trial"])).status_code == 404


def test_guidelines_render_markdown_safely(client_for, users, project):
    project.guidelines = "# Rules\n\nMark **conditions**.<script>alert(1)</script> [x](javascript:alert(1))"
    project.save()
    html = client_for(users["annotator"]).get(
        reverse("project_guidelines", args=["trial"])).content.decode()
    assert "<h1>Rules</h1>" in html and "<strong>conditions</strong>" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html


def test_guidelines_editable_by_managers_only(client_for, users, project):
    address = reverse("project_guidelines", args=["trial"])
    annotator = client_for(users["annotator"])
    assert annotator.get(address + "?edit=1").status_code == 403
    assert annotator.post(address, {"guidelines": "hacked"}).status_code == 403
    manager = client_for(users["manager"])
    assert "<textarea" in manager.get(address + "?edit=1").content.decode()
    response = manager.post(address, {"guidelines": "## New rules"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.guidelines == "## New rules"
    assert "<h2>New rules</h2>" in manager.get(address).content.decode()


def test_guidelines_htmx_partial(client_for, users, project):
    html = client_for(users["annotator"]).get(
        reverse("project_guidelines", args=["trial"]), **HX).content.decode()
    assert "<html" not in html and "Annotation guidelines" in html


def test_superuser_sees_every_project_as_manager(client_for, make_user, project):
    admin = make_user("root", is_superuser=True, is_staff=True)
    response = client_for(admin).get(reverse("project_dashboard", args=["trial"]))
    assert response.status_code == 200 and "/projects/trial/import/" in response.content.decode()


def test_an_annotator_opening_a_manager_page_gets_the_site_403_page(client_for, users, project, settings):
    settings.DEBUG = False
    response = client_for(users["annotator"]).get(reverse("corpus_import", args=["trial"]))
    html = response.content.decode()
    assert response.status_code == 403
    assert '<link rel="stylesheet"' in html and 'id="forbidden"' in html  # base.html, not Django's bare page
    assert "This needs the manager role." in html
    assert f'href="{reverse("project_dashboard", args=["trial"])}"' in html
    assert f'href="{reverse("project_list")}"' in html


def test_the_annotation_view_header_links_to_the_guidelines(client_for, users, project):
    project.guidelines = "# Rules\n\nMark conditions."
    project.save()
    make_document(project)
    client = client_for(users["annotator"])
    sentence = Sentence.objects.get(project=project, index=1)
    html = client.get(reverse("sentence_annotate", args=["trial", sentence.pk])).content.decode()
    header = html.split('<nav class="crumbs">')[1].split("</nav>")[0]
    link = reverse("project_guidelines", args=["trial"])
    assert f'href="{link}"' in header and ">Guidelines</a>" in header
    assert "<h1>Rules</h1>" in client.get(link).content.decode()
