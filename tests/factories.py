"""Small factories: tests build only the data they talk about."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model

from integrations.models import AuthType, ProjectIntegration, Provider, Source
from issues.core.models import Tag
from issues.core.services import create_issue
from issues.links.models import ExternalReference
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
