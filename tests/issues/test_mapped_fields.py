"""``fields_for``, the one function every path that creates or edits a tracker issue reads the field
mappings through: constants as they are, placeholders filled from the artefact, and user fields mapped to
a testmanager user matched to a tracker account (e-mail address, then display name, else left to the
account filing, with a note). Against the fake Jira Cloud's user search over real HTTP."""

import pytest

from integrations import field_mappings as fm
from integrations.models import AuthType, Provider
from integrations.providers import provider_for
from issues.filing.mapped import facts_of, fields_for
from issues.filing.services import prefill
from projects.models import ResultStatus
from tests.factories import (
    ProjectFactory,
    ProjectIntegrationFactory,
    SourceFactory,
    TagFactory,
    TestResultFactory,
    UserFactory,
    make_issue,
)
from tests.fakes.fixtures import (
    ADO_LOGIN,
    ADO_PAT,
    CLOUD_LOGIN,
    GITHUB_LOGIN,
    GITHUB_TOKEN,
    GITLAB_PAT,
    GITLAB_USERNAME,
    LINEAR_API_KEY,
)
from tests.fakes.gitlab import DEVELOPER
from tests.issues.filing_support import jira_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]


@pytest.fixture
def jira(fake_jira_cloud):
    world = jira_world(fake_jira_cloud, ProjectFactory(key="SHOP"))
    tester = fake_jira_cloud.add_field("SHOP", "Bug", "Tester", "user")
    world.integration.field_mappings = {
        "defect": {
            "fields": {
                tester.field_id: {"source": "value", "value": "{issue.assignee}"},
                "labels": {"source": "value", "value": "{issue.tags}, from-testmanager"},
                world.environment: {"source": "constant", "value": "Staging"},
            }
        }
    }
    world.integration.save()
    world.tester = tester.field_id
    return world


def remote_fields(jira):
    return provider_for(jira.source).fields("SHOP", "Bug")


def test_a_result_fills_every_placeholder_it_has():
    result = TestResultFactory(
        run__name="Nightly", run__environment="Chrome 120", case__title="Pay", case__folder="Checkout",
        comment="Spinner forever", status=ResultStatus.FAILED,
    )  # fmt: skip
    facts = facts_of(result)
    assert {name: facts[name] for name in ("case.title", "case.folder", "run.name", "run.environment")} == {
        "case.title": "Pay",
        "case.folder": "Checkout",
        "run.name": "Nightly",
        "run.environment": "Chrome 120",
    }
    assert facts["result.comment"] == "Spinner forever" and facts["result.status"] == "Failed"
    assert set(facts) <= set(fm.PLACEHOLDERS)


def test_the_assignee_is_matched_by_e_mail_address(jira):
    account = jira.fake.add_user("mia@example.com", display_name="Mia M.")
    tag = TagFactory(project=jira.integration.project, name="checkout")
    issue = make_issue(jira.integration.project, assignee=UserFactory(email="mia@example.com"), tags=[tag])
    mapped = fields_for(jira.integration, fm.DEFECT, issue, remote_fields(jira), actor=None)
    assert mapped.values[jira.tester] == account.account_id
    assert mapped.values["labels"] == ["checkout", "from-testmanager"]
    assert mapped.values[jira.environment] == "Staging"
    assert mapped.notes == ()


def test_then_by_display_name(jira):
    account = jira.fake.add_user("mia.tester@corp.example", display_name="Mia Tester")
    person = UserFactory(email="mia@home.example", first_name="Mia", last_name="Tester")
    issue = make_issue(jira.integration.project, assignee=person)
    mapped = fields_for(jira.integration, fm.DEFECT, issue, remote_fields(jira), actor=None)
    assert mapped.values[jira.tester] == account.account_id


def test_a_user_without_an_account_falls_back_to_the_credentials_owner_with_a_note_and_a_remark(jira):
    owner = jira.fake.users[CLOUD_LOGIN]
    issue = make_issue(jira.integration.project, assignee=UserFactory(email="nobody@example.com", first_name="No"))
    mapped = fields_for(jira.integration, fm.DEFECT, issue, remote_fields(jira), actor=None)
    assert mapped.values[jira.tester] == owner.account_id
    (note,) = mapped.notes
    assert note.startswith("Tester: ") and f"names the account filing the issue, {owner.display_name}" in note
    (remark,) = mapped.remarks
    assert "the issue's assignee No" in remark and owner.display_name in remark


def test_without_the_credentials_owner_the_field_is_left_to_the_tracker_with_a_note(jira):
    jira.fake.fail_next(503, {"errorMessages": ["Down for maintenance"]}, count=10, method="GET", path=r".*/myself")
    issue = make_issue(jira.integration.project, assignee=UserFactory(email="nobody@example.com", first_name="No"))
    mapped = fields_for(jira.integration, fm.DEFECT, issue, remote_fields(jira), actor=None)
    assert jira.tester not in mapped.values and mapped.remarks == ()
    (note,) = mapped.notes
    assert "left to the account filing the issue" in note


def test_a_match_by_e_mail_address_or_name_adds_no_remark(jira):
    jira.fake.add_user("mia@example.com", display_name="Mia M.")
    issue = make_issue(jira.integration.project, assignee=UserFactory(email="mia@example.com"))
    assert fields_for(jira.integration, fm.DEFECT, issue, remote_fields(jira)).remarks == ()


class OtherTrackersTests:
    """GitLab searches a project's members by name, username or e-mail address; GitHub matches the
    repository's assignable logins; both fill their assignees field from the match."""

    def test_gitlab_matches_a_member_by_e_mail_address(self, fake_gitlab):
        fake_gitlab.add_project("acme/web")
        fake_gitlab.add_member("acme/web", GITLAB_USERNAME, DEVELOPER)
        fake_gitlab.add_user("mia", "Mia Tester")
        fake_gitlab.add_member("acme/web", "mia", DEVELOPER)
        integration = connected(Provider.GITLAB, fake_gitlab.web_url, {"token": GITLAB_PAT}, "acme/web")
        issue = make_issue(integration.project, assignee=UserFactory(email="mia@example.com", username="m.t"))
        fields = provider_for(integration.source).fields("acme/web", "issue")
        assert fields_for(integration, fm.DEFECT, issue, fields).values["assignees"] == ["mia"]

    def test_azure_devops_matches_an_identity_by_e_mail_address_then_display_name(self, fake_azure_devops):
        fake_azure_devops.add_project("Fabrikam")
        fake_azure_devops.add_user("mia@fabrikam.example", "Mia Tester")
        integration = connected(
            Provider.AZURE_DEVOPS, fake_azure_devops.base_url, {"token": ADO_PAT}, "Fabrikam", "System.AssignedTo"
        )
        fields = provider_for(integration.source).fields("Fabrikam", "Bug")
        by_mail = make_issue(integration.project, assignee=UserFactory(email="mia@fabrikam.example"))
        by_name = make_issue(
            integration.project, assignee=UserFactory(email="mia@home.example", first_name="Mia", last_name="Tester")
        )
        assert fields_for(integration, fm.DEFECT, by_mail, fields).values["System.AssignedTo"] == "mia@fabrikam.example"
        assert fields_for(integration, fm.DEFECT, by_name, fields).values["System.AssignedTo"] == "mia@fabrikam.example"
        (identities,) = {r.path for r in fake_azure_devops.requests_to("GET", r"(?i)/_apis/identities")}
        assert identities.endswith("/_apis/identities")

    def test_azure_devops_falls_back_to_the_tokens_identity(self, fake_azure_devops):
        fake_azure_devops.add_project("Fabrikam")
        integration = connected(
            Provider.AZURE_DEVOPS, fake_azure_devops.base_url, {"token": ADO_PAT}, "Fabrikam", "System.AssignedTo"
        )
        fields = provider_for(integration.source).fields("Fabrikam", "Bug")
        issue = make_issue(integration.project, assignee=UserFactory(email="nobody@example.com"))
        mapped = fields_for(integration, fm.DEFECT, issue, fields)
        assert mapped.values["System.AssignedTo"] == ADO_LOGIN and len(mapped.remarks) == 1

    @pytest.mark.parametrize("tracker", ["github", "gitlab", "linear"])
    def test_each_tracker_names_the_credentials_owner(self, request, tracker):
        fake = request.getfixturevalue(f"fake_{tracker}")
        provider = provider_for(
            SourceFactory(
                provider=tracker,
                base_url=getattr(fake, "web_url", fake.base_url) if tracker != "linear" else fake.base_url,
                allow_http=True,
                auth_type=AuthType.PAT,
                credentials={
                    "token": {"github": GITHUB_TOKEN, "gitlab": GITLAB_PAT, "linear": LINEAR_API_KEY}[tracker]
                },
            )
        )
        owner = provider.owner_account()
        assert owner.id and owner.name
        if tracker == "github":
            assert owner.id == GITHUB_LOGIN
        if tracker == "gitlab":
            assert owner.id == GITLAB_USERNAME

    def test_github_matches_an_assignable_login_by_user_name(self, fake_github):
        fake_github.add_repo("acme/shop")
        fake_github.grant("acme/shop", GITHUB_LOGIN, "write")
        fake_github.add_user("mia-t", "Mia Tester")
        fake_github.grant("acme/shop", "mia-t", "write")
        integration = connected(Provider.GITHUB, fake_github.web_url, {"token": GITHUB_TOKEN}, "acme/shop")
        issue = make_issue(integration.project, assignee=UserFactory(email="mia@example.com", username="mia-t"))
        fields = provider_for(integration.source).fields("acme/shop", "issue")
        assert fields_for(integration, fm.DEFECT, issue, fields).values["assignees"] == ["mia-t"]


def connected(provider, base_url, credentials, project, field="assignees"):
    source = SourceFactory(
        provider=provider, base_url=base_url, allow_http=True, auth_type=AuthType.PAT, credentials=credentials
    )
    mappings = {"defect": {"fields": {field: {"source": "value", "value": "{issue.assignee}"}}}}
    return ProjectIntegrationFactory(source=source, external_project=project, field_mappings=mappings)


def test_the_filing_form_starts_with_the_severity_of_a_new_defect(jira):
    """Filing from a failure: the form's Severity field starts with what the severity table gives the
    default defect priority (major), here through the table; the tracker's own values are offered."""
    severity = jira.fake.add_field("SHOP", "Bug", "Severity", "select", options=("S1", "S2", "S3"))
    jira.integration.field_mappings = {**jira.integration.field_mappings, "severity": {"S2": "major", "S1": "blocker"}}
    jira.integration.save()
    result = TestResultFactory(run__project=jira.integration.project, status=ResultStatus.FAILED)

    values = prefill(jira.integration, remote_fields(jira), result)

    assert values[severity.field_id] == "S2"
