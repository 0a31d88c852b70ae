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
from tests.fakes.server import json_response
from tests.integrations.richtext_support import CORPUS, assert_valid_adf

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]

SEARCH_PATH = r"/rest/api/(3/search/jql|2/search)"


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
        **{
            "auth_type": AuthType.API_TOKEN,
            "credentials": {"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
            **overrides,
        },
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
    assert (
        provider_for(
            SourceFactory.build(provider=Provider.JIRA_SERVER, auth_type=AuthType.PAT, credentials={"token": "t"})
        ).__class__
        is JiraServer
    )
    for provider_class in (JiraCloud, JiraServer):
        assert provider_class.capabilities == {
            Capability.READ_DETAILS,
            Capability.CREATE_ISSUES,
            Capability.ADD_COMMENTS,
            Capability.PROCESS_WEBHOOKS,
        }


# -- connection check ----------------------------------------------------------------------------


def test_check_connection_names_the_account_and_the_projects_it_can_browse(site):
    site.fake.add_project("SHOP")
    site.fake.add_project("OTHER")
    site.fake.add_project("SECRET")
    site.fake.forbid_project("SECRET")

    report = site.provider().check_connection()

    assert report.user == "Automation (automation@example.com)"
    assert report.detail == "Signed in to Jira as Automation (automation@example.com)."
    assert report.access == "The account can browse 2 projects: SHOP, OTHER."
    version = "3" if site.fake.is_cloud else "2"
    assert [request.route_path for request in site.requests()] == [
        "/rest/api/2/serverInfo",
        f"/rest/api/{version}/myself",
        "/rest/api/3/project/search" if site.fake.is_cloud else "/rest/api/2/project",
    ]


def test_check_connection_says_when_the_account_can_browse_no_project(site):
    report = site.provider().check_connection()

    assert report.access == "The account cannot browse any project: grant it the Browse Projects permission in Jira."


def test_check_connection_names_the_first_few_projects_of_many(site):
    for key in ("AA", "BB", "CC", "DD", "EE", "FF", "GG"):
        site.fake.add_project(key)

    report = site.provider().check_connection()

    assert report.access == "The account can browse 7 projects, among them AA, BB, CC, DD, EE."
    assert report.summary.startswith("Signed in to Jira as Automation (automation@example.com). The account can")


def test_check_connection_reports_the_rate_limit_headroom_jira_sends(cloud):
    original = cloud.fake.server.interceptor

    def with_rate_headers(request):
        if request.route_path.endswith("/myself"):
            me = {"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Automation", "emailAddress": CLOUD_LOGIN}
            return json_response(200, me, {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "97"})
        return original(request)

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

    assert raised.value.field_errors == {
        "issuetype": "The Jira project SHOP has no issue type “Epic”; it offers Task, Bug."
    }


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


# -- search -------------------------------------------------------------------------------------


@pytest.fixture
def catalogue(site):
    """SHOP and OTHER with a few issues, and SECRET that the account cannot browse."""
    fake = site.fake
    fake.add_project("SHOP")
    fake.add_project("OTHER")
    fake.add_project("SECRET")
    fake.add_issue("SHOP", "Checkout crashes", description="Stack trace in the payment module",
                   updated=datetime(2024, 1, 1, tzinfo=UTC))  # fmt: skip
    fake.add_issue("SHOP", "Cart total is wrong", description="Rounding of the VAT crashes nothing",
                   updated=datetime(2024, 3, 1, tzinfo=UTC))  # fmt: skip
    fake.add_issue("SHOP", 'Quoted " OR project = OTHER OR summary ~ " in a title',
                   updated=datetime(2024, 2, 1, tzinfo=UTC))  # fmt: skip
    fake.add_issue("OTHER", "Other project checkout")
    fake.add_issue("OTHER", "Summary of other work")
    fake.add_issue("SECRET", "Secret checkout crashes")
    fake.forbid_project("SECRET")
    return fake


def keys_of(issues):
    return [issue.key for issue in issues]


def test_search_finds_an_issue_by_its_key(site, catalogue):
    assert keys_of(site.provider().search(" shop-2 ")) == ["SHOP-2"]


def test_search_finds_issues_by_title_or_description_newest_first(site, catalogue):
    assert keys_of(site.provider().search("crashes")) == ["SHOP-2", "SHOP-1"]
    assert keys_of(site.provider().search("rounding vat")) == ["SHOP-2"]


def test_search_uses_each_deployments_search_endpoint(site, catalogue):
    site.provider().search("checkout")

    (request,) = site.searches()
    expected = "/rest/api/3/search/jql" if site.fake.is_cloud else "/rest/api/2/search"
    assert request.route_path == expected
    assert request.json()["jql"] == ('summary ~ "checkout" OR description ~ "checkout" ORDER BY updated DESC')


def test_search_for_a_key_that_does_not_exist_finds_nothing_instead_of_failing(site, catalogue):
    assert site.provider().search("SHOP-999") == []
    assert site.provider().search("NOPE-1") == []


def test_text_that_is_not_a_key_adds_no_key_clause(site, catalogue):
    site.provider().search("shop-")
    site.provider().search("2-SHOP")

    assert [request.json()["jql"] for request in site.searches()] == [
        'summary ~ "shop" OR description ~ "shop" ORDER BY updated DESC',
        'summary ~ "2 shop" OR description ~ "2 shop" ORDER BY updated DESC',
    ]


def test_a_key_outside_the_sources_key_pattern_is_searched_as_text_only(site, catalogue):
    site.source.key_pattern = r"^SHOP-\d+$"
    site.source.save()

    site.provider().search("OTHER-1")

    assert site.searches()[0].json()["jql"].startswith('summary ~ "other 1"')


def test_user_text_cannot_change_the_query(site, catalogue):
    found = site.provider().search('" OR project = OTHER OR summary ~ "')

    assert keys_of(found) == ["SHOP-3"]
    assert site.searches()[0].json()["jql"] == (
        'summary ~ "or project = other or summary" OR description ~ "or project = other or summary" '
        "ORDER BY updated DESC"
    )


@pytest.mark.parametrize("text", ["(checkout", "checkout)", "check*out?", 'back\\slash "quote', "a && b || !c"])
def test_lucene_syntax_in_user_text_is_never_a_query_error(site, catalogue, text):
    site.provider().search(text)

    assert len(site.searches()) == 1


def test_text_without_words_searches_nothing(site, catalogue):
    assert site.provider().search("  -- ** ") == []
    assert site.searches() == []


def test_search_returns_at_most_fifty_issues(site):
    site.fake.add_project("SHOP")
    for number in range(60):
        site.fake.add_issue("SHOP", f"Flaky test {number}")

    assert len(site.provider().search("flaky")) == 50


# -- fetching many issues -----------------------------------------------------------------------


def test_fetch_many_reads_title_status_category_assignee_priority_and_update_time(site):
    site.fake.add_project("SHOP")
    ada = site.fake.add_user("ada" if not site.fake.is_cloud else "ada@example.com", display_name="Ada Lovelace")
    site.fake.add_issue(
        "SHOP", "Checkout crashes", status="In Progress", assignee=ada.login, priority="High",
        updated=datetime(2024, 1, 31, 9, 30, tzinfo=UTC),
    )  # fmt: skip
    site.fake.add_issue("SHOP", "Cart", status="Done", priority=None)

    result = site.provider().fetch_many(["SHOP-1", "SHOP-2"])

    first, second = result.issues["SHOP-1"], result.issues["SHOP-2"]
    assert (first.key, first.title, first.status, first.status_category) == (
        "SHOP-1", "Checkout crashes", "In Progress", "in_progress",
    )  # fmt: skip
    assert (first.assignee, first.priority) == ("Ada Lovelace", "High")
    assert first.updated_at == datetime(2024, 1, 31, 9, 30, tzinfo=UTC)
    assert first.url == f"{site.source.base_url}/browse/SHOP-1"
    assert (second.status_category, second.assignee, second.priority) == ("done", "", "")
    assert result.missing == result.forbidden == frozenset()


def test_fetch_many_asks_for_a_hundred_keys_per_request(site):
    site.fake.add_project("SHOP")
    for number in range(250):
        site.fake.add_issue("SHOP", f"Issue {number}")
    keys = [f"SHOP-{number}" for number in range(1, 251)]

    result = site.provider().fetch_many(keys)

    assert sorted(result.issues) == sorted(keys)
    searches = site.searches()
    assert len(searches) == 3
    assert [request.json()["jql"].count('"SHOP-') for request in searches] == [100, 100, 50]
    assert len(site.requests()) == 3


def test_fetch_many_follows_pages_within_a_batch(site):
    site.fake.add_project("SHOP")
    for number in range(5):
        site.fake.add_issue("SHOP", f"Issue {number}")
    provider = site.provider()
    provider.page_size = 2

    result = provider.fetch_many([f"SHOP-{number}" for number in range(1, 6)])

    assert len(result.issues) == 5
    pages = [request.json() for request in site.searches()]
    if site.fake.is_cloud:
        assert ["nextPageToken" in page for page in pages] == [False, True, True]
    else:
        assert [page["startAt"] for page in pages] == [0, 2, 4]


def test_fetch_many_reports_deleted_issues_as_missing_and_hidden_ones_as_forbidden(site):
    site.fake.add_project("SHOP")
    site.fake.add_project("SECRET")
    for _ in range(3):
        site.fake.add_issue("SHOP", "Kept")
    site.fake.add_issue("SECRET", "Hidden")
    site.fake.delete_issue("SHOP-2")
    site.fake.forbid_project("SECRET")

    result = site.provider().fetch_many(["SHOP-1", "SHOP-2", "SHOP-3", "SECRET-1", "GONE-7"])

    assert sorted(result.issues) == ["SHOP-1", "SHOP-3"]
    assert result.missing == {"SHOP-2"}
    # Jira answers the same for an issue of a project the account cannot see and of a
    # project that is gone: it may still exist, so it is never reported deleted.
    assert result.forbidden == {"SECRET-1", "GONE-7"}
    # Only the issue of a project the account can browse is asked about, to tell deleted from moved.
    assert [request.route_path.rsplit("/", 1)[1] for request in site.requests("GET", r"/rest/api/\d/issue/.*")] == [
        "SHOP-2"
    ]


def test_fetch_many_finds_a_moved_issue_under_its_new_key(site):
    site.fake.add_project("SHOP")
    site.fake.add_project("NEW")
    site.fake.add_issue("SHOP", "Checkout crashes")
    site.fake.move_issue("SHOP-1", "NEW")

    result = site.provider().fetch_many(["SHOP-1"])

    assert (result.issues["SHOP-1"].key, result.issues["SHOP-1"].title) == ("NEW-1", "Checkout crashes")
    assert result.missing == result.forbidden == frozenset()


def test_fetch_many_answers_under_the_keys_as_asked_and_never_queries_malformed_ones(site):
    site.fake.add_project("SHOP")
    site.fake.add_issue("SHOP", "Checkout crashes")

    result = site.provider().fetch_many(["shop-1", "SHOP-1", "not a key", "SHOP-1"])

    assert result.issues["shop-1"] == result.issues["SHOP-1"]
    assert result.missing == {"not a key"}
    assert '"not a key"' not in site.searches()[0].json()["jql"]


def test_fetch_many_of_nothing_sends_nothing(site):
    result = site.provider().fetch_many([])

    assert (dict(result.issues), result.missing, result.forbidden) == ({}, frozenset(), frozenset())
    assert site.requests() == []


# -- creating issues ----------------------------------------------------------------------------

MARKDOWN = """## Steps

1. Open the cart
   - with **two** items
2. Press *Pay*

| Browser | Result |
| --- | --- |
| Firefox | crash |
"""


def draft(**overrides):
    values = {"project": "SHOP", "issue_type": "Bug", "title": "Checkout crashes", "description": MARKDOWN}
    return IssueDraft(**(values | overrides))


def rich_text(site, markdown):
    return markdown_to_adf(markdown) if site.fake.is_cloud else markdown_to_wiki(markdown)


def test_create_files_every_mapped_field_in_the_deployments_formats(site, shop):
    ada = site.fake.add_user("ada" if not site.fake.is_cloud else "ada@example.com", display_name="Ada Lovelace")
    custom = {
        shop["text"].field_id: "Firefox 128",
        shop["textarea"].field_id: "Log says **boom**",
        shop["select"].field_id: "S2",
        shop["radio"].field_id: "S1",
        shop["multiselect"].field_id: ["S1", "S2"],
        shop["checkboxes"].field_id: ("S2",),
        shop["user"].field_id: jira_user_reference(site, ada),
        shop["date"].field_id: date(2024, 7, 1),
        shop["datetime"].field_id: datetime(2024, 7, 1, 12, 30, tzinfo=UTC),
        shop["number"].field_id: "3.5",
        shop["labels"].field_id: ["ui", "payments"],
    }

    created = site.provider().create_issue(
        draft(
            priority="High",
            labels=("regression",),
            components=("Checkout",),
            due_date=date(2024, 6, 30),
            assignee=jira_user_reference(site, ada),
            fields=custom,
        )
    )

    assert (created.key, created.title, created.priority, created.notes) == ("SHOP-1", "Checkout crashes", "High", ())
    assert created.url == f"{site.source.base_url}/browse/SHOP-1"
    issue = site.fake.issue("SHOP-1")
    assert (issue.summary, issue.issue_type.name, issue.priority) == ("Checkout crashes", "Bug", "High")
    assert issue.description == rich_text(site, MARKDOWN)
    assert (issue.labels, [c["name"] for c in issue.components], issue.duedate) == (
        ["regression"], ["Checkout"], "2024-06-30",
    )  # fmt: skip
    assert issue.assignee is ada
    stored = issue.custom_fields
    assert stored[shop["text"].field_id] == "Firefox 128"
    assert stored[shop["textarea"].field_id] == rich_text(site, "Log says **boom**")
    assert stored[shop["select"].field_id]["value"] == "S2"
    assert stored[shop["radio"].field_id]["value"] == "S1"
    assert [option["value"] for option in stored[shop["multiselect"].field_id]] == ["S1", "S2"]
    assert [option["value"] for option in stored[shop["checkboxes"].field_id]] == ["S2"]
    assert stored[shop["user"].field_id] is ada
    assert stored[shop["date"].field_id] == "2024-07-01"
    assert stored[shop["datetime"].field_id] == "2024-07-01T12:30:00.000+0000"
    assert stored[shop["number"].field_id] == 3.5
    assert stored[shop["labels"].field_id] == ["ui", "payments"]


@pytest.mark.parametrize("document", CORPUS, ids=lambda path: path.stem)
def test_cloud_descriptions_are_valid_atlassian_documents(cloud, document):
    cloud.fake.add_project("SHOP")
    markdown = document.read_text()

    cloud.provider().create_issue(draft(issue_type="Task", description=markdown))

    stored = cloud.fake.issue("SHOP-1").description
    if markdown.strip():
        assert stored == markdown_to_adf(markdown)
        assert_valid_adf(stored)
    else:
        assert stored is None


def test_a_project_integration_without_a_jira_project_files_nothing(site):
    with pytest.raises(NotConfigured) as raised:
        site.provider().create_issue(draft(project=" "))

    assert str(raised.value) == (
        "This project integration names no Jira project: a project administrator must choose the Jira project "
        "that issues are filed in."
    )
    assert site.requests() == []


def test_a_draft_without_an_issue_type_files_nothing(site):
    with pytest.raises(NotConfigured) as raised:
        site.provider().create_issue(draft(issue_type=""))

    assert "no default issue type" in str(raised.value)
    assert site.requests() == []


def test_an_issue_type_the_project_lacks_is_refused_before_filing(site, shop):
    with pytest.raises(RemoteValidationError) as raised:
        site.provider().create_issue(draft(issue_type="Epic"))

    assert "it offers Task, Bug" in str(raised.value)
    assert site.requests("POST") == []


def test_values_for_fields_off_the_create_screen_or_of_the_wrong_shape_are_refused_before_filing(site, shop):
    with pytest.raises(RemoteValidationError) as raised:
        site.provider().create_issue(
            draft(fields={"customfield_99999": "x", shop["number"].field_id: "three", shop["date"].field_id: 5})
        )

    assert raised.value.field_errors == {
        "customfield_99999": (
            "“customfield_99999” is not on the create screen of Bug in SHOP: add it to the screen in Jira "
            "or leave it empty."
        ),
        shop["number"].field_id: "My number takes a number, not “three”.",
        shop["date"].field_id: "My date takes a date (YYYY-MM-DD).",
    }
    assert site.requests("POST") == []


def test_jiras_field_errors_come_back_as_field_errors(site, shop):
    with pytest.raises(RemoteValidationError) as raised:
        site.provider().create_issue(draft(priority="Urgent"))  # and the required "My select" is left out

    assert raised.value.field_errors == {
        "priority": "The priority selected is invalid.",
        shop["select"].field_id: "My select is required.",
    }


# -- the reporter -------------------------------------------------------------------------------


@pytest.fixture
def people(site):
    site.fake.add_project("SHOP")

    def user(server_login, email, display_name):
        login = email if site.fake.is_cloud else server_login
        return site.fake.add_user(login, display_name=display_name, email=email)

    return {
        "ada": user("ada", "ada@example.com", "Ada L."),
        "ada_namesake": user("lovelace", "lovelace@example.com", "Ada Lovelace"),
        "grace": user("grace", "grace@example.com", "Grace Hopper"),
        "sam1": user("sam1", "sam@one.example", "Sam Smith"),
        "sam2": user("sam2", "sam@two.example", "Sam Smith"),
    }


def file_for(site, person, description="It broke."):
    site.provider().create_issue(draft(issue_type="Task", description=description, reporter=person))
    return site.fake.issue("SHOP-1")


def test_the_reporter_is_the_jira_user_with_the_same_email_first(site, people):
    issue = file_for(site, Person(name="Ada Lovelace", email="ADA@example.com"))

    assert issue.reporter is people["ada"]
    assert issue.description == rich_text(site, "It broke.")


def test_else_the_reporter_is_the_one_jira_user_with_the_same_display_name(site, people):
    issue = file_for(site, Person(name="grace  hopper", email="grace@home.example"))

    assert issue.reporter is people["grace"]


def test_else_the_integrations_account_reports_and_the_description_says_who_did(site, people):
    created = site.provider().create_issue(
        draft(issue_type="Task", description="It broke.", reporter=Person(name="Linus T.", email="linus@x.example"))
    )

    issue = site.fake.issue("SHOP-1")
    assert issue.reporter.login == (CLOUD_LOGIN if site.fake.is_cloud else SERVER_LOGIN)
    assert issue.description == rich_text(site, "It broke.\n\nReported by Linus T. via testmanager.")
    assert created.notes == (
        "Jira records the integration's account as the reporter: no Jira user has Linus T.'s e-mail address "
        "or display name, or the reporter cannot be set on this issue type.",
    )


def test_a_display_name_two_jira_users_share_is_not_guessed(site, people):
    issue = file_for(site, Person(name="Sam Smith"))

    assert issue.reporter not in (people["sam1"], people["sam2"])
    assert "Reported by Sam Smith via testmanager." in str(issue.description)


def test_without_a_reporter_field_on_the_screen_nobody_is_looked_up(site, people):
    task = site.fake.projects["SHOP"].issue_types[0]
    del task.fields["reporter"]

    issue = file_for(site, Person(name="Ada Lovelace", email="ada@example.com"), description="")

    assert issue.description == rich_text(site, "Reported by Ada Lovelace via testmanager.")
    assert site.requests("GET", r"/rest/api/\d/user/search") == []


def test_a_member_filing_with_their_own_token_is_the_reporter_without_any_lookup(server):
    server.fake.add_project("SHOP")
    ada = server.fake.add_user("ada", display_name="Ada Lovelace")
    server.fake.add_personal_access_token("ada", "ada-personal-token")
    token = UserToken.objects.create(
        user=UserFactory(), source=server.source, kind=TokenKind.PAT, access_token="ada-personal-token"
    )

    created = server.provider(token).create_issue(
        draft(issue_type="Task", description="It broke.", reporter=Person(name="Ada Lovelace", email="ada@example.com"))
    )

    issue = server.fake.issue("SHOP-1")
    assert issue.reporter is ada
    assert issue.description == markdown_to_wiki("It broke.")
    assert created.notes == ()
    assert server.requests("GET", r"/rest/api/2/user/search") == []


# -- attachments --------------------------------------------------------------------------------


def test_each_file_goes_to_the_issue_in_its_own_multipart_post_with_the_xsrf_token_header(site):
    site.fake.add_project("SHOP")
    files = (
        DraftAttachment("trace.log", b"Traceback (most recent call last)", "text/plain"),
        DraftAttachment("screen.png", b"\x89PNG\r\n", "image/png"),
    )

    created = site.provider().create_issue(draft(issue_type="Task", attachments=files))

    stored = site.fake.issue("SHOP-1").attachments
    assert [(a.filename, a.content, a.mime_type) for a in stored] == [
        ("trace.log", b"Traceback (most recent call last)", "text/plain"),
        ("screen.png", b"\x89PNG\r\n", "image/png"),
    ]
    api = "3" if site.fake.is_cloud else "2"
    uploads = site.requests("POST", rf"/rest/api/{api}/issue/SHOP-1/attachments")
    assert len(uploads) == 2
    assert all(upload.headers["X-Atlassian-Token"] == "no-check" for upload in uploads)
    assert all(upload.headers["Content-Type"].startswith("multipart/form-data") for upload in uploads)
    assert (created.notes, created.unsent_files) == ((), ())


def test_a_file_jira_finds_too_large_is_named_and_the_issue_and_the_other_files_stay(site):
    site.fake.add_project("SHOP")
    site.fake.max_attachment_bytes = 5
    files = (DraftAttachment("small.txt", b"ok"), DraftAttachment("huge.bin", b"0" * 10))

    created = site.provider().create_issue(draft(issue_type="Task", attachments=files))

    assert created.key == "SHOP-1"
    assert [a.filename for a in site.fake.issue("SHOP-1").attachments] == ["small.txt"]
    assert created.unsent_files == ("huge.bin",)
    (note,) = created.notes
    assert note.startswith(f"huge.bin was not sent to {site.source.name}: 127.0.0.1 answered HTTP 413.")


def test_a_file_over_the_configured_limit_is_not_sent_and_is_named(site, settings):
    site.fake.add_project("SHOP")
    settings.TRACKER_ATTACHMENT_MAX_BYTES = 5

    created = site.provider().create_issue(
        draft(issue_type="Task", attachments=(DraftAttachment("huge.bin", b"0" * 10),))
    )

    assert created.key == "SHOP-1"
    assert site.requests("POST", r"/rest/api/\d/issue/SHOP-1/attachments") == []
    assert created.unsent_files == ("huge.bin",)
    assert created.notes == (
        f"huge.bin was not sent to {site.source.name}: it is 10\xa0bytes and {site.provider().label} takes files "
        "of at most 5\xa0bytes.",
    )


def test_files_jira_refuses_are_each_named_and_the_issue_is_created(site):
    site.fake.add_project("SHOP")
    site.fake.attachments_enabled = False
    files = (DraftAttachment("a.log", b"a"), DraftAttachment("b.log", b"b"))

    created = site.provider().create_issue(draft(issue_type="Task", attachments=files))

    assert created.key == "SHOP-1"
    assert created.unsent_files == ("a.log", "b.log")
    assert [note.split(":")[0] for note in created.notes] == [
        f"a.log was not sent to {site.source.name}",
        f"b.log was not sent to {site.source.name}",
    ]
    assert all("HTTP 403" in note for note in created.notes)


def test_documented_attachment_limits_are_one_gigabyte_on_cloud_and_ten_megabytes_on_data_center():
    assert JiraCloud.attachment_limit() == 1024**3
    assert JiraServer.attachment_limit() == 10 * 1024**2


# -- comments and transitions -------------------------------------------------------------------


def test_a_comment_is_posted_in_the_deployments_format(site):
    site.fake.add_project("SHOP")
    site.fake.add_issue("SHOP", "Checkout crashes")

    comment_id = site.provider().add_comment("SHOP-1", "Covered by **3 tests**:\n\n- login\n- cart")

    (comment,) = site.fake.issue("SHOP-1").comments
    assert comment_id == comment.id
    assert comment.body == rich_text(site, "Covered by **3 tests**:\n\n- login\n- cart")


def test_comments_read_back_as_markdown_oldest_first(site):
    site.fake.add_project("SHOP")
    site.fake.add_issue("SHOP", "Checkout crashes")
    ada = site.fake.add_user("ada" if not site.fake.is_cloud else "ada@example.com", display_name="Ada Lovelace")
    site.fake.add_comment("SHOP-1", rich_text(site, "Seen on *staging*"), author=ada.login)
    site.provider().add_comment("SHOP-1", "Covered by **3 tests**:\n\n- login\n- cart")

    comments = site.provider().comments("SHOP-1")

    assert [(comment.author, comment.body) for comment in comments] == [
        ("Ada Lovelace", "Seen on *staging*"),
        ("Automation", "Covered by **3 tests**:\n\n- login\n- cart"),
    ]
    assert [comment.id for comment in comments] == [comment.id for comment in site.fake.issue("SHOP-1").comments]
    assert all(comment.created_at is not None for comment in comments)


def test_a_comment_on_an_issue_the_account_cannot_see_is_not_found(site):
    site.fake.add_project("SHOP")

    with pytest.raises(NotFound) as raised:
        site.provider().add_comment("SHOP-9", "Hello")

    assert "Issue does not exist or you do not have permission to see it." in str(raised.value)


def test_transition_moves_the_issue_to_the_status_named(site):
    site.fake.add_project("SHOP")
    site.fake.add_issue("SHOP", "Checkout crashes", status="To Do")

    site.provider().transition("SHOP-1", "done")

    assert site.fake.issue("SHOP-1").status.name == "Done"


def test_transition_to_the_current_status_changes_nothing(site):
    site.fake.add_project("SHOP")
    site.fake.add_issue("SHOP", "Checkout crashes", status="In Progress")

    site.provider().transition("SHOP-1", "In Progress")

    assert site.requests("POST") == []


def test_a_status_no_transition_reaches_is_refused_naming_the_ones_that_are(site):
    site.fake.add_project("SHOP")
    site.fake.add_issue("SHOP", "Checkout crashes", status="To Do")

    with pytest.raises(RemoteValidationError) as raised:
        site.provider().transition("SHOP-1", "Blocked")

    assert raised.value.field_errors == {
        "status": "SHOP-1 cannot move from To Do to “Blocked”: Jira offers Done, In Progress."
    }
    assert str(raised.value).endswith("Check the project integration's status mapping against the Jira workflow.")
    assert site.requests("POST") == []
