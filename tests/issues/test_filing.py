"""Creating a tracker issue from a failure: the form built from the tracker's create screen and
prefilled from the failure and the integration's mappings, what is stored once the tracker created
the issue (and nothing before), field errors next to their fields, a retry that never files twice,
and what members see when creating cannot work yet. Against the fake Jira Cloud over real HTTP."""

import re
import threading
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from integrations.models import AuditAction, AuditEvent, AuthType, Provider, TokenKind, UserToken
from issues.filing import services
from issues.links.models import ExternalReference, Link
from projects.models import CaseField, ResultStatus, Role
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    RequirementFactory,
    SourceFactory,
    TestCaseFactory,
    TestResultFactory,
    UserFactory,
)
from tests.fakes.fixtures import ADO_OAUTH_TOKEN, ADO_PAT, LINEAR_API_KEY
from tests.issues.filing_support import CREATE_PATH, SEARCH_PATH, jira_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def member(client, project):
    user = MembershipFactory(
        project=project, role=Role.MEMBER, user__username="mia", user__first_name="Mia", user__last_name="Tester"
    ).user
    client.force_login(user)
    return user


@pytest.fixture
def jira(fake_jira_cloud, project):
    return jira_world(fake_jira_cloud, project)


@pytest.fixture
def result(project):
    return TestResultFactory(
        run__project=project,
        run__name="Nightly",
        run__environment="Chrome 120",
        case__title="Pay with card",
        case__steps=[{"action": "Open the cart", "expected": ""}, {"action": "Press Pay", "expected": "A receipt"}],
        comment="Spinner forever",
        status=ResultStatus.FAILED,
    )


def file_url(artefact_query, **query):
    extra = "".join(f"&{name}={value}" for name, value in query.items())
    return f"{reverse('issues:file_issue', args=['SHOP'])}?{artefact_query}{extra}"


def form_values(response) -> dict:
    """The values a browser would submit: every field of the form as rendered."""
    form = response.context["form"]
    values = {}
    for field in form:
        value = field.value()
        if value is not None:
            values[field.html_name] = value
    return values


def nothing_stored():
    return (
        not ExternalReference.objects.exists()
        and not Link.objects.exists()
        and not AuditEvent.objects.filter(action__in=[AuditAction.ISSUE_CREATED, AuditAction.ISSUE_LINKED]).exists()
    )


class FormTests:
    def test_the_form_is_prefilled_from_the_failure_and_the_mappings(self, client, member, jira, result):
        response = client.get(file_url(f"result={result.pk}"))
        assert response.status_code == 200
        form = response.context["form"]
        assert form["issue_type"].value() == response.context["discovery"].issue_type.id
        assert form["title"].value() == "Pay with card failed in Nightly"
        assert form["title"].label == "Summary"
        description = form["description"].value()
        for part in (
            "(Chrome 120)",
            "1. Open the cart",
            "A receipt",
            "Spinner forever",
            f"http://testserver/projects/SHOP/runs/{result.run_id}/results/{result.pk}/",
        ):
            assert part in description
        assert form["field_priority"].value() == "Medium"  # the default defect priority, major, maps to Medium
        environment = form[f"field_{jira.environment}"]
        assert environment.field.required and environment.field.choices[1:] == [
            ("Staging", "Staging"),
            ("Production", "Production"),
        ]
        assert '<span class="required" title="required">*</span>' in response.text
        assert "Acme Jira · SHOP" in response.text  # the primary tracker is chosen

    def test_field_mappings_fill_fields_by_name_with_the_failures_facts(self, client, member, jira, result):
        jira.integration.field_mappings = {"environment": "Staging", "Labels": ["{run}", "checkout"]}
        jira.integration.save()
        form = client.get(file_url(f"result={result.pk}")).context["form"]
        assert form[f"field_{jira.environment}"].value() == "Staging"
        assert form["field_labels"].value() == ["Nightly", "checkout"]

    def test_field_mappings_fill_the_cases_priority_type_and_custom_fields(self, client, member, jira, result):
        CaseField.objects.create(project=result.run.project, name="browser", label="Browser", kind="text")
        case = result.case
        case.priority, case.case_type = "critical", case.project.case_types.get(name="Regression")
        case.custom_fields = {"browser": "Firefox"}
        case.save()
        jira.integration.field_mappings = {"Labels": ["{priority}", "{type}", "{custom.browser}", "{custom.nope}x"]}
        jira.integration.save()
        form = client.get(file_url(f"result={result.pk}")).context["form"]
        assert form["field_labels"].value() == ["Critical", "Regression", "Firefox", "x"]

    def test_another_issue_type_brings_its_own_fields(self, client, member, jira, result):
        response = client.get(file_url(f"result={result.pk}", issue_type="Task"))
        assert response.context["discovery"].issue_type.name == "Task"
        assert f"field_{jira.environment}" not in response.context["form"].fields

    def test_a_test_case_a_requirement_and_a_run_get_their_own_drafts(self, client, member, jira, project, result):
        case = TestCaseFactory(project=project, title="Refund by card", preconditions="A paid order")
        requirement = RequirementFactory(
            project=project, title="Refunds within a day", priority="P0", description="Money back fast."
        )
        TestResultFactory(run=result.run, case__project=project, case__title="Refund", status=ResultStatus.BLOCKED)

        form = client.get(file_url(f"case={case.pk}")).context["form"]
        assert form["title"].value() == "Refund by card" and "A paid order" in form["description"].value()

        form = client.get(file_url(f"requirement={requirement.pk}")).context["form"]
        assert form["title"].value() == "Refunds within a day" and "Money back fast." in form["description"].value()
        assert form["field_priority"].value() == "Highest"  # P0 maps back to Highest

        form = client.get(file_url(f"run={result.run_id}")).context["form"]
        assert form["title"].value() == "2 tests failed in Nightly"
        assert "| Test case | Folder | Status | Actual result |" in form["description"].value()
        assert "| Blocked |" in form["description"].value()

    def test_user_fields_search_the_trackers_accounts(self, client, member, jira):
        jira.fake.add_user("alice@example.com", display_name="Alice Archer")
        jira.fake.add_user("bob@example.com", display_name="Bob Baker")
        url = reverse("issues:file_users", args=["SHOP"])
        found = client.get(url, {"to": jira.integration.pk, "q": "ali"}).json()
        assert [user["name"] for user in found["users"]] == ["Alice Archer"]
        assert found["users"][0]["id"] == jira.fake.users["alice@example.com"].account_id

    def test_linear_user_fields_search_the_workspace_members(self, client, member, project, fake_linear):
        fake_linear.add_team("ENG", "Engineering")
        alice = fake_linear.add_user("alice@example.com", "Alice Archer")
        fake_linear.add_user("bob@example.com", "Bob Baker")
        source = SourceFactory(
            provider=Provider.LINEAR,
            name="Linear",
            base_url=fake_linear.base_url,
            allow_http=True,
            auth_type=AuthType.PAT,
            credentials={"token": LINEAR_API_KEY},
            can_create_issues=True,
        )
        linear = ProjectIntegrationFactory(project=project, source=source, external_project="ENG")
        url = reverse("issues:file_users", args=["SHOP"])
        for text in ("ali", "ARCHER", "alice@"):
            found = client.get(url, {"to": linear.pk, "q": text}).json()
            assert found == {"users": [{"id": alice.id, "name": "Alice Archer"}], "message": ""}, text

    def test_azure_devops_accounts_are_found_through_its_identities(self, client, member, project, fake_azure_devops):
        fake_azure_devops.add_project("Fabrikam")
        fake_azure_devops.add_user("alice@fabrikam.example", "Alice Doe")
        source = SourceFactory(
            provider=Provider.AZURE_DEVOPS,
            name="Fabrikam ADO",
            base_url=fake_azure_devops.base_url,
            allow_http=True,
            auth_type=AuthType.PAT,
            credentials={"token": ADO_PAT},
        )
        ado = ProjectIntegrationFactory(project=project, source=source, external_project="Fabrikam")
        found = client.get(reverse("issues:file_users", args=["SHOP"]), {"to": ado.pk, "q": "Alice Doe"}).json()
        assert [user["id"] for user in found["users"]] == ["alice@fabrikam.example"]


class CreateTests:
    def test_a_required_field_left_empty_is_marked_and_nothing_is_sent_or_stored(self, client, member, jira, result):
        url = file_url(f"result={result.pk}")
        response = client.post(url, form_values(client.get(url)))
        assert response.status_code == 200
        assert response.context["form"].errors[f"field_{jira.environment}"] == ["This field is required."]
        assert jira.creates() == [] and nothing_stored()

    def test_submitting_creates_the_remote_issue_then_stores_links_audits_and_links_back(
        self, client, member, jira, result
    ):
        url = file_url(f"result={result.pk}")
        values = {**form_values(client.get(url)), f"field_{jira.environment}": "Production", "field_labels": "web"}
        response = client.post(url, values)

        assert response.status_code == 302
        assert response["Location"] == f"/projects/SHOP/runs/{result.run_id}/results/{result.pk}/#linked-issues"
        remote = jira.only_issue()
        assert remote.summary == "Pay with card failed in Nightly"
        assert remote.custom_fields[jira.environment]["value"] == "Production"
        assert remote.labels == ["web"] and remote.priority == "Medium"
        assert re.search(r"Filed from testmanager, ref tm[0-9a-f]{24}", jira.description_of(remote.key))
        assert "Spinner forever" in jira.description_of(remote.key)

        reference = ExternalReference.objects.get()
        assert (reference.source, reference.key, reference.title) == (jira.source, remote.key, remote.summary)
        assert reference.url == f"{jira.fake.base_url}/browse/{remote.key}"
        assert (reference.status, reference.status_category) == ("To Do", "todo")  # read back after creating
        assert Link.objects.get().test_result == result
        created = AuditEvent.objects.get(action=AuditAction.ISSUE_CREATED)
        assert (created.actor, created.source, created.project_key, created.target) == (
            member,
            jira.source,
            "SHOP",
            remote.key,
        )
        assert AuditEvent.objects.filter(action=AuditAction.ISSUE_LINKED, target=remote.key).exists()
        (remote_link,) = remote.remote_links
        page_url = f"http://testserver/projects/SHOP/runs/{result.run_id}/results/{result.pk}/"
        assert remote_link["object"]["url"] == page_url
        assert remote_link["object"]["summary"] == "Failed"

        page = client.get(response["Location"])
        assert f'href="{reference.url}"' in page.text and f">{remote.key} · Acme Jira</a>" in page.text
        assert f"{remote.key} is filed in Acme Jira" in page.text

    def test_the_trackers_field_errors_are_shown_next_to_the_fields_and_nothing_is_stored(
        self, client, member, jira, result
    ):
        url = file_url(f"result={result.pk}")
        values = {**form_values(client.get(url)), f"field_{jira.environment}": "Staging"}
        jira.fake.fail_next(
            400,
            {"errorMessages": [], "errors": {jira.environment: "Staging is frozen this week."}},
            method="POST",
            path=CREATE_PATH,
        )
        response = client.post(url, values)
        assert response.context["form"].errors[f"field_{jira.environment}"] == ["Staging is frozen this week."]
        assert jira.fake.issues == {} and nothing_stored()

    def test_a_lost_answer_is_looked_up_by_its_marker_instead_of_filing_twice(self, client, member, jira, result):
        url = file_url(f"result={result.pk}")
        values = {**form_values(client.get(url)), f"field_{jira.environment}": "Staging"}
        jira.fake.fail_next(504, "Gateway Timeout", method="POST", path=CREATE_PATH)
        response = client.post(url, values)
        assert "may have created the issue anyway" in response.text and nothing_stored()
        # Jira did create it behind the gateway that timed out:
        behind = jira.fake.add_issue(
            "SHOP",
            "Pay with card failed in Nightly",
            issue_type="Bug",
            description=f"Details\n\nFiled from testmanager, ref {values['marker']}",
        )

        response = client.post(url, form_values(response))
        assert response.status_code == 302
        assert len(jira.creates()) == 1  # only the attempt whose answer was lost
        assert len(jira.fake.requests_to("POST", SEARCH_PATH)) >= 1
        assert ExternalReference.objects.get().key == behind.key and Link.objects.get().test_result == result
        assert AuditEvent.objects.get(action=AuditAction.ISSUE_CREATED).details["found_by_marker"] is True

    def test_the_same_form_submitted_again_files_nothing_new(self, client, member, jira, result):
        url = file_url(f"result={result.pk}")
        values = {**form_values(client.get(url)), f"field_{jira.environment}": "Staging"}
        assert client.post(url, values).status_code == 302
        assert client.post(url, values).status_code == 302
        assert len(jira.fake.issues) == 1 and ExternalReference.objects.count() == 1 and Link.objects.count() == 1
        assert AuditEvent.objects.filter(action=AuditAction.ISSUE_CREATED).count() == 1

    def test_a_failed_link_back_is_a_note_the_issue_stays_filed(self, client, member, jira, result):
        url = file_url(f"result={result.pk}")
        values = {**form_values(client.get(url)), f"field_{jira.environment}": "Staging"}
        jira.fake.fail_next(
            403,
            {"errorMessages": ["You cannot link issues."], "errors": {}},
            method="POST",
            path=r"/rest/api/3/issue/[^/]+/remotelink",
        )
        response = client.post(url, values, follow=True)
        key = ExternalReference.objects.get().key
        assert Link.objects.get().test_result == result
        assert f"{key} does not show the link to" in response.text and "You cannot link issues." in response.text


class BlockedTests:
    def test_an_integration_naming_no_project_says_so_and_who_fixes_it(self, client, member, jira, project, result):
        MembershipFactory(project=project, role=Role.ADMIN, user__username="lead")
        jira.integration.external_project = ""
        jira.integration.save()
        response = client.get(file_url(f"result={result.pk}"))
        assert "form" not in response.context
        notice = response.text.split('id="tracker-problem"')[1].split("</div>")[0]
        assert "Acme Jira names no Jira project key, e.g. SHOP to file issues in." in notice
        assert "A project administrator of SHOP (lead) can fix this" in notice
        assert "Fix it now" not in notice  # a member cannot
        assert jira.fake.requests == []

    def test_a_project_admin_gets_the_link_to_fix_it(self, client, jira, project, result):
        admin = MembershipFactory(project=project, role=Role.ADMIN).user
        client.force_login(admin)
        jira.integration.external_project = ""
        jira.integration.save()
        response = client.get(file_url(f"result={result.pk}"))
        assert reverse("integrations:edit", args=["SHOP", jira.integration.pk]) in response.text

    def test_a_default_issue_type_jira_does_not_offer_is_pointed_out(self, client, member, jira, result):
        jira.integration.default_issue_type = "Defect"
        jira.integration.save()
        response = client.get(file_url(f"result={result.pk}"))
        assert "The project's default issue type “Defect” is not offered by Acme Jira" in response.text
        assert response.context["form"]["issue_type"].value() == ""

    def test_rejected_credentials_point_at_the_integration_administrators(self, client, member, jira, result):
        jira.source.credentials = {"email": "automation@example.com", "api_token": "wrong"}
        jira.source.save()
        response = client.get(file_url(f"result={result.pk}"))
        assert "An administrator of integrations can fix this" in response.text
        assert "wrong" not in response.text

    def test_an_oauth_source_asks_a_member_to_authorize_first(self, client, member, jira, result):
        jira.source.auth_type = AuthType.OAUTH2
        jira.source.credentials = {"client_id": "app", "client_secret": "app-secret"}
        jira.source.save()
        response = client.get(file_url(f"result={result.pk}"))
        assert "Authorize your Acme Jira account first." in response.text
        authorize = re.search(r'href="(/api/auth/jira_cloud/login/\?[^"]+)"', response.text).group(1)
        assert parse_qs(urlsplit(authorize.replace("&amp;", "&")).query)["source"] == [str(jira.source.uuid)]
        assert jira.fake.requests == []

    def test_a_required_field_testmanager_cannot_fill_is_named_and_nothing_is_sent(
        self, client, member, project, result, fake_azure_devops
    ):
        fake_azure_devops.add_project("Fabrikam")
        fake_azure_devops.add_field("Fabrikam", "Bug", "Custom.Regression", "Regression", "boolean", required=True)
        source = SourceFactory(
            provider=Provider.AZURE_DEVOPS,
            name="Fabrikam ADO",
            base_url=fake_azure_devops.base_url,
            allow_http=True,
            auth_type=AuthType.PAT,
            credentials={"token": ADO_PAT},
            can_create_issues=True,
        )
        ProjectIntegrationFactory(project=project, source=source, external_project="Fabrikam", is_primary=True)
        url = file_url(f"result={result.pk}")
        response = client.post(url, form_values(client.get(url)))
        assert response.context["form"].non_field_errors() == [
            "Fabrikam ADO requires Regression, which testmanager cannot fill: ask the Fabrikam ADO administrators to "
            "give it a default value or take it off the create screen."
        ]
        assert fake_azure_devops.requests_to("POST", r".*/workitems/\$Bug") == [] and nothing_stored()

    def test_a_member_whose_authorization_was_refused_is_asked_to_authorize_again(self, client, member, jira, result):
        jira.source.auth_type = AuthType.OAUTH2
        jira.source.credentials = {"client_id": "app", "client_secret": "app-secret"}
        jira.source.save()
        UserToken.objects.create(
            user=member,
            source=jira.source,
            kind=TokenKind.OAUTH2,
            access_token="revoked",
            last_error="Jira refused to renew the authorization.",
        )
        response = client.get(file_url(f"result={result.pk}"))
        assert "Authorize your Acme Jira account first." in response.text and "form" not in response.context
        assert jira.fake.requests == []

    def test_a_member_who_authorized_works_with_their_own_token(
        self, client, member, project, result, fake_azure_devops
    ):
        fake_azure_devops.add_project("Fabrikam")
        source = SourceFactory(
            provider=Provider.AZURE_DEVOPS,
            name="Fabrikam ADO",
            base_url=fake_azure_devops.base_url,
            allow_http=True,
            auth_type=AuthType.OAUTH2,
            can_create_issues=True,
            credentials={"client_id": "app", "client_secret": "app-secret"},
        )
        ProjectIntegrationFactory(project=project, source=source, external_project="Fabrikam", is_primary=True)
        UserToken.objects.create(user=member, source=source, kind=TokenKind.OAUTH2, access_token=ADO_OAUTH_TOKEN)
        response = client.get(file_url(f"result={result.pk}"))
        assert "Authorize" not in response.text and response.context["form"]["issue_type"].value() == "Bug"
        assert {request.headers["Authorization"] for request in fake_azure_devops.requests} == {
            f"Bearer {ADO_OAUTH_TOKEN}"
        }


class TargetTests:
    def test_without_a_tracker_create_issue_opens_the_internal_form(self, client, member, result):
        response = client.get(file_url(f"result={result.pk}"))
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('issues:create', args=['SHOP'])}?result={result.pk}"

    def test_the_member_may_file_internally_or_in_another_tracker(self, client, member, jira, project, result):
        other = ProjectIntegrationFactory(
            project=project,
            source=SourceFactory(
                provider=Provider.CUSTOM,
                name="Bugzilla",
                auth_type=AuthType.NONE,
                credentials={},
                base_url="https://bugs.example.com",
                can_create_issues=True,
                create_url_template="{baseUrl}/enter_bug.cgi?short_desc={title}",
            ),
            external_project="",
            default_issue_type="",
        )
        response = client.get(file_url(f"result={result.pk}"))
        assert f'href="{reverse("issues:create", args=["SHOP"])}?result={result.pk}"' in response.text
        assert f"?result={result.pk}&amp;to={other.pk}" in response.text

        response = client.get(file_url(f"result={result.pk}", to=other.pk))
        create_url = response.context["create_url"]
        assert create_url.startswith("https://bugs.example.com/enter_bug.cgi?short_desc=Pay%20with%20card%20failed")
        assert response.context["link_url"] == (
            f"{reverse('issues:link_issue', args=['SHOP'])}?result={result.pk}&to={other.pk}"
        )
        assert "form" not in response.context

    def test_trackers_that_take_no_new_issues_are_not_offered(self, client, member, jira, project, result):
        """Not offered, and not silently replaced by an internal issue: the page says why (issue 19)."""
        jira.source.can_create_issues = False
        jira.source.save()
        response = client.get(file_url(f"result={result.pk}"))
        page = response.content.decode()
        assert response.status_code == 200 and 'id="filing-form"' not in page
        assert "Creating Jira issues is turned off for Acme Jira: a site admin can turn it on." in page


class AccessTests:
    def test_viewers_may_not_file(self, client, project, jira, result):
        client.force_login(MembershipFactory(project=project, role=Role.VIEWER).user)
        assert client.get(file_url(f"result={result.pk}")).status_code == 403
        assert client.post(file_url(f"result={result.pk}"), {}).status_code == 403
        assert jira.fake.requests == [] and nothing_stored()

    def test_outsiders_and_other_projects_artefacts_are_not_found(self, client, member, jira, result):
        client.force_login(UserFactory())
        assert client.get(file_url(f"result={result.pk}")).status_code == 404
        client.force_login(member)
        foreign = TestResultFactory()
        assert client.get(file_url(f"result={foreign.pk}")).status_code == 404

    def test_another_projects_tracker_cannot_be_searched_for_users(self, client, member, jira, fake_jira_cloud):
        foreign = ProjectIntegrationFactory(source=jira.source, external_project="BANK")
        url = reverse("issues:file_users", args=["SHOP"])
        assert client.get(url, {"to": foreign.pk, "q": "ali"}).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_form_sent_twice_at_once_is_filed_once(project, jira, result):
    """The second request with the same marker, arriving while the first waits for Jira, files
    nothing and says so; the first one files the issue."""
    member = MembershipFactory(project=project, role=Role.MEMBER).user
    draft = services.build_draft(
        jira.integration,
        issue_type="Bug",
        title="Pay with card failed",
        description="",
        values={jira.environment: "Staging"},
        kinds={jira.environment: "select"},
        reporter=member,
    )
    marker = services.new_marker()
    arrived, release = threading.Event(), threading.Event()
    real_create = jira.fake._create_issue

    def slow_create(request, version):
        arrived.set()
        release.wait(10)
        return real_create(request, version)

    routes = jira.fake.server._routes
    jira.fake.server._routes = [
        replace(route, handler=slow_create) if route.handler == real_create else route for route in routes
    ]
    first = {}

    def file_first():
        first["filed"] = services.file_issue(
            integration=jira.integration,
            actor=member,
            draft=draft,
            artefacts=[result],
            marker=marker,
            site_url="http://testserver/",
        )

    worker = threading.Thread(target=file_first)
    worker.start()
    assert arrived.wait(10)
    try:
        with pytest.raises(services.FilingInProgress):
            services.file_issue(
                integration=jira.integration,
                actor=member,
                draft=draft,
                artefacts=[result],
                marker=marker,
                site_url="http://testserver/",
            )
    finally:
        release.set()
        worker.join(10)
    assert first["filed"].created and len(jira.fake.issues) == 1 and ExternalReference.objects.count() == 1


def test_a_lost_azure_devops_bug_is_found_in_its_repro_steps(project, result, fake_azure_devops):
    """Azure DevOps keeps a Bug's description in Repro Steps: the marker is looked for there too."""
    member = MembershipFactory(project=project, role=Role.MEMBER).user
    fake_azure_devops.add_project("Fabrikam")
    source = SourceFactory(
        provider=Provider.AZURE_DEVOPS,
        name="Fabrikam ADO",
        base_url=fake_azure_devops.base_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": ADO_PAT},
        can_create_issues=True,
        issue_url_template="",
    )
    integration = ProjectIntegrationFactory(project=project, source=source, external_project="Fabrikam")
    marker = services.new_marker()
    behind = fake_azure_devops.add_work_item(
        "Fabrikam",
        "Bug",
        "Pay with card failed",
        Microsoft_VSTS_TCM_ReproSteps=f"<p>Steps</p><p>Filed from testmanager, ref {marker}</p>",
    )
    draft = services.build_draft(
        integration,
        issue_type="Bug",
        title="Pay with card failed",
        description="Steps",
        values={},
        kinds={},
        reporter=member,
    )

    filed = services.file_issue(
        integration=integration,
        actor=member,
        draft=draft,
        artefacts=[result],
        marker=marker,
        site_url="http://testserver/",
        retrying=True,
    )

    assert filed.reference.key == str(behind.id) and len(fake_azure_devops.work_items) == 1
    assert fake_azure_devops.requests_to("POST", r".*/workitems/\$Bug") == []
