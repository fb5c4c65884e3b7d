"""The document list (search, filters, pagination) and opening a document."""
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from annotation.access import project_for_user
from annotation.forms import DocumentFilterForm
from annotation.models import Document, EntityType
from annotation.selectors.annotations import first_open_sentence
from annotation.selectors.layers import layer_for
from annotation.selectors.dashboard import document_list

PAGE_SIZE = 25


@login_required
@require_GET
def document_list_view(request, name):
    project, role = project_for_user(user=request.user, name=name)
    form = DocumentFilterForm(
        request.GET or None,
        entity_types=EntityType.objects.filter(project_id=project.pk).only("id", "name"),
        annotators=get_user_model().objects.filter(memberships__project_id=project.pk)
        .only("id", "username").order_by("username"),
    )
    filters = form.cleaned_data if form.is_valid() else {}
    documents = document_list(project=project, **{k: v or "" for k, v in filters.items()})
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"project": project, "role": role, "form": form, "page": page,
               "query": query.urlencode()}
    template = ("annotation/partials/document_table.html" if request.htmx
                else "annotation/document_list.html")
    return render(request, template, context)


@login_required
@require_GET
def document_open(request, name, document_id):
    """The document's first criterion left to annotate in the user's layer (an annotator of an
    independent-mode project: only in a document assigned to them)."""
    project, role = project_for_user(user=request.user, name=name)
    document = get_object_or_404(Document.objects.only("id"), pk=document_id, project_id=project.pk)
    sentence = first_open_sentence(project=project, document_id=document.pk,
                                   layer=layer_for(project=project, user=request.user, role=role))
    if sentence is None:
        return redirect("document_list", name=project.name)
    return redirect("sentence_annotate", name=project.name, sentence_id=sentence.pk)
