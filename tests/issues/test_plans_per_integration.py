"""Plans per integration (issue 19, from Katalon's and TestKase's setup): a project admin chooses,
saved on each project integration, which trackers' releases and sprints the Plans page shows and
syncs; an archived integration's plans disappear from Plans and come back on unarchive."""

from datetime import date

import pytest
from django.utils import timezone

from integrations import services
from integrations.models import IntegrationState
from issues.pulls import plans, runner
from issues.pulls.models import Plan, PlanKind, PullSettings
from issues.pulls.requirements import settings_of
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, ProjectIntegrationFactory, SourceFactory, UserFactory
from tests.issues.test_plans import jira  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]


def a_plan(integration, name):
    return Plan.objects.create(
        project=integration.project,
        integration=integration,
        kind=PlanKind.RELEASE,
        remote_id=name,
        name=name,
        end=date(2025, 6, 30),
        pulled_at=timezone.now(),
    )


@pytest.fixture
def two_trackers():
    project = ProjectFactory(key="SHOP")
    jira_integration = ProjectIntegrationFactory(project=project, source=SourceFactory(name="Acme Jira"))
    other = ProjectIntegrationFactory(project=project, source=SourceFactory(name="Ops Jira"), external_project="OPS")
    a_plan(jira_integration, "Shop 2.0")
    a_plan(other, "Ops Q3")
    admin = UserFactory()
    MembershipFactory(project=project, user=admin, role=Role.ADMIN)
    return {"project": project, "jira": jira_integration, "other": other, "admin": admin}


def plans_page(client):
    return client.get("/projects/SHOP/plans/").content.decode()


def test_every_trackers_plans_are_shown_until_an_admin_chooses(client, two_trackers):
    client.force_login(two_trackers["admin"])
    page = plans_page(client)
    assert "Shop 2.0" in page and "Ops Q3" in page
    assert 'id="plan-trackers"' in page


def test_an_admin_chooses_which_trackers_plans_are_shown_saved_per_integration(client, two_trackers):
    client.force_login(two_trackers["admin"])
    response = client.post("/projects/SHOP/plans/trackers/", {"shown": [two_trackers["jira"].pk]})

    assert response.status_code == 302
    page = plans_page(client)
    assert "Shop 2.0" in page and "Ops Q3" not in page
    assert PullSettings.objects.get(integration=two_trackers["jira"]).plans is True
    assert PullSettings.objects.get(integration=two_trackers["other"]).plans is False
    assert Plan.objects.filter(name="Ops Q3").exists()  # hidden, not deleted

    client.post("/projects/SHOP/plans/trackers/", {"shown": [two_trackers["jira"].pk, two_trackers["other"].pk]})
    assert "Ops Q3" in plans_page(client)


def test_an_unchosen_trackers_plans_are_not_synced(jira):  # noqa: F811
    integration = jira.integration
    settings = settings_of(integration)
    settings.plans = False
    settings.save()

    outcomes = runner.pull_integration(integration)

    assert [outcome["what"] for outcome in outcomes] == ["requirements"]
    assert not Plan.objects.exists()
    settings.plans = True
    settings.save()
    assert [outcome["what"] for outcome in runner.pull_integration(integration)] == [
        "requirements",
        "releases and sprints",
    ]
    assert Plan.objects.count() == 3


def test_an_archived_integrations_plans_disappear_and_come_back_on_unarchive(client, two_trackers):
    client.force_login(two_trackers["admin"])
    other = two_trackers["other"]

    services.change_integration_state(other, "archive", actor=two_trackers["admin"])
    archived = plans_page(client)
    services.change_integration_state(other, "unarchive", actor=two_trackers["admin"])
    back = plans_page(client)

    assert "Ops Q3" not in archived and "Shop 2.0" in archived
    assert "Ops Q3" in back
    assert f'value="{other.pk}"' not in archived  # nothing to choose for an archived tracker


def test_a_disconnected_integrations_plans_stay(client, two_trackers):
    client.force_login(two_trackers["admin"])
    services.change_integration_state(two_trackers["other"], "disconnect", actor=two_trackers["admin"])
    assert two_trackers["other"].state == IntegrationState.DISCONNECTED
    assert "Ops Q3" in plans_page(client)


def test_members_may_not_choose_and_another_projects_integration_is_ignored(client, two_trackers):
    member = UserFactory()
    MembershipFactory(project=two_trackers["project"], user=member, role=Role.MEMBER)
    client.force_login(member)
    assert 'id="plan-trackers"' not in plans_page(client)
    assert client.post("/projects/SHOP/plans/trackers/", {"shown": []}).status_code == 403
    assert not PullSettings.objects.filter(plans=False).exists()

    stranger = ProjectIntegrationFactory(project=ProjectFactory(key="ELSE"))
    a_plan(stranger, "Else 1.0")
    client.force_login(two_trackers["admin"])
    client.post("/projects/SHOP/plans/trackers/", {"shown": [stranger.pk]})
    assert not PullSettings.objects.filter(integration=stranger).exists()
    assert plans.shows_plans(stranger)
