"""Linear's pull of work items (``pull``), its projects and cycles as releases and sprints
(``plans``) and editing a comment in place (``update_comment``), over real HTTP against the fake
Linear."""

from datetime import UTC, date, datetime

import pytest

from integrations.errors import NotFound, PermissionDenied, RemoteValidationError
from integrations.models import AuthType, Provider
from integrations.providers import provider_for
from integrations.providers.base import FieldValue, NotConfigured, PullQuery, RemotePlan
from tests.factories import SourceFactory
from tests.fakes.fixtures import LINEAR_API_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fake_on_loopback(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def linear(fake_linear):
    """The fake with the teams ENG and OPS, the workspace label "requirement", ENG's label "Bug",
    and the provider of a source for it."""
    fake_linear.add_team("ENG", "Engineering")
    fake_linear.add_team("OPS", "Operations")
    fake_linear.add_label("requirement")
    fake_linear.add_label("Bug", team="ENG")
    source = SourceFactory(
        provider=Provider.LINEAR,
        base_url=fake_linear.base_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": LINEAR_API_KEY},
        issue_url_template="",
    )
    fake_linear.provider = provider_for(source)
    return fake_linear


def pulls_sent(fake) -> list[dict]:
    """The variables of the pull's issue queries, in order."""
    return [body["variables"] for body in fake.graphql_requests() if body["query"].startswith("query PullIssues")]


def keys(result) -> list[str]:
    return sorted(item.key for item in result.items)


# -- pull ----------------------------------------------------------------------------------------


def test_a_pull_takes_the_teams_issues_the_filter_selects_with_the_fields_asked_for(linear):
    linear.add_project("Checkout revamp", ["ENG"], target_date="2025-06-30")
    linear.add_project("Search", ["ENG"])
    linear.add_cycle("ENG", datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 17, tzinfo=UTC))
    story = linear.add_issue(
        "ENG",
        "Pay by card",
        description="Cards **and** wallets",
        labels=["requirement"],
        priority=2,
        state="In Progress",
        project="Checkout revamp",
        cycle=1,
        due_date="2025-05-15",
        estimate=3,
    )
    plain = linear.add_issue("ENG", "Pay by invoice", labels=["requirement"], project="Checkout revamp")
    linear.add_issue("ENG", "Search by colour", labels=["requirement"], project="Search")
    linear.add_issue("ENG", "Not a requirement", project="Checkout revamp")
    linear.add_issue("OPS", "Another team", labels=["requirement"])

    result = linear.provider.pull(
        PullQuery(
            project="ENG",
            filter='label:requirement project:"Checkout revamp"',
            fields=("cycle", "project", "dueDate", "estimate", "labels"),
        )
    )

    assert keys(result) == [story.identifier, plain.identifier]
    item = next(item for item in result.items if item.key == story.identifier)
    assert (item.title, item.description, item.status, item.status_category, item.priority, item.item_type) == (
        "Pay by card",
        "Cards **and** wallets",
        "In Progress",
        "in_progress",
        "High",
        "",
    )
    assert item.url == story.url
    assert item.fields == {
        "cycle": FieldValue("Cycle 1", date(2025, 3, 17)),
        "project": FieldValue("Checkout revamp", date(2025, 6, 30)),
        "dueDate": FieldValue("2025-05-15", date(2025, 5, 15)),
        "estimate": FieldValue("3"),
        "labels": FieldValue("requirement"),
    }
    other = next(item for item in result.items if item.key == plain.identifier)
    assert other.fields == {
        "cycle": FieldValue(),
        "project": FieldValue("Checkout revamp", date(2025, 6, 30)),
        "dueDate": FieldValue(),
        "estimate": FieldValue(),
        "labels": FieldValue("requirement"),
    }
    assert result.deleted == frozenset()


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("label:requirement label:Bug", ["both labels"]),
        ("label:requirement,Bug", ["both labels", "requirement only", "bug only"]),
        ('state:"In Progress",done', ["both labels", "bug only"]),
        ("cycle:1", ["requirement only", "bug only"]),
        ('cycle:"Spring cleaning"', ["requirement only", "bug only"]),
        ("LABEL:REQUIREMENT cycle:2", []),
        ("", ["both labels", "requirement only", "bug only", "no label"]),
    ],
)
def test_every_term_must_hold_and_a_term_with_commas_takes_any_of_its_values(linear, written, expected):
    linear.add_cycle("ENG", datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 17, tzinfo=UTC), name="Spring cleaning")
    linear.add_issue("ENG", "both labels", labels=["requirement", "Bug"], state="In Progress")
    linear.add_issue("ENG", "requirement only", labels=["requirement"], cycle=1)
    linear.add_issue("ENG", "bug only", labels=["Bug"], state="Done", cycle=1)
    linear.add_issue("ENG", "no label")

    result = linear.provider.pull(PullQuery(project="ENG", filter=written))

    assert sorted(item.title for item in result.items) == sorted(expected)


def test_work_item_types_are_labels_and_an_items_type_is_the_first_it_carries(linear):
    linear.add_label("Feature")
    bug = linear.add_issue("ENG", "Checkout crashes", labels=["Bug", "requirement"])
    feature = linear.add_issue("ENG", "Gift cards", labels=["Feature"])
    linear.add_issue("ENG", "Untyped", labels=["requirement"])

    result = linear.provider.pull(PullQuery(project="ENG", item_types=("bug", "Feature")))

    assert {item.key: item.item_type for item in result.items} == {bug.identifier: "Bug", feature.identifier: "Feature"}


def test_a_label_the_team_does_not_have_is_refused_by_name(linear):
    linear.add_label("Ops only", team="OPS")
    with pytest.raises(RemoteValidationError, match="The Linear team ENG has no label “Ops only”, “Story”"):
        linear.provider.pull(PullQuery(project="ENG", filter='label:"Ops only"', item_types=("Story",)))
    assert pulls_sent(linear) == []


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("labels = requirement", "“labels” is not a term of a Linear filter"),
        ("label:requirement AND state:Done", "“AND” is not a term of a Linear filter"),
        ('project:"Checkout', '“project:"Checkout” is not a term'),
        ("assignee:me", "selects by label, project, cycle, state, not by “assignee”"),
        ('label:""', "names an empty value"),
    ],
)
def test_a_filter_outside_the_syntax_is_refused_before_anything_is_asked(linear, written, reason):
    with pytest.raises(RemoteValidationError, match=reason.replace("(", r"\(")):
        linear.provider.pull(PullQuery(project="ENG", filter=written))
    assert linear.graphql_requests() == []


def test_a_field_linear_issues_do_not_have_is_refused_with_those_they_have(linear):
    with pytest.raises(RemoteValidationError, match="no field “fixVersions” to pull: use cycle, project, dueDate"):
        linear.provider.pull(PullQuery(project="ENG", fields=("cycle", "fixVersions")))


def test_a_pull_needs_a_team_the_account_sees(linear):
    with pytest.raises(NotConfigured, match="names no Linear team"):
        linear.provider.pull(PullQuery(project=" "))
    with pytest.raises(NotFound, match="no team with the key NOPE"):
        linear.provider.pull(PullQuery(project="NOPE"))


def test_a_pull_reads_page_after_page_up_to_the_pull_limit(linear, monkeypatch):
    for number in range(1, 231):
        linear.add_issue("ENG", f"Requirement {number}", labels=["requirement"])

    result = linear.provider.pull(PullQuery(project="ENG", filter="label:requirement"))

    assert len(result.items) == len({item.key for item in result.items}) == 230
    pages = pulls_sent(linear)
    assert [page["after"] is None for page in pages] == [True, False, False]
    assert {page["first"] for page in pages} == {100}

    monkeypatch.setattr("integrations.providers.linear.PULL_LIMIT", 150)
    assert len(linear.provider.pull(PullQuery(project="ENG", filter="label:requirement")).items) == 150
    assert len(pulls_sent(linear)) == 3 + 2  # the third page is never asked for


def test_of_the_known_keys_only_trashed_and_vanished_issues_count_as_deleted(linear):
    linear.add_team("SEC", "Security", private=True)
    kept = linear.add_issue("ENG", "Still labelled", labels=["requirement"])
    unlabelled = linear.add_issue("ENG", "No longer labelled", labels=["requirement"])
    archived = linear.add_issue("ENG", "Closed long ago", labels=["requirement"], state="Done")
    trashed = linear.add_issue("ENG", "Deleted", labels=["requirement"])
    purged = linear.add_issue("ENG", "Deleted for good", labels=["requirement"])
    linear.edit_issue(unlabelled.identifier, labels=[])
    linear.archive_issue(archived.identifier)
    linear.delete_issue(trashed.identifier)
    linear.delete_issue(purged.identifier, permanently=True)
    known = [
        kept.identifier,
        unlabelled.identifier,
        archived.identifier,
        trashed.identifier.lower(),
        purged.identifier,
        "SEC-1",
        "ENG-999",
    ]

    result = linear.provider.pull(PullQuery(project="ENG", filter="label:requirement"), known=known)

    assert keys(result) == [kept.identifier]
    # SEC is a team the account cannot see: its issues may well exist.
    assert result.deleted == {trashed.identifier.lower(), purged.identifier, "ENG-999"}


# -- plans ---------------------------------------------------------------------------------------


def test_plans_are_the_teams_projects_as_releases_and_its_cycles_as_sprints(linear):
    linear.add_project("Checkout revamp", ["ENG", "OPS"], start_date="2025-04-01", target_date="2025-06-30")
    shipped = linear.add_project("Search", ["ENG"], start_date="2025-01-06", target_date="2025-03-31", completed=True)
    dropped = linear.add_project("Gift cards", ["ENG"], canceled=True)
    linear.add_project("Runbooks", ["OPS"], target_date="2025-05-01")
    linear.add_project("Old", ["ENG"]).archived_at = datetime(2024, 1, 1, tzinfo=UTC)
    first = linear.add_cycle(
        "ENG", datetime(2025, 3, 3, 8, tzinfo=UTC), datetime(2025, 3, 17, 8, tzinfo=UTC), completed=True
    )
    second = linear.add_cycle(
        "ENG", datetime(2025, 3, 17, 8, tzinfo=UTC), datetime(2025, 3, 31, 8, tzinfo=UTC), name="Payments polish"
    )
    linear.add_cycle("OPS", datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 17, tzinfo=UTC))
    revamp = linear.project("Checkout revamp")

    plans = linear.provider.plans("ENG", board="ignored")

    assert plans == [
        RemotePlan("release", shipped.id, "Search", date(2025, 1, 6), date(2025, 3, 31), done=True),
        RemotePlan("release", revamp.id, "Checkout revamp", date(2025, 4, 1), date(2025, 6, 30), done=False),
        RemotePlan("release", dropped.id, "Gift cards", None, None, done=True),
        RemotePlan("sprint", first.id, "Cycle 1", date(2025, 3, 3), date(2025, 3, 17), done=True),
        RemotePlan("sprint", second.id, "Payments polish", date(2025, 3, 17), date(2025, 3, 31), done=False),
    ]


def test_plans_need_a_team(linear):
    with pytest.raises(NotConfigured, match="names no Linear team"):
        linear.provider.plans("")
    with pytest.raises(NotFound, match="no team with the key NOPE"):
        linear.provider.plans("NOPE")


# -- comments ------------------------------------------------------------------------------------


def test_a_comment_is_edited_in_place(linear):
    issue = linear.add_issue("ENG", "Pay by card")
    comment_id = linear.provider.add_comment(issue.identifier, "Covered by 1 test")

    linear.provider.update_comment(issue.identifier, comment_id, "Covered by **2** tests")

    [comment] = linear.provider.comments(issue.identifier)
    assert (comment.id, comment.body) == (comment_id, "Covered by **2** tests")
    assert linear.issue(issue.identifier).comment_list[0].edited_at is not None


def test_editing_a_comment_that_is_gone_is_not_found(linear):
    issue = linear.add_issue("ENG", "Pay by card")
    comment_id = linear.provider.add_comment(issue.identifier, "Covered by 1 test")
    linear.delete_comment(issue.identifier, comment_id)

    with pytest.raises(NotFound):
        linear.provider.update_comment(issue.identifier, comment_id, "Covered by 2 tests")
    assert linear.issue(issue.identifier).comment_list == []


def test_only_the_author_of_a_comment_may_edit_it(linear):
    issue = linear.add_issue("ENG", "Pay by card")
    linear.add_user("someone@example.com", "Someone Else")
    theirs = linear.add_comment(issue.identifier, "Looks good", author="someone@example.com")

    with pytest.raises(PermissionDenied, match="only edit your own comments"):
        linear.provider.update_comment(issue.identifier, theirs.id, "Covered by 2 tests")
    assert theirs.body == "Looks good"
