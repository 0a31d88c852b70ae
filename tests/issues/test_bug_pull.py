"""Bugs pulled from trackers: the bugs a filter selects are listed with the project's issues, their
severity, status and resolution mapped; changes update them, deletions mark them; nothing else is
touched. Against the fake Jira Cloud and Azure DevOps over real HTTP."""

import pytest
from django.core.exceptions import ValidationError

from integrations.errors import RemoteValidationError
from integrations.mappings import default_priority_mapping, default_status_mapping, parse_priority_mapping
from integrations.models import AuthType, Provider
from issues.core.models import Issue
from issues.links.models import ExternalReference, Link
from issues.pulls.bugs import pull_bugs, save_bug_settings
from issues.pulls.models import BugPullSettings, PulledBug
from projects.models import Requirement, Role
from tests.factories import MembershipFactory, ProjectFactory, ProjectIntegrationFactory, SourceFactory
from tests.fakes.fixtures import ADO_PAT, CLOUD_API_TOKEN, CLOUD_LOGIN

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]


def integration_for(source, external_project, bugs_filter, priority_mapping=None, **settings):
    integration = ProjectIntegrationFactory(
        project=ProjectFactory(key="SHOP"),
        source=source,
        external_project=external_project,
        priority_mapping=priority_mapping or default_priority_mapping(),
        status_mapping=default_status_mapping(),
    )
    save_bug_settings(
        integration,
        pull_bugs=True,
        bugs_filter=bugs_filter,
        **{
            "bug_types": ["Bug"],
            "severity_field": "",
            "resolution_field": "",
            **settings,
        },
    )
    return integration


@pytest.fixture
def jira(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_status("In Review", "indeterminate")
    fake_jira_cloud.resolution = fake_jira_cloud.add_field("SHOP", "Bug", "Resolution", "text")
    source = SourceFactory(
        name="Acme Jira",
        provider=Provider.JIRA_CLOUD,
        base_url=fake_jira_cloud.base_url,
        allow_http=True,
        auth_type=AuthType.API_TOKEN,
        issue_url_template="",
        credentials={"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
    )
    fake_jira_cloud.integration = integration_for(
        source, "SHOP", "labels = customer", resolution_field=fake_jira_cloud.resolution.field_id
    )
    return fake_jira_cloud


def bug(fake, summary, **fields):
    return fake.add_issue("SHOP", summary, issue_type="Bug", labels=["customer"], **fields)


def pulled(key):
    found = PulledBug.objects.select_related("reference").get(reference__key=key)
    return (found.reference.title, found.severity, found.priority, found.status, found.resolution)


def test_bugs_are_pulled_with_severity_status_and_resolution_mapped(jira):
    crash = bug(jira, "Checkout crashes", priority="Highest")
    slow = bug(jira, "Search is slow", priority="Medium", status="In Review")
    fixed = bug(jira, "Typo on the receipt", priority="Lowest", status="Done")
    fixed.custom_fields[jira.resolution.field_id] = "Fixed"
    jira.add_issue("SHOP", "A story", issue_type="Story", labels=["customer"])
    jira.add_issue("SHOP", "Internal bug", issue_type="Bug", labels=["internal"])

    assert str(pull_bugs(jira.integration)) == "3 new, 0 updated, 0 unchanged, 0 deleted in the tracker"

    assert pulled(crash.key) == ("Checkout crashes", "Highest", "blocker", "open", "")
    assert pulled(slow.key) == ("Search is slow", "Medium", "major", "in_progress", "")  # by its category
    assert pulled(fixed.key) == ("Typo on the receipt", "Lowest", "trivial", "closed", "Fixed")
    assert not Issue.objects.exists() and not Link.objects.exists() and not Requirement.objects.exists()
    assert BugPullSettings.objects.get().last_pulled_at is not None


def test_a_second_pull_updates_changed_bugs_and_marks_deleted_ones(jira):
    crash = bug(jira, "Checkout crashes", priority="High")
    gone = bug(jira, "Duplicate")
    same = bug(jira, "Unchanged")
    pull_bugs(jira.integration)

    jira.issue(crash.key).status = next(status for status in jira.statuses if status.name == "Done")
    jira.issue(crash.key).custom_fields[jira.resolution.field_id] = "Fixed"
    jira.delete_issue(gone.key)

    assert str(pull_bugs(jira.integration)) == "0 new, 1 updated, 1 unchanged, 1 deleted in the tracker"
    assert pulled(crash.key)[3:] == ("closed", "Fixed")
    assert ExternalReference.objects.get(key=gone.key).deleted_remotely
    assert PulledBug.objects.count() == 3 and pulled(same.key)[0] == "Unchanged"


def test_a_refused_filter_is_recorded_and_writes_nothing(jira):
    bug(jira, "Checkout crashes")
    jira.integration.bugs_filter = "labels = = customer"
    jira.integration.save()

    with pytest.raises(RemoteValidationError):
        pull_bugs(jira.integration)

    assert "400" in BugPullSettings.objects.get().last_error and not PulledBug.objects.exists()


def test_azure_devops_severities_map_through_the_severity_table_not_the_priority_mapping(fake_azure_devops):
    fake = fake_azure_devops
    fake.add_project("Fabrikam")
    critical = fake.add_work_item(
        "Fabrikam", "Bug", "Data loss", System_Tags="customer", Microsoft_VSTS_Common_Severity="1 - Critical"
    )
    low = fake.add_work_item(
        "Fabrikam",
        "Bug",
        "Misaligned icon",
        System_Tags="customer",
        state="Resolved",
        Microsoft_VSTS_Common_Severity="4 - Low",
    )
    medium = fake.add_work_item(
        "Fabrikam", "Bug", "Slow page", System_Tags="customer", Microsoft_VSTS_Common_Severity="3 - Medium"
    )
    source = SourceFactory(
        provider=Provider.AZURE_DEVOPS,
        base_url=fake.base_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": ADO_PAT},
        issue_url_template="",
    )
    # The priority mapping names the same values with other priorities: it must not be the one used.
    mapping = parse_priority_mapping("1 - Critical = P3, trivial\n4 - Low = P0, blocker\n3 - Medium = P1, critical")
    integration = integration_for(
        source,
        "Fabrikam",
        "[System.Tags] CONTAINS 'customer'",
        mapping,
        severity_field="Microsoft.VSTS.Common.Severity",
    )
    integration.field_mappings = {"severity": {"1 - Critical": "blocker", "4 - Low": "minor"}}
    integration.save()

    pull_bugs(integration)
    fake.delete_work_item(low.id)
    pull_bugs(integration)

    assert pulled(str(critical.id)) == ("Data loss", "1 - Critical", "blocker", "open", "")
    assert pulled(str(low.id))[1:4] == ("4 - Low", "minor", "closed")  # Resolved is a done category
    assert pulled(str(medium.id))[1:3] == ("3 - Medium", "")  # the mapping does not name it
    assert ExternalReference.objects.get(key=str(low.id)).deleted_remotely


def test_the_issues_page_lists_the_pulled_bugs(client, jira):
    crash = bug(jira, "Checkout crashes", priority="Highest")
    pull_bugs(jira.integration)
    jira.delete_issue(crash.key)
    bug(jira, "Search is slow", priority="Medium")
    pull_bugs(jira.integration)
    client.force_login(MembershipFactory(project=jira.integration.project, role=Role.VIEWER).user)

    page = client.get("/projects/SHOP/issues/").content.decode()

    assert "Bugs in trackers" in page and "2 bugs pulled" in page
    assert "<s>Checkout crashes</s>" in page and "deleted in tracker" in page
    assert "Search is slow" in page and "Major" in page


def test_the_pull_settings_page_saves_the_bug_pull(client, jira):
    client.force_login(MembershipFactory(project=jira.integration.project, role=Role.ADMIN).user)

    client.post(
        f"/projects/SHOP/requirement-pulls/{jira.integration.pk}/",
        {
            "pull_bugs": "on",
            "bugs_filter": "labels = escaped",
            "bug_types": "Bug, Defect",
            "severity_field": "customfield_10030",
            "resolution_field": "resolution",
            "state_mapping": "",
        },
    )

    jira.integration.refresh_from_db()
    settings = BugPullSettings.objects.get()
    assert (jira.integration.pull_bugs, jira.integration.bugs_filter, jira.integration.pull_requirements) == (
        True,
        "labels = escaped",
        False,
    )
    assert (settings.bug_types, settings.severity_field, settings.resolution_field) == (
        ["Bug", "Defect"],
        "customfield_10030",
        "resolution",
    )


# --- What decides the mapped status ----------------------------------------------------------------


def test_the_resolution_can_decide_the_status_instead_of_the_status(jira):
    """A workflow that reaches Done without a resolution, and one resolved while still in review."""
    done_unresolved = bug(jira, "Closed by mistake", status="Done")
    resolved_in_review = bug(jira, "Fixed, awaiting review", status="In Review")
    resolved_in_review.custom_fields[jira.resolution.field_id] = "Fixed"
    wont_fix = bug(jira, "Cosmetic", status="Done")
    wont_fix.custom_fields[jira.resolution.field_id] = "Won't Fix"
    integration = jira.integration
    integration.status_mapping = {**integration.status_mapping, "closed": ["Done", "Won't Fix"]}
    integration.save()

    pull_bugs(integration)
    by_status = {key: pulled(key)[3] for key in (done_unresolved.key, resolved_in_review.key, wont_fix.key)}
    save_bug_settings(
        integration,
        pull_bugs=True,
        bugs_filter="labels = customer",
        bug_types=["Bug"],
        severity_field="",
        resolution_field=jira.resolution.field_id,
        status_from="resolution",
    )
    pull_bugs(integration)
    by_resolution = {key: pulled(key)[3] for key in by_status}

    assert by_status == {done_unresolved.key: "closed", resolved_in_review.key: "in_progress", wont_fix.key: "closed"}
    assert by_resolution == {
        done_unresolved.key: "open",  # no resolution: not resolved, whatever the status says
        resolved_in_review.key: "resolved",
        wont_fix.key: "closed",  # the status mapping names this resolution
    }


def test_the_resolution_cannot_decide_without_a_resolution_field(jira):
    before = BugPullSettings.objects.get()
    with pytest.raises(ValidationError) as refused:
        save_bug_settings(
            jira.integration,
            pull_bugs=True,
            bugs_filter="labels = customer",
            bug_types=["Bug"],
            severity_field="",
            resolution_field="",
            status_from="resolution",
        )
    assert "resolution_field" in refused.value.message_dict
    with pytest.raises(ValidationError):
        save_bug_settings(
            jira.integration,
            pull_bugs=True,
            bugs_filter="",
            bug_types=[],
            severity_field="",
            resolution_field="resolution",
            status_from="whim",
        )
    after = BugPullSettings.objects.get()
    assert (
        (after.status_from, after.resolution_field)
        == (before.status_from, before.resolution_field)
        == (
            "status",
            jira.resolution.field_id,
        )
    )


def test_the_pull_settings_page_chooses_what_decides_the_status(client, jira):
    client.force_login(MembershipFactory(project=jira.integration.project, role=Role.ADMIN).user)
    url = f"/projects/SHOP/requirement-pulls/{jira.integration.pk}/"
    page = client.get(url).content.decode()
    assert 'name="status_from"' in page and "severity table" in page

    refused = client.post(url, {"pull_bugs": "on", "status_from": "resolution", "resolution_field": ""})
    assert refused.status_code == 200
    assert "Name the resolution field" in refused.content.decode()
    assert BugPullSettings.objects.get().status_from == "status"

    client.post(url, {"pull_bugs": "on", "status_from": "resolution", "resolution_field": "resolution"})
    assert (BugPullSettings.objects.get().status_from, BugPullSettings.objects.get().resolution_field) == (
        "resolution",
        "resolution",
    )
