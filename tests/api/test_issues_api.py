"""/api/issues (and /api/defects): internal issues, the seed's create/get/link/unlink endpoints."""

from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from issues.core.models import Issue, Tag
from issues.core.services import add_attachment
from issues.links.models import Link
from issues.links.services import link
from projects.models import Role
from tests.factories import MembershipFactory, UserFactory, make_issue

from .conftest import bearer_client
from .helpers import database_state

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/issues", "/api/issues/create", "/api/defects", "/api/defects/create"])
def test_an_issue_is_filed_with_the_next_number_tags_and_an_assignee(world, client_as, path):
    response = client_as("member").post(
        path,
        {
            "project": "SHOP",
            "name": "Card payment fails",
            "description": "**Steps**",
            "priority": "critical",
            "assignee": "admin",
            "tags": ["checkout", "payments", "checkout"],
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["key"], body["number"], body["reporter"], body["assignee"], body["version"]) == (
        "SHOP#2",
        2,
        "member",
        "admin",
        1,
    )
    assert sorted(body["tags"]) == ["checkout", "payments"]
    issue = Issue.objects.get(pk=body["id"])
    assert (issue.name, issue.priority, issue.reporter.username) == ("Card payment fails", "critical", "member")


def test_an_assignee_must_be_a_member_of_the_project(world, client_as):
    UserFactory(username="stranger")
    before = database_state()
    response = client_as("member").post(
        "/api/issues", {"project": "SHOP", "name": "x", "assignee": "stranger"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "assignee: SHOP has no member called stranger.",
        "errors": {"assignee": ["SHOP has no member called stranger."]},
    }
    assert database_state() == before


@pytest.mark.parametrize("issue_id", ["{pk}", "SHOP%231", "shop%231", "SHOP-1", "shop-1"])
@pytest.mark.parametrize("prefix", ["issues", "defects"])
def test_an_issue_is_found_by_id_or_by_its_key_in_either_form(world, client_as, prefix, issue_id):
    """SHOP#1 is the key (its '#' URL-encoded in a path); SHOP-1, the form before, is still accepted."""
    issue = world.mine.issue
    response = client_as("viewer").get(f"/api/{prefix}/" + issue_id.format(pk=issue.pk))
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["key"], body["lives_in"]) == (issue.pk, "SHOP#1", "testmanager")


def test_an_edit_based_on_an_old_version_is_refused(world, client_as):
    client = client_as("member")
    url = f"/api/issues/{quote(world.mine.issue.key)}"
    assert client.patch(url, {"status": "in_progress", "version": 1}, format="json").json()["version"] == 2

    stale = client.patch(url, {"status": "closed", "version": 1}, format="json")

    assert stale.status_code == 409
    assert stale.json()["message"].startswith("SHOP#1 was changed by someone else while you were editing.")
    assert Issue.objects.get(pk=world.mine.issue.pk).status == "in_progress"


def test_an_edit_without_a_version_applies_to_the_current_one(world, client_as):
    response = client_as("member").patch(
        f"/api/issues/{world.mine.issue.pk}", {"name": "Renamed", "tags": ["ui"]}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["tags"], response.json()["version"]) == ("Renamed", ["ui"], 2)


def test_tags_are_replaced_and_left_alone_when_not_sent(world, client_as):
    client = client_as("member")
    url = f"/api/issues/{world.mine.issue.pk}"
    client.patch(url, {"tags": ["ui", "checkout"]}, format="json")
    assert sorted(client.patch(url, {"status": "closed"}, format="json").json()["tags"]) == ["checkout", "ui"]
    assert client.patch(url, {"tags": []}, format="json").json()["tags"] == []


def test_a_refused_edit_leaves_no_new_tag_behind(world, client_as):
    client = client_as("member")
    client.patch(f"/api/issues/{world.mine.issue.pk}", {"status": "closed"}, format="json")
    stale = client.patch(f"/api/issues/{world.mine.issue.pk}", {"tags": ["brand-new"], "version": 1}, format="json")
    assert stale.status_code == 409
    assert not Tag.objects.filter(name="brand-new").exists()


@pytest.mark.parametrize(
    "body, errors",
    [
        ({"status": "done"}, {"status": ['"done" is not a valid choice.']}),
        ({"name": ""}, {"name": ["This field may not be blank."]}),
        ({"tags": ["x" * 51]}, {"tags": {"0": ["Ensure this field has no more than 50 characters."]}}),
        ({"project": "BANK"}, {"project": ["Can only be set on create."]}),
        ({"version": 0}, {"version": ["Ensure this value is greater than or equal to 1."]}),
    ],
)
def test_bad_issue_edits_are_refused(world, client_as, body, errors):
    before = database_state()
    response = client_as("member").patch(f"/api/issues/{world.mine.issue.pk}", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == errors
    assert database_state() == before


@pytest.mark.parametrize("kind", ["case", "run", "result", "requirement"])
def test_an_issue_is_linked_to_each_kind_of_artefact_once(world, client_as, kind):
    artefact = {
        "case": world.mine.case,
        "run": world.mine.run,
        "result": world.mine.result,
        "requirement": world.mine.requirement,
    }[kind]
    client = client_as("member")
    url = f"/api/issues/{quote(world.mine.issue.key)}/link"

    first = client.post(url, {"type": kind, "id": artefact.pk}, format="json")
    again = client.post(url, {"type": kind, "id": artefact.pk}, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    shown = first.json()
    assert (shown["type"], shown["artefact_id"], shown["created_by"]) == (kind, artefact.pk, "member")
    assert Link.objects.filter(issue=world.mine.issue).count() == 1
    links = client.get(f"/api/issues/{world.mine.issue.pk}").json()["links"]
    assert [(lnk["type"], lnk["artefact_id"]) for lnk in links] == [(kind, artefact.pk)]


def test_a_links_title_names_the_artefact(world, client_as):
    link(artefact=world.mine.result, issue=world.mine.issue)
    (shown,) = client_as("viewer").get(f"/api/defects/{quote(world.mine.issue.key)}").json()["links"]
    assert shown["title"] == f"{world.mine.case.title} in {world.mine.run.name}"


@pytest.mark.parametrize(
    "body, errors",
    [
        ({"type": "build", "id": 1}, {"type": ['"build" is not a valid choice.']}),
        ({"type": "case"}, {"id": ["This field is required."]}),
        ({"type": "case", "id": 424242}, {"id": ["SHOP has no test case with id 424242."]}),
    ],
)
def test_linking_something_unknown_is_refused(world, client_as, body, errors):
    before = database_state()
    response = client_as("member").post(f"/api/issues/{world.mine.issue.pk}/link", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == errors
    assert database_state() == before


def test_unlinking_removes_the_link_and_a_second_unlink_says_so(world, client_as):
    link(artefact=world.mine.case, issue=world.mine.issue)
    client = client_as("member")
    url = f"/api/issues/{quote(world.mine.issue.key)}/unlink"

    assert client.post(url, {"type": "case", "id": world.mine.case.pk}, format="json").status_code == 204
    assert not Link.objects.exists()
    again = client.post(url, {"type": "case", "id": world.mine.case.pk}, format="json")
    assert again.status_code == 404
    assert again.json()["message"] == f"SHOP#1 is not linked to test case {world.mine.case.pk}."


def test_issues_are_filtered_by_status_assignee_tag_and_text(world, client_as):
    admin = world.users["admin"]
    make_issue(world.project, name="Refund rounding", status="resolved", assignee=admin)
    tagged = make_issue(world.project, name="Coupon ignored")
    tagged.tags.add(Tag.objects.create(project=world.project, name="promo"))
    client = client_as("viewer")

    def keys(query):
        return [issue["key"] for issue in client.get(f"/api/issues?{query}").json()["results"]]

    assert keys("status=resolved") == ["SHOP#2"]
    assert keys("status=open&status=resolved") == ["SHOP#3", "SHOP#2", "SHOP#1"]
    assert keys("assignee=admin") == ["SHOP#2"]
    assert keys("assignee=none") == ["SHOP#3", "SHOP#1"]
    assert keys("tag=promo") == ["SHOP#3"]
    assert keys("search=coupon") == ["SHOP#3"]
    assert keys("ordering=number") == ["SHOP#1", "SHOP#2", "SHOP#3"]


def test_a_project_admin_deletes_an_issue_with_its_links_and_files(
    world,
    client_as,
    django_capture_on_commit_callbacks,
):
    issue = world.mine.issue
    link(artefact=world.mine.case, issue=issue)
    stored = add_attachment(issue, SimpleUploadedFile("log.txt", b"boom")).file
    assert stored.storage.exists(stored.name)

    with django_capture_on_commit_callbacks(execute=True):
        assert client_as("admin").delete(f"/api/issues/{quote(issue.key)}").status_code == 204

    assert not Issue.objects.filter(pk=issue.pk).exists() and not Link.objects.exists()
    assert not stored.storage.exists(stored.name)


def test_members_cannot_delete_issues(world, client_as):
    response = client_as("member").delete(f"/api/issues/{world.mine.issue.pk}")
    assert response.status_code == 403
    assert Issue.objects.filter(pk=world.mine.issue.pk).exists()


def test_a_viewer_promoted_to_member_may_file_issues(world):
    viewer = UserFactory()
    membership = MembershipFactory(project=world.project, user=viewer, role=Role.VIEWER)
    assert bearer_client(viewer).post("/api/issues", {"project": "SHOP", "name": "x"}, format="json").status_code == 403
    membership.role = Role.MEMBER
    membership.save()
    assert bearer_client(viewer).post("/api/issues", {"project": "SHOP", "name": "x"}, format="json").status_code == 201
