"""An internal issue's history on its page: every edit (field old -> new, who, when), comments, links,
changes its tracker made, newest first and paged; "updated" follows edits and comments."""

import pytest
from django.urls import reverse
from django.utils import timezone

from issues.core import history
from issues.core.models import Issue, IssueEvent
from issues.core.services import update_issue
from issues.sync.comments import add_comment
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, make_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def member(client, project):
    user = MembershipFactory(project=project, role=Role.MEMBER, user=UserFactory(username="mia")).user
    client.force_login(user)
    return user


def url(name, *args):
    return reverse(f"issues:{name}", args=["SHOP", *args])


def edit(client, issue, **changes):
    issue.refresh_from_db()
    data = {
        "name": issue.name,
        "description": issue.description,
        "status": issue.status,
        "priority": issue.priority,
        "assignee": "",
        "tags": "",
        "tag_color": "#6b7280",
        "version": issue.version,
        **changes,
    }
    response = client.post(url("edit", issue.number), data)
    assert response.status_code == 302, response.content.decode()[:2000]


def history_section(client, issue, **query):
    text = client.get(url("detail", issue.number), query).text
    return text.split('id="history"')[1].split("</section>")[0]


def test_two_edits_on_the_page_show_two_entries_with_old_and_new_and_the_editor(client, member, project):
    issue = make_issue(project, name="Checkout fails", reporter=member)
    Issue.objects.filter(pk=issue.pk).update(updated_at=timezone.now() - timezone.timedelta(days=2))

    edit(client, issue, status="in_progress")
    edit(client, issue, name="Checkout fails on Safari", priority="critical", tags="safari")

    section = history_section(client, issue)
    entries = section.split('class="history-entry')[1:]
    assert len(entries) == 3
    assert "mia" in entries[0] and "edited" in entries[0]
    assert "Title: <del>Checkout fails</del>" in entries[0] and "<ins>Checkout fails on Safari</ins>" in entries[0]
    assert "Priority: <del>Major</del>" in entries[0] and "<ins>Critical</ins>" in entries[0]
    assert "Tags: <del>none</del>" in entries[0] and "<ins>safari</ins>" in entries[0]
    assert "Status: <del>Open</del>" in entries[1] and "<ins>In progress</ins>" in entries[1]
    assert "created" in entries[2]
    issue.refresh_from_db()
    assert timezone.now() - issue.updated_at < timezone.timedelta(minutes=5)


def test_a_comment_written_on_the_page_counts_as_an_update(client, member, project):
    issue = make_issue(project, name="Checkout fails", reporter=member)
    Issue.objects.filter(pk=issue.pk).update(updated_at=timezone.now() - timezone.timedelta(days=2))

    client.post(url("comment_add", issue.number), {"body": "Seen again on staging"})

    issue.refresh_from_db()
    assert timezone.now() - issue.updated_at < timezone.timedelta(minutes=5)
    assert issue.comments.count() == 1 and "Added a comment" in history_section(client, issue)


def test_the_history_is_paged_newest_first(client, member, project):
    issue = make_issue(project, name="Title 0")
    for number in range(1, 25):
        issue = update_issue(issue, expected_version=issue.version, name=f"Title {number}")

    first, second = history_section(client, issue), history_section(client, issue, history_page=2)

    assert first.count('class="history-entry') == 20 and second.count('class="history-entry') == 5
    assert first.index("<ins>Title 24</ins>") < first.index("<ins>Title 23</ins>")
    assert "<del>Title 4</del>" in first  # the page's oldest entry is compared with the one on the next page
    assert "Older" in first and "Newer" in second


def test_a_change_from_the_tracker_and_a_comment_are_entries_without_a_user(client, member, project):
    issue = make_issue(project)
    Issue.objects.filter(pk=issue.pk).update(status="resolved")
    history.record(issue, IssueEvent.SYNCED, detail="From JIRA-7 in Jira")
    add_comment(issue, author=member, body="Fixed in **build 12**")

    section = history_section(client, issue)

    commented, synced = section.split('class="history-entry')[1:3]
    assert "mia" in commented and "Added a comment" in commented and "build 12" not in commented
    assert "The tracker" in synced and "From JIRA-7 in Jira" in synced and "<ins>Resolved</ins>" in synced


def test_another_projects_issue_page_is_not_found(client, member):
    make_issue(ProjectFactory(key="BANK"))
    assert client.get(reverse("issues:detail", args=["BANK", 1])).status_code == 404


def test_an_admin_save_is_recorded_with_its_tags_by_the_library(project):
    issue = make_issue(project, tags=[])
    issue.name = "Saved elsewhere"
    issue.save()

    newest = issue.history.order_by("-history_date", "-history_id").first()
    assert (newest.event, newest.name, newest.tag_names) == (IssueEvent.EDITED, "Saved elsewhere", [])
