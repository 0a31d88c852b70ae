"""Releases and sprints pulled with their dates, laid out on a timeline, and per release its pulled
requirements, how many have covering tests, those tests' latest results and the open issues linked.
Against the fake Jira Cloud and GitHub over real HTTP, and hand-built rows."""

from datetime import UTC, date, datetime

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from integrations.mappings import default_priority_mapping
from integrations.models import AuthType, Provider
from issues.core.models import IssueStatus, StatusCategory
from issues.links.services import link
from issues.pulls.models import Coverage, Plan, PlanKind, PulledRequirement
from issues.pulls.plans import pull_plans
from issues.pulls.requirements import save_settings
from issues.reports.plans import release_overviews, release_parts, timeline
from projects.models import ResultStatus, Role
from tests.factories import (
    ExternalReferenceFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    RequirementFactory,
    SourceFactory,
    TestCaseFactory,
    TestResultFactory,
    make_issue,
)
from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN, GITHUB_LOGIN, GITHUB_TOKEN

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]


@pytest.fixture
def jira(fake_jira_cloud):
    fake = fake_jira_cloud
    fake.add_project("SHOP")
    fake.add_version("SHOP", "2.0", start_date="2025-04-01", release_date="2025-06-30")
    fake.add_version("SHOP", "2.1", release_date="2025-09-30")
    fake.add_sprint(
        3, "Sprint 1", state="closed", start_date="2025-04-01T08:00:00.000Z", end_date="2025-04-14T17:00:00.000Z"
    )
    story = fake.add_issue("SHOP", "Pay by card", issue_type="Story", labels=["requirement"])
    fake.set_fix_versions(story.key, "2.0")
    source = SourceFactory(
        name="Acme Jira",
        provider=Provider.JIRA_CLOUD,
        base_url=fake.base_url,
        allow_http=True,
        auth_type=AuthType.API_TOKEN,
        credentials={"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
    )
    fake.integration = ProjectIntegrationFactory(
        project=ProjectFactory(key="SHOP"),
        source=source,
        external_project="SHOP",
        board="3",
        priority_mapping=default_priority_mapping(),
    )
    save_settings(
        fake.integration,
        pull_requirements=True,
        requirements_filter="labels = requirement",
        requirement_types=[],
        state_mapping={},
        release_field="fixVersions",
        release_date_fields=[],
        sprint_field="",
        comment_linked_tests=False,
    )
    return fake


def plan_values():
    return sorted(
        (plan.kind, plan.name, plan.start, plan.end, plan.done, plan.deleted_remotely) for plan in Plan.objects.all()
    )


def test_releases_and_sprints_are_pulled_with_their_dates(jira):
    assert str(pull_plans(jira.integration)) == "3 new, 0 updated, 0 unchanged, 0 deleted in the tracker"

    assert plan_values() == [
        ("release", "2.0", date(2025, 4, 1), date(2025, 6, 30), False, False),
        ("release", "2.1", None, date(2025, 9, 30), False, False),
        ("sprint", "Sprint 1", date(2025, 4, 1), date(2025, 4, 14), True, False),
    ]


def test_a_second_pull_updates_dates_and_keeps_a_deleted_release_marked(jira):
    pull_plans(jira.integration)
    versions = jira.projects["SHOP"].versions
    versions[0]["releaseDate"], versions[0]["released"] = "2025-07-15", True
    versions.pop(1)

    assert str(pull_plans(jira.integration)) == "0 new, 1 updated, 1 unchanged, 1 deleted in the tracker"
    assert plan_values()[:2] == [
        ("release", "2.0", date(2025, 4, 1), date(2025, 7, 15), True, False),
        ("release", "2.1", None, date(2025, 9, 30), False, True),
    ]


def test_the_timeline_places_plans_between_the_first_and_last_date():
    project = ProjectFactory()

    def plan(kind, name, start, end, **extra):
        return Plan(
            project=project,
            kind=kind,
            remote_id=name,
            name=name,
            start=start,
            end=end,
            pulled_at=timezone.now(),
            **extra,
        )

    plans = [
        plan(PlanKind.RELEASE, "1.0", date(2025, 1, 1), date(2025, 1, 11)),
        plan(PlanKind.RELEASE, "1.1", None, date(2025, 1, 21)),  # one date: a marker
        plan(PlanKind.SPRINT, "Sprint 1", date(2025, 1, 6), date(2025, 1, 16)),
        plan(PlanKind.SPRINT, "Someday", None, None),
        plan(PlanKind.RELEASE, "Gone", date(2024, 1, 1), date(2024, 2, 1), deleted_remotely=True),
    ]

    laid_out = timeline(plans, today=date(2025, 1, 16))

    assert (laid_out.first, laid_out.last, laid_out.today) == (date(2025, 1, 1), date(2025, 1, 21), 75.0)
    assert [(bar.plan.name, bar.left, bar.width) for bar in laid_out.releases] == [
        ("1.0", 0.0, 50.0),
        ("1.1", 100.0, 0.0),
    ]
    assert [(bar.plan.name, bar.left, bar.width) for bar in laid_out.sprints] == [("Sprint 1", 25.0, 50.0)]
    assert [plan.name for plan in laid_out.undated] == ["Someday"]
    assert timeline(plans, today=date(2026, 1, 1)).today is None
    assert timeline([], today=date(2025, 1, 1)).first is None


def test_a_requirement_is_in_each_release_its_release_field_names():
    assert release_parts("2.1, 2.0") == {"2.1", "2.0"}
    assert release_parts("Fabrikam\\Release 1\\Sprint 2") == {"fabrikam", "release 1", "sprint 2"}
    assert release_parts("") == set()


@pytest.fixture
def planned_project():
    """Release 2.0 with three pulled requirements: one covered by a passing and a failing test (the
    failing one linked to an open tracker bug), one covered by a test never run (its case linked to a
    closed issue), one uncovered but linked to an open internal issue; release 3.0 with none."""
    project = ProjectFactory(key="SHOP")
    now = timezone.now()
    releases = [
        Plan.objects.create(project=project, kind=PlanKind.RELEASE, remote_id=name, name=name, end=end, pulled_at=now)
        for name, end in (("2.0", date(2025, 6, 30)), ("3.0", None))
    ]

    def pulled(title, release):
        requirement = RequirementFactory(project=project, title=title, origin_tracker="Jira", origin_key=title)
        PulledRequirement.objects.create(requirement=requirement, release=release, pulled_at=now)
        return requirement

    cards, wallets, vouchers = pulled("Cards", "2.0"), pulled("Wallets", "2.1, 2.0"), pulled("Vouchers", "2.0")
    pulled("Later", "2.1")
    passing, failing, never = (TestCaseFactory(project=project, title=title) for title in ("Pay", "Refund", "Gift"))
    for requirement, case in ((cards, passing), (cards, failing), (wallets, never)):
        Coverage.objects.create(project=project, requirement=requirement, test_case=case)
    TestResultFactory(run__project=project, case=passing, status=ResultStatus.PASSED)
    failed = TestResultFactory(run__project=project, case=failing, status=ResultStatus.FAILED)
    link(artefact=failed, reference=ExternalReferenceFactory(key="BUG-1", status_category=StatusCategory.TO_DO))
    link(artefact=never, issue=make_issue(project, name="Old", status=IssueStatus.CLOSED))
    link(artefact=vouchers, issue=make_issue(project, name="Vouchers unclear"))
    return project, releases


def test_each_release_counts_coverage_latest_results_and_open_issues(planned_project):
    project, releases = planned_project

    first, second = release_overviews(project, releases)

    assert [row.requirement.title for row in first.rows] == ["Cards", "Vouchers", "Wallets"]
    assert first.covered == 2
    assert first.results == [("passed", "Passed", 1), ("failed", "Failed", 1), ("not_run", "Not run yet", 1)]
    assert sorted(link.issue.key if link.issue else link.external_reference.key for link in first.open_issues) == [
        "BUG-1",
        "SHOP#2",
    ]
    assert (second.rows, second.covered, second.results, second.open_issues) == ([], 0, [], [])


def test_the_plans_page_shows_the_releases_and_a_member_syncs(client, jira):
    member = MembershipFactory(project=jira.integration.project, role=Role.MEMBER).user
    client.force_login(member)

    empty = client.get("/projects/SHOP/plans/").content.decode()
    response = client.post("/projects/SHOP/plans/sync/")
    page = client.get("/projects/SHOP/plans/").content.decode()

    assert "No release pulled yet" in empty and 'id="sync"' in empty
    assert response.status_code == 302
    [message] = [str(message) for message in get_messages(response.wsgi_request)]
    assert message.startswith("Pulled from Acme Jira: requirements: 1 new") and "releases and sprints: 3 new" in message
    assert 'id="timeline"' in page and "Sprint 1" in page
    assert "<strong>0</strong> of 1 requirement covered by tests" in page and "Pay by card" in page


def test_a_viewer_sees_the_plans_but_may_not_sync(client, jira):
    client.force_login(MembershipFactory(project=jira.integration.project, role=Role.VIEWER).user)

    assert 'id="sync"' not in client.get("/projects/SHOP/plans/").content.decode()
    assert client.post("/projects/SHOP/plans/sync/").status_code == 403
    assert not Plan.objects.exists()


def test_syncing_a_project_without_pulls_says_how_to_set_them_up(client):
    project = ProjectFactory(key="SHOP")
    client.force_login(MembershipFactory(project=project, role=Role.MEMBER).user)

    response = client.post("/projects/SHOP/plans/sync/")

    [message] = [str(message) for message in get_messages(response.wsgi_request)]
    assert message == "No tracker pulls into SHOP: a project admin switches pulls on under Trackers › Pulls."


def test_a_github_project_syncs_its_milestones_as_releases_with_their_due_dates(client, fake_github):
    fake = fake_github
    fake.add_repo("acme/shop")
    release = fake.add_milestone("acme/shop", "v2.0", due_on=datetime(2025, 9, 30, 7, tzinfo=UTC))
    fake.add_milestone("acme/shop", "v1.0", state="closed", due_on=datetime(2025, 6, 30, 7, tzinfo=UTC))
    fake.add_milestone("acme/shop", "Someday")
    story = fake.add_issue("acme/shop", "Pay by card", author=GITHUB_LOGIN, labels=("requirement",))
    fake.edit_issue("acme/shop", story.number, milestone=release)
    source = SourceFactory(
        name="Acme GitHub",
        provider=Provider.GITHUB,
        base_url=fake.web_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": GITHUB_TOKEN},
        issue_url_template="",
    )
    integration = ProjectIntegrationFactory(
        project=ProjectFactory(key="SHOP"),
        source=source,
        external_project="acme/shop",
        priority_mapping=default_priority_mapping(),
    )
    save_settings(
        integration,
        pull_requirements=True,
        requirements_filter="label:requirement",
        requirement_types=[],
        state_mapping={},
        release_field="milestone",
        release_date_fields=["milestone"],
        sprint_field="",
        comment_linked_tests=False,
    )
    client.force_login(MembershipFactory(project=integration.project, role=Role.MEMBER).user)

    response = client.post("/projects/SHOP/plans/sync/")
    page = client.get("/projects/SHOP/plans/").content.decode()

    [message] = [str(message) for message in get_messages(response.wsgi_request)]
    assert "releases and sprints: 3 new" in message and "failed" not in message
    assert plan_values() == [
        ("release", "Someday", None, None, False, False),
        ("release", "v1.0", None, date(2025, 6, 30), True, False),
        ("release", "v2.0", None, date(2025, 9, 30), False, False),
    ]
    pulled = PulledRequirement.objects.get()
    assert (pulled.release, pulled.release_date) == ("v2.0", date(2025, 9, 30))
    assert 'id="timeline"' in page and "v2.0" in page and "Pay by card" in page
