from django.urls import path

from .views import annotate, documents, health, projects, queue
from .views import training as training_views
from .views import io as io_views

urlpatterns = [
    path("health/", health.health, name="health"),
    # --- corpus import/export (managers) ---
    path("projects/<slug:name>/import/", io_views.corpus_import_view, name="corpus_import"),
    path("projects/<slug:name>/imports/<int:job_id>/", io_views.import_job_view, name="import_job"),
    path("projects/<slug:name>/export/", io_views.corpus_export_view, name="corpus_export"),
    # --- annotation UI: projects, documents, annotate ---
    path("", projects.project_list, name="project_list"),
    path("projects/<slug:name>/", projects.project_dashboard_view, name="project_dashboard"),
    path("projects/<slug:name>/guidelines/", projects.project_guidelines, name="project_guidelines"),
    path("projects/<slug:name>/queue/", queue.project_queue, name="project_queue"),
    path("projects/<slug:name>/claims/<int:claim_id>/release/", queue.claim_release_view,
         name="claim_release"),
    path("projects/<slug:name>/documents/", documents.document_list_view, name="document_list"),
    path("projects/<slug:name>/documents/<int:document_id>/", documents.document_open,
         name="document_open"),
    path("projects/<slug:name>/sentences/<int:sentence_id>/", annotate.sentence_annotate,
         name="sentence_annotate"),
    path("projects/<slug:name>/sentences/<int:sentence_id>/go/<slug:direction>/",
         annotate.sentence_step, name="sentence_step"),
    path("projects/<slug:name>/sentences/<int:sentence_id>/undo/", annotate.sentence_undo,
         name="sentence_undo"),
    path("projects/<slug:name>/sentences/<int:sentence_id>/redo/", annotate.sentence_redo,
         name="sentence_redo"),
    path("projects/<slug:name>/sentences/<int:sentence_id>/do/<slug:action>/",
         annotate.sentence_action, name="sentence_action"),
    # --- active-learning loop: model versions, training runs, review queue, suggestions ---
    path("projects/<slug:name>/models/", training_views.models_page, name="model_versions"),
    path("projects/<slug:name>/models/versions/", training_views.model_versions_partial,
         name="model_versions_partial"),
    path("projects/<slug:name>/models/options/", training_views.model_options_save, name="model_options"),
    path("projects/<slug:name>/models/<int:number>/activate/", training_views.model_version_activate_view,
         name="model_version_activate"),
    path("projects/<slug:name>/models/<int:number>/delete/", training_views.model_version_delete_view,
         name="model_version_delete"),
    path("projects/<slug:name>/runs/", training_views.training_run_start_view, name="training_run_start"),
    path("projects/<slug:name>/runs/<int:run_id>/progress/", training_views.training_run_progress,
         name="training_run_progress"),
    path("projects/<slug:name>/runs/<int:run_id>/log/", training_views.training_run_log, name="training_run_log"),
    path("projects/<slug:name>/runs/<int:run_id>/cancel/", training_views.training_run_cancel_view,
         name="training_run_cancel"),
    path("projects/<slug:name>/review/", training_views.review_queue_page, name="review_queue"),
    path("projects/<slug:name>/sentences/<int:sentence_id>/suggestions/",
         training_views.sentence_suggestions_view, name="sentence_suggestions"),
    path("projects/<slug:name>/sentences/<int:sentence_id>/suggestions/accept-all/",
         training_views.suggestions_accept_all_view, name="suggestions_accept_all"),
    path("projects/<slug:name>/sentences/<int:sentence_id>/suggestions/<slug:kind>/<int:pk>/<slug:action>/",
         training_views.suggestion_decide, name="suggestion_decide"),
]
