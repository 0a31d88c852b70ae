"""GET /api/issues/{id or key}/history: every change of an internal issue (field old -> new, who, when),
its comments, links and unlinks, newest first and paginated; edits move `updated_at` and `updated_after`."""

from urllib.parse import quote

import pytest
from django.utils import timezone

from issues.core.models import Issue
from issues.core.services import update_issue
from issues.links.services import link, unlink
from issues.sync.comments import add_comment

pytestmark = pytest.mark.django_db


def _edit(client, issue, **changes):
    version = client.get(f"/api/issues/{issue.pk}").json()["version"]
    response = client.patch(f"/api/issues/{issue.pk}", {**changes, "version": version}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_two_edits_are_two_entries_with_old_and_new_values_and_the_user(world, client_as):
    issue = world.mine.issue
    member, admin = client_as("member"), client_as("admin")

    _edit(member, issue, status="in_progress", priority="critical")
    _edit(admin, issue, name="Card payment times out", assignee="member", tags=["checkout"])

    response = client_as("viewer").get(f"/api/issues/{quote(issue.key, safe='')}/history")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3  # created, then the two edits
    newest, older, created = body["results"]
    assert (newest["event"], newest["user"]) == ("edited", "admin")
    assert newest["changes"] == [
        {"field": "name", "old": "Something is broken", "new": "Card payment times out"},
        {"field": "assignee", "old": None, "new": "member"},
        {"field": "tags", "old": [], "new": ["checkout"]},
    ]
    assert (older["event"], older["user"]) == ("edited", "member")
    assert older["changes"] == [
        {"field": "status", "old": "open", "new": "in_progress"},
        {"field": "priority", "old": "major", "new": "critical"},
    ]
    assert older["at"] <= newest["at"]
    assert (created["event"], created["changes"]) == ("created", [])


def test_the_history_is_found_by_id_or_key_and_paginated_newest_first(world, client_as):
    issue = world.mine.issue
    for number in range(1, 6):
        issue = update_issue(issue, expected_version=issue.version, name=f"Title {number}")

    first = client_as("viewer").get(f"/api/issues/{issue.pk}/history?page_size=2").json()
    second = client_as("viewer").get(f"/api/issues/SHOP-{issue.number}/history?page_size=2&page=2").json()

    assert first["count"] == 6
    assert [entry["changes"][0]["new"] for entry in first["results"]] == ["Title 5", "Title 4"]
    # The last entry of a page is still compared with the one before it, on the next page.
    assert [(c["old"], c["new"]) for entry in second["results"] for c in entry["changes"]] == [
        ("Title 2", "Title 3"),
        ("Title 1", "Title 2"),
    ]
    assert first["next"] is not None


def test_comments_links_and_unlinks_are_entries_with_who_did_them(world, client_as):
    issue, member = world.mine.issue, world.users["member"]
    add_comment(issue, author=member, body="Seen again\non Firefox")
    created = link(artefact=world.mine.case, issue=issue, actor=member)
    unlink(created, actor=world.users["admin"])

    entries = client_as("viewer").get(f"/api/issues/{quote(issue.key, safe='')}/history").json()["results"]

    assert [(entry["event"], entry["user"], entry["detail"]) for entry in entries[:3]] == [
        ("unlinked", "admin", f"Unlinked test case “{world.mine.case}”"),
        ("linked", "member", f"Linked test case “{world.mine.case}”"),
        ("commented", "member", "Added a comment"),
    ]
    assert all(entry["changes"] == [] for entry in entries[:3])
    assert "Firefox" not in str(entries)  # what a comment said stays with the comment (which may be deleted)


def test_another_projects_issue_history_is_404_and_anonymous_is_refused(world, client_as):
    foreign = world.other.issue

    assert client_as("member").get(f"/api/issues/{foreign.pk}/history").status_code == 404
    assert client_as("member").get(f"/api/issues/{quote(foreign.key, safe='')}/history").status_code == 404
    assert client_as("outsider").get(f"/api/issues/{quote(world.mine.issue.key, safe='')}/history").status_code == 404
    assert client_as("anonymous").get(f"/api/issues/{quote(world.mine.issue.key, safe='')}/history").status_code in (
        401,
        403,
    )


def test_an_edit_moves_updated_at_and_updated_after_finds_the_issue(world, client_as):
    issue = world.mine.issue
    Issue.objects.filter(pk=issue.pk).update(updated_at=timezone.now() - timezone.timedelta(days=3))
    since = (timezone.now() - timezone.timedelta(days=1)).isoformat()
    client = client_as("member")
    assert issue.key not in [
        row["key"] for row in client.get("/api/issues", {"updated_after": since}).json()["results"]
    ]

    edited = _edit(client, issue, priority="minor")

    assert edited["updated_at"] > since
    found = client.get("/api/issues", {"updated_after": since}).json()["results"]
    assert [row["key"] for row in found] == [issue.key]


def test_a_comment_moves_updated_at_and_a_link_does_not(world, client_as):
    issue = world.mine.issue
    three_days_ago = timezone.now() - timezone.timedelta(days=3)
    Issue.objects.filter(pk=issue.pk).update(updated_at=three_days_ago)
    since = (timezone.now() - timezone.timedelta(days=1)).isoformat()
    client = client_as("member")

    link(artefact=world.mine.case, issue=issue, actor=world.users["member"])
    assert client.get(f"/api/issues/{issue.pk}").json()["updated_at"] < since

    add_comment(issue, author=world.users["member"], body="Seen again on staging")

    assert client.get(f"/api/issues/{issue.pk}").json()["updated_at"] > since
    assert [row["key"] for row in client.get("/api/issues", {"updated_after": since}).json()["results"]] == [issue.key]
    assert Issue.objects.get(pk=issue.pk).version == issue.version  # a comment is no edit conflict


def test_a_refused_edit_leaves_no_entry(world, client_as):
    issue = world.mine.issue
    response = client_as("member").patch(f"/api/issues/{issue.pk}", {"status": "nonsense"}, format="json")
    stale = client_as("member").patch(f"/api/issues/{issue.pk}", {"name": "x", "version": 99}, format="json")

    assert (response.status_code, stale.status_code) == (400, 409)
    assert [
        entry["event"] for entry in client_as("member").get(f"/api/issues/{issue.pk}/history").json()["results"]
    ] == ["created"]


def test_the_history_endpoint_is_documented(client_as, world):
    schema = client_as("viewer").get("/api/schema/", HTTP_ACCEPT="application/json").json()
    history = schema["paths"]["/api/issues/{issueId}/history"]["get"]
    assert {parameter["name"] for parameter in history["parameters"]} >= {"issueId", "page", "page_size"}
    assert history["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/PaginatedHistoryEntryList"
    )
    entry = schema["components"]["schemas"]["HistoryEntry"]["properties"]
    assert {"event", "at", "user", "detail", "changes"} <= set(entry)
    assert {"field", "old", "new"} <= set(schema["components"]["schemas"]["FieldChange"]["properties"])
