"""Defaults and reasons (issue 19): whenever a member cannot do something with a tracker (create,
comment, authorize), the page says why and who can change it, from one selector (``refusal``) that
the filing form, the issue and case pages and the API's error bodies share; never a silent fallback."""

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations import selectors
from integrations.models import AuthType, IntegrationState, Provider, UserToken
from integrations.providers.base import Capability
from integrations.selectors import TrackerAction
from issues.links.models import ExternalReference
from issues.sync.models import DefectSync
from projects.models import Role
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    SourceFactory,
    TestCaseFactory,
    TestResultFactory,
    UserFactory,
    make_issue,
)

pytestmark = pytest.mark.django_db

CREATE, COMMENT, AUTHORIZE = TrackerAction.CREATE, TrackerAction.COMMENT, TrackerAction.AUTHORIZE


def jira(**fields):
    return SourceFactory(
        **{
            "name": "Acme Jira",
            "can_create_issues": True,
            "can_add_comments": True,
            "can_read_details": True,
            **fields,
        }
    )


def custom(**fields):
    return SourceFactory(
        **{
            "name": "Bugzilla",
            "provider": Provider.CUSTOM,
            "auth_type": AuthType.NONE,
            "credentials": {},
            "base_url": "https://bugs.example.com",
            "issue_url_template": "{baseUrl}/show_bug.cgi?id={key}",
            **fields,
        }
    )


def oauth_jira(**fields):
    return jira(auth_type=AuthType.OAUTH2, credentials={"client_id": "id", "client_secret": "secret"}, **fields)


# --- Each reason, in the words members read -------------------------------------------------------


def test_a_switched_off_capability_names_the_tracker_and_who_can_turn_it_on():
    source = jira(can_create_issues=False)
    why = selectors.refusal(source, CREATE)
    assert str(why) == "Creating Jira issues is turned off for Acme Jira: a site admin can turn it on."
    assert why.code == "capability_off"
    source.can_add_comments = False
    why = selectors.refusal(source, COMMENT)
    assert str(why) == "Commenting on Jira issues is turned off for Acme Jira: a site admin can turn it on."


@pytest.mark.parametrize(
    ("provider", "items"),
    [
        (Provider.GITHUB, "GitHub issues"),
        (Provider.GITLAB, "GitLab issues"),
        (Provider.AZURE_DEVOPS, "Azure DevOps work items"),
        (Provider.LINEAR, "Linear issues"),
    ],
)
def test_each_tracker_calls_its_items_by_their_name(provider, items):
    source = SourceFactory(
        name="T", provider=provider, auth_type=AuthType.PAT, credentials={"token": "t"}, can_create_issues=False
    )
    assert selectors.refusal(source, CREATE).reason == f"Creating {items} is turned off for T"


def test_a_disabled_source():
    why = selectors.refusal(jira(enabled=False), CREATE)
    assert (why.code, str(why)) == ("source_disabled", "Acme Jira is disabled: a site admin can enable it.")


def test_a_custom_tracker_without_a_create_url_template():
    why = selectors.refusal(custom(can_create_issues=True), CREATE)
    assert why.code == "no_create_template"
    assert str(why) == (
        "Bugzilla has no create URL template to open the tracker's form with: a site admin can add one."
    )
    assert (
        selectors.refusal(custom(name="B2", can_create_issues=True, create_url_template="{baseUrl}/new"), CREATE)
        is None
    )


def test_a_tracker_that_takes_no_comments_says_no_setting_changes_that():
    why = selectors.refusal(custom(), COMMENT)
    assert (why.code, why.who) == ("not_supported", "no setting changes that")


def test_an_archived_or_disconnected_assignment_names_the_project_admin():
    project = ProjectFactory(key="SHOP")
    archived = ProjectIntegrationFactory(project=project, source=jira(), state=IntegrationState.ARCHIVED)
    assert str(selectors.refusal(archived.source, CREATE, integration=archived)) == (
        "Acme Jira is archived in SHOP: a project admin can unarchive it."
    )
    archived.state = IntegrationState.DISCONNECTED
    assert selectors.refusal(archived.source, CREATE, integration=archived).code == "integration_disconnected"


def test_a_source_no_longer_scoped_to_the_project():
    project = ProjectFactory(key="SHOP")
    source = jira(all_projects=False)
    integration = ProjectIntegrationFactory(project=project, source=source)
    why = selectors.refusal(source, CREATE, integration=integration)
    assert (why.code, why.who) == ("source_out_of_scope", "a site admin can make it available")


def test_a_member_who_has_not_authorized_an_oauth_source():
    member = UserFactory()
    source = oauth_jira()
    why = selectors.refusal(source, CREATE, user=member)
    assert why.code == "authorization_required" and "you can authorize it" in why.who
    UserToken.objects.create(user=member, source=source, kind="oauth2", access_token="tok")
    assert selectors.refusal(source, CREATE, user=member) is None


def test_authorizing_a_shared_credential_source_or_without_filing_anywhere():
    member = UserFactory()
    shared = selectors.refusal(jira(name="Shared Jira"), AUTHORIZE, user=member)
    assert (shared.code, shared.who) == ("shared_credential", "a site admin can switch it to OAuth 2.0")
    server = SourceFactory(name="DC", provider=Provider.JIRA_SERVER, auth_type=AuthType.PAT, credentials={"token": "t"})
    assert selectors.refusal(server, AUTHORIZE, user=member).who == "no setting changes that"
    source = oauth_jira()
    assert selectors.refusal(source, AUTHORIZE, user=member).code == "not_a_filer"
    project = ProjectFactory()
    ProjectIntegrationFactory(project=project, source=source)
    MembershipFactory(project=project, user=member, role=Role.MEMBER)
    assert selectors.refusal(source, AUTHORIZE, user=member) is None


def test_nothing_stands_in_the_way_of_a_fully_switched_on_source():
    source = jira()
    assert selectors.refusal(source, CREATE) is None and selectors.refusal(source, COMMENT) is None


@pytest.mark.parametrize("provider", [Provider.JIRA_CLOUD, Provider.CUSTOM])
@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("switched_on", [True, False])
@pytest.mark.parametrize("template", ["", "{baseUrl}/new"])
def test_can_and_refusal_never_disagree(provider, enabled, switched_on, template):
    """One rule: a capability is usable exactly when no reason is given."""
    maker = custom if provider == Provider.CUSTOM else jira
    source = maker(
        enabled=enabled, can_create_issues=switched_on, can_add_comments=switched_on, create_url_template=template
    )
    for capability, action in ((Capability.CREATE_ISSUES, CREATE), (Capability.ADD_COMMENTS, COMMENT)):
        assert selectors.can(source, capability) == (selectors.refusal(source, action) is None)


# --- The pages say it ------------------------------------------------------------------------------


@pytest.fixture
def shop():
    project = ProjectFactory(key="SHOP")
    member = UserFactory()
    MembershipFactory(project=project, user=member, role=Role.MEMBER)
    integration = ProjectIntegrationFactory(project=project, source=jira(can_create_issues=False))
    return {"project": project, "member": member, "integration": integration}


REASON = "Creating Jira issues is turned off for Acme Jira: a site admin can turn it on."


def test_the_filing_form_says_why_instead_of_falling_back_to_an_internal_issue(client, shop):
    result = TestResultFactory(run__project=shop["project"], case__project=shop["project"])
    client.force_login(shop["member"])
    response = client.get(reverse("issues:file_issue", args=["SHOP"]) + f"?result={result.pk}")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="filing-unavailable"' in page and REASON in page
    assert 'id="file-internally"' in page  # the internal issue is still offered, as a choice


def test_without_any_tracker_the_filing_form_opens_an_internal_issue(client):
    project = ProjectFactory(key="SOLO")
    member = UserFactory()
    MembershipFactory(project=project, user=member, role=Role.MEMBER)
    result = TestResultFactory(run__project=project, case__project=project)
    client.force_login(member)
    response = client.get(reverse("issues:file_issue", args=["SOLO"]) + f"?result={result.pk}")
    assert response.status_code == 302 and "/issues/new/" in response["Location"]


def test_a_tracker_that_files_is_offered_and_the_other_one_explained(client, shop):
    ProjectIntegrationFactory(
        project=shop["project"], source=jira(name="Ops Jira"), external_project="OPS", is_primary=False
    )
    result = TestResultFactory(run__project=shop["project"], case__project=shop["project"])
    client.force_login(shop["member"])
    page = client.get(reverse("issues:file_issue", args=["SHOP"]) + f"?result={result.pk}").content.decode()
    assert "Not offered here:" in page and REASON in page


def test_the_issue_page_says_why_it_cannot_be_pushed(client, shop):
    issue = make_issue(shop["project"])
    client.force_login(shop["member"])
    page = client.get(reverse("issues:detail", args=["SHOP", issue.number])).content.decode()
    assert 'id="push-unavailable"' in page and REASON in page


def test_the_case_page_says_why_it_cannot_be_synced(client, shop):
    case = TestCaseFactory(project=shop["project"])
    client.force_login(shop["member"])
    page = client.get(reverse("projects:case", args=["SHOP", case.pk])).content.decode()
    assert 'id="case-sync-unavailable"' in page and REASON in page


def test_viewers_are_not_told_about_actions_they_cannot_take(client, shop):
    viewer = UserFactory()
    MembershipFactory(project=shop["project"], user=viewer, role=Role.VIEWER)
    case = TestCaseFactory(project=shop["project"])
    client.force_login(viewer)
    assert REASON not in client.get(reverse("projects:case", args=["SHOP", case.pk])).content.decode()


def test_a_defects_comments_say_they_stay_here_when_the_tracker_takes_none(client, shop):
    integration = shop["integration"]
    integration.sync_comments = True
    integration.save()
    integration.source.can_add_comments = False
    integration.source.save()
    issue = make_issue(shop["project"])
    reference = ExternalReference.objects.create(
        source=integration.source, source_name="Acme Jira", key="SHOP-7", url="", last_synced_at=timezone.now()
    )
    DefectSync.objects.create(
        issue=issue, reference=reference, integration=integration, synced_status="open", synced_priority="major"
    )
    client.force_login(shop["member"])
    page = client.get(reverse("issues:detail", args=["SHOP", issue.number])).content.decode()
    assert 'id="comment-refusal"' in page
    assert "Comments written here stay here: Commenting on Jira issues is turned off for Acme Jira" in page


def test_the_trackers_page_says_why_a_member_cannot_authorize(client):
    project = ProjectFactory(key="SHOP")
    member = UserFactory()
    MembershipFactory(project=project, user=member, role=Role.MEMBER)
    integration = ProjectIntegrationFactory(
        project=project, source=oauth_jira(), state=IntegrationState.DISCONNECTED, is_primary=False
    )
    client.force_login(member)
    page = client.get(reverse("integrations:list", args=["SHOP"])).content.decode()
    assert f'id="authorize-refusal-{integration.pk}"' in page
    assert "Acme Jira is disconnected from SHOP: a project admin can reconnect it." in page

    integration.state = IntegrationState.ACTIVE
    integration.save()
    page = client.get(reverse("integrations:list", args=["SHOP"])).content.decode()
    assert f'id="authorize-refusal-{integration.pk}"' not in page and f'id="authorize-{integration.pk}"' in page
