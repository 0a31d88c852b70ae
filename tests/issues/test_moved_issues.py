"""Issues that move in their tracker keep their identity here: a GitHub transfer, a Jira or GitLab move
to another project, a Linear team move. The reference takes the new key and URL and keeps the old key as
an alias, so links, the issue list's search, lookups by key and later deliveries naming either key find
the same reference; whether the move arrives by webhook or the refresh finds it (the tracker answers the
old key with the new one; GitLab's GraphQL says where a moved issue went; a Linear delivery names the new
identifier with the issue's unchanging id). Trackers are the fakes over real HTTP; their deliveries are
built and signed as documented.
"""

import pytest
from django.test import Client

from issues.filing.services import link_existing
from issues.links import selectors
from issues.links.key_moves import follow_move
from issues.links.models import ExternalReference, Link, ReferenceAlias
from issues.links.services import link
from issues.sync import refresh
from tests.factories import (
    ExternalReferenceFactory,
    ProjectIntegrationFactory,
    TestCaseFactory,
    TestResultFactory,
    UserFactory,
)
from tests.fakes.fixtures import GITHUB_LOGIN, GITLAB_USERNAME
from tests.fakes.gitlab import MAINTAINER
from tests.issues.sync_support import (
    SECRET,
    github_source,
    gitlab_source,
    jira_cloud_source,
    linear_source,
    post,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)  # trackers send no CSRF token


@pytest.fixture
def github(fake_github):
    for repo in ("acme/shop", "acme/web"):
        fake_github.add_repo(repo)
        fake_github.grant(repo, GITHUB_LOGIN, "admin")
    fake_github.add_issue("acme/shop", "Checkout fails", author=GITHUB_LOGIN)
    source = github_source(fake_github)
    reference = ExternalReferenceFactory(
        source=source, key="acme/shop#1", url=f"{fake_github.web_url}/acme/shop/issues/1", status="Open"
    )
    return fake_github, source, reference


@pytest.fixture
def jira(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_project("OPS")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails")
    source = jira_cloud_source(fake_jira_cloud)
    reference = ExternalReferenceFactory(source=source, key="SHOP-1", status="To Do", status_category="todo")
    return fake_jira_cloud, source, reference


@pytest.fixture
def gitlab(fake_gitlab):
    """acme/shop and acme/web, both private, the account a maintainer of both; acme/shop#1 referenced."""
    for path in ("acme/shop", "acme/web"):
        fake_gitlab.add_project(path)
        fake_gitlab.add_member(path, GITLAB_USERNAME, MAINTAINER)
    fake_gitlab.add_issue("acme/shop", "Checkout fails", author=GITLAB_USERNAME)
    source = gitlab_source(fake_gitlab)
    reference = ExternalReferenceFactory(
        source=source, key="acme/shop#1", url=f"{fake_gitlab.web_url}/acme/shop/-/issues/1", status="Open"
    )
    return fake_gitlab, source, reference


@pytest.fixture
def linear(fake_linear):
    """Teams ENG and OPS; ENG-1 referenced and read once, so its reference knows Linear's id of it."""
    fake_linear.add_team("ENG")
    fake_linear.add_team("OPS")
    fake_linear.add_issue("ENG", "Checkout fails")
    source = linear_source(fake_linear)
    reference = ExternalReferenceFactory(source=source, key="ENG-1", url="")
    refresh.refresh_source(source.pk, [reference.pk])
    reference.refresh_from_db()
    return fake_linear, source, reference


def aliases(reference):
    return list(ReferenceAlias.objects.filter(reference=reference).values_list("key", flat=True))


# -- by webhook ----------------------------------------------------------------------------------


def test_a_github_transfer_gives_the_reference_the_new_key_and_url_and_keeps_its_links(client, github):
    fake, source, reference = github
    result = TestResultFactory()
    link(artefact=result, reference=reference)
    fake.transfer_issue("acme/shop", 1, "acme/web")

    response = post(client, source, fake.transfer_delivery("acme/shop", 1, secret=SECRET))

    assert response.json() == {"message": "1 of 1 event(s) applied."}
    (moved,) = ExternalReference.objects.all()
    assert (moved.pk, moved.key, moved.url) == (reference.pk, "acme/web#1", f"{fake.web_url}/acme/web/issues/1")
    assert (moved.title, moved.status) == ("Checkout fails", "Open")
    assert aliases(moved) == ["acme/shop#1"]
    assert Link.objects.get().external_reference == moved and Link.objects.get().test_result == result


def test_after_a_transfer_deliveries_and_lookups_for_either_key_find_the_reference(client, github):
    fake, source, reference = github
    fake.transfer_issue("acme/shop", 1, "acme/web")
    post(client, source, fake.transfer_delivery("acme/shop", 1, secret=SECRET))
    fake.edit_issue("acme/web", 1, state="closed", state_reason="completed")

    response = post(client, source, fake.issue_delivery("acme/web", 1, action="closed", secret=SECRET))

    assert response.json() == {"message": "1 of 1 event(s) applied."}
    reference.refresh_from_db()
    assert (reference.key, reference.status, reference.status_category) == ("acme/web#1", "Closed", "done")
    assert selectors.reference_of(source, "acme/shop#1") == reference
    assert selectors.reference_of(source, "ACME/SHOP#1") == reference
    assert selectors.reference_of(source, "acme/web#1") == reference
    assert selectors.reference_of(source, "acme/shop#2") is None


def test_the_issue_list_finds_a_moved_issue_by_its_old_key(client, github):
    fake, source, reference = github
    result = TestResultFactory()
    link(artefact=result, reference=reference)
    fake.transfer_issue("acme/shop", 1, "acme/web")
    post(client, source, fake.transfer_delivery("acme/shop", 1, secret=SECRET))

    for text in ("acme/shop#1", "acme/web#1"):
        rows = selectors.issues_and_references(result.run.project, text=text)
        assert [row["ident"] for row in rows] == [reference.pk]


def test_a_transfer_to_a_key_already_referenced_merges_the_two_references(client, github):
    fake, source, reference = github
    fake.transfer_issue("acme/shop", 1, "acme/web")
    result, case = TestResultFactory(), TestCaseFactory()
    link(artefact=result, reference=reference)
    newer = ExternalReferenceFactory(source=source, key="acme/web#1", url="")  # linked under its new key meanwhile
    link(artefact=case, reference=newer)

    post(client, source, fake.transfer_delivery("acme/shop", 1, secret=SECRET))

    (kept,) = ExternalReference.objects.all()
    assert (kept.pk, kept.key, kept.title) == (newer.pk, "acme/web#1", "Checkout fails")
    assert aliases(kept) == ["acme/shop#1"]
    assert {(row.test_result_id, row.test_case_id) for row in Link.objects.filter(external_reference=kept)} == {
        (result.pk, None),
        (None, case.pk),
    }


def test_a_transfer_payload_without_the_new_issue_has_the_old_key_read_again(
    client, github, django_capture_on_commit_callbacks
):
    """A delivery that does not say where the issue went changes nothing by itself; reading the old key
    again follows GitHub's redirect to the new issue."""
    fake, source, reference = github
    fake.transfer_issue("acme/shop", 1, "acme/web")
    bare = fake.issue_delivery("acme/shop", 1, action="transferred", secret=SECRET)  # no `changes`

    with django_capture_on_commit_callbacks(execute=True):
        post(client, source, bare)

    reference.refresh_from_db()
    assert (reference.key, reference.url) == ("acme/web#1", f"{fake.web_url}/acme/web/issues/1")
    assert aliases(reference) == ["acme/shop#1"]


def test_a_jira_move_to_another_project_gives_the_reference_the_new_key(client, jira):
    fake, source, reference = jira
    result = TestResultFactory()
    link(artefact=result, reference=reference)
    fake.move_issue("SHOP-1", "OPS")

    response = post(client, source, fake.move_delivery("OPS-1", secret=SECRET))

    assert response.json() == {"message": "1 of 1 event(s) applied."}
    reference.refresh_from_db()
    assert (reference.key, reference.url) == ("OPS-1", f"{fake.base_url}/browse/OPS-1")
    assert aliases(reference) == ["SHOP-1"]
    assert Link.objects.get().external_reference == reference
    assert selectors.reference_of(source, "SHOP-1") == reference


def test_an_ordinary_jira_update_renames_nothing(client, jira):
    fake, source, reference = jira
    fake.edit_issue("SHOP-1", status="In Progress")

    post(client, source, fake.issue_delivery("SHOP-1", secret=SECRET))

    reference.refresh_from_db()
    assert (reference.key, reference.status, aliases(reference)) == ("SHOP-1", "In Progress", [])


def test_linking_an_issue_by_the_key_it_had_before_a_transfer_reuses_its_reference(github):
    fake, source, reference = github
    integration = ProjectIntegrationFactory(source=source, external_project="acme/shop")
    result = TestResultFactory(run__project=integration.project)
    fake.transfer_issue("acme/shop", 1, "acme/web")  # not heard of yet: no delivery, no refresh

    linked = link_existing(
        integration=integration, actor=UserFactory(), typed_key="#1", artefact=result, site_url="https://tm.example"
    )

    assert linked.reference.pk == reference.pk
    (kept,) = ExternalReference.objects.all()
    assert (kept.key, kept.url) == ("acme/web#1", f"{fake.web_url}/acme/web/issues/1")
    assert aliases(kept) == ["acme/shop#1"]
    assert Link.objects.get().test_result == result


def test_a_gitlab_move_has_the_old_key_read_again_and_the_reference_takes_the_new_issue(
    client, gitlab, django_capture_on_commit_callbacks
):
    """GitLab's hook for a move is the original's close with ``moved_to_id``: not a closing of the issue,
    which lives on in the other project; reading the old key finds where it went."""
    fake, source, reference = gitlab
    result = TestResultFactory()
    link(artefact=result, reference=reference)
    fake.move_issue("acme/shop", 1, "acme/web", by=GITLAB_USERNAME)
    delivery = fake.issue_delivery("acme/shop", 1, action="close", secret=SECRET)
    assert delivery.json()["object_attributes"]["moved_to_id"] == fake.issue("acme/web", 1).id

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, source, delivery)

    assert response.json() == {"message": "0 of 1 event(s) applied."}  # read again, not applied as closed
    (moved,) = ExternalReference.objects.all()
    assert (moved.pk, moved.key, moved.url) == (reference.pk, "acme/web#1", f"{fake.web_url}/acme/web/-/issues/1")
    assert (moved.title, moved.status, moved.status_category, moved.deleted_remotely) == (
        "Checkout fails",
        "Open",
        "todo",
        False,
    )
    assert aliases(moved) == ["acme/shop#1"]
    assert Link.objects.get().external_reference == moved
    assert selectors.reference_of(source, "acme/shop#1") == moved


def test_deliveries_for_a_gitlab_issue_after_its_move_apply_under_either_key(
    client, gitlab, django_capture_on_commit_callbacks
):
    fake, source, reference = gitlab
    fake.move_issue("acme/shop", 1, "acme/web", by=GITLAB_USERNAME)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, source, fake.issue_delivery("acme/shop", 1, action="close", secret=SECRET))
    fake.edit_issue("acme/web", 1, title="Checkout fails on Safari")

    response = post(client, source, fake.issue_delivery("acme/web", 1, action="update", secret=SECRET))

    assert response.json() == {"message": "1 of 1 event(s) applied."}
    reference.refresh_from_db()
    assert (reference.key, reference.title) == ("acme/web#1", "Checkout fails on Safari")


def test_a_linear_team_move_delivery_finds_the_reference_by_the_issue_id(client, linear):
    """Linear's update for a team move names the new identifier; the issue's id is the one it always had."""
    fake, source, reference = linear
    result = TestResultFactory()
    link(artefact=result, reference=reference)
    moved_issue = fake.move_issue("ENG-1", "OPS")
    delivery = fake.issue_delivery("OPS-1", secret=SECRET)
    assert delivery.json()["data"]["id"] == reference.remote_id
    assert "identifier" not in delivery.json()["updatedFrom"]

    response = post(client, source, delivery)

    assert response.json() == {"message": "1 of 1 event(s) applied."}
    (moved,) = ExternalReference.objects.all()
    assert (moved.pk, moved.key, moved.url, moved.title) == (
        reference.pk,
        "OPS-1",
        moved_issue.url,
        "Checkout fails",
    )
    assert aliases(moved) == ["ENG-1"]
    assert Link.objects.get().external_reference == moved and Link.objects.get().test_result == result
    assert selectors.reference_of(source, "ENG-1") == moved


def test_after_a_linear_team_move_deliveries_for_the_new_identifier_apply(client, linear):
    fake, source, reference = linear
    fake.move_issue("ENG-1", "OPS")
    post(client, source, fake.issue_delivery("OPS-1", secret=SECRET))
    fake.edit_issue("OPS-1", state="Done")

    response = post(client, source, fake.issue_delivery("OPS-1", secret=SECRET))

    assert response.json() == {"message": "1 of 1 event(s) applied."}
    reference.refresh_from_db()
    assert (reference.key, reference.status, reference.status_category) == ("OPS-1", "Done", "done")


def test_a_linear_delivery_for_an_issue_no_reference_knows_changes_nothing(client, linear):
    fake, source, reference = linear
    fake.add_issue("OPS", "Another issue")

    response = post(client, source, fake.issue_delivery("OPS-1", secret=SECRET))

    assert response.json() == {"message": "0 of 1 event(s) applied."}
    reference.refresh_from_db()
    assert (reference.key, aliases(reference)) == ("ENG-1", [])
    assert ExternalReference.objects.count() == 1


# -- by refresh ----------------------------------------------------------------------------------


def test_a_refresh_follows_a_github_transfer_redirect(github):
    fake, source, reference = github
    source.can_process_webhooks = False
    source.save()
    fake.transfer_issue("acme/shop", 1, "acme/web")

    report = refresh.refresh_source(source.pk, [reference.pk])

    assert (report.read, report.missing, report.hidden) == (1, 0, 0)
    reference.refresh_from_db()
    assert (reference.key, reference.url, reference.deleted_remotely) == (
        "acme/web#1",
        f"{fake.web_url}/acme/web/issues/1",
        False,
    )
    assert aliases(reference) == ["acme/shop#1"]


def test_a_refresh_follows_a_jira_move(jira):
    fake, source, reference = jira
    fake.move_issue("SHOP-1", "OPS")

    refresh.refresh_source(source.pk, [reference.pk])

    reference.refresh_from_db()
    assert (reference.key, reference.url, reference.title) == (
        "OPS-1",
        f"{fake.base_url}/browse/OPS-1",
        "Checkout fails",
    )
    assert aliases(reference) == ["SHOP-1"]


def test_a_refresh_follows_a_linear_team_move_instead_of_calling_the_issue_deleted(fake_linear):
    fake_linear.add_team("ENG")
    fake_linear.add_team("OPS")
    fake_linear.add_issue("ENG", "Checkout fails")
    source = linear_source(fake_linear, can_process_webhooks=False)
    reference = ExternalReferenceFactory(source=source, key="ENG-1", url="")
    moved = fake_linear.move_issue("ENG-1", "OPS")

    report = refresh.refresh_source(source.pk, [reference.pk])

    assert (report.read, report.missing) == (1, 0)
    reference.refresh_from_db()
    assert (reference.key, reference.url, reference.deleted_remotely) == ("OPS-1", moved.url, False)
    assert aliases(reference) == ["ENG-1"]


def test_a_refresh_follows_a_gitlab_move_through_graphql(gitlab):
    fake, source, reference = gitlab
    source.can_process_webhooks = False
    source.save()
    fake.move_issue("acme/shop", 1, "acme/web", by=GITLAB_USERNAME)

    report = refresh.refresh_source(source.pk, [reference.pk])

    assert (report.read, report.missing, report.hidden) == (1, 0, 0)
    reference.refresh_from_db()
    assert (reference.key, reference.url, reference.status) == (
        "acme/web#1",
        f"{fake.web_url}/acme/web/-/issues/1",
        "Open",
    )
    assert aliases(reference) == ["acme/shop#1"]
    (asked,) = [request for request in fake.server.requests if request.path.endswith("/api/graphql")]
    # GitLab's GraphQL API takes the personal access token as Bearer (its "Header authentication").
    assert asked.headers["Authorization"].startswith("Bearer ") and "PRIVATE-TOKEN" not in asked.headers


def test_a_gitlab_issue_moved_on_twice_is_followed_to_where_it_is_now(gitlab):
    fake, source, reference = gitlab
    fake.add_project("acme/ops")
    fake.add_member("acme/ops", GITLAB_USERNAME, MAINTAINER)
    fake.move_issue("acme/shop", 1, "acme/web", by=GITLAB_USERNAME)
    fake.move_issue("acme/web", 1, "acme/ops", by=GITLAB_USERNAME)

    refresh.refresh_source(source.pk, [reference.pk])

    reference.refresh_from_db()
    assert (reference.key, reference.status) == ("acme/ops#1", "Open")
    assert aliases(reference) == ["acme/shop#1"]


def test_a_gitlab_move_into_a_project_the_account_cannot_see_keeps_the_issue_as_it_was(gitlab):
    """The old issue is closed only because it moved: not Closed here, not deleted; the cached values stay
    and the reference says the account cannot see the issue."""
    fake, source, reference = gitlab
    fake.add_project("acme/secret")  # private, the account no member
    fake.add_user("alice")
    fake.add_member("acme/secret", "alice", MAINTAINER)
    fake.move_issue("acme/shop", 1, "acme/secret", by="alice")

    report = refresh.refresh_source(source.pk, [reference.pk])

    assert (report.read, report.missing, report.hidden) == (0, 0, 1)
    reference.refresh_from_db()
    assert (reference.key, reference.status, reference.deleted_remotely) == ("acme/shop#1", "Open", False)
    assert reference.last_error == refresh.HIDDEN
    assert aliases(reference) == []


def test_a_gitlab_move_with_graphql_out_of_reach_keeps_the_issue_as_it_was(gitlab):
    fake, source, reference = gitlab
    fake.move_issue("acme/shop", 1, "acme/web", by=GITLAB_USERNAME)
    fake.graphql_enabled = False  # a proxy passing only /api/v4 on

    report = refresh.refresh_source(source.pk, [reference.pk])

    assert (report.read, report.missing, report.hidden, report.failed) == (0, 0, 1, 0)
    reference.refresh_from_db()
    assert (reference.key, reference.status, reference.deleted_remotely) == ("acme/shop#1", "Open", False)


def test_a_refresh_stores_linears_id_of_the_issue(fake_linear):
    fake_linear.add_team("ENG")
    issue = fake_linear.add_issue("ENG", "Checkout fails")
    source = linear_source(fake_linear, can_process_webhooks=False)
    reference = ExternalReferenceFactory(source=source, key="ENG-1", url="")

    refresh.refresh_source(source.pk, [reference.pk])

    reference.refresh_from_db()
    assert reference.remote_id == issue.id


def test_a_linear_issue_gone_from_a_visible_team_is_still_deleted(fake_linear):
    fake_linear.add_team("ENG")
    fake_linear.add_issue("ENG", "Checkout fails")
    source = linear_source(fake_linear, can_process_webhooks=False)
    reference = ExternalReferenceFactory(source=source, key="ENG-7", url="")

    report = refresh.refresh_source(source.pk, [reference.pk])

    reference.refresh_from_db()
    assert (report.missing, reference.key, reference.deleted_remotely) == (1, "ENG-7", True)


# -- the rule itself -----------------------------------------------------------------------------


def test_following_a_move_back_drops_the_alias_the_issue_takes_again(jira):
    _, source, reference = jira

    moved = follow_move(reference, "OPS-1")
    back = follow_move(moved, "SHOP-1")

    assert back.pk == reference.pk and back.key == "SHOP-1"
    assert aliases(back) == ["OPS-1"]


def test_the_same_key_in_another_case_is_no_move(jira):
    _, source, reference = jira

    assert follow_move(reference, "shop-1").key == "SHOP-1"
    assert follow_move(reference, "  ").key == "SHOP-1"
    assert not ReferenceAlias.objects.exists()
