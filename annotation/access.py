"""Who may do what in a project: the order of the roles and the rules more than one caller needs.

They live here, once, so that pages, the API and the services agree. A rule that a service
enforces itself (deciding a model suggestion) is the same function the page calls to decide
what to show and the API to decide what to allow: no caller can skip it.
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied

from annotation.models import ROLE_RANK, Membership, Role

#: the least role that may accept or reject a model suggestion
SUGGESTION_DECIDER = Role.REVIEWER


def role_at_least(role, minimum) -> bool:
    """Whether ``role`` (``None``: not a member) ranks at least ``minimum``."""
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(minimum)]


def project_role(user, project_id: int) -> Role | None:
    """The user's role on the project (one query); superusers act as managers everywhere,
    anonymous users and non-members have none."""
    if not getattr(user, "is_authenticated", False):
        return None
    role = (Membership.objects.filter(project_id=project_id, user_id=user.pk)
            .values_list("role", flat=True).first())
    if role is not None:
        return Role(role)
    return Role.MANAGER if user.is_superuser else None


def may_decide_suggestions(role) -> bool:
    """Whether a member of ``role`` may accept or reject model suggestions."""
    return role_at_least(role, SUGGESTION_DECIDER)


def suggestion_decide_authorize(*, user, project_id: int) -> None:
    """Raise ``PermissionDenied`` unless ``user`` may decide the project's suggestions."""
    if not may_decide_suggestions(project_role(user, project_id)):
        raise PermissionDenied(
            f"Accepting or rejecting model suggestions needs the {SUGGESTION_DECIDER.label.lower()} "
            "role.")
