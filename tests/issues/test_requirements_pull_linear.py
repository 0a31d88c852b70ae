"""Requirements, bugs and plans pulled from Linear through the issues app's own services, and the
covering-tests comment kept as one edited comment: a team's labelled issues become requirements,
edits update them, an issue deleted to Linear's trash deprecates its requirement; bugs are the
issues labelled Bug; projects and cycles become releases and sprints. Against the fake Linear over
real HTTP."""

from datetime import UTC, date, datetime

import pytest

from integrations.errors import RemoteValidationError
from integrations.mappings import default_status_mapping, parse_priority_mapping
from integrations.models import AuthType, Provider
from issues.links.models import ExternalReference
from issues.pulls.bugs import pull_bugs, save_bug_settings
from issues.pulls.coverage import cover, uncover
from issues.pulls.models import Coverage, Plan, PulledBug, PulledRequirement, PullSettings
from issues.pulls.plans import pull_plans
from issues.pulls.requirements import parse_state_mapping, pull_requirements, save_settings
from projects.models import Requirement, Role
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    SourceFactory,
    TestCaseFactory,
)
from tests.fakes.fixtures import LINEAR_API_KEY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]

SITE = "https://tm.example.com/"
PRIORITIES = "Urgent = P0, blocker\nHigh = P1, critical\nMedium = P2, major\nLow = P3, minor"


@pytest.fixture
def linear(fake_linear):
    """The team ENG with the labels requirement and Bug, a project and a cycle, and a project
    integration pulling requirements labelled requirement (release: the project, sprint: the cycle)."""
    fake = fake_linear
    fake.add_team("ENG", "Engineering")
    fake.add_label("requirement")
    fake.add_label("Bug", team="ENG")
    fake.add_label("customer")
    fake.add_project("Checkout revamp", ["ENG"], start_date="2025-04-01", target_date="2025-06-30")
    fake.add_cycle("ENG", datetime(2025, 4, 7, tzinfo=UTC), datetime(2025, 4, 21, tzinfo=UTC))
    source = SourceFactory(
        name="Acme Linear",
        provider=Provider.LINEAR,
        base_url=fake.base_url,
        allow_http=True,
        can_add_comments=True,
        auth_type=AuthType.PAT,
        credentials={"token": LINEAR_API_KEY},
        issue_url_template="",
    )
    fake.integration = ProjectIntegrationFactory(
        project=ProjectFactory(key="SHOP"),
        source=source,
        external_project="ENG",
        priority_mapping=parse_priority_mapping(PRIORITIES),
        status_mapping=default_status_mapping(),
    )
    save_settings(
        fake.integration,
        pull_requirements=True,
        requirements_filter="label:requirement",
        requirement_types=[],
        state_mapping=parse_state_mapping("deprecated = Canceled"),
        release_field="project",
        release_date_fields=["dueDate", "project"],
        sprint_field="cycle",
        comment_linked_tests=True,
    )
    return fake


def pull(fake) -> str:
    fake.integration.refresh_from_db()
    return str(pull_requirements(fake.integration))


def by_key() -> dict[str, Requirement]:
    return {requirement.origin_key: requirement for requirement in Requirement.objects.select_related("pull")}


# -- requirements ----------------------------------------------------------------------------------


def test_new_issues_become_read_only_requirements_planned_in_their_project_and_cycle(linear):
    card = linear.add_issue(
        "ENG",
        "Pay by card",
        description="Cards **and** wallets",
        labels=["requirement"],
        priority=1,
        state="In Progress",
        project="Checkout revamp",
        cycle=1,
    )
    invoice = linear.add_issue("ENG", "Pay by invoice", labels=["requirement"], priority=4, due_date="2025-05-15")
    linear.add_issue("ENG", "Not a requirement", labels=["customer"])

    assert pull(linear) == "2 new, 0 updated, 0 unchanged, 0 deleted in the tracker (now deprecated)"

    requirements = by_key()
    assert set(requirements) == {card.identifier, invoice.identifier}
    first = requirements[card.identifier]
    assert (first.title, first.description, first.state, first.priority) == (
        "Pay by card",
        "Cards **and** wallets",
        "active",
        "P0",
    )
    assert (first.origin_tracker, first.origin_url, first.origin_read_only) == ("Acme Linear", card.url, True)
    assert (first.pull.release, first.pull.release_date, first.pull.sprint) == (
        "Checkout revamp",
        date(2025, 6, 30),
        "Cycle 1",
    )
    second = requirements[invoice.identifier]
    assert (second.state, second.priority, second.pull.release, second.pull.release_date, second.pull.sprint) == (
        "draft",
        "P3",
        "",
        date(2025, 5, 15),
        "",
    )


def test_an_edit_updates_and_a_deletion_deprecates_while_a_filtered_out_issue_is_kept(linear):
    card = linear.add_issue("ENG", "Pay by card", description="Cards", labels=["requirement"])
    invoice = linear.add_issue("ENG", "Pay by invoice", labels=["requirement"])
    vouchers = linear.add_issue("ENG", "Vouchers", labels=["requirement"])
    cash = linear.add_issue("ENG", "Cash on delivery", labels=["requirement"])
    pull(linear)

    linear.edit_issue(
        card.identifier, title="Pay by card or wallet", description="Cards and wallets", state="Done", priority=1
    )
    linear.delete_issue(invoice.identifier)
    linear.edit_issue(vouchers.identifier, labels=["customer"])
    linear.edit_issue(cash.identifier, state="Canceled")

    assert pull(linear) == "0 new, 2 updated, 0 unchanged, 1 deleted in the tracker (now deprecated)"

    requirements = by_key()
    assert (
        requirements[card.identifier].title,
        requirements[card.identifier].description,
        requirements[card.identifier].state,
        requirements[card.identifier].priority,
    ) == ("Pay by card or wallet", "Cards and wallets", "active", "P0")
    assert (requirements[invoice.identifier].state, requirements[invoice.identifier].origin_read_only) == (
        "deprecated",
        False,
    )
    assert ExternalReference.objects.get(key=invoice.identifier).deleted_remotely
    assert (requirements[cash.identifier].state, requirements[cash.identifier].origin_read_only) == ("deprecated", True)
    assert (requirements[vouchers.identifier].state, requirements[vouchers.identifier].origin_read_only) == (
        "draft",
        True,
    )
    assert pull(linear) == "0 new, 0 updated, 2 unchanged, 0 deleted in the tracker (now deprecated)"


def test_a_filter_outside_the_linear_syntax_is_recorded_and_writes_nothing(linear):
    linear.add_issue("ENG", "Pay by card", labels=["requirement"])
    linear.integration.requirements_filter = "labels = requirement"
    linear.integration.save()

    with pytest.raises(RemoteValidationError):
        pull(linear)

    assert "not a term of a Linear filter" in PullSettings.objects.get().last_error
    assert not Requirement.objects.exists() and not ExternalReference.objects.exists()


def test_the_pull_settings_page_explains_the_linear_filter(client, linear):
    client.force_login(MembershipFactory(project=linear.integration.project, role=Role.ADMIN).user)

    page = client.get(f"/projects/SHOP/requirement-pulls/{linear.integration.pk}/").content.decode()

    assert "Linear issues have no types: work item types are label names" in page
    assert "cycle (its name and end date), project (its name and target date)" in page


# -- the covering-tests comment ---------------------------------------------------------------------


def comment_mutations(fake) -> list[str]:
    return [
        body["query"].split("(")[0].split()[-1]
        for body in fake.graphql_requests()
        if body["query"].startswith("mutation")
    ]


def test_the_covering_tests_comment_is_posted_once_then_edited_as_links_change(linear, committed):
    story = linear.add_issue("ENG", "Pay by card", labels=["requirement"])
    pull(linear)
    requirement = Requirement.objects.get()
    checkout = TestCaseFactory(project=requirement.project, title="Checkout with a card")
    refund = TestCaseFactory(project=requirement.project, title="Refund to the card")

    committed(cover, requirement, checkout, site_url=SITE)
    committed(cover, requirement, refund, site_url=SITE)
    [comment] = linear.issue(story.identifier).comment_list
    assert "Covered by 2 tests in testmanager" in comment.body and "Refund to the card" in comment.body

    committed(uncover, Coverage.objects.get(test_case=checkout), site_url=SITE)

    [comment] = linear.issue(story.identifier).comment_list
    assert "Covered by 1 test in testmanager" in comment.body and "Checkout with a card" not in comment.body
    assert comment.edited_at is not None
    assert comment_mutations(linear) == ["AddComment", "EditComment", "EditComment"]
    assert PulledRequirement.objects.get().coverage_comment_id == comment.id


def test_a_covering_tests_comment_deleted_in_linear_is_posted_again(linear, committed):
    story = linear.add_issue("ENG", "Pay by card", labels=["requirement"])
    pull(linear)
    requirement = Requirement.objects.get()
    committed(cover, requirement, TestCaseFactory(project=requirement.project), site_url=SITE)
    [first] = linear.issue(story.identifier).comment_list
    linear.delete_comment(story.identifier, first.id)

    committed(cover, requirement, TestCaseFactory(project=requirement.project), site_url=SITE)

    [comment] = linear.issue(story.identifier).comment_list
    assert "Covered by 2 tests" in comment.body and comment.id != first.id
    assert PulledRequirement.objects.get().coverage_comment_id == comment.id


# -- bugs -----------------------------------------------------------------------------------------


def pulled_bug(key):
    found = PulledBug.objects.select_related("reference").get(reference__key=key)
    return (found.reference.title, found.severity, found.priority, found.status)


def test_bugs_are_the_issues_with_the_bug_label_and_deletions_mark_them(linear):
    save_bug_settings(
        linear.integration,
        pull_bugs=True,
        bugs_filter="label:customer",
        bug_types=["Bug"],
        severity_field="",
        resolution_field="",
    )
    crash = linear.add_issue("ENG", "Checkout crashes", labels=["Bug", "customer"], priority=1)
    slow = linear.add_issue("ENG", "Search is slow", labels=["Bug", "customer"], priority=3, state="In Progress")
    gone = linear.add_issue("ENG", "Duplicate", labels=["Bug", "customer"])
    linear.add_issue("ENG", "A customer wish", labels=["customer"])
    linear.add_issue("ENG", "Internal bug", labels=["Bug"])

    assert str(pull_bugs(linear.integration)) == "3 new, 0 updated, 0 unchanged, 0 deleted in the tracker"
    assert pulled_bug(crash.identifier) == ("Checkout crashes", "Urgent", "blocker", "open")
    assert pulled_bug(slow.identifier) == ("Search is slow", "Medium", "major", "in_progress")

    linear.edit_issue(crash.identifier, state="Done")
    linear.delete_issue(gone.identifier, permanently=True)

    assert str(pull_bugs(linear.integration)) == "0 new, 1 updated, 1 unchanged, 1 deleted in the tracker"
    assert pulled_bug(crash.identifier)[3] == "closed"
    assert ExternalReference.objects.get(key=gone.identifier).deleted_remotely


# -- plans ----------------------------------------------------------------------------------------


def test_the_teams_projects_and_cycles_are_pulled_as_releases_and_sprints(linear):
    linear.add_project("Search", ["ENG"], target_date="2025-03-31", completed=True)

    assert str(pull_plans(linear.integration)) == "3 new, 0 updated, 0 unchanged, 0 deleted in the tracker"

    assert sorted((plan.kind, plan.name, plan.start, plan.end, plan.done) for plan in Plan.objects.all()) == [
        ("release", "Checkout revamp", date(2025, 4, 1), date(2025, 6, 30), False),
        ("release", "Search", None, date(2025, 3, 31), True),
        ("sprint", "Cycle 1", date(2025, 4, 7), date(2025, 4, 21), False),
    ]
