import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from annotation.models import Document, EntityType, Project


def test_every_annotation_model_is_registered():
    missing = [m.__name__ for m in apps.get_app_config("annotation").get_models()
               if not admin.site.is_registered(m)]
    assert missing == []


@pytest.mark.parametrize("model", [m for m in apps.get_app_config("annotation").get_models()])
def test_changelists_open_with_few_queries(imported_project, admin_client, model,
                                           django_assert_max_num_queries):
    url = reverse(f"admin:annotation_{model._meta.model_name}_changelist")
    with django_assert_max_num_queries(20):
        assert admin_client.get(url).status_code == 200


def test_admin_deletes_a_project_with_annotations(imported_project, admin_client):
    url = reverse("admin:annotation_project_delete", args=[imported_project.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and b"3 documents" in page.content
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Project.objects.exists() and not Document.objects.exists()
    assert not EntityType.objects.exists()
