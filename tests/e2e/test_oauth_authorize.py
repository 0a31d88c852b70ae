"""The consent page of /oauth/authorize/ in real Chromium: a member signs in, reads what the tool
asks for, and authorizes it (or cancels); the tool then exchanges the code with its PKCE verifier
and acts as the member. The page is in the site's layout with no serious or critical axe finding."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from oauth2_provider.models import AccessToken
from playwright.sync_api import expect

from projects.models import Role
from tests.api.oauth_support import REDIRECT_URI, authorize_query, pkce_pair, tool_app
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

BLOCKING = {"serious", "critical"}


@pytest.fixture
def member():
    user = UserFactory(username="dana")
    MembershipFactory(project=ProjectFactory(key="SHOP"), user=user, role=Role.MEMBER)
    return user


@pytest.fixture
def tool_callback(page):
    """The tool's redirect URI: the browser's arrival there is recorded instead of leaving the machine."""
    arrivals = []

    def arrive(route):
        arrivals.append(route.request.url)
        route.fulfill(status=200, content_type="text/plain", body="You can close this window.")

    page.route(f"{REDIRECT_URI}**", arrive)
    return arrivals


def blocking(violations) -> list[str]:
    return [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']][:5]}"
        for violation in violations
        if violation["impact"] in BLOCKING
    ]


def test_a_member_authorizes_a_tool_on_the_consent_page_and_the_tool_acts_as_them(
    page, log_in, live_server, member, tool_callback
):
    app = tool_app(name="Release CLI")
    verifier, challenge = pkce_pair()
    log_in(member)

    page.goto("/oauth/authorize/?" + urlencode(authorize_query(app, challenge, scope="read write")))

    expect(page.get_by_role("heading", level=1)).to_have_text("Authorize Release CLI?")
    assert page.title() == "Authorize Release CLI · testmanager"
    expect(page.get_by_role("list", name="What it may do")).to_contain_text("Create and change them")
    expect(page.locator("main")).to_contain_text("as you, dana")
    assert blocking(Axe().run(page).response["violations"]) == []

    page.get_by_role("button", name="Authorize").click()

    page.wait_for_url(f"{REDIRECT_URI}**")
    (arrival,) = tool_callback
    back = {name: values[0] for name, values in parse_qs(urlsplit(arrival).query).items()}
    assert back["state"] == "state-1"
    issued = requests.post(
        f"{live_server.url}/oauth/token/",
        data={
            "grant_type": "authorization_code",
            "code": back["code"],
            "redirect_uri": REDIRECT_URI,
            "client_id": app.client_id,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert issued.status_code == 200, issued.text
    me = requests.get(
        f"{live_server.url}/api/auth/me",
        headers={"Authorization": f"Bearer {issued.json()['access_token']}"},
        timeout=10,
    )
    assert me.json()["username"] == "dana" and [p["key"] for p in me.json()["projects"]] == ["SHOP"]


def test_cancelling_on_the_consent_page_sends_the_tool_a_refusal_and_no_code(page, log_in, member, tool_callback):
    app = tool_app()
    _, challenge = pkce_pair()
    log_in(member)
    page.goto("/oauth/authorize/?" + urlencode(authorize_query(app, challenge)))

    page.get_by_role("button", name="Cancel").click()

    page.wait_for_url(f"{REDIRECT_URI}**")
    back = parse_qs(urlsplit(tool_callback[0]).query)
    assert back["error"] == ["access_denied"] and "code" not in back
    assert not AccessToken.objects.exists()


def test_a_refused_request_is_explained_on_an_accessible_page(page, log_in, member):
    app = tool_app()
    log_in(member)

    page.goto("/oauth/authorize/?" + urlencode({**authorize_query(app, "x" * 43), "client_id": "no-such-client"}))

    expect(page.get_by_role("heading", level=1)).to_have_text("This authorization request cannot be completed")
    expect(page.get_by_role("alert")).not_to_be_empty()
    expect(page.get_by_role("button", name="Authorize")).to_have_count(0)
    assert blocking(Axe().run(page).response["violations"]) == []
