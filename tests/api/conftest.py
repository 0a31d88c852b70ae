"""A small world for API tests: one project with a user per role, and another project nobody here is in."""

from dataclasses import dataclass, field

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from projects.models import ApiToken, Project, Role
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    RequirementFactory,
    TestCaseFactory,
    TestResultFactory,
    TestRunFactory,
    UserFactory,
    make_issue,
)

ROLES = ["viewer", "member", "admin", "outsider", "anonymous"]


@dataclass
class Artefacts:
    """One object of every kind in a project."""

    project: Project
    case: object = None
    run: object = None
    result: object = None
    requirement: object = None
    issue: object = None

    @classmethod
    def build(cls, project):
        case = TestCaseFactory(project=project)
        run = TestRunFactory(project=project)
        return cls(
            project=project,
            case=case,
            run=run,
            result=TestResultFactory(run=run, case=case),
            requirement=RequirementFactory(project=project),
            issue=make_issue(project),
        )


@dataclass
class World:
    mine: Artefacts
    other: Artefacts
    users: dict = field(default_factory=dict)

    @property
    def project(self):
        return self.mine.project


def bearer_client(user=None) -> APIClient:
    """An API client authenticated the way scripts are: with a personal token (anonymous without a user)."""
    client = APIClient()
    if user is not None:
        _, raw = ApiToken.objects.issue(user=user, name="tests")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Throttle counters live in the cache; every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(db):
    mine = Artefacts.build(ProjectFactory(key="SHOP"))
    other = Artefacts.build(ProjectFactory(key="BANK"))
    users = {"outsider": UserFactory(username="outsider")}
    for role in (Role.VIEWER, Role.MEMBER, Role.ADMIN):
        user = UserFactory(username=role.value)
        MembershipFactory(project=mine.project, role=role, user=user)
        users[role.value] = user
    # The outsider belongs somewhere else: being a member of some project must not open this one.
    MembershipFactory(project=other.project, role=Role.ADMIN, user=users["outsider"])
    return World(mine=mine, other=other, users=users)


@pytest.fixture
def client_as(world):
    """client_as("member") -> a token-authenticated client of that role; "anonymous" has no token."""
    return lambda role: bearer_client(world.users.get(role))
