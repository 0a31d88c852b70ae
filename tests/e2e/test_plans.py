"""The Plans page in a real browser: a member syncs from the fake Jira, sees the releases and the sprint
on the timeline and each release's requirements, then follows a release to its traceability."""

import pytest

from integrations.mappings import default_priority_mapping
from integrations.models import AuthType, Provider
from issues.pulls.models import Coverage
from issues.pulls.requirements import save_settings
from projects.models import Requirement, ResultStatus, Role
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    SourceFactory,
    TestCaseFactory,
    TestResultFactory,
)
from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e, pytest.mark.usefixtures("trackers_on_loopback")]


@pytest.fixture
def shop(fake_jira_cloud):
    fake = fake_jira_cloud
    fake.add_project("SHOP")
    fake.add_version("SHOP", "2.0", start_date="2025-04-01", release_date="2025-06-30")
    fake.add_version("SHOP", "2.1", release_date="2025-09-30")
    fake.add_sprint(
        3, "Sprint 1", state="closed", start_date="2025-04-01T08:00:00.000Z", end_date="2025-04-14T17:00:00.000Z"
    )
    for summary, version in (("Pay by card", "2.0"), ("Pay by wallet", "2.0"), ("Gift cards", "2.1")):
        story = fake.add_issue("SHOP", summary, issue_type="Story", labels=["requirement"])
        fake.set_fix_versions(story.key, version)
    source = SourceFactory(
        name="Acme Jira",
        provider=Provider.JIRA_CLOUD,
        base_url=fake.base_url,
        allow_http=True,
        auth_type=AuthType.API_TOKEN,
        credentials={"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
    )
    integration = ProjectIntegrationFactory(
        project=ProjectFactory(key="SHOP", name="Web shop"),
        source=source,
        external_project="SHOP",
        board="3",
        priority_mapping=default_priority_mapping(),
    )
    save_settings(
        integration,
        pull_requirements=True,
        requirements_filter="labels = requirement",
        requirement_types=["Story"],
        state_mapping={},
        release_field="fixVersions",
        release_date_fields=["fixVersions"],
        sprint_field="",
        comment_linked_tests=False,
    )
    return integration.project


def test_a_member_syncs_and_reads_the_plans(page, log_in, shop):
    log_in(MembershipFactory(project=shop, role=Role.MEMBER).user)

    page.goto("/projects/SHOP/plans/")
    assert page.locator("h1").inner_text() == "Plans"
    assert "No release pulled yet" in page.locator("main").inner_text()
    page.get_by_role("button", name="Sync").click()

    assert "releases and sprints: 3 new" in page.locator(".messages").inner_text()
    timeline = page.locator("#timeline")
    assert timeline.locator(".bar.release").all_inner_texts() == ["2.0", "2.1"]
    assert timeline.locator(".bar.sprint.done").all_inner_texts() == ["Sprint 1"]
    assert timeline.locator(".bar.marker").all_inner_texts() == ["2.1"]  # a release with only its date
    first = page.locator(".release-overview").first
    assert first.locator("h2").inner_text() == "2.0"
    assert first.locator(".release-covered").inner_text() == "0 of 2 requirements covered by tests"
    assert first.locator("tbody tr").count() == 2

    card = Requirement.objects.get(title="Pay by card")
    case = TestCaseFactory(project=shop, title="Checkout with a card")
    Coverage.objects.create(project=shop, requirement=card, test_case=case)
    TestResultFactory(run__project=shop, case=case, status=ResultStatus.FAILED)
    page.reload()
    first = page.locator(".release-overview").first
    assert first.locator(".release-covered").inner_text() == "1 of 2 requirements covered by tests"
    assert first.locator(".release-results").inner_text() == "1 failed"

    first.get_by_role("link", name="Traceability").click()
    assert page.locator("#matrix tbody tr").count() == 2
    assert "Checkout with a card" in page.locator(f"#requirement-{card.pk}").inner_text()
