"""GitLab pulls: the issues a filter of GitLab's own list-issues parameters selects, with the fields
releases, sprints and severities map from; milestones and iterations as releases and sprints; and
the covering-tests note edited in place. Against the fake self-managed GitLab over real HTTP."""

from datetime import date

import pytest

from integrations.errors import NotFound, RemoteValidationError
from integrations.models import AuthType, Provider
from integrations.providers import provider_for
from integrations.providers.base import PULL_LIMIT, FieldValue, NotConfigured, PullQuery
from integrations.providers.gitlab import gitlab_field_value, pull_parameters
from tests.factories import SourceFactory
from tests.fakes.fixtures import GITLAB_PAT, GITLAB_USERNAME
from tests.fakes.gitlab import DEVELOPER

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]

WEB = "acme/web"
ISSUES = r"/projects/acme%2Fweb/issues"


@pytest.fixture
def gitlab(fake_gitlab):
    """The fake GitLab (Premium) with the project acme/web, where the bot and alice are Developers."""
    fake_gitlab.tier = "premium"
    fake_gitlab.add_project(WEB)
    fake_gitlab.add_member(WEB, GITLAB_USERNAME, DEVELOPER)
    fake_gitlab.add_user("alice", "Alice Liddell")
    fake_gitlab.add_member(WEB, "alice", DEVELOPER)
    source = SourceFactory(
        provider=Provider.GITLAB,
        base_url=fake_gitlab.web_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": GITLAB_PAT},
        issue_url_template="",
    )
    fake_gitlab.provider = provider_for(source)
    return fake_gitlab


def listings(fake):
    return fake.requests_to("GET", ISSUES)


# -- pull ----------------------------------------------------------------------------------------


def test_a_pull_takes_the_issues_the_filter_selects_with_the_fields_asked_for(gitlab):
    release = gitlab.add_milestone(WEB, "Release 2.0", due_date=date(2025, 6, 30))
    sprint = gitlab.add_iteration(WEB, None, date(2025, 5, 1), date(2025, 5, 14))
    card = gitlab.add_issue(
        WEB,
        "Pay by card",
        author="alice",
        description="Cards **and** wallets",
        labels=("requirement", "backend", "priority::High"),
        assignees=("alice",),
    )
    gitlab.edit_issue(WEB, card.iid, milestone=release, iteration=sprint, weight=5, due_date="2025-05-20")
    other = gitlab.add_issue(WEB, "Pay by invoice", author="alice", labels=("requirement", "backend"))
    gitlab.add_issue(WEB, "Not in the release", author="alice", labels=("requirement", "backend"))
    gitlab.add_issue(WEB, "Only one label", author="alice", labels=("requirement",))
    gitlab.edit_issue(WEB, other.iid, milestone=release, state="closed")

    result = gitlab.provider.pull(
        PullQuery(
            project=WEB,
            filter='labels=requirement,backend milestone="Release 2.0"',
            fields=("milestone", "iteration", "due_date", "labels", "weight", "priority::", "assignees", "closed_at"),
        )
    )

    [listing] = listings(gitlab)
    assert {name: listing.param(name) for name in ("labels", "milestone", "scope", "order_by", "sort", "per_page")} == {
        "labels": "requirement,backend",
        "milestone": "Release 2.0",
        "scope": "all",
        "order_by": "created_at",
        "sort": "asc",
        "per_page": "100",
    }
    assert [item.key for item in result.items] == ["acme/web#1", "acme/web#2"]
    item, closed = result.items
    assert (item.title, item.description, item.status, item.status_category, item.item_type, item.url) == (
        "Pay by card",
        "Cards **and** wallets",
        "Open",
        "todo",
        "Issue",
        f"{gitlab.web_url}/acme/web/-/issues/1",
    )
    assert item.fields == {
        "milestone": FieldValue("Release 2.0", date(2025, 6, 30)),
        "iteration": FieldValue("2025-05-01 – 2025-05-14", date(2025, 5, 14)),
        "due_date": FieldValue("2025-05-20", date(2025, 5, 20)),
        "labels": FieldValue("requirement, backend, priority::High"),
        "weight": FieldValue("5"),
        "priority::": FieldValue("High"),
        "assignees": FieldValue("Alice Liddell"),
        "closed_at": FieldValue(),
    }
    assert (closed.status, closed.status_category) == ("Closed", "done")
    assert closed.fields["iteration"] == closed.fields["weight"] == FieldValue()
    assert result.deleted == frozenset()


def test_work_item_types_are_gitlab_issue_types_one_listing_each(gitlab):
    gitlab.add_issue(WEB, "Checkout is down", author="alice", labels=("customer",))
    gitlab.add_issue(WEB, "Refund by card", author="alice", labels=("customer",))
    gitlab.add_issue(WEB, "Page loads", author="alice", labels=("customer",))
    gitlab.edit_issue(WEB, 1, issue_type="incident", severity="CRITICAL")
    gitlab.edit_issue(WEB, 3, issue_type="test_case")

    result = gitlab.provider.pull(
        PullQuery(project=WEB, filter="labels=customer", item_types=("Incident", "test_case"), fields=("severity",))
    )

    assert [listing.param("issue_type") for listing in listings(gitlab)] == ["incident", "test_case"]
    assert [(item.key, item.item_type, item.fields["severity"].text) for item in result.items] == [
        ("acme/web#1", "Incident", "Critical"),
        ("acme/web#3", "Test case", "Unknown"),
    ]


def test_a_pull_reads_every_page(gitlab):
    for number in range(1, 231):
        gitlab.add_issue(WEB, f"Requirement {number}", author="alice", labels=("requirement",))

    result = gitlab.provider.pull(PullQuery(project=WEB, filter="labels=requirement"))

    assert [item.key for item in result.items] == [f"acme/web#{number}" for number in range(1, 231)]
    assert [listing.param("page") for listing in listings(gitlab)] == [None, "2", "3"]


def test_a_pull_follows_x_next_page_when_a_proxy_dropped_the_link_header(gitlab):
    for number in range(1, 151):
        gitlab.add_issue(WEB, f"Requirement {number}", author="alice")
    gitlab.link_headers = False

    result = gitlab.provider.pull(PullQuery(project=WEB))

    assert len(result.items) == 150
    assert [listing.param("page") for listing in listings(gitlab)] == [None, "2"]


def test_a_pull_stops_at_the_pull_limit(gitlab, monkeypatch):
    monkeypatch.setattr("integrations.providers.gitlab.PULL_LIMIT", 150)
    for number in range(1, 251):
        gitlab.add_issue(WEB, f"Requirement {number}", author="alice")

    result = gitlab.provider.pull(PullQuery(project=WEB))

    assert len(result.items) == 150 < PULL_LIMIT
    assert len(listings(gitlab)) == 2


def test_of_the_known_keys_only_the_deleted_issues_count_as_deleted(gitlab):
    kept = gitlab.add_issue(WEB, "Still labelled", author="alice", labels=("requirement",))
    unlabelled = gitlab.add_issue(WEB, "No longer labelled", author="alice")
    gone = gitlab.add_issue(WEB, "Deleted", author="alice", labels=("requirement",))
    gitlab.delete_issue(WEB, gone.iid)
    gitlab.add_project("acme/secret")
    hidden = gitlab.add_issue("acme/secret", "Not visible to the account", author="alice", labels=("requirement",))

    result = gitlab.provider.pull(
        PullQuery(project=WEB, filter="labels=requirement"),
        known=[
            f"acme/web#{kept.iid}",
            f"acme/web#{unlabelled.iid}",
            f"acme/web#{gone.iid}",
            f"acme/secret#{hidden.iid}",
        ],
    )

    assert [item.key for item in result.items] == [f"acme/web#{kept.iid}"]
    assert result.deleted == {f"acme/web#{gone.iid}"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("label:requirement", "“label:requirement” is not a GitLab filter parameter: write name=value"),
        ("labels = requirement", "“labels” is not a GitLab filter parameter"),
        ('milestone="Release 2.0', "unclosed quote"),
        ("assignee=alice", "The GitLab filter has no parameter “assignee”"),
        ("issue_type=incident", "cannot set issue_type: choose the types in the work item types instead"),
        ("order_by=updated_at", "cannot set order_by: testmanager orders the pull itself"),
        ("labels=a labels=b", "sets labels twice"),
        ("labels= milestone=2.0", "gives labels no value"),
        ("state=open", "The GitLab filter's state is “open”: use opened or closed or all"),
    ],
)
def test_a_filter_that_is_not_gitlab_parameters_is_refused_before_anything_is_sent(gitlab, text, problem):
    with pytest.raises(RemoteValidationError, match=problem):
        gitlab.provider.pull(PullQuery(project=WEB, filter=text))
    assert listings(gitlab) == []


def test_the_filter_reads_quoted_values_and_negations():
    assert pull_parameters('labels=req not[labels]="won\'t do" milestone="Release 2.0" state=opened') == {
        "labels": "req",
        "not[labels]": "won't do",
        "milestone": "Release 2.0",
        "state": "opened",
    }
    assert pull_parameters("  ") == {}


def test_an_unknown_type_or_project_is_refused_with_what_gitlab_offers(gitlab):
    with pytest.raises(RemoteValidationError, match="Issue, Incident, Test case, Task, not “Story”"):
        gitlab.provider.pull(PullQuery(project=WEB, item_types=("Story",)))
    with pytest.raises(NotConfigured, match="not a GitLab project path"):
        gitlab.provider.pull(PullQuery(project="web"))
    assert listings(gitlab) == []


def test_a_project_the_account_cannot_see_fails_the_pull(gitlab):
    gitlab.add_project("acme/secret")
    with pytest.raises(NotFound):
        gitlab.provider.pull(PullQuery(project="acme/secret"))


def test_field_values_read_scoped_labels_people_and_date_times():
    raw = {
        "labels": ["Severity::S2", "bug"],
        "author": {"name": "Alice", "username": "alice"},
        "created_at": "2025-02-03T10:00:00.000Z",
        "iteration": {"title": "Sprint 8", "due_date": "2025-04-15"},
        "confidential": True,
        "milestone": None,
    }
    assert gitlab_field_value(raw, "severity::") == FieldValue("S2")
    assert gitlab_field_value(raw, "priority::") == FieldValue()
    assert gitlab_field_value(raw, "author") == FieldValue("Alice")
    assert gitlab_field_value(raw, "created_at") == FieldValue("2025-02-03T10:00:00.000Z", date(2025, 2, 3))
    assert gitlab_field_value(raw, "iteration") == FieldValue("Sprint 8", date(2025, 4, 15))
    assert gitlab_field_value(raw, "confidential") == gitlab_field_value(raw, "milestone") == FieldValue()
    assert gitlab_field_value(raw, "no_such_field") == FieldValue()


# -- plans ---------------------------------------------------------------------------------------


def test_plans_are_the_milestones_as_releases_and_the_iterations_as_sprints(gitlab):
    gitlab.add_milestone(WEB, "Release 1.0", start_date=date(2025, 1, 6), due_date=date(2025, 3, 31), state="closed")
    gitlab.add_milestone(WEB, "Release 2.0", due_date=date(2025, 6, 30))
    gitlab.add_milestone(WEB, "Someday")
    gitlab.add_iteration(WEB, "Sprint 1", date(2025, 5, 1), date(2025, 5, 14), state="closed")
    gitlab.add_iteration(WEB, None, date(2025, 5, 15), date(2025, 5, 28), state="current")

    plans = gitlab.provider.plans(WEB, board="ignored")

    assert [(plan.kind, plan.name, plan.start, plan.end, plan.done) for plan in plans] == [
        ("release", "Release 1.0", date(2025, 1, 6), date(2025, 3, 31), True),
        ("release", "Release 2.0", None, date(2025, 6, 30), False),
        ("release", "Someday", None, None, False),
        ("sprint", "Sprint 1", date(2025, 5, 1), date(2025, 5, 14), True),
        ("sprint", "2025-05-15 – 2025-05-28", date(2025, 5, 15), date(2025, 5, 28), False),
    ]
    assert len({plan.id for plan in plans}) == 5
    [iterations] = gitlab.requests_to("GET", r"/projects/acme%2Fweb/iterations")
    assert (iterations.param("state"), iterations.param("include_ancestors")) == ("all", "true")


def test_an_iteration_named_in_a_pull_matches_its_sprint(gitlab):
    sprint = gitlab.add_iteration(WEB, None, date(2025, 5, 15), date(2025, 5, 28))
    gitlab.add_issue(WEB, "Pay by card", author="alice")
    gitlab.edit_issue(WEB, 1, iteration=sprint)

    [item] = gitlab.provider.pull(PullQuery(project=WEB, fields=("iteration",))).items
    [plan] = gitlab.provider.plans(WEB)

    assert item.fields["iteration"].text == plan.name


@pytest.mark.parametrize("tier", ["free", "community"])
def test_without_iterations_the_plans_are_the_milestones_alone(gitlab, tier):
    gitlab.tier = tier
    gitlab.add_milestone(WEB, "Release 2.0", due_date=date(2025, 6, 30))
    gitlab.add_iteration(WEB, "Sprint 1", date(2025, 5, 1), date(2025, 5, 14))

    plans = gitlab.provider.plans(WEB)

    assert [(plan.kind, plan.name) for plan in plans] == [("release", "Release 2.0")]


def test_plans_of_a_project_the_account_cannot_see_fail(gitlab):
    gitlab.add_project("acme/secret")
    with pytest.raises(NotFound):
        gitlab.provider.plans("acme/secret")
    with pytest.raises(NotConfigured):
        gitlab.provider.plans("")


# -- comments edited in place --------------------------------------------------------------------


def test_a_comment_is_edited_in_place(gitlab):
    issue = gitlab.add_issue(WEB, "Pay by card", author="alice")
    comment_id = gitlab.provider.add_comment(f"acme/web#{issue.iid}", "Covered by 1 test")

    gitlab.provider.update_comment(f"acme/web#{issue.iid}", comment_id, "Covered by **2** tests")

    [comment] = gitlab.provider.comments(f"acme/web#{issue.iid}")
    assert (comment.id, comment.body) == (comment_id, "Covered by **2** tests")
    [edit] = gitlab.requests_to("PUT", rf"{ISSUES}/1/notes/{comment_id}")
    assert edit.json() == {"body": "Covered by **2** tests"}


def test_a_comment_or_issue_that_is_gone_is_not_found(gitlab):
    issue = gitlab.add_issue(WEB, "Pay by card", author="alice")
    comment_id = gitlab.provider.add_comment(f"acme/web#{issue.iid}", "Covered by 1 test")

    with pytest.raises(NotFound):
        gitlab.provider.update_comment(f"acme/web#{issue.iid}", "424242", "Covered by nothing")
    with pytest.raises(NotFound):
        gitlab.provider.update_comment(f"acme/web#{issue.iid}", "not-a-note", "Covered by nothing")
    gitlab.delete_issue(WEB, issue.iid)
    with pytest.raises(NotFound):
        gitlab.provider.update_comment(f"acme/web#{issue.iid}", comment_id, "Covered by nothing")
