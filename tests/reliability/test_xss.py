"""Stored and reflected XSS: script payloads in every text a user or a tracker can write (issue name,
description, tags and attachment names; case, run, result and requirement texts; remote titles,
statuses and errors of linked references; source and audit texts) stay inert on every project page
(walked from the resolver, with the payload in the query string too) and in every admin list and change
page of the three apps: no script runs, no event handler or javascript: URL is created."""

from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.urls import reverse

from integrations.models import AuditAction, AuditEvent, Source
from issues.core.models import Attachment, Issue, Tag
from issues.links.models import ExternalReference, Link
from issues.links.services import link
from tests.factories import (
    ExternalReferenceFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    RequirementFactory,
    SourceFactory,
    TestCaseFactory,
    TestResultFactory,
    TestRunFactory,
    UserFactory,
)

from .conftest import fill, project_routes

pytestmark = pytest.mark.django_db

PAYLOAD = (
    '<script>alert("xss")</script><img src=x onerror=alert("xss")>"><svg onload=alert("xss")>'
    '[click](javascript:alert("xss"))'
)
SHORT = '<img src=x onerror=alert("xss")>'  # for fields of at most 50 characters
XSS_ID = 4242  # every object of the test has this id (an issue this number), so one URL reaches them all
QUERY = "?" + "&".join(f"{name}=%3Cscript%3Ealert(%22xss%22)%3C/script%3E" for name in ("q", "folder", "status"))


class ActiveContent(HTMLParser):
    """Collects what a browser would execute from an HTML page: scripts, handlers, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found, self.in_script = [], False

    def handle_starttag(self, tag, attrs):
        self.in_script = tag == "script"
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") and "alert(" in value:
                self.found.append(f"<{tag} {name}={value}>")
            if name in ("href", "src", "action", "formaction", "data") and value.startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value}>")

    def handle_endtag(self, tag):
        self.in_script = False

    def handle_data(self, data):
        if self.in_script and "alert(" in data:
            self.found.append(f"<script>{data}")


def active_content(html: str) -> list[str]:
    scanner = ActiveContent()
    scanner.feed(html)
    return scanner.found


def test_the_scanner_sees_each_payload_when_unescaped():
    assert len(active_content(PAYLOAD)) == 2 + len(active_content('<a href="javascript:alert(1)">x</a>'))


@pytest.fixture
def poisoned(db):
    """One project whose every text field carries the payload, each object with id XSS_ID."""
    project = ProjectFactory(key="XSS", name=PAYLOAD[:200], description=PAYLOAD)
    source = SourceFactory(name=SHORT, description=PAYLOAD, health_error=PAYLOAD)
    ProjectIntegrationFactory(project=project, source=source, id=XSS_ID, description=PAYLOAD)
    case = TestCaseFactory(
        project=project,
        id=XSS_ID,
        title=PAYLOAD,
        folder=PAYLOAD[:100],
        preconditions=PAYLOAD,
        description=PAYLOAD,
        steps=[{"action": PAYLOAD, "expected": PAYLOAD}],
    )
    run = TestRunFactory(project=project, id=XSS_ID, name=PAYLOAD, description=PAYLOAD, environment=PAYLOAD[:100])
    result = TestResultFactory(run=run, case=case, id=XSS_ID, comment=PAYLOAD)
    requirement = RequirementFactory(project=project, id=XSS_ID, title=PAYLOAD, description=PAYLOAD)
    issue = Issue.objects.create(project=project, id=XSS_ID, number=XSS_ID, name=PAYLOAD, description=PAYLOAD)
    issue.tags.add(Tag.objects.create(project=project, id=XSS_ID, name=SHORT))
    Attachment.objects.create(
        issue=issue, id=XSS_ID, file="attachments/x.txt", original_name=PAYLOAD, content_type="text/plain", size=1
    )
    reference = ExternalReferenceFactory(
        source=source,
        id=XSS_ID,
        source_name=SHORT,
        title=PAYLOAD,
        status=PAYLOAD[:100],
        assignee=PAYLOAD[:100],
        priority=PAYLOAD[:50],
        last_error=PAYLOAD,
    )
    for artefact in (case, run, result, requirement):
        link(artefact=artefact, issue=issue)
        link(artefact=artefact, reference=reference)
    Link.objects.filter(project=project, issue=issue, test_case=case).update(id=XSS_ID)
    AuditEvent.objects.create(
        action=AuditAction.ISSUE_LINKED, source_name=SHORT, project_key="XSS", target=PAYLOAD[:100], message=PAYLOAD
    )
    return project


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


ROUTES = project_routes()


def test_payloads_are_shown_escaped_and_never_active_on_project_pages(client, poisoned):
    client.force_login(MembershipFactory(project=poisoned).user)
    shown = set()
    for name, route in ROUTES:
        response = client.get(fill(route, poisoned.key, XSS_ID) + QUERY)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        html = response.content.decode()
        assert '<script>alert("xss")' not in html and "<img src=x onerror" not in html, name
        assert active_content(html) == [], name
        if "&lt;script&gt;alert(" in html:
            shown.add(name)
    assert {
        "projects:case",
        "projects:run",
        "projects:result",
        "projects:requirement",
        "issues:detail",
        "issues:list",
    } <= shown


def admin_pages(project):
    for model in admin.site._registry:
        if model._meta.app_label not in ("projects", "issues", "integrations"):
            continue
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        yield reverse(f"{prefix}_changelist") + "?q=%3Cscript%3Ealert(%22xss%22)%3C/script%3E"
        yield reverse(f"{prefix}_changelist")
        for pk in model.objects.values_list("pk", flat=True):
            yield reverse(f"{prefix}_change", args=[pk])


def test_payloads_are_never_active_in_the_admin(client, poisoned):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    pages = list(admin_pages(poisoned))
    shown = 0
    for path in pages:
        html = html_of(client.get(path))
        assert '<script>alert("xss")' not in html and "<img src=x onerror" not in html, path
        assert active_content(html) == [], path
        shown += "&lt;script&gt;alert(" in html or "&lt;img src=x onerror" in html
    assert len(pages) > 20 and shown > 10
    assert ExternalReference.objects.filter(title=PAYLOAD).exists() and Source.objects.filter(name=SHORT).exists()
