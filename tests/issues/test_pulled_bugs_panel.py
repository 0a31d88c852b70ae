"""The issue list's "Bugs in trackers" panel obeys the list's filters and shows each bug's mapped
status next to the tracker's own."""

import pytest
from django.urls import reverse
from django.utils import timezone

from issues.pulls.models import PulledBug
from projects.models import Role
from tests.factories import ExternalReferenceFactory, MembershipFactory, ProjectFactory, SourceFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(client):
    project = ProjectFactory(key="SHOP")
    client.force_login(MembershipFactory(project=project, role=Role.VIEWER).user)
    jira, github = SourceFactory(name="Jira"), SourceFactory(name="GitHub")

    def bug(key, source, status, tracker_status, category, priority):
        reference = ExternalReferenceFactory(
            key=key, source=source, title=f"Bug {key}", status=tracker_status, status_category=category
        )
        PulledBug.objects.create(
            project=project, reference=reference, status=status, priority=priority, pulled_at=timezone.now()
        )

    bug("JIRA-1", jira, "open", "Awaiting triage", "todo", "critical")
    bug("JIRA-2", jira, "resolved", "Done", "done", "minor")
    bug("GH-3", github, "in_progress", "In review", "in_progress", "major")
    return project, jira, github


def panel(client, **filters):
    text = client.get(reverse("issues:list", args=["SHOP"]), filters).text
    return text.split('id="pulled-bugs"')[1].split("</section>")[0] if 'id="pulled-bugs"' in text else ""


def test_without_filters_every_bug_shows_its_mapped_and_its_tracker_status(client, shop):
    shown = panel(client)
    assert all(key in shown for key in ("JIRA-1", "JIRA-2", "GH-3"))
    row = next(row for row in shown.split('id="pulled-bug-')[1:] if "JIRA-1" in row)
    assert "Open</span>" in row and "Jira: Awaiting triage" in row


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": "unresolved"}, {"JIRA-1", "GH-3"}),
        ({"status": "resolved"}, {"JIRA-2"}),
        ({"priority": "critical"}, {"JIRA-1"}),
        ({"category": "in_progress"}, {"GH-3"}),
        ({"q": "JIRA-2"}, {"JIRA-2"}),
    ],
)
def test_the_panel_obeys_the_lists_filters(client, shop, filters, expected):
    shown = panel(client, **filters)
    assert {key for key in ("JIRA-1", "JIRA-2", "GH-3") if key in shown} == expected
    assert "matching these filters" in shown


def test_the_source_filter_keeps_that_trackers_bugs_and_internal_only_keeps_none(client, shop):
    _, jira, github = shop
    assert {key for key in ("JIRA-1", "JIRA-2", "GH-3") if key in panel(client, source=github.pk)} == {"GH-3"}
    assert panel(client, source="internal") == ""


def test_a_tag_or_assignee_filter_hides_the_bugs_which_have_neither(client, shop):
    project, _, _ = shop
    TagFactory(project=project, name="ui")
    assert panel(client, tag="ui") == ""
    assert panel(client, assignee="none") == ""
