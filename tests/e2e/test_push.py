"""Pushing a defect with an attachment to the fake Jira Cloud in a real browser, then keeping it in step
both ways: its priority changed here reaches Jira, a label added in Jira becomes a tag here (labels sync
on), and Jira closing it (its webhook) closes it here."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from playwright.sync_api import expect

from integrations.mappings import default_priority_mapping, default_status_mapping
from issues.core.services import tags_by_name
from issues.links.services import link
from issues.sync.models import DefectSync
from projects.models import ResultStatus, Role
from tests.factories import MembershipFactory, ProjectFactory, ProjectIntegrationFactory, TestResultFactory, make_issue
from tests.fakes.jira import plain_text
from tests.issues.sync_support import SECRET, jira_cloud_source, post

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.e2e,
    pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache"),
]


def test_a_defect_pushed_to_jira_stays_in_step_both_ways(page, log_in, fake_jira_cloud):
    project = ProjectFactory(key="SHOP", name="Web shop")
    fake_jira_cloud.add_project("SHOP", issue_types=("Bug", "Task"))
    source = jira_cloud_source(fake_jira_cloud, name="Acme Jira", can_create_issues=True, issue_url_template="")
    ProjectIntegrationFactory(
        project=project,
        source=source,
        external_project="SHOP",
        default_issue_type="Bug",
        is_primary=True,
        priority_mapping=default_priority_mapping(),
        status_mapping=default_status_mapping(),
        sync_defects=True,
        push_defect_changes=True,
        sync_labels=True,
    )
    issue = make_issue(project, name="Card payments time out", description="Pay with a **Visa** card.")
    issue.tags.set(tags_by_name(project, ["checkout"]))
    result = TestResultFactory(run__project=project, case__title="Pay with card", status=ResultStatus.FAILED)
    link(artefact=result, issue=issue)
    log_in(MembershipFactory(project=project, role=Role.MEMBER).user)

    page.goto(f"/projects/SHOP/issues/{issue.number}/")
    page.get_by_label("Files to attach").set_input_files(
        {"name": "timeout.log", "mimeType": "text/plain", "buffer": b"POST /pay -> 504 after 30 s\n"}
    )
    page.get_by_role("button", name="Attach", exact=True).click()
    expect(page.locator("#attachments")).to_contain_text("timeout.log")
    page.get_by_role("link", name="Push to Acme Jira").click()
    assert page.locator("#push-title").inner_text() == "Card payments time out"
    assert page.locator("#push-labels").inner_text() == "checkout"
    assert "Pay with card" in page.locator("#push-description").inner_text()
    page.get_by_role("button", name="Push to Acme Jira").click()

    assert "Pushed to Acme Jira as SHOP-1" in page.locator("body").inner_text()
    assert "Kept in step with SHOP-1" in page.locator("#kept-in-step").inner_text()
    remote = fake_jira_cloud.issue("SHOP-1")
    assert (remote.summary, remote.priority, remote.labels) == ("Card payments time out", "Medium", ["checkout"])
    assert "Pay with a Visa card." in plain_text(remote.description)
    assert f"/projects/SHOP/issues/{issue.number}/" in json.dumps(remote.description)  # the link back
    (upload,) = fake_jira_cloud.requests_to("POST", r"/rest/api/3/issue/SHOP-1/attachments")
    assert upload.headers.get("X-Atlassian-Token") == "no-check"
    assert [(file.filename, file.content) for file in remote.attachments] == [
        ("timeout.log", b"POST /pay -> 504 after 30 s\n")
    ]

    page.get_by_role("link", name="Edit").click()
    page.select_option("#id_priority", "critical")
    page.get_by_role("button", name="Save").click()
    assert page.locator("#issue-facts").get_by_text("Critical").count() == 1
    assert fake_jira_cloud.issue("SHOP-1").priority == "High"  # critical = High in the priority mapping

    labelled = fake_jira_cloud.edit_issue("SHOP-1", labels=["checkout", "payments"])
    labelled.updated += timedelta(seconds=1)
    assert post(Client(), source, fake_jira_cloud.issue_delivery("SHOP-1", secret=SECRET)).status_code == 200
    page.reload()
    expect(page.locator("#issue-tags")).to_contain_text("payments")

    closed = fake_jira_cloud.edit_issue("SHOP-1", status="Done")
    closed.updated += timedelta(seconds=1)  # later than the change made here
    assert post(Client(), source, fake_jira_cloud.issue_delivery("SHOP-1", secret=SECRET)).status_code == 200

    page.reload()
    assert page.locator("#issue-facts .badge").first.inner_text() == "Closed"
    assert DefectSync.objects.get(issue=issue).issue.status == "closed"
