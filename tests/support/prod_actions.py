"""Steps of the production smoke test run inside the stack's own Django (`ProdStack.run`):
who the people are, and the tracker steps that go through services rather than a page.

Filing a Jira issue from a failure and refreshing it use the services the issues and
integrations apps offer (provider, `store_reference`, `link`): the member page that files an
issue and the webhook endpoint are being built alongside this test.
"""

from django.contrib.auth import get_user_model

from integrations.models import ProjectIntegration
from integrations.providers import provider_for
from integrations.providers.base import IssueDraft
from issues.services import link, store_reference
from projects.models import Membership, Project, Role, TestResult


def seed(password: str) -> None:
    """A system admin `root`, and project SHOP with its admin `lead` and member `mia`."""
    users = get_user_model().objects
    users.create_superuser("root", "root@example.com", password)
    project = Project.objects.create(key="SHOP", name="Web shop")
    for username, role in (("lead", Role.ADMIN), ("mia", Role.MEMBER)):
        Membership.objects.create(project=project, user=users.create_user(username, password=password), role=role)


def file_jira_issue(result_id: int, username: str) -> None:
    """File a bug for a failed result in the project's primary tracker, link it; print its key."""
    result = TestResult.objects.select_related("run__project", "case").get(pk=result_id)
    integration = ProjectIntegration.objects.select_related("source").get(project=result.run.project, is_primary=True)
    remote = provider_for(integration.source).create_issue(IssueDraft(
        project=integration.external_project, issue_type=integration.default_issue_type,
        title=f"{result.case.title} failed in {result.run.name}", description=result.comment,
    ))
    reference = store_reference(integration.source, remote, synced=False)
    link(artefact=result, reference=reference, actor=get_user_model().objects.get(username=username))
    print(remote.key)


def refresh(key: str) -> None:
    """Read the linked issue's current state from its tracker into the cached reference."""
    integration = ProjectIntegration.objects.select_related("source").get(is_primary=True)
    fetched = provider_for(integration.source).fetch_many([key])
    store_reference(integration.source, fetched.issues[key])
