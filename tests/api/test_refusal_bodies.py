"""The API's error bodies give the same reason and who can change it as the pages (issue 19)."""

import pytest

from integrations.models import ProjectIntegration
from tests.issues.filing_support import jira_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (
            {"can_create_issues": False},
            "capability_off",
            "Creating Jira issues is turned off for Acme Jira: a site admin can turn it on.",
        ),
    ],
)
def test_create_issue_refused_by_a_setting_says_why_with_a_409(
    client_as, world, fake_jira_cloud, change, code, message
):
    jira = jira_world(fake_jira_cloud, world.project)
    for name, value in change.items():
        setattr(jira.source, name, value)
    jira.source.save()

    response = client_as("member").post(
        f"/api/integrations/{jira.integration.pk}/create-issue",
        {"artefacts": [{"type": "result", "id": world.mine.result.pk}]},
        format="json",
    )

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "refused" and body["message"] == message
    assert body["refusal"] == {
        "code": code,
        "reason": message.split(": ")[0],
        "who": "a site admin can turn it on",
        "message": message,
    }
    assert fake_jira_cloud.requests == [] and len(fake_jira_cloud.issues) == 0
    assert ProjectIntegration.objects.count() == 1
