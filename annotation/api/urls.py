"""``/api/``: token, schema, Swagger UI and the project-scoped resources."""
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from annotation.api import views

P = "projects/<slug:project>"
S = f"{P}/sentences/<int:sentence_id>"

LIST = {"get": "list"}
LIST_CREATE = {"get": "list", "post": "create"}
DETAIL = {"get": "retrieve"}

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("projects/", views.ProjectViewSet.as_view(LIST_CREATE), name="api-projects"),
    path(f"{P}/", views.ProjectDetailView.as_view(DETAIL), name="api-project"),
    path(f"{P}/schema/", views.ProjectDetailView.as_view({"post": "apply_schema"}), name="api-schema-apply"),
    path(f"{P}/members/", views.MemberViewSet.as_view(LIST_CREATE), name="api-members"),
    path(f"{P}/members/<str:username>/",
         views.MemberViewSet.as_view({"patch": "partial_update", "delete": "destroy"}),
         name="api-member"),
    path(f"{P}/documents/", views.DocumentViewSet.as_view(LIST), name="api-documents"),
    path(f"{P}/documents/<int:document_id>/",
         views.DocumentViewSet.as_view({"get": "retrieve", "patch": "partial_update"}), name="api-document"),
    path(f"{P}/sentences/", views.SentenceViewSet.as_view(LIST), name="api-sentences"),
    path(f"{S}/", views.SentenceViewSet.as_view(DETAIL), name="api-sentence"),
    path(f"{S}/status/", views.SentenceViewSet.as_view({"post": "set_status"}), name="api-sentence-status"),
    path(f"{S}/entities/", views.EntityViewSet.as_view(LIST_CREATE), name="api-entities"),
    path(f"{S}/entities/<int:pk>/",
         views.EntityViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
         name="api-entity"),
    path(f"{S}/entities/<int:entity_id>/normalizations/", views.NormalizationViewSet.as_view(LIST_CREATE),
         name="api-normalizations"),
    path(f"{S}/entities/<int:entity_id>/normalizations/<int:pk>/",
         views.NormalizationViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
         name="api-normalization"),
    path(f"{S}/events/", views.EventViewSet.as_view(LIST), name="api-events"),
    path(f"{S}/events/<int:pk>/", views.EventViewSet.as_view(DETAIL), name="api-event"),
    path(f"{S}/relations/", views.RelationViewSet.as_view(LIST_CREATE), name="api-relations"),
    path(f"{S}/relations/<int:pk>/",
         views.RelationViewSet.as_view({"get": "retrieve", "delete": "destroy"}), name="api-relation"),
    path(f"{P}/predicted-entities/", views.PredictedEntityViewSet.as_view(LIST),
         name="api-predicted-entities"),
    path(f"{P}/predicted-entities/<int:pk>/", views.PredictedEntityViewSet.as_view(DETAIL),
         name="api-predicted-entity"),
    path(f"{P}/predicted-entities/<int:pk>/accept/",
         views.PredictedEntityViewSet.as_view({"post": "accept"}), name="api-predicted-entity-accept"),
    path(f"{P}/predicted-entities/<int:pk>/reject/",
         views.PredictedEntityViewSet.as_view({"post": "reject"}), name="api-predicted-entity-reject"),
    path(f"{P}/predicted-relations/", views.PredictedRelationViewSet.as_view(LIST),
         name="api-predicted-relations"),
    path(f"{P}/predicted-relations/<int:pk>/", views.PredictedRelationViewSet.as_view(DETAIL),
         name="api-predicted-relation"),
    path(f"{P}/predicted-relations/<int:pk>/accept/",
         views.PredictedRelationViewSet.as_view({"post": "accept"}), name="api-predicted-relation-accept"),
    path(f"{P}/predicted-relations/<int:pk>/reject/",
         views.PredictedRelationViewSet.as_view({"post": "reject"}), name="api-predicted-relation-reject"),
    path(f"{P}/models/", views.ModelVersionViewSet.as_view(LIST), name="api-model-versions"),
    path(f"{P}/models/<int:number>/", views.ModelVersionViewSet.as_view(DETAIL), name="api-model-version"),
    path(f"{P}/models/<int:number>/activate/", views.ModelVersionViewSet.as_view({"post": "activate"}),
         name="api-model-version-activate"),
    path(f"{P}/model-options/", views.ModelOptionsView.as_view({"get": "retrieve", "put": "update"}),
         name="api-model-options"),
    path(f"{P}/training-runs/", views.TrainingRunViewSet.as_view(LIST_CREATE), name="api-training-runs"),
    path(f"{P}/training-runs/<int:run_id>/", views.TrainingRunViewSet.as_view(DETAIL),
         name="api-training-run"),
    path(f"{P}/training-runs/<int:run_id>/cancel/", views.TrainingRunViewSet.as_view({"post": "cancel"}),
         name="api-training-run-cancel"),
    path(f"{P}/imports/", views.ImportJobViewSet.as_view(LIST_CREATE), name="api-imports"),
    path(f"{P}/imports/<int:job_id>/", views.ImportJobViewSet.as_view(DETAIL), name="api-import"),
    path(f"{P}/export/<slug:fmt>/", views.ExportView.as_view(DETAIL), name="api-export"),
    path(f"{P}/agreement/", views.AgreementView.as_view(DETAIL), name="api-agreement"),
    path(f"{P}/audit/", views.AuditEventViewSet.as_view(LIST), name="api-audit"),
]
