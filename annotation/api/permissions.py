"""Object-level access for the project-scoped API: non-members get 404, low roles 403.

Every project-scoped view declares ``min_roles`` (action or HTTP method -> role); the
project is resolved once per request by ``annotation.access.project_for_user``, which raises Http404
for a non-member (the project's existence is not revealed) and PermissionDenied for a
member below the role. Objects are then looked up *inside* that project only, so an id
from another project is a 404 as well.
"""
from __future__ import annotations

from rest_framework.permissions import BasePermission

from annotation.access import may_create_project, project_for_user
from annotation.audit import acting_user_set
from annotation.models import Role


class ProjectRole(BasePermission):
    """Allows the request when the user holds the view's minimum role on ``kwargs['project']``."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        view.project, view.role = project_for_user(user=request.user, name=view.kwargs["project"],
                                                   min_role=view.min_role(request))
        acting_user_set(request.user)
        return True


class ProjectScopedMixin:
    """``self.project`` and ``self.role`` for views under ``/api/projects/<project>/``."""

    permission_classes = [ProjectRole]
    #: action name (viewsets) or HTTP method -> minimum role; "*" is the default
    min_roles: dict[str, str] = {"*": Role.ANNOTATOR}
    project = None
    role = None

    def min_role(self, request) -> str:
        action = getattr(self, "action", None)
        for key in (action, request.method, "*"):
            if key in self.min_roles:
                return self.min_roles[key]
        return Role.ANNOTATOR


class IsStaff(BasePermission):
    """Creating a project is an administrator's act (the creator becomes its manager)."""

    def has_permission(self, request, view) -> bool:
        return may_create_project(request.user)
