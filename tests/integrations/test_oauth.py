"""A member authorizes their own tracker account (OAuth 2.0, authorization code): the authorization URL
each tracker documents, the state that binds the answer to the member's session, PKCE, tokens
stored encrypted with the account and site they reach, refusals, who may, revoking, and what the
Trackers page and the source's admin page show. Against the fake Jira (Atlassian 3LO) and the fake
GitHub over real HTTP, the member's browser driven by hand."""

import base64
import hashlib
import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.utils import timezone

from integrations import oauth, services
from integrations.errors import Unreachable
from integrations.models import AuditAction, AuditEvent, IntegrationState, ProjectIntegration, Provider, UserToken
from integrations.providers import provider_for
from integrations.providers.base import IssueDraft
from projects.models import Role
from tests.factories import SourceFactory, UserFactory
from tests.integrations.oauth_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    CLOUD_ID,
    GITHUB_CALLBACK,
    JIRA_CALLBACK,
    MIA,
    TRACKERS_PAGE,
    authorize,
    back_to_testmanager,
    consent,
    github_with_oauth,
    jira_with_oauth,
    member,
    oauth_source,
    start,
)
from tests.support.processes import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]


@pytest.fixture
def jira(monkeypatch):
    with jira_with_oauth(monkeypatch) as fake:
        yield fake


@pytest.fixture
def github():
    with github_with_oauth() as fake:
        yield fake


@pytest.fixture
def jira_source(jira):
    return oauth_source(Provider.JIRA_CLOUD, jira.base_url, "Acme Jira")


@pytest.fixture
def github_source(github):
    return oauth_source(Provider.GITHUB, github.web_url, "Acme GitHub")


@pytest.fixture
def mia(client):
    user = member()
    client.force_login(user)
    return user


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- The authorization URL --------------------------------------------------------------


def test_authorize_sends_the_member_to_atlassian_with_the_documented_parameters(client, mia, jira, jira_source):
    response = start(client, jira_source)

    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{jira.server.origin}/authorize"
    parameters = query(response["Location"])
    assert parameters.pop("state")
    assert parameters == {
        "audience": "api.atlassian.com",
        "client_id": CLIENT_ID,
        "scope": "read:jira-work write:jira-work read:jira-user offline_access",
        "redirect_uri": JIRA_CALLBACK,
        "response_type": "code",
        "prompt": "consent",
    }  # no PKCE: Atlassian documents none for 3LO apps


def test_authorize_sends_the_member_to_github_with_a_pkce_challenge(client, mia, github, github_source):
    first = query(start(client, github_source)["Location"])
    second = query(start(client, github_source)["Location"])

    assert urlsplit(start(client, github_source)["Location"]).path == "/login/oauth/authorize"
    assert {name: first[name] for name in ("client_id", "redirect_uri", "response_type", "scope")} == {
        "client_id": CLIENT_ID,
        "redirect_uri": GITHUB_CALLBACK,
        "response_type": "code",
        "scope": "repo",
    }
    assert first["code_challenge_method"] == "S256"
    assert len(first["code_challenge"]) == 43  # base64url of a SHA-256, unpadded
    assert first["state"] != second["state"] and first["code_challenge"] != second["code_challenge"]


def test_the_challenge_is_the_s256_of_the_verifier():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636, appendix B
    assert oauth.code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    digest = hashlib.sha256(verifier.encode()).digest()
    assert oauth.code_challenge(verifier) == base64.urlsafe_b64encode(digest).decode().rstrip("=")


def test_every_tracker_with_oauth_documents_where_members_authorize():
    addresses = {}
    for provider, base_url in (
        (Provider.GITLAB, "https://gitlab.example.com/gitlab"),
        (Provider.AZURE_DEVOPS, "https://dev.azure.com/fabrikam"),
        (Provider.LINEAR, "https://linear.app/example"),
        (Provider.GITHUB, "https://github.com"),
    ):
        source = SourceFactory(
            provider=provider,
            base_url=base_url,
            auth_type="oauth2",
            credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        )
        app = provider_for(source).oauth_app()
        addresses[provider] = (app.authorize_url, app.token_url, app.pkce)
    assert addresses == {
        Provider.GITLAB: (
            "https://gitlab.example.com/gitlab/oauth/authorize",
            "https://gitlab.example.com/gitlab/oauth/token",
            True,
        ),
        Provider.AZURE_DEVOPS: (
            "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize",
            "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
            True,
        ),
        Provider.LINEAR: ("https://linear.app/oauth/authorize", "https://api.linear.app/oauth/token", True),
        Provider.GITHUB: (
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
            True,
        ),
    }


def test_a_source_without_its_client_id_and_secret_says_what_the_administrator_must_do(client, mia, jira, jira_source):
    jira_source.credentials = {}
    jira_source.save()

    response = start(client, jira_source)

    assert response.status_code == 302 and response["Location"] == TRACKERS_PAGE
    assert messages_of(response) == [
        "Authorizing your account for Acme Jira cannot start: Acme Jira has no OAuth client ID and secret: an "
        "administrator must enter those of the OAuth app registered in the tracker on the source."
    ]


# --- The callback -----------------------------------------------------------------------


def test_a_member_authorizes_their_jira_account_and_the_tokens_are_stored_encrypted(client, mia, jira, jira_source):
    jira.oauth.sign_in(MIA)
    before = timezone.now()

    response = authorize(client, jira_source)

    assert response.status_code == 302 and response["Location"] == TRACKERS_PAGE
    assert messages_of(response) == ["Your account Mia Krystof (mia@example.com) is authorized for Acme Jira."]
    token = UserToken.objects.get(user=mia, source=jira_source)
    assert jira.oauth.access_tokens[token.access_token] == MIA
    assert token.refresh_token.startswith("atlassian-refresh-")
    assert before + timedelta(seconds=3600) <= token.expires_at <= timezone.now() + timedelta(seconds=3600)
    assert (token.remote_account, token.resource_id, token.resource_url) == (
        "Mia Krystof (mia@example.com)",
        CLOUD_ID,
        jira.base_url,
    )
    assert token.scopes == "read:jira-work write:jira-work read:jira-user offline_access"
    exchange = jira.oauth.token_requests[-1]
    assert (exchange.grant_type, exchange.parameters["redirect_uri"]) == ("authorization_code", JIRA_CALLBACK)
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM integrations_usertoken")
        stored = " ".join(bytes(value).decode("latin-1") for value in cursor.fetchone())
    assert token.access_token not in stored and token.refresh_token not in stored
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_AUTHORIZED)
    assert (event.actor, event.source, event.success) == (mia, jira_source, True)
    assert token.access_token not in str(event.details) + event.message + event.target


def test_a_member_authorizes_their_github_account_with_pkce(client, mia, github, github_source):
    github.oauth.sign_in("mia")

    response = authorize(client, github_source)

    assert messages_of(response) == ["Your account Mia Krystof (mia) is authorized for Acme GitHub."]
    token = UserToken.objects.get(user=mia, source=github_source)
    exchange = github.oauth.token_requests[-1]
    assert exchange.parameters["code_verifier"]  # the fake checked it against the challenge
    # OAuth apps' tokens do not expire and cannot be renewed.
    assert (token.refresh_token, token.expires_at, token.scopes) == (None, None, "repo")
    assert provider_for(github_source, token).whoami().user == "Mia Krystof (mia)"


def test_a_callback_whose_state_this_session_did_not_start_is_refused_and_nothing_is_exchanged(
    client, mia, jira, jira_source
):
    jira.oauth.sign_in(MIA)
    callback = consent(start(client, jira_source)["Location"])
    parameters = query(callback)

    forged = client.get("/api/auth/jira_cloud/callback", {"code": parameters["code"], "state": "forged-state"})
    missing = client.get("/api/auth/jira_cloud/callback", {"code": parameters["code"]})

    for response in (forged, missing):
        assert response.status_code == 400
        assert "does not belong to an authorization you started in this browser" in response.content.decode()
    assert jira.oauth.token_requests == [] and not UserToken.objects.exists()
    # The genuine answer still completes: a forged one does not use the state up.
    assert back_to_testmanager(client, callback).status_code == 302
    assert UserToken.objects.filter(user=mia).count() == 1


def test_jira_clouds_documented_callback_path_completes_the_flow(client, mia, jira, jira_source):
    jira.oauth.sign_in(MIA)

    callback = consent(start(client, jira_source)["Location"])

    assert urlsplit(callback).path == "/api/auth/jira/callback"
    assert back_to_testmanager(client, callback).status_code == 302
    assert UserToken.objects.get(user=mia, source=jira_source).remote_account == "Mia Krystof (mia@example.com)"


def test_the_former_jira_cloud_callback_path_still_completes_a_flow(client, mia, jira, jira_source):
    """An answer arriving at /api/auth/jira_cloud/callback (bookmarked, or an app registered with it)
    completes the flow, the code exchanged with the redirect URI the flow started with."""
    jira.oauth.sign_in(MIA)
    parameters = query(consent(start(client, jira_source)["Location"]))

    response = client.get("/api/auth/jira_cloud/callback", parameters)

    assert response.status_code == 302 and response["Location"] == TRACKERS_PAGE
    assert UserToken.objects.filter(user=mia, source=jira_source).exists()
    assert jira.oauth.token_requests[-1].parameters["redirect_uri"] == JIRA_CALLBACK


def test_the_jira_callback_path_does_not_complete_another_trackers_flow(client, mia, github, github_source):
    github.oauth.sign_in("mia")
    parameters = query(consent(start(client, github_source)["Location"]))

    assert client.get("/api/auth/jira/callback", parameters).status_code == 404
    assert not UserToken.objects.exists()


def test_a_callback_is_used_once_and_only_in_the_session_that_started_it(client, mia, jira, jira_source):
    jira.oauth.sign_in(MIA)
    callback = consent(start(client, jira_source)["Location"])
    intruder = member()
    client.force_login(intruder)

    assert back_to_testmanager(client, callback).status_code == 400  # another member's session

    client.force_login(mia)
    assert back_to_testmanager(client, callback).status_code == 400  # logging in anew starts a new session
    callback = consent(start(client, jira_source)["Location"])
    assert back_to_testmanager(client, callback).status_code == 302
    assert back_to_testmanager(client, callback).status_code == 400  # replayed
    assert list(UserToken.objects.values_list("user", flat=True)) == [mia.pk]


def test_a_member_who_declines_is_told_and_nothing_is_stored(client, mia, jira, jira_source):
    jira.oauth.sign_in(MIA)
    jira.oauth.deny_next()

    response = authorize(client, jira_source)

    assert response["Location"] == TRACKERS_PAGE
    assert messages_of(response) == ["Acme Jira did not authorize your account (access_denied): nothing was stored."]
    assert jira.oauth.token_requests == [] and not UserToken.objects.exists()


def test_an_authorization_without_access_to_the_sources_site_is_not_stored(client, mia, jira):
    other_site = oauth_source(Provider.JIRA_CLOUD, f"{jira.server.origin}/ex/jira/another-site", "Other Jira")
    jira.oauth.sign_in(MIA)

    response = authorize(client, other_site)

    assert messages_of(response) == [
        f"Authorizing your account for Other Jira failed: Your Atlassian authorization does not include "
        f"{jira.server.origin}/ex/jira/another-site: authorize testmanager again and grant it access to this site."
    ]
    assert not UserToken.objects.exists()
    failed = AuditEvent.objects.get(action=AuditAction.TOKEN_AUTHORIZED)
    assert (failed.success, failed.details) == (False, {"code": "permission"})


def test_a_code_the_tracker_refuses_is_reported_and_audited(client, mia, jira, jira_source):
    jira.oauth.sign_in(MIA)
    callback = consent(start(client, jira_source)["Location"])
    stolen = query(callback)
    jira.oauth.token(
        {
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "code": stolen["code"],
            "redirect_uri": JIRA_CALLBACK,
        }
    )  # someone used it first

    response = back_to_testmanager(client, callback)

    host = urlsplit(jira.server.origin).netloc
    assert messages_of(response) == [
        f"Authorizing your account for Acme Jira failed: {host.split(':')[0]} refused the authorization "
        "(invalid_grant: The code passed is incorrect or expired.): it has expired, was revoked or was already "
        "used; authorize your account again."
    ]
    assert not UserToken.objects.exists()
    failed = AuditEvent.objects.get(action=AuditAction.TOKEN_AUTHORIZED)
    assert (failed.success, failed.details) == (False, {"code": "oauth_refused"})
    assert stolen["code"] not in failed.message


def test_a_wrong_client_secret_is_the_administrators_to_fix(client, mia, jira, jira_source):
    jira_source.credentials = {"client_id": CLIENT_ID, "client_secret": "an-outdated-secret"}
    jira_source.save()
    jira.oauth.sign_in(MIA)

    response = authorize(client, jira_source)

    [message] = messages_of(response)
    assert "refused testmanager's OAuth app (access_denied" in message
    assert "an administrator must check the source's OAuth client ID and secret" in message
    assert "an-outdated-secret" not in message


# --- Who may ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, None])
def test_only_members_who_may_file_in_a_project_using_the_source_may_authorize(client, jira, jira_source, role):
    client.force_login(member(role) if role else UserFactory())

    assert start(client, jira_source).status_code == 404


def test_a_source_the_members_projects_do_not_use_cannot_be_authorized(client, mia, jira, jira_source):
    ProjectIntegration.objects.update(state=IntegrationState.ARCHIVED)
    assert start(client, jira_source).status_code == 404

    ProjectIntegration.objects.update(state=IntegrationState.ACTIVE)
    jira_source.enabled = False
    jira_source.save()
    assert start(client, jira_source).status_code == 404


def test_a_source_that_does_not_use_oauth_has_nothing_to_authorize(client, mia, jira, jira_source):
    jira_source.auth_type = "api_token"
    jira_source.credentials = {"email": "bot@example.com", "api_token": "source-api-token"}
    jira_source.save()

    assert start(client, jira_source).status_code == 404
    assert client.get("/api/auth/jira_cloud/login/", {"source": "not-a-uuid"}).status_code == 404
    assert client.get("/api/auth/github/login/", {"source": str(jira_source.uuid)}).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, jira, jira_source):
    response = start(client, jira_source)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_authorizing_returns_only_to_pages_of_this_site(client, mia, jira, jira_source):
    jira.oauth.sign_in(MIA)
    response = authorize(client, jira_source, next_url="https://evil.example/steal")
    assert response["Location"] == "/projects/"


# --- Revoking ---------------------------------------------------------------------------


def test_a_member_revokes_their_own_token_after_confirming(client, mia, jira, jira_source):
    jira.oauth.sign_in(MIA)
    authorize(client, jira_source)
    noah = member()
    jira.oauth.sign_in("noah@example.com")
    client.force_login(noah)
    authorize(client, jira_source)
    client.force_login(mia)
    revoke_url = f"/api/auth/jira_cloud/revoke/?source={jira_source.uuid}&next={TRACKERS_PAGE}"

    confirmation = client.get(revoke_url)
    assert confirmation.status_code == 200
    assert "Revoke your authorization for Acme Jira?" in confirmation.content.decode()
    assert UserToken.objects.filter(user=mia).exists()

    response = client.post("/api/auth/jira_cloud/revoke/", {"source": str(jira_source.uuid), "next": TRACKERS_PAGE})

    assert response["Location"] == TRACKERS_PAGE
    assert list(UserToken.objects.values_list("user", flat=True)) == [noah.pk]  # only mia's went
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED)
    assert (event.actor, event.target) == (mia, f"{mia.username} (Mia Krystof (mia@example.com))")
    assert client.post("/api/auth/jira_cloud/revoke/", {"source": str(jira_source.uuid)}).status_code == 404


# --- Where members and administrators see it -------------------------------------------


def test_the_trackers_page_shows_each_member_their_own_authorization(client, mia, jira, jira_source):
    page = client.get(TRACKERS_PAGE).content.decode()
    assert "Not authorized" in page and f'href="/api/auth/jira_cloud/login/?source={jira_source.uuid}' in page
    assert ">Archive</button>" not in page and "Assign a tracker" not in page  # members do not manage trackers

    jira.oauth.sign_in(MIA)
    authorize(client, jira_source)
    page = client.get(TRACKERS_PAGE).content.decode()
    assert "Authorized</span> as Mia Krystof (mia@example.com)" in page and "Revoke" in page
    token = UserToken.objects.get()
    assert token.access_token not in page and token.refresh_token not in page

    client.force_login(member())
    assert "Not authorized" in client.get(TRACKERS_PAGE).content.decode()


def test_viewers_do_not_see_the_trackers_page(client, jira, jira_source):
    client.force_login(member(Role.VIEWER))
    assert client.get(TRACKERS_PAGE).status_code == 403


def test_a_project_admin_manages_trackers_and_authorizes_their_own_account(client, jira, jira_source):
    client.force_login(member(Role.ADMIN))
    page = client.get(TRACKERS_PAGE).content.decode()
    assert ">Archive</button>" in page and "Not authorized" in page


def test_the_source_admin_page_shows_the_redirect_url_to_register(client, jira, jira_source):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    change = client.get(f"/admin/integrations/source/{jira_source.pk}/change/").content.decode()
    add = client.get("/admin/integrations/source/add/").content.decode()

    assert f"<code>{JIRA_CALLBACK}</code>" in change and "/api/auth/github/callback" not in change
    for name in ("jira", "github", "gitlab", "azure_devops", "linear"):
        assert f"<code>http://testserver/api/auth/{name}/callback</code>" in add
    assert "/api/auth/jira_cloud/callback" not in change + add  # the documented path is the one shown
    assert "/api/auth/jira_server/callback" not in add  # Jira Data Center takes no OAuth 2.0 here


# --- Acting as the member ---------------------------------------------------------------


def test_an_issue_filed_with_a_members_token_is_reported_by_their_account(client, mia, jira, jira_source):
    jira.oauth.sign_in(MIA)
    authorize(client, jira_source)

    created = services.with_member_token(
        mia,
        jira_source,
        lambda provider: provider.create_issue(IssueDraft(project="SHOP", issue_type="Bug", title="Checkout crashes")),
    )

    assert jira.issue(created.key).reporter.login == MIA


def test_no_secret_reaches_the_logs(client, mia, jira, jira_source, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    jira.oauth.sign_in(MIA)
    authorize(client, jira_source)
    token = UserToken.objects.get()
    jira.oauth.expire(token.access_token)
    services.with_member_token(mia, jira_source, lambda provider: provider.fetch_many(["SHOP-1"]))
    monkeypatch.setattr("integrations.providers.jira.ATLASSIAN_AUTH", f"http://127.0.0.1:{free_port()}")
    jira.oauth.expire(UserToken.objects.get().access_token)
    with pytest.raises(Unreachable) as unreachable:
        services.with_member_token(mia, jira_source, lambda provider: provider.fetch_many(["SHOP-1"]))

    secrets = [token.access_token, token.refresh_token, UserToken.objects.get().refresh_token, CLIENT_SECRET]
    texts = [caplog.text, str(unreachable.value)] + [
        f"{event.message} {event.target} {event.details}" for event in AuditEvent.objects.all()
    ]
    assert not [secret for secret in secrets for text in texts if secret in text]
