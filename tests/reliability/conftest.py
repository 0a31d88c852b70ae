"""Fixtures of the fault and abuse suite: two projects whose objects share ids, and URL walking."""

import re
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver

from integrations.models import ProjectIntegration
from issues.core.models import Attachment, Issue
from issues.core.services import add_attachment
from issues.links.models import Link
from issues.links.services import link
from projects.models import ImportJob, Project, Role
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    RequirementFactory,
    TestCaseFactory,
    TestResultFactory,
    TestRunFactory,
    make_issue,
)

# Every object of the foreign project carries this id (and its issue this number); the member's
# own project holds nothing with it, so a page that forgets its project filter finds the foreign one.
FOREIGN_ID = 9001


@dataclass
class Worlds:
    mine: Project
    foreign: Project
    member: object  # an admin of `mine`, not a member of `foreign`


def _own_world(project):
    result = TestResultFactory(run__project=project, case__project=project)
    issue = make_issue(project, name="Own issue")
    add_attachment(issue, SimpleUploadedFile("log.txt", b"trace"))
    link(artefact=result.case, issue=issue)
    RequirementFactory(project=project)
    ProjectIntegrationFactory(project=project)


def _foreign_world(project):
    case = TestCaseFactory(project=project, id=FOREIGN_ID)
    run = TestRunFactory(project=project, id=FOREIGN_ID)
    TestResultFactory(run=run, case=case, id=FOREIGN_ID)
    RequirementFactory(project=project, id=FOREIGN_ID)
    issue = Issue.objects.create(project=project, id=FOREIGN_ID, number=FOREIGN_ID, name="Foreign issue")
    Attachment.objects.create(
        issue=issue,
        id=FOREIGN_ID,
        file=SimpleUploadedFile("secret.txt", b"foreign secret"),
        original_name="secret.txt",
        content_type="text/plain",
        size=14,
    )
    Link.objects.create(project=project, id=FOREIGN_ID, issue=issue, test_case=case)
    ProjectIntegrationFactory(project=project, id=FOREIGN_ID)
    ImportJob.objects.create(project=project, id=FOREIGN_ID, filename="cases.csv")


@pytest.fixture
def worlds(db):
    mine, foreign = ProjectFactory(key="SHOP"), ProjectFactory(key="BANK")
    _own_world(mine)
    _foreign_world(foreign)
    assert not ProjectIntegration.objects.filter(project=mine, id=FOREIGN_ID).exists()
    return Worlds(mine=mine, foreign=foreign, member=MembershipFactory(project=mine, role=Role.ADMIN).user)


def walk_routes(patterns=None, prefix="", namespace=""):
    """Every route of the site as (route text, namespaced URL name, view), resolvers expanded."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk_routes(entry.url_patterns, route, inner)
        elif isinstance(entry, URLPattern):
            yield route, f"{namespace}{entry.name}" if entry.name else route, entry.callback


PROJECT_PREFIX = "projects/<str:key>/"
PLACEHOLDER = re.compile(r"<(?:(\w+):)?(\w+)>")
SAMPLE_VALUES = {"uuid": "00000000-0000-4000-8000-000000000000", "slug": "sample", "str": "sample", "path": "sample"}


def project_routes():
    """Every page route under /projects/<key>/, as (URL name, route text)."""
    return sorted({(name, route) for route, name, _ in walk_routes() if route.startswith(PROJECT_PREFIX)})


def page_routes():
    """Every route of the server-rendered pages (not the admin, not the API), as (URL name, route, view)."""
    return sorted(
        ((name, route, view) for route, name, view in walk_routes() if not route.startswith(("admin/", "api/"))),
        key=lambda entry: entry[:2],
    )


def fill(route, key, number):
    """The path of `route` with the project key, every int placeholder `number`, any other a sample."""

    def value(match):
        converter, name = match.groups()
        if name == "key":
            return key
        return str(number) if converter == "int" else SAMPLE_VALUES[converter or "str"]

    return "/" + PLACEHOLDER.sub(value, route)


def database_state() -> dict:
    """Every row of every model of the three apps, to prove that a refused request changed nothing."""
    from django.apps import apps
    from django.forms.models import model_to_dict

    return {
        model._meta.label: sorted(map(repr, map(model_to_dict, model.objects.all())))
        for model in apps.get_models()
        if model._meta.app_label in ("projects", "issues", "integrations")
    }
