"""The Jira provider end to end: Jira Cloud and Jira Data Center (under a context path) over
real HTTP against the fake Jira, and the OAuth 2.0 gateway with ``responses``.

Each test reads as a specification of what testmanager does with a Jira; where Cloud and
Data Center should behave alike the test runs against both (the ``site`` fixture).
"""

import base64
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
import responses
from django.core.cache import cache

from integrations.errors import (
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    RateLimited,
    RemoteValidationError,
    UpstreamError,
)
from integrations.models import AuthType, Provider, Source, TokenKind, UserToken
from integrations.providers import provider_for
from integrations.providers.base import (
    Capability,
    DraftAttachment,
    IssueDraft,
    NotConfigured,
    Person,
    RemoteIssueType,
)
from integrations.providers.jira import DeploymentMismatch, JiraCloud, JiraServer
from integrations.richtext import markdown_to_adf, markdown_to_wiki
from tests.factories import SourceFactory, UserFactory
from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN, SERVER_LOGIN, SERVER_PASSWORD, SERVER_PAT
from tests.fakes.jira import JiraFake
from tests.fakes.server import text_response
from tests.integrations.richtext_support import CORPUS, assert_valid_adf

pytestmark = pytest.mark.django_db

SEARCH_PATH = r"/rest/api/(3/search/jql|2/search)"


@pytest.fixture(autouse=True)
def _fakes_on_loopback(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@dataclass
class Site:
    """A fake Jira and a source configured for it."""

    fake: JiraFake
    source: Source

    def provider(self, user_token=None):
        return provider_for(self.source, user_token)

    def requests(self, method=None, path=None):
        return self.fake.requests_to(method, path)

    def searches(self):
        return self.requests("POST", SEARCH_PATH)


def cloud_source(fake, **overrides):
    return SourceFactory(
        provider=Provider.JIRA_CLOUD,
        base_url=fake.base_url,
        allow_http=True,
        **{"auth_type": AuthType.API_TOKEN, "credentials": {"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN}, **overrides},
    )


def server_source(fake, **overrides):
    return SourceFactory(
        provider=Provider.JIRA_SERVER,
        base_url=fake.base_url,
        allow_http=True,
        **{"auth_type": AuthType.PAT, "credentials": {"token": SERVER_PAT}, **overrides},
    )


@pytest.fixture
def cloud(fake_jira_cloud):
    return Site(fake_jira_cloud, cloud_source(fake_jira_cloud))


@pytest.fixture
def server(fake_jira_server):
    return Site(fake_jira_server, server_source(fake_jira_server))


@pytest.fixture(params=["cloud", "server"])
def site(request):
    return request.getfixturevalue(request.param)


def basic(login, secret):
    return "Basic " + base64.b64encode(f"{login}:{secret}".encode()).decode()


def jira_user_reference(site, user):
    return user.account_id if site.fake.is_cloud else user.login


# -- the provider classes -----------------------------------------------------------------------


def test_both_jiras_are_registered_and_declare_what_they_implement():
    assert provider_for(SourceFactory.build(provider=Provider.JIRA_CLOUD)).__class__ is JiraCloud
    assert provider_for(
        SourceFactory.build(provider=Provider.JIRA_SERVER, auth_type=AuthType.PAT, credentials={"token": "t"})
    ).__class__ is JiraServer
    for provider_class in (JiraCloud, JiraServer):
        assert provider_class.capabilities == {
            Capability.READ_DETAILS,
            Capability.CREATE_ISSUES,
            Capability.ADD_COMMENTS,
        }


# -- connection check ----------------------------------------------------------------------------


def test_check_connection_names_the_account_and_the_projects_it_can_browse(site):
    site.fake.add_project("SHOP")
    site.fake.add_project("OTHER")
    site.fake.add_project("SECRET")
    site.fake.forbid_project("SECRET")

    report = site.provider().check_connection()

    assert report.user == "Automation (automation@example.com)"
    assert report.detail == (
        "Signed in to Jira as Automation (automation@example.com). The account can browse 2 projects: SHOP, OTHER."
    )
    version = "3" if site.fake.is_cloud else "2"
    assert [request.route_path for request in site.requests()] == [
        "/rest/api/2/serverInfo",
        f"/rest/api/{version}/myself",
        "/rest/api/3/project/search" if site.fake.is_cloud else "/rest/api/2/project",
    ]


def test_check_connection_says_when_the_account_can_browse_no_project(site):
    report = site.provider().check_connection()

    assert report.detail.endswith(
        "The account cannot browse any project: grant it the Browse Projects permission in Jira."
    )


def test_check_connection_reports_the_rate_limit_headroom_jira_sends(cloud):
    original = cloud.fake.server.interceptor

    def with_rate_headers(request):
        answer = original(request)
        if answer is None and request.route_path.endswith("/myself"):
            answer = cloud.fake._myself(request, "3")
            answer.headers |= {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "97"}
        return answer

    cloud.fake.server.interceptor = with_rate_headers

    report = cloud.provider().check_connection()

    assert (report.rate_limit_remaining, report.rate_limit_limit) == (97, 100)


def test_data_center_under_a_context_path_is_reached_below_it(server):
    assert server.source.base_url.endswith("/jira")

    server.provider().check_connection()

    assert server.requests()
    assert all(request.path.startswith("/jira/rest/api/2/") for request in server.requests())


def test_a_cloud_source_pointed_at_data_center_is_told_to_change_its_tracker(fake_jira_server):
    source = cloud_source(fake_jira_server, credentials={"email": SERVER_LOGIN, "api_token": SERVER_PASSWORD})

    with pytest.raises(DeploymentMismatch) as raised:
        provider_for(source).check_connection()

    assert str(raised.value) == (
        "127.0.0.1 is Jira Server / Data Center (deploymentType DataCenter), but this source is set up as "
        "Jira Cloud: change the source's tracker to Jira Server / Data Center."
    )
    assert [request.route_path for request in fake_jira_server.requests] == ["/rest/api/2/serverInfo"]


def test_a_data_center_source_pointed_at_cloud_is_told_to_change_its_tracker(fake_jira_cloud):
    source = server_source(fake_jira_cloud)

    with pytest.raises(DeploymentMismatch) as raised:
        provider_for(source).check_connection()

    assert raised.value.code == "deployment_mismatch"
    assert "is Jira Cloud (deploymentType Cloud), but this source is set up as Jira Server / Data Center" in str(
        raised.value
    )


def test_an_oauth_source_without_a_member_token_checks_the_site_anonymously(fake_jira_cloud):
    source = cloud_source(
        fake_jira_cloud, auth_type=AuthType.OAUTH2, credentials={"client_id": "id", "client_secret": "client-secret"}
    )

    report = provider_for(source).check_connection()

    assert report.user == ""
    assert report.detail == "Jira Cloud 1001.0.0-SNAPSHOT answers at 127.0.0.1; members authorize their own accounts."
    assert "Authorization" not in fake_jira_cloud.requests[0].headers


# -- authentication -----------------------------------------------------------------------------


def test_cloud_signs_in_with_the_email_and_api_token_over_basic_auth(cloud):
    cloud.provider().check_connection()

    assert {request.headers["Authorization"] for request in cloud.requests()} == {basic(CLOUD_LOGIN, CLOUD_API_TOKEN)}


def test_data_center_sends_a_personal_access_token_as_bearer(server):
    server.provider().check_connection()

    assert {request.headers["Authorization"] for request in server.requests()} == {f"Bearer {SERVER_PAT}"}


def test_data_center_also_signs_in_with_username_and_password(fake_jira_server):
    source = server_source(
        fake_jira_server,
        auth_type=AuthType.BASIC,
        credentials={"username": SERVER_LOGIN, "password": SERVER_PASSWORD},
    )

    report = provider_for(source).check_connection()

    assert report.user == "Automation (automation@example.com)"
    assert fake_jira_server.requests[-1].headers["Authorization"] == basic(SERVER_LOGIN, SERVER_PASSWORD)


GATEWAY = "https://api.atlassian.com/ex/jira/1324a887-45db-1bf4-1e99-ef0ff456d421"
ACCESSIBLE_RESOURCES = "https://api.atlassian.com/oauth/token/accessible-resources"
MEMBER_TOKEN = "member-oauth-access-token"


@pytest.fixture
def oauth_source():
    return SourceFactory(
        provider=Provider.JIRA_CLOUD,
        base_url="https://shop.atlassian.net",
        auth_type=AuthType.OAUTH2,
        credentials={"client_id": "client-id", "client_secret": "oauth-client-secret"},
    )


@pytest.fixture
def member_token(oauth_source):
    return UserToken.objects.create(
        user=UserFactory(),
        source=oauth_source,
        kind=TokenKind.OAUTH2,
        access_token=MEMBER_TOKEN,
        refresh_token="member-refresh-token",
    )


def site_resource(cloud_id, url):
    return {"id": cloud_id, "name": "Site", "url": url, "scopes": ["read:jira-work", "write:jira-work"]}


def test_a_members_oauth_token_reaches_the_site_through_atlassians_gateway(oauth_source, member_token):
    with responses.RequestsMock() as gateway:
        gateway.get(
            ACCESSIBLE_RESOURCES,
            json=[
                site_resource("0e9b4d7c-other", "https://other.atlassian.net"),
                site_resource("1324a887-45db-1bf4-1e99-ef0ff456d421", "https://shop.atlassian.net"),
            ],
        )
        gateway.get(f"{GATEWAY}/rest/api/2/serverInfo", json={"deploymentType": "Cloud", "version": "1001.0.0"})
        gateway.get(
            f"{GATEWAY}/rest/api/3/myself",
            json={"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Mia Krystof", "emailAddress": "mia@e.com"},
        )
        gateway.get(
            f"{GATEWAY}/rest/api/3/project/search",
            json={"values": [{"key": "SHOP", "name": "Shop"}], "total": 1, "isLast": True},
        )
        gateway.post(
            f"{GATEWAY}/rest/api/3/search/jql",
            json={"issues": [{"key": "SHOP-1", "fields": {"summary": "Cart", "status": {"name": "To Do"}}}]},
        )

        report = provider_for(oauth_source, member_token).check_connection()
        fetched = provider_for(oauth_source, member_token).fetch_many(["SHOP-1"])
        calls = list(gateway.calls)  # the mock forgets its calls when it stops

    assert report.user == "Mia Krystof (mia@e.com)"
    assert [call.request.url.split("?")[0] for call in calls] == [
        ACCESSIBLE_RESOURCES,
        f"{GATEWAY}/rest/api/2/serverInfo",
        f"{GATEWAY}/rest/api/3/myself",
        f"{GATEWAY}/rest/api/3/project/search",
        f"{GATEWAY}/rest/api/3/search/jql",  # the site's cloud id is remembered
    ]
    assert {call.request.headers["Authorization"] for call in calls} == {f"Bearer {MEMBER_TOKEN}"}
    assert fetched.issues["SHOP-1"].url == "https://shop.atlassian.net/browse/SHOP-1"


def test_an_oauth_token_without_access_to_the_site_says_to_authorize_again(oauth_source, member_token, caplog):
    caplog.set_level(logging.DEBUG)
    with responses.RequestsMock() as gateway:
        gateway.get(ACCESSIBLE_RESOURCES, json=[site_resource("0e9b4d7c-other", "https://other.atlassian.net")])

        with pytest.raises(PermissionDenied) as raised:
            provider_for(oauth_source, member_token).check_connection()

    assert str(raised.value) == (
        "Your Atlassian authorization does not include https://shop.atlassian.net: authorize testmanager again "
        "and grant it access to this site."
    )
    assert MEMBER_TOKEN not in caplog.text


# -- errors -------------------------------------------------------------------------------------


def test_rejected_credentials_are_an_authentication_error_without_the_secret(site, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "wr0ng-s3cret-t0ken-value"
    if site.fake.is_cloud:
        site.source.credentials = {"email": CLOUD_LOGIN, "api_token": wrong}
    else:
        site.source.credentials = {"token": wrong}
    site.source.save()

    with pytest.raises(AuthenticationFailed) as raised:
        site.provider().check_connection()

    assert raised.value.status == 401
    assert "127.0.0.1 answered HTTP 401." in str(raised.value)
    leaks = [wrong, base64.b64encode(f"{CLOUD_LOGIN}:{wrong}".encode()).decode()]
    for leak in leaks:
        assert leak not in str(raised.value)
        assert leak not in caplog.text


def test_a_secret_that_jira_echoes_back_is_redacted_from_the_error(site, caplog):
    caplog.set_level(logging.DEBUG)
    secret = CLOUD_API_TOKEN if site.fake.is_cloud else SERVER_PAT
    site.fake.fail_next(400, {"errorMessages": [f"Token {secret} is not valid here"], "errors": {}})

    with pytest.raises(RemoteValidationError) as raised:
        site.provider().search("cart")

    assert str(raised.value).endswith("The tracker says: Token [redacted] is not valid here")
    assert secret not in caplog.text


def test_a_403_is_a_permission_error_with_jiras_reason(site):
    site.fake.fail_next(403, {"errorMessages": ["You do not have the permission to see the specified issue."]})

    with pytest.raises(PermissionDenied) as raised:
        site.provider().fetch_many(["SHOP-1"])

    assert str(raised.value).endswith("The tracker says: You do not have the permission to see the specified issue.")


def test_a_project_the_account_cannot_see_is_not_found_with_jiras_words(site):
    site.fake.add_project("SECRET")
    site.fake.forbid_project("SECRET")

    with pytest.raises(NotFound) as raised:
        site.provider().issue_types("SECRET")

    assert str(raised.value).endswith("The tracker says: No project could be found with key 'SECRET'.")


def test_a_rate_limit_with_a_short_retry_after_is_waited_out(site):
    site.fake.add_project("SHOP")
    site.fake.add_issue("SHOP", "Cart")
    site.fake.rate_limit_next(retry_after=0)

    result = site.provider().fetch_many(["SHOP-1"])

    assert result.issues["SHOP-1"].title == "Cart"
    assert len(site.searches()) == 2


def test_a_rate_limit_longer_than_worth_waiting_is_rate_limited_with_its_retry_after(site):
    site.fake.rate_limit_next(count=4, retry_after=120)

    with pytest.raises(RateLimited) as raised:
        site.provider().fetch_many(["SHOP-1"])

    assert raised.value.retry_after == 120
    assert "try again in 120 s" in str(raised.value)
    assert len(site.searches()) == 1


def test_a_server_error_is_an_upstream_error(site):
    site.fake.fail_next(500, {"errorMessages": ["Internal server error"]})

    with pytest.raises(UpstreamError) as raised:
        site.provider().search("cart")

    assert raised.value.status == 500


def test_an_answer_that_is_not_json_is_an_upstream_error_naming_a_likely_cause(site):
    site.fake.fail_next(200, "<html><body>Log in to Jira</body></html>")

    with pytest.raises(UpstreamError) as raised:
        site.provider().search("cart")

    assert "is not valid JSON" in str(raised.value)
    assert "a login page or a proxy may be answering" in str(raised.value)


# -- discovery: projects, issue types, fields ---------------------------------------------------


def test_projects_are_listed_across_every_page(site):
    keys = [f"P{number:03d}" for number in range(130)]
    for key in keys:
        site.fake.add_project(key, f"Project {key}")
    site.fake.add_project("SECRET")
    site.fake.forbid_project("SECRET")

    projects = site.provider().projects()

    assert [project.key for project in projects] == keys
    assert projects[0].name == "Project P000"
    if site.fake.is_cloud:
        pages = site.requests("GET", r"/rest/api/3/project/search")
        assert [request.param("startAt") for request in pages] == ["0", "100"]
    else:
        assert len(site.requests("GET", r"/rest/api/2/project")) == 1


def test_issue_types_are_those_of_the_project_without_sub_tasks(site):
    project = site.fake.add_project("SHOP", issue_types=("Task", "Bug"))
    site.fake.add_issue_type("SHOP", "Sub-task", subtask=True)

    types = site.provider().issue_types("SHOP")

    assert types == [RemoteIssueType(id=t.id, name=t.name) for t in project.issue_types[:2]]


@pytest.fixture
def shop(site):
    """Project SHOP with components and a custom field of every kind on the Bug create screen."""
    site.fake.add_project("SHOP", issue_types=("Task", "Bug"), components=("Checkout", "Payments"))
    kinds = ["text", "textarea", "select", "radio", "multiselect", "checkboxes", "user", "date", "datetime",
             "number", "labels"]  # fmt: skip
    return {
        kind: site.fake.add_field("SHOP", "Bug", f"My {kind}", kind, options=["S1", "S2"], required=kind == "select")
        for kind in kinds
    }


def test_fields_describe_each_field_with_its_kind_required_flag_and_allowed_values(site, shop):
    fields = {field.name: field for field in site.provider().fields("SHOP", "Bug")}

    assert {name: field.kind for name, field in fields.items()} == {
        "Summary": "text",
        "Reporter": "user",
        "Description": "rich_text",
        "Priority": "select",
        "Labels": "labels",
        "Components": "multi_select",
        "Assignee": "user",
        "Due date": "date",
        "My text": "text",
        "My textarea": "rich_text",
        "My select": "select",
        "My radio": "select",
        "My multiselect": "multi_select",
        "My checkboxes": "checkboxes",
        "My user": "user",
        "My date": "date",
        "My datetime": "datetime",
        "My number": "number",
        "My labels": "labels",
    }
    assert [name for name, field in fields.items() if field.required] == ["Summary", "My select"]
    assert fields["Priority"].allowed_values == ("Highest", "High", "Medium", "Low", "Lowest")
    assert fields["Components"].allowed_values == ("Checkout", "Payments")
    assert fields["My multiselect"].allowed_values == ("S1", "S2")
    assert fields["My select"].id == shop["select"].field_id


def test_reporter_is_not_required_because_jira_defaults_it_to_the_caller(site, shop):
    reporter = next(field for field in site.provider().fields("SHOP", "Bug") if field.id == "reporter")

    assert (reporter.required, reporter.kind) == (False, "user")


def test_fields_take_the_issue_type_by_id_or_by_name(site, shop):
    bug = site.fake.projects["SHOP"].issue_types[1]

    by_id = site.provider().fields("SHOP", bug.id)
    by_name = site.provider().fields("SHOP", "bug")

    assert by_id == by_name
    assert {field.id for field in by_id} >= {spec.field_id for spec in shop.values()}


def test_fields_of_an_issue_type_the_project_lacks_name_the_ones_it_has(site, shop):
    with pytest.raises(RemoteValidationError) as raised:
        site.provider().fields("SHOP", "Epic")

    assert raised.value.field_errors == {"issuetype": "The Jira project SHOP has no issue type “Epic”; it offers Task, Bug."}


def test_create_metadata_is_read_across_pages(site):
    site.fake.add_project("SHOP")
    for number in range(120):
        site.fake.add_field("SHOP", "Task", f"Field {number}", "text")

    fields = site.provider().fields("SHOP", "Task")

    assert len([field for field in fields if field.name.startswith("Field ")]) == 120
    pages = site.requests("GET", r"/rest/api/\d/issue/createmeta/SHOP/issuetypes/\d+")
    assert [request.param("startAt") for request in pages] == ["0", "100"]


def test_create_metadata_is_cached_per_project_and_issue_type_until_the_source_changes(site, shop):
    createmeta = r"/rest/api/\d/issue/createmeta/.*"

    site.provider().fields("SHOP", "Bug")
    first = len(site.requests("GET", createmeta))
    site.provider().fields("SHOP", "Bug")
    site.provider().issue_types("SHOP")
    cached = len(site.requests("GET", createmeta))
    site.provider().fields("SHOP", "Task")
    other_type = len(site.requests("GET", createmeta))
    site.source.description = "edited"
    site.source.save()
    site.provider().fields("SHOP", "Bug")
    after_change = len(site.requests("GET", createmeta))

    assert first == 2  # the project's issue types, then the Bug fields
    assert cached == first
    assert other_type == first + 1
    assert after_change == other_type + 2
