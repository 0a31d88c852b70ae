"""Small factories: tests build only the data they talk about."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model

from integrations.models import AuthType, ProjectIntegration, Provider, Source
from issues.core.artefacts import artefact_field, artefact_project
from issues.core.models import Issue, IssueStatus, Tag
from issues.core.services import create_issue
from issues.links.models import ExternalReference, Link
from projects.models import Membership, Project, Requirement, ResultStatus, Role, TestCase, TestResult, TestRun


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    key = factory.Sequence(lambda n: f"P{n:03d}")
    name = factory.LazyAttribute(lambda p: f"Project {p.key}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


class TestCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TestCase

    project = factory.SubFactory(ProjectFactory)
    title = factory.Sequence(lambda n: f"Case {n}")
    folder = "General"
    steps = factory.LazyFunction(
        lambda: [{"action": "Open the page", "expected": ""}, {"action": "Press the button", "expected": "It works"}]
    )


class TestRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TestRun

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Run {n}")


class TestResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TestResult

    run = factory.SubFactory(TestRunFactory)
    case = factory.SubFactory(TestCaseFactory, project=factory.SelfAttribute("..run.project"))
    status = ResultStatus.FAILED
    comment = "Actual: it did not work"
    duration = timedelta(seconds=3)


class RequirementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Requirement

    project = factory.SubFactory(ProjectFactory)
    title = factory.Sequence(lambda n: f"Requirement {n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"tag{n}")


def make_issue(project=None, **kwargs):
    """Issues are numbered by the service, so tests create them through it."""
    project = project or ProjectFactory()
    kwargs.setdefault("name", "Something is broken")
    return create_issue(project=project, **kwargs)


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    provider = Provider.JIRA_CLOUD
    name = factory.Sequence(lambda n: f"Jira {n}")
    base_url = "https://example.atlassian.net"
    auth_type = AuthType.API_TOKEN
    credentials = factory.LazyFunction(lambda: {"email": "bot@example.com", "api_token": "tok-secret-123"})
    issue_url_template = "{baseUrl}/browse/{key}"


class ProjectIntegrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProjectIntegration

    project = factory.SubFactory(ProjectFactory)
    source = factory.SubFactory(SourceFactory)
    external_project = "SHOP"
    default_issue_type = "Bug"


class ExternalReferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExternalReference

    source = factory.SubFactory(SourceFactory)
    source_name = factory.LazyAttribute(lambda r: r.source.name if r.source else "Gone")
    key = factory.Sequence(lambda n: f"SHOP-{n + 1}")
    url = factory.LazyAttribute(lambda r: f"https://example.atlassian.net/browse/{r.key}")
    title = "Remote bug"


LINKED_CATEGORIES = ("todo", "in_progress", "done", "unknown")
LINKED_STATUSES = (IssueStatus.OPEN, IssueStatus.IN_PROGRESS, IssueStatus.RESOLVED, IssueStatus.CLOSED)


def link_many(artefact, count, *, synced=None):
    """``count`` links to ``artefact``: every fifth to an internal issue, the others to tracker issues,
    their statuses cycling through every status."""
    project = artefact_project(artefact)
    internal = count // 5
    first = project.last_issue_number + 1
    Issue.objects.bulk_create(
        Issue(project=project, number=first + n, name=f"Internal {n}", status=LINKED_STATUSES[n % 4])
        for n in range(internal)
    )
    project.last_issue_number = first + internal - 1
    Project.objects.filter(pk=project.pk).update(last_issue_number=project.last_issue_number)
    source = SourceFactory()
    references = ExternalReference.objects.bulk_create(
        ExternalReference(
            source=source,
            source_name=source.name,
            key=f"SHOP-{n}",
            title=f"Remote {n}",
            status_category=LINKED_CATEGORIES[n % 4],
            last_synced_at=synced,
        )
        for n in range(count - internal)
    )
    field = artefact_field(artefact)
    issues = Issue.objects.filter(project=project, number__gte=first)
    Link.objects.bulk_create(
        [Link(project=project, issue=issue, **{field: artefact}) for issue in issues]
        + [Link(project=project, external_reference=reference, **{field: artefact}) for reference in references]
    )
