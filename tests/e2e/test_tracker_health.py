"""Health that tells the truth, in a real browser (issue 19): a project admin refreshes the project's
linked Jira issues from the Trackers page; when the fake Jira goes down, the health turns to error
with the reason, and "Refresh now" reports the failures in the warning style, not a green banner."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from issues.links.models import ExternalReference
from issues.links.services import link
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, ProjectIntegrationFactory, TestResultFactory, UserFactory
from tests.issues.sync_support import jira_cloud_source

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e, pytest.mark.usefixtures("trackers_on_loopback")]

AMBER = "rgb(254, 243, 199)"  # .messages li.warning
GREEN = "rgb(220, 252, 231)"  # .messages li.success


def test_health_turns_to_error_when_jira_goes_down_and_refresh_now_reports_the_failures(page, log_in, fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    for title in ("Checkout crashes", "Cart empties"):
        fake_jira_cloud.add_issue("SHOP", title, status="In Progress")
    project = ProjectFactory(key="SHOP", name="Web shop")
    source = jira_cloud_source(fake_jira_cloud, name="Acme Jira", can_process_webhooks=False)
    integration = ProjectIntegrationFactory(project=project, source=source)
    result = TestResultFactory(run__project=project, case__project=project)
    for key in ("SHOP-1", "SHOP-2"):
        reference = ExternalReference.objects.create(
            source=source, source_name=source.name, key=key, url="", last_synced_at=timezone.now()
        )
        link(artefact=result, reference=reference)
    admin = UserFactory()
    MembershipFactory(project=project, user=admin, role=Role.ADMIN)
    log_in(admin)

    page.goto("/projects/SHOP/integrations/")
    health = page.locator(f"#health-{integration.pk} .source-health")
    expect(health).to_have_attribute("data-health", "unchecked")

    page.click(f"#refresh-{integration.pk}")
    message = page.locator(".messages li")
    expect(message).to_have_text("Acme Jira: 2 of 2 linked issue(s) refreshed.")
    assert message.evaluate("node => getComputedStyle(node).backgroundColor") == GREEN
    expect(health).to_have_attribute("data-health", "healthy")

    fake_jira_cloud.stop()  # Jira goes down
    page.click(f"#refresh-{integration.pk}")

    expect(message).to_have_text(re.compile(r"^Acme Jira: 0 of 2 linked issue\(s\) refreshed, 2 failed: .+"))
    expect(message).to_have_class("warning")
    assert message.evaluate("node => getComputedStyle(node).backgroundColor") == AMBER
    expect(health).to_have_attribute("data-health", "error")
    expect(health.locator(".badge")).to_have_text("Error")
    expect(health.locator(".health-reason")).not_to_be_empty()

    # The artefact page says so too, and keeps the last known values.
    page.goto(f"/projects/SHOP/runs/{result.run.pk}/results/{result.pk}/")
    expect(page.locator(".tracker-health-error")).to_contain_text("Acme Jira is in error:")
