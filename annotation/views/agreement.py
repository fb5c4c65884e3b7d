"""Inter-annotator agreement pages: the matrix and per-type tables, and the drill-down to
one criterion."""
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from annotation.access import AGREEMENT_READER, project_for_user
from annotation.models import Sentence
from annotation.selectors.agreement import (
    agreement_matrix, agreement_report_cached, criterion_sides, report_pair,
)
from annotation.selectors.layers import layer_annotators


#: disagreeing criteria listed on the page (the API and the command list them all)
CRITERIA_SHOWN = 500


def _chosen_pair(request, annotators) -> tuple[list, str]:
    """The two annotators named by ``?pair=a,b`` (none given: the first two), or an error."""
    by_name = {user.username: user for user in annotators}
    wanted = [n for n in request.GET.get("pair", "").split(",") if n] or list(by_name)[:2]
    if len(wanted) != 2 or wanted[0] == wanted[1]:
        return [], "Name two different annotators: ?pair=NAME,NAME."
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        return [], f"No annotation layer of {', '.join(unknown)} in this project."
    return [by_name[n] for n in wanted], ""


@login_required
@require_GET
def agreement_page(request, name):
    project, _ = project_for_user(user=request.user, name=name, min_role=AGREEMENT_READER)
    report = agreement_report_cached(project=project)
    pair = None
    if len(report["annotators"]) >= 2:
        users, error = _chosen_pair(request, layer_annotators(project=project))
        if error:
            return HttpResponseBadRequest(error)
        pair = report_pair(report, users[0].username, users[1].username)
    return render(request, "annotation/agreement.html", {
        "project": project, "report": report, "matrix": agreement_matrix(report), "pair": pair,
        "criteria_shown": pair["criteria"][:CRITERIA_SHOWN] if pair else []})


@login_required
@require_GET
def agreement_criterion(request, name, sentence_id):
    """Both annotators' versions of one criterion, marked agreed / overlapping / only one side."""
    project, _ = project_for_user(user=request.user, name=name, min_role=AGREEMENT_READER)
    sentence = get_object_or_404(Sentence.objects.select_related("document", "project"),
                                 project=project, pk=sentence_id)
    users, error = _chosen_pair(request, layer_annotators(project=project))
    if error:
        return HttpResponseBadRequest(error)
    return render(request, "annotation/agreement_criterion.html", {
        "project": project, "sentence": sentence,
        "sides": criterion_sides(sentence=sentence, annotators=users)})
