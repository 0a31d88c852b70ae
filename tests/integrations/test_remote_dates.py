"""Every provider reads when the tracker says an issue was created and resolved, from the fields the
tracker documents (Jira ``created``/``resolutiondate``, GitHub and GitLab ``created_at``/``closed_at``,
Azure DevOps ``System.CreatedDate`` and ``Microsoft.VSTS.Common.ResolvedDate``/``ClosedDate``, Linear
``createdAt`` and ``completedAt``/``canceledAt``); an issue not resolved has no resolution date."""

from datetime import UTC, datetime

import pytest

from integrations.providers import provider_for
from tests.fakes.fixtures import GITHUB_LOGIN, GITLAB_USERNAME
from tests.fakes.gitlab import DEVELOPER
from tests.issues.sync_support import (
    azure_devops_source,
    github_source,
    gitlab_source,
    jira_cloud_source,
    linear_source,
)

pytestmark = pytest.mark.django_db

CREATED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
RESOLVED = datetime(2026, 3, 5, 17, 45, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


def fetched(source, *keys):
    found = provider_for(source).fetch_many(keys)
    return [(found.issues[key].created_at, found.issues[key].resolved_at) for key in keys]


def test_jira_reads_created_and_resolutiondate(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Fixed", status="Done", created=CREATED, updated=RESOLVED)
    fake_jira_cloud.add_issue("SHOP", "Still broken", created=CREATED)

    assert fetched(jira_cloud_source(fake_jira_cloud), "SHOP-1", "SHOP-2") == [(CREATED, RESOLVED), (CREATED, None)]


def test_github_reads_created_at_and_closed_at(fake_github):
    fake_github.add_repo("acme/shop")
    fake_github.grant("acme/shop", GITHUB_LOGIN, "write")
    fake_github.add_issue("acme/shop", "Fixed", author=GITHUB_LOGIN, state="closed", created=CREATED)
    fake_github.edit_issue("acme/shop", 1, closed=RESOLVED)
    fake_github.add_issue("acme/shop", "Still broken", author=GITHUB_LOGIN, created=CREATED)

    assert fetched(github_source(fake_github), "acme/shop#1", "acme/shop#2") == [(CREATED, RESOLVED), (CREATED, None)]


def test_gitlab_reads_created_at_and_closed_at(fake_gitlab):
    fake_gitlab.add_project("acme/web")
    fake_gitlab.add_member("acme/web", GITLAB_USERNAME, DEVELOPER)
    fake_gitlab.add_issue("acme/web", "Fixed", author=GITLAB_USERNAME, state="closed", created=CREATED)
    fake_gitlab.edit_issue("acme/web", 1, closed=RESOLVED)
    fake_gitlab.add_issue("acme/web", "Still broken", author=GITLAB_USERNAME, created=CREATED)

    assert fetched(gitlab_source(fake_gitlab), "acme/web#1", "acme/web#2") == [(CREATED, RESOLVED), (CREATED, None)]


def test_azure_devops_reads_the_created_and_resolved_or_closed_dates(fake_azure_devops):
    fake_azure_devops.add_project("Fabrikam")
    resolved = fake_azure_devops.add_work_item(
        "Fabrikam", "Bug", "Fixed", state="Resolved", changed=CREATED, Microsoft_VSTS_Common_ResolvedDate=RESOLVED
    )
    closed = fake_azure_devops.add_work_item(
        "Fabrikam", "Task", "Done", state="Closed", changed=CREATED, Microsoft_VSTS_Common_ClosedDate=RESOLVED
    )
    active = fake_azure_devops.add_work_item("Fabrikam", "Bug", "Still broken", state="Active", changed=CREATED)

    assert fetched(azure_devops_source(fake_azure_devops), str(resolved.id), str(closed.id), str(active.id)) == [
        (CREATED, RESOLVED),
        (CREATED, RESOLVED),
        (CREATED, None),
    ]


def test_linear_reads_created_at_and_completed_or_canceled_at(fake_linear):
    fake_linear.add_team("ENG", "Engineering")
    for title in ("Fixed", "Won't fix", "Still broken"):
        fake_linear.add_issue("ENG", title)
    completed = fake_linear.edit_issue("ENG-1", state="Done")
    canceled = fake_linear.edit_issue("ENG-2", state="Canceled")
    created = [fake_linear.issue(key).created_at for key in ("ENG-1", "ENG-2", "ENG-3")]

    assert fetched(linear_source(fake_linear), "ENG-1", "ENG-2", "ENG-3") == [
        (created[0], completed.completed_at),
        (created[1], canceled.canceled_at),
        (created[2], None),
    ]
    assert completed.completed_at is not None and canceled.canceled_at is not None
