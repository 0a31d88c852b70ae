"""The fake trackers' OAuth 2.0 endpoints answer as Atlassian (3LO) and GitHub (OAuth apps) document.

Plain `requests` over real HTTP, so what they pin is the wire behaviour testmanager's own client
meets: where each endpoint lives, what it takes, how it refuses, and that refresh tokens rotate.
"""

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.fakes.github import GitHubFake
from tests.fakes.jira import JiraFake

CLIENT_ID, CLIENT_SECRET = "client-id", "client-secret"
CALLBACK = "http://app.example/callback"
CLOUD_ID = "1324a887-45db-1bf4-1e99-ef0ff456d421"


@pytest.fixture
def jira():
    fake = JiraFake("cloud", context_path=f"/ex/jira/{CLOUD_ID}")
    fake.add_user("mia@example.com", display_name="Mia Krystof")
    fake.enable_oauth(CLIENT_ID, CLIENT_SECRET, CALLBACK)
    fake.oauth.sign_in("mia@example.com")
    with fake:
        yield fake


@pytest.fixture
def github():
    fake = GitHubFake(enterprise=True)
    fake.add_user("mia", "Mia Krystof")
    fake.enable_oauth(CLIENT_ID, CLIENT_SECRET, CALLBACK)
    fake.oauth.sign_in("mia")
    with fake:
        yield fake


def redirected_to(response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def atlassian_code(jira, scope="read:jira-work offline_access") -> str:
    answer = requests.get(
        f"{jira.server.origin}/authorize",
        allow_redirects=False,
        timeout=10,
        params={
            "audience": "api.atlassian.com",
            "client_id": CLIENT_ID,
            "scope": scope,
            "redirect_uri": CALLBACK,
            "state": "s1",
            "response_type": "code",
            "prompt": "consent",
        },
    )
    parameters = redirected_to(answer)
    assert parameters["state"] == "s1"
    return parameters["code"]


def atlassian_token(jira, **body):
    return requests.post(
        f"{jira.server.origin}/oauth/token",
        timeout=10,
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **body},
    )


# --- Atlassian ----------------------------------------------------------------------------


def test_atlassian_exchanges_a_code_once_for_tokens_that_reach_the_site_through_the_gateway(jira):
    code = atlassian_code(jira)

    issued = atlassian_token(jira, grant_type="authorization_code", code=code, redirect_uri=CALLBACK)
    again = atlassian_token(jira, grant_type="authorization_code", code=code, redirect_uri=CALLBACK)

    assert issued.status_code == 200
    tokens = issued.json()
    assert set(tokens) == {"access_token", "refresh_token", "expires_in", "scope", "token_type"}
    assert (again.status_code, again.json()["error"]) == (403, "invalid_grant")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    sites = requests.get(f"{jira.server.origin}/oauth/token/accessible-resources", headers=bearer, timeout=10)
    assert [(site["id"], site["url"]) for site in sites.json()] == [(CLOUD_ID, jira.base_url)]
    myself = requests.get(f"{jira.server.origin}/ex/jira/{CLOUD_ID}/rest/api/3/myself", headers=bearer, timeout=10)
    assert myself.json()["displayName"] == "Mia Krystof"


def test_atlassian_rotates_refresh_tokens(jira):
    first = atlassian_token(
        jira, grant_type="authorization_code", code=atlassian_code(jira), redirect_uri=CALLBACK
    ).json()

    second = atlassian_token(jira, grant_type="refresh_token", refresh_token=first["refresh_token"])
    reused = atlassian_token(jira, grant_type="refresh_token", refresh_token=first["refresh_token"])

    assert second.status_code == 200 and second.json()["refresh_token"] != first["refresh_token"]
    assert (reused.status_code, reused.json()) == (
        403,
        {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."},
    )


def test_atlassian_issues_a_refresh_token_only_for_offline_access(jira):
    tokens = atlassian_token(
        jira, grant_type="authorization_code", code=atlassian_code(jira, "read:jira-work"), redirect_uri=CALLBACK
    ).json()
    assert "refresh_token" not in tokens


def test_atlassian_refuses_what_its_documents_do_not_allow(jira):
    no_audience = requests.get(
        f"{jira.server.origin}/authorize",
        allow_redirects=False,
        timeout=10,
        params={"client_id": CLIENT_ID, "scope": "read:jira-work", "redirect_uri": CALLBACK, "response_type": "code"},
    )
    other_callback = requests.get(
        f"{jira.server.origin}/authorize",
        allow_redirects=False,
        timeout=10,
        params={
            "audience": "api.atlassian.com",
            "client_id": CLIENT_ID,
            "scope": "read:jira-work",
            "redirect_uri": "http://evil.example/callback",
            "response_type": "code",
        },
    )
    form = requests.post(f"{jira.server.origin}/oauth/token", timeout=10, data={"grant_type": "refresh_token"})
    wrong_secret = requests.post(
        f"{jira.server.origin}/oauth/token",
        timeout=10,
        json={"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": "wrong", "refresh_token": "x"},
    )
    anonymous = requests.get(f"{jira.server.origin}/oauth/token/accessible-resources", timeout=10)

    assert (no_audience.status_code, other_callback.status_code) == (400, 400)
    assert (form.status_code, form.json()["error"]) == (400, "invalid_request")
    assert (wrong_secret.status_code, wrong_secret.json()["error"]) == (401, "access_denied")
    assert anonymous.status_code == 401


def test_atlassian_tells_the_app_a_member_declined(jira):
    jira.oauth.deny_next()
    answer = requests.get(
        f"{jira.server.origin}/authorize",
        allow_redirects=False,
        timeout=10,
        params={
            "audience": "api.atlassian.com",
            "client_id": CLIENT_ID,
            "scope": "read:jira-work",
            "redirect_uri": CALLBACK,
            "state": "s2",
            "response_type": "code",
        },
    )
    assert redirected_to(answer) == {"error": "access_denied", "state": "s2"}


# --- GitHub -------------------------------------------------------------------------------


def github_code(github, verifier: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    answer = requests.get(
        f"{github.web_url}/login/oauth/authorize",
        allow_redirects=False,
        timeout=10,
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": CALLBACK,
            "scope": "repo",
            "state": "s1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    return redirected_to(answer)["code"]


def test_github_checks_the_pkce_verifier_and_answers_errors_with_200(github):
    verifier = "a-verifier-of-at-least-forty-three-characters-0123456789"
    wrong = requests.post(
        f"{github.web_url}/login/oauth/access_token",
        timeout=10,
        headers={"Accept": "application/json"},
        data={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": CALLBACK,
            "code": github_code(github, verifier),
            "code_verifier": "another-verifier",
        },
    )
    right = requests.post(
        f"{github.web_url}/login/oauth/access_token",
        timeout=10,
        headers={"Accept": "application/json"},
        data={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": CALLBACK,
            "code": github_code(github, verifier),
            "code_verifier": verifier,
        },
    )

    assert (wrong.status_code, wrong.json()["error"]) == (200, "bad_verification_code")
    tokens = right.json()
    assert (tokens["scope"], tokens["token_type"], "refresh_token" in tokens) == ("repo", "bearer", False)
    user = requests.get(
        f"{github.api_url}/user", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
    )
    assert user.json()["login"] == "mia"
    assert user.headers["X-OAuth-Scopes"] == "repo"


def test_github_answers_form_encoded_unless_json_is_asked_for(github):
    verifier = "a-verifier-of-at-least-forty-three-characters-0123456789"
    answer = requests.post(
        f"{github.web_url}/login/oauth/access_token",
        timeout=10,
        data={
            "client_id": CLIENT_ID,
            "client_secret": "wrong",
            "code": github_code(github, verifier),
            "code_verifier": verifier,
        },
    )

    assert answer.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert parse_qs(answer.text)["error"] == ["incorrect_client_credentials"]
