"""The permissions matrix: every role against every action, plus outsiders and system admins."""

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.exceptions import PermissionDenied
from django.http import Http404

from projects.models import Role
from projects.permissions import (
    Action,
    can,
    can_administer_integrations,
    ensure,
    projects_where,
    role_in,
    visible_projects,
)
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

MATRIX = {
    Role.VIEWER: {Action.VIEW: True, Action.EDIT: False, Action.MANAGE: False},
    Role.MEMBER: {Action.VIEW: True, Action.EDIT: True, Action.MANAGE: False},
    Role.ADMIN: {Action.VIEW: True, Action.EDIT: True, Action.MANAGE: True},
}


@pytest.mark.parametrize("role", list(MATRIX))
@pytest.mark.parametrize("action", list(Action))
def test_role_matrix(role, action):
    membership = MembershipFactory(role=role)
    assert can(membership.user, action, membership.project) is MATRIX[role][action]


@pytest.mark.parametrize("action", list(Action))
def test_outsiders_and_anonymous_may_do_nothing(action):
    project = ProjectFactory()
    MembershipFactory(role=Role.ADMIN)  # admin of another project
    assert not can(UserFactory(), action, project)
    assert not can(AnonymousUser(), action, project)


@pytest.mark.parametrize("action", list(Action))
def test_system_admin_may_do_everything_everywhere(action):
    admin = UserFactory(is_superuser=True, is_staff=True)
    assert can(admin, action, ProjectFactory())


def test_inactive_members_lose_their_role():
    membership = MembershipFactory(role=Role.ADMIN, user=UserFactory(is_active=False))
    assert role_in(membership.user, membership.project) is None


def test_ensure_hides_other_projects_with_404():
    with pytest.raises(Http404):
        ensure(UserFactory(), Action.VIEW, ProjectFactory())


def test_ensure_tells_insiders_what_their_role_forbids_with_403():
    membership = MembershipFactory(role=Role.VIEWER)
    with pytest.raises(PermissionDenied):
        ensure(membership.user, Action.EDIT, membership.project)


def test_visible_projects_lists_only_memberships():
    membership = MembershipFactory(role=Role.VIEWER)
    ProjectFactory()
    assert list(visible_projects(membership.user)) == [membership.project]
    assert list(visible_projects(AnonymousUser())) == []


def test_projects_where_filters_by_action():
    user = UserFactory()
    viewer = MembershipFactory(user=user, role=Role.VIEWER)
    member = MembershipFactory(user=user, role=Role.MEMBER)
    assert set(projects_where(user, Action.VIEW)) == {viewer.project, member.project}
    assert list(projects_where(user, Action.EDIT)) == [member.project]
    assert list(projects_where(user, Action.MANAGE)) == []


def test_integration_administration_needs_staff_with_permission():
    assert not can_administer_integrations(UserFactory())
    assert not can_administer_integrations(UserFactory(is_staff=True))
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="change_source"))
    assert can_administer_integrations(staff)
    assert can_administer_integrations(UserFactory(is_staff=True, is_superuser=True))
