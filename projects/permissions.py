"""The one place that answers "may this user do this here?".

Pages, API endpoints and services ask these functions; nothing else compares roles.
A user who may not view a project must not learn that its objects exist, so
`ensure` raises Http404 for them and PermissionDenied only for members who can see
the object but not change it.
"""

from enum import Enum

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Membership, Project, Role


# Not StrEnum (UP042): str(Action.VIEW) would become "view" instead of "Action.VIEW"; kept as is so
# nothing that formats an action changes.
class Action(str, Enum):  # noqa: UP042
    VIEW = "view"  # read the project's cases, runs, issues, links
    EDIT = "edit"  # create and change cases, runs, results, issues, links; file tracker issues
    MANAGE = "manage"  # project settings, members, tracker assignments and mappings


ROLE_ACTIONS = {
    Role.VIEWER: {Action.VIEW},
    Role.MEMBER: {Action.VIEW, Action.EDIT},
    Role.ADMIN: {Action.VIEW, Action.EDIT, Action.MANAGE},
}

_ROLE_CACHE_ATTR = "_testmanager_project_roles"


def is_system_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


def can_administer_integrations(user) -> bool:
    """Sources, credentials and the audit log: superusers and staff granted the permission."""
    if not (user and user.is_authenticated and user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.has_perm("integrations.change_source")


def role_in(user, project: Project) -> Role | None:
    """The user's role in the project; system admins act as project admins everywhere."""
    if not (user and user.is_authenticated and user.is_active):
        return None
    if is_system_admin(user):
        return Role.ADMIN
    cache = user.__dict__.setdefault(_ROLE_CACHE_ATTR, {})
    if project.pk not in cache:
        role = Membership.objects.filter(user=user, project_id=project.pk).values_list("role", flat=True).first()
        cache[project.pk] = Role(role) if role else None
    return cache[project.pk]


def can(user, action: Action, project: Project) -> bool:
    role = role_in(user, project)
    return role is not None and Action(action) in ROLE_ACTIONS[role]


def ensure(user, action: Action, project: Project) -> None:
    """Raise unless allowed: 404 for outsiders (existence stays secret), 403 for insiders."""
    if can(user, action, project):
        return
    if role_in(user, project) is None:
        raise Http404("No such object.")
    raise PermissionDenied(f"Your role in {project.key} does not allow this.")


def visible_projects(user):
    """Projects whose content the user may read."""
    if not (user and user.is_authenticated and user.is_active):
        return Project.objects.none()
    if is_system_admin(user):
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user).distinct()


def projects_where(user, action: Action):
    """Projects in which the user may perform the action."""
    if is_system_admin(user):
        return Project.objects.all()
    roles = [role for role, actions in ROLE_ACTIONS.items() if Action(action) in actions]
    return visible_projects(user).filter(memberships__user=user, memberships__role__in=roles)
