"""A project pulling its requirements, releases, sprints and bugs from GitLab, through the issues
services against the fake self-managed GitLab (Premium) over real HTTP: new issues become read-only
requirements planned in their milestone and iteration, edits update them, deletions deprecate them,
the covering-tests note is edited rather than posted again, and bugs are listed with their
severity and status mapped."""

import html
from datetime import date

import pytest

from integrations.errors import RemoteValidationError, UpstreamError
from integrations.mappings import default_priority_mapping, default_status_mapping
from integrations.models import AuthType, ProjectIntegration, Provider
from issues.links.models import ExternalReference
from issues.pulls.bugs import pull_bugs, save_bug_settings
from issues.pulls.coverage import NO_COVERAGE, cover, uncover
from issues.pulls.models import Coverage, Plan, PulledBug, PulledRequirement, PullSettings
from issues.pulls.requirements import pull_requirements, save_settings
from issues.pulls.runner import pull_integration
from projects.models import Requirement, Role
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    SourceFactory,
    TestCaseFactory,
)
from tests.fakes.fixtures import GITLAB_PAT, GITLAB_USERNAME
from tests.fakes.gitlab import DEVELOPER

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]

WEB = "acme/web"
SITE = "https://tm.example.com/"


@pytest.fixture
def gitlab(fake_gitlab):
    """The project SHOP pulls requirements (label requirement, type Issue) from acme/web, its
    release from the milestone (dated by the issue's due date, else the milestone's), its sprint
    from the iteration, and comments covering tests; and pulls incidents labelled customer as bugs,
    their severity from GitLab's severity."""
    fake = fake_gitlab
    fake.tier = "premium"
    fake.add_project(WEB)
    fake.add_member(WEB, GITLAB_USERNAME, DEVELOPER)
    fake.add_user("alice", "Alice Liddell")
    fake.add_member(WEB, "alice", DEVELOPER)
    source = SourceFactory(
        name="Acme GitLab",
        provider=Provider.GITLAB,
        base_url=fake.web_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": GITLAB_PAT},
        issue_url_template="",
        can_add_comments=True,
    )
    integration = ProjectIntegrationFactory(
        project=ProjectFactory(key="SHOP"),
        source=source,
        external_project=WEB,
        priority_mapping=default_priority_mapping(),
        status_mapping=default_status_mapping(),
        # GitLab's incident severities map through the severity table, never the priority mapping.
        field_mappings={"severity": {"Critical": "critical", "High": "major", "Medium": "major", "Low": "minor"}},
    )
    save_settings(
        integration,
        pull_requirements=True,
        requirements_filter="labels=requirement",
        requirement_types=["Issue"],
        state_mapping={},
        release_field="milestone",
        release_date_fields=["due_date", "milestone"],
        sprint_field="iteration",
        comment_linked_tests=True,
    )
    save_bug_settings(
        integration,
        pull_bugs=True,
        bugs_filter="labels=customer",
        bug_types=["Incident"],
        severity_field="severity",
        resolution_field="",
    )
    fake.integration = integration
    return fake


def pull(fake) -> str:
    fake.integration.refresh_from_db()
    return str(pull_requirements(fake.integration))


def requirement(fake, title, **changes):
    issue = fake.add_issue(WEB, title, author="alice", labels=("requirement",), description=f"{title}, in detail")
    if changes:
        fake.edit_issue(WEB, issue.iid, **changes)
    return f"{WEB}#{issue.iid}"


def test_gitlab_issues_become_requirements_edits_update_them_and_deletions_deprecate_them(gitlab):
    release = gitlab.add_milestone(WEB, "Release 2.0", due_date=date(2025, 6, 30))
    sprint = gitlab.add_iteration(WEB, "Sprint 8", date(2025, 5, 1), date(2025, 5, 14))
    card = requirement(gitlab, "Pay by card", milestone=release, iteration=sprint)
    invoice = requirement(gitlab, "Pay by invoice", milestone=release, due_date="2025-05-31")
    vouchers = requirement(gitlab, "Vouchers")
    gitlab.add_issue(WEB, "Not a requirement", author="alice")
    incident = gitlab.add_issue(WEB, "Checkout is down", author="alice", labels=("requirement",))
    gitlab.edit_issue(WEB, incident.iid, issue_type="incident")

    assert pull(gitlab) == "3 new, 0 updated, 0 unchanged, 0 deleted in the tracker (now deprecated)"

    by_key = {r.origin_key: r for r in Requirement.objects.all()}
    assert set(by_key) == {card, invoice, vouchers}
    first = by_key[card]
    assert (first.title, first.description, first.state, first.priority) == (
        "Pay by card",
        "Pay by card, in detail",
        "draft",
        "P2",
    )
    assert (first.origin_tracker, first.origin_url, first.origin_read_only) == (
        "Acme GitLab",
        f"{gitlab.web_url}/acme/web/-/issues/1",
        True,
    )
    plans = {
        pulled.requirement.origin_key: (pulled.release, pulled.release_date, pulled.sprint)
        for pulled in PulledRequirement.objects.select_related("requirement")
    }
    assert plans == {
        card: ("Release 2.0", date(2025, 6, 30), "Sprint 8"),  # no due date: the milestone's
        invoice: ("Release 2.0", date(2025, 5, 31), ""),  # its own due date first
        vouchers: ("", None, ""),
    }

    gitlab.edit_issue(WEB, 1, title="Pay by card or wallet", state="closed")
    gitlab.delete_issue(WEB, 2)
    gitlab.edit_issue(WEB, 3, labels=[])  # no longer selected: kept as it is

    assert pull(gitlab) == "0 new, 1 updated, 0 unchanged, 1 deleted in the tracker (now deprecated)"
    by_key = {r.origin_key: r for r in Requirement.objects.all()}
    assert (by_key[card].title, by_key[card].state, by_key[card].origin_read_only) == (
        "Pay by card or wallet",
        "active",
        True,
    )
    assert (by_key[invoice].state, by_key[invoice].origin_read_only) == ("deprecated", False)
    assert ExternalReference.objects.get(key=invoice).deleted_remotely
    assert (by_key[vouchers].state, by_key[vouchers].origin_read_only) == ("draft", True)
    assert pull(gitlab) == "0 new, 0 updated, 1 unchanged, 0 deleted in the tracker (now deprecated)"


def test_a_filter_that_is_not_gitlab_parameters_is_recorded_and_writes_nothing(gitlab):
    requirement(gitlab, "Pay by card")
    ProjectIntegration.objects.filter(pk=gitlab.integration.pk).update(requirements_filter="label:requirement")

    with pytest.raises(RemoteValidationError):
        pull(gitlab)

    settings = PullSettings.objects.get(integration=gitlab.integration)
    assert "“label:requirement” is not a GitLab filter parameter" in settings.last_error
    assert settings.last_pulled_at is None and not Requirement.objects.exists()
    assert gitlab.requests == []


def test_gitlab_failing_mid_pull_leaves_the_requirements_as_they_were(gitlab):
    key = requirement(gitlab, "Pay by card")
    pull(gitlab)
    gitlab.edit_issue(WEB, 1, title="Pay by card or wallet")
    gitlab.fail_next(500, {"message": "500 Internal Server Error"})

    with pytest.raises(UpstreamError):
        pull(gitlab)

    kept = Requirement.objects.get()
    assert (kept.origin_key, kept.title, kept.state, kept.origin_read_only) == (key, "Pay by card", "draft", True)
    assert "500 Internal Server Error" in PullSettings.objects.get(integration=gitlab.integration).last_error
    assert pull(gitlab) == "0 new, 1 updated, 0 unchanged, 0 deleted in the tracker (now deprecated)"


def test_the_covering_tests_note_is_posted_once_then_edited(gitlab, committed):
    key = requirement(gitlab, "Pay by card")
    pull(gitlab)
    pulled = Requirement.objects.get()
    checkout = TestCaseFactory(project=pulled.project, title="Checkout with a card")
    refund = TestCaseFactory(project=pulled.project, title="Refund to the card")

    committed(cover, pulled, checkout, site_url=SITE)
    committed(cover, pulled, refund, site_url=SITE)
    [note] = gitlab.issue(WEB, 1).notes
    assert "Covered by 2 tests in testmanager" in note.body
    assert "Checkout with a card" in note.body and "Refund to the card" in note.body

    committed(uncover, Coverage.objects.get(test_case=checkout), site_url=SITE)
    committed(uncover, Coverage.objects.get(test_case=refund), site_url=SITE)

    assert [note.body for note in gitlab.issue(WEB, 1).notes] == [NO_COVERAGE]
    assert len(gitlab.requests_to("POST", r"/projects/acme%2Fweb/issues/1/notes")) == 1
    assert len(gitlab.requests_to("PUT", r"/projects/acme%2Fweb/issues/1/notes/\d+")) == 3
    assert PulledRequirement.objects.get().reference.key == key


def test_a_note_deleted_in_gitlab_is_posted_again(gitlab, committed):
    requirement(gitlab, "Pay by card")
    pull(gitlab)
    pulled = Requirement.objects.get()
    committed(cover, pulled, TestCaseFactory(project=pulled.project), site_url=SITE)
    gitlab.issue(WEB, 1).notes.clear()

    committed(cover, pulled, TestCaseFactory(project=pulled.project), site_url=SITE)

    [note] = gitlab.issue(WEB, 1).notes
    assert "Covered by 2 tests" in note.body


def incident(fake, title, severity, **changes):
    issue = fake.add_issue(WEB, title, author="alice", labels=("customer",))
    fake.edit_issue(WEB, issue.iid, issue_type="incident", severity=severity, **changes)
    return f"{WEB}#{issue.iid}"


def bug_row(key):
    found = PulledBug.objects.select_related("reference").get(reference__key=key)
    return (found.reference.title, found.severity, found.priority, found.status, found.reference.deleted_remotely)


def test_gitlab_incidents_are_pulled_as_bugs_with_severity_and_status_mapped(gitlab):
    down = incident(gitlab, "Checkout is down", "CRITICAL")
    slow = incident(gitlab, "Search is slow", "MEDIUM")
    fixed = incident(gitlab, "Receipt typo", "LOW", state="closed")
    gitlab.add_issue(WEB, "A customer's wish", author="alice", labels=("customer",))  # an issue, not an incident

    assert str(pull_bugs(gitlab.integration)) == "3 new, 0 updated, 0 unchanged, 0 deleted in the tracker"
    assert bug_row(down) == ("Checkout is down", "Critical", "critical", "open", False)
    assert bug_row(slow) == ("Search is slow", "Medium", "major", "open", False)
    assert bug_row(fixed) == ("Receipt typo", "Low", "minor", "closed", False)

    gitlab.edit_issue(WEB, 1, state="closed")
    gitlab.delete_issue(WEB, 2)

    assert str(pull_bugs(gitlab.integration)) == "0 new, 1 updated, 1 unchanged, 1 deleted in the tracker"
    assert bug_row(down)[3] == "closed"
    assert bug_row(slow)[4] is True


def test_one_pull_brings_requirements_releases_sprints_and_bugs(gitlab):
    release = gitlab.add_milestone(WEB, "Release 2.0", start_date=date(2025, 4, 1), due_date=date(2025, 6, 30))
    gitlab.add_milestone(WEB, "Release 1.0", state="closed")
    gitlab.add_iteration(WEB, None, date(2025, 5, 1), date(2025, 5, 14), state="closed")
    requirement(gitlab, "Pay by card", milestone=release)
    incident(gitlab, "Checkout is down", "HIGH")

    outcomes = pull_integration(gitlab.integration)

    assert [(outcome["what"], outcome["ok"]) for outcome in outcomes] == [
        ("requirements", True),
        ("releases and sprints", True),
        ("bugs", True),
    ]
    plans = Plan.objects.filter(integration=gitlab.integration).order_by("kind", "name")
    assert [(plan.kind, plan.name, plan.start, plan.end, plan.done) for plan in plans] == [
        ("release", "Release 1.0", None, None, True),
        ("release", "Release 2.0", date(2025, 4, 1), date(2025, 6, 30), False),
        ("sprint", "2025-05-01 – 2025-05-14", date(2025, 5, 1), date(2025, 5, 14), True),
    ]
    assert PulledRequirement.objects.get().release == "Release 2.0"
    assert PulledBug.objects.get().severity == "High"


def test_the_pull_settings_page_explains_how_a_gitlab_filter_is_written(client, gitlab):
    client.force_login(MembershipFactory(project=gitlab.integration.project, role=Role.ADMIN).user)

    page = html.unescape(client.get(f"/projects/SHOP/requirement-pulls/{gitlab.integration.pk}/").content.decode())

    assert page.count("GitLab's list-issues parameters as name=value") == 2  # requirements and bugs
    assert 'labels=requirement,backend milestone="Release 2.0"' in page
