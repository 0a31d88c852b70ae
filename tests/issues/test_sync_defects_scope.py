""" "Keep defects in step" mirrors only what is a defect of the project: tracker issues linked to a test
result, run or case (filed or linked as defects), bugs its bug pull finds, issues pushed from here; never
the stories a requirement pull keeps as requirements, nor an issue deleted in the tracker. Against the
fake Jira Cloud over real HTTP."""

import pytest

from integrations.mappings import default_priority_mapping, default_status_mapping
from integrations.models import AuthType, Provider
from issues.core.models import Issue
from issues.links.models import ExternalReference
from issues.links.services import link, store_reference
from issues.pulls.bugs import pull_bugs, save_bug_settings
from issues.pulls.requirements import parse_state_mapping, pull_requirements, save_settings
from issues.sync import refresh
from issues.sync.models import DefectSync
from projects.models import Requirement
from tests.factories import ProjectFactory, ProjectIntegrationFactory, SourceFactory, TestResultFactory
from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]


@pytest.fixture
def jira(fake_jira_cloud, django_capture_on_commit_callbacks):
    fake_jira_cloud.add_project("SHOP", issue_types=("Bug", "Story"))
    source = SourceFactory(
        name="Acme Jira",
        provider=Provider.JIRA_CLOUD,
        base_url=fake_jira_cloud.base_url,
        allow_http=True,
        auth_type=AuthType.API_TOKEN,
        issue_url_template="",
        credentials={"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
    )
    fake_jira_cloud.integration = ProjectIntegrationFactory(
        project=ProjectFactory(key="SHOP"),
        source=source,
        external_project="SHOP",
        priority_mapping=default_priority_mapping(),
        status_mapping=default_status_mapping(),
        sync_defects=True,
        push_defect_changes=True,
    )
    fake_jira_cloud.capture = django_capture_on_commit_callbacks
    return fake_jira_cloud


def pull_stories(jira):
    integration = jira.integration
    save_settings(
        integration,
        pull_requirements=True,
        requirements_filter="labels = requirement",
        requirement_types=["Story"],
        state_mapping=parse_state_mapping("deprecated = Won't Do"),
        release_field="",
        release_date_fields=[],
        sprint_field="",
        comment_linked_tests=False,
    )
    with jira.capture(execute=True):
        pull_requirements(integration)


def refresh_all(jira):
    with jira.capture(execute=True):
        refresh.refresh_source(jira.integration.source_id, list(ExternalReference.objects.values_list("pk", flat=True)))


def test_pulled_requirements_get_no_defect_even_after_a_refresh(jira):
    jira.add_issue("SHOP", "Customers pay by card", issue_type="Story", labels=["requirement"])
    jira.add_issue("SHOP", "Customers get receipts", issue_type="Story", labels=["requirement"])

    pull_stories(jira)
    refresh_all(jira)  # the sweep that gives older links their defects leaves stories alone too

    assert Requirement.objects.filter(project=jira.integration.project).count() == 2
    assert not Issue.objects.exists() and not DefectSync.objects.exists()


def test_a_story_deleted_in_the_tracker_gets_no_defect(jira):
    story = jira.add_issue("SHOP", "Customers pay by card", issue_type="Story", labels=["requirement"])
    pull_stories(jira)
    jira.delete_issue(story.key)

    pull_stories(jira)
    refresh_all(jira)

    assert ExternalReference.objects.get(key=story.key).deleted_remotely
    assert not Issue.objects.exists()


def test_a_story_linked_by_hand_to_a_requirement_is_no_defect(jira):
    story = jira.add_issue("SHOP", "Customers pay by card", issue_type="Story")
    reference = store_reference(jira.integration.source, refresh_reference(jira, story.key))
    requirement = Requirement.objects.create(project=jira.integration.project, title="Card payments")

    with jira.capture(execute=True):
        link(artefact=requirement, reference=reference)
    refresh_all(jira)

    assert not Issue.objects.exists()


def test_a_tracker_issue_linked_to_a_failed_result_is_a_defect(jira):
    bug = jira.add_issue("SHOP", "Card payments time out", issue_type="Bug", priority="High")
    reference = store_reference(jira.integration.source, refresh_reference(jira, bug.key))
    result = TestResultFactory(run__project=jira.integration.project)

    with jira.capture(execute=True):
        link(artefact=result, reference=reference)

    defect = DefectSync.objects.select_related("issue").get(reference=reference).issue
    assert (defect.name, defect.priority) == ("Card payments time out", "critical")


def test_bugs_pulled_by_a_bug_pull_are_defects_at_once(jira):
    jira.add_issue("SHOP", "Checkout crashes", issue_type="Bug", labels=["customer"], priority="Highest")
    jira.add_issue("SHOP", "Customers pay by card", issue_type="Story", labels=["requirement"])
    save_bug_settings(
        jira.integration, pull_bugs=True, bugs_filter="labels = customer", bug_types=["Bug"], severity_field="",
        resolution_field="",
    )  # fmt: skip
    pull_stories(jira)

    with jira.capture(execute=True):
        pull_bugs(jira.integration)

    (defect,) = Issue.objects.all()
    assert (defect.name, defect.priority, defect.defect_sync.reference.key) == ("Checkout crashes", "blocker", "SHOP-1")


def test_a_bug_pull_from_before_the_option_gets_its_defects_with_the_next_refresh(jira):
    jira.integration.sync_defects = False
    jira.integration.save()
    jira.add_issue("SHOP", "Checkout crashes", issue_type="Bug", labels=["customer"])
    save_bug_settings(
        jira.integration, pull_bugs=True, bugs_filter="labels = customer", bug_types=["Bug"], severity_field="",
        resolution_field="",
    )  # fmt: skip
    pull_bugs(jira.integration)
    assert not Issue.objects.exists()
    jira.integration.sync_defects = True
    jira.integration.save()

    refresh_all(jira)

    assert Issue.objects.get().name == "Checkout crashes"


def refresh_reference(jira, key):
    from integrations.providers import provider_for

    return provider_for(jira.integration.source).fetch_many([key]).issues[key]
