"""The annotation queue: "Annotate next", Skip and Enter serve the next criterion by the
project's ranking and claim it (``annotation.services.queue``); managers release claims.

The criteria an annotator skipped are remembered in their session, per project (the last
``SKIPPED_LIMIT``), and not served to them again while anything else is left; when only
those are left they are served again, the one just skipped last.
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotation.access import project_for_user
from annotation.models import Claim, Role
from annotation.selectors.layers import layer_for
from annotation.services.queue import claim_release, queue_serve

SKIPPED_LIMIT = 200
NOTHING_LEFT = ("Nothing left to annotate: every open criterion is finished or being annotated "
                "by someone else.")
NOTHING_ELSE = ("No other open criterion is free: the one you skipped is the last one left "
                "for you.")


def _skipped_key(project) -> str:
    return f"queue-skipped-{project.pk}"


def next_address(request, project, *, layer: int | None = None,
                 skipping: int | None = None) -> str:
    """Claim the next criterion for the user and return its address (the dashboard, with a
    message, when nothing is left); ``layer``: the annotator layer they edit
    (``selectors.layers.layer_for``); ``skipping``: the criterion they skip from."""
    key = _skipped_key(project)
    skipped = [pk for pk in request.session.get(key, []) if pk != skipping]
    if skipping is not None:
        skipped = (skipped + [skipping])[-SKIPPED_LIMIT:]
        request.session[key] = skipped
    target = queue_serve(project=project, user=request.user, skipped=skipped, layer=layer)
    if target is None and skipped:
        request.session[key] = []
        target = queue_serve(project=project, user=request.user, layer=layer,
                             skipped=[skipping] if skipping is not None else [])
    if target is None:
        messages.info(request, NOTHING_ELSE if skipping is not None else NOTHING_LEFT)
        return reverse("project_dashboard", args=[project.name])
    return reverse("sentence_annotate", args=[project.name, target])


@login_required
@require_GET
def project_queue(request, name):
    """"Annotate next": the first criterion of the ranking that is free for this user."""
    project, role = project_for_user(user=request.user, name=name)
    return redirect(next_address(request, project,
                                 layer=layer_for(project=project, user=request.user, role=role)))


@login_required
@require_POST
def claim_release_view(request, name, claim_id):
    """A manager frees an annotator's claim; back to the project page."""
    project, _ = project_for_user(user=request.user, name=name, min_role=Role.MANAGER)
    try:
        claim = claim_release(claim_id=claim_id, project=project, user=request.user)
    except Claim.DoesNotExist:
        raise Http404("No such claim (it may have been released already).") from None
    messages.success(request, f"Released {claim.user.username}'s claim on criterion "
                              f"{claim.sentence_id}.")
    return redirect("project_dashboard", name=project.name)
