"""OAuth 2.0 access tokens issued by this installation (django-oauth-toolkit) for API clients.

Machines use client credentials and act as the service user their application names; tools use the
authorization code grant with PKCE (S256 only) and act as the member who consents. A token reads
with the `read` scope and writes with `write`, within its user's projects and role; personal tokens
keep working beside them.
"""

from datetime import timedelta

import pytest
import yaml
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken
from rest_framework.test import APIClient

from projects.models import Role, TestCase
from projects.tasks import clear_expired_oauth_tokens
from tests.factories import MembershipFactory, UserFactory
from tests.support.processes import manage, project_env

from .conftest import bearer_client
from .oauth_support import (
    REDIRECT_URI,
    SECRET,
    authorize_query,
    basic_auth,
    client_credentials,
    exchange_code,
    machine_app,
    pkce_pair,
    redirect_query,
    token_client,
    tool_app,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def service_user(world):
    """The user a CI job acts as: a member of SHOP only."""
    user = UserFactory(username="ci-bot")
    MembershipFactory(project=world.project, user=user, role=Role.MEMBER)
    return user


def machine_token(service_user, scope="read"):
    response = client_credentials(machine_app(service_user), scope=scope)
    assert response.status_code == 200, response.content
    return response.json()


# -- client credentials ------------------------------------------------------------------------------


def test_a_client_credentials_token_acts_as_the_service_user_and_reads_only_its_projects(world, service_user):
    issued = machine_token(service_user)
    assert issued["token_type"] == "Bearer" and issued["scope"] == "read" and issued["expires_in"] == 3600
    client = token_client(issued["access_token"])

    me = client.get("/api/auth/me").json()
    assert me["username"] == "ci-bot" and [p["key"] for p in me["projects"]] == ["SHOP"]
    assert [p["key"] for p in client.get("/api/projects").json()["results"]] == ["SHOP"]
    cases = client.get("/api/testcases").json()["results"]
    assert {case["id"] for case in cases} == {world.mine.case.pk}
    assert client.get(f"/api/testcases/{world.mine.case.pk}").status_code == 200
    # Another project's objects answer 404, as for any caller who is not a member.
    assert client.get(f"/api/testcases/{world.other.case.pk}").status_code == 404
    assert client.get(f"/api/projects/{world.other.project.key}").status_code == 404


def test_the_token_is_stored_hashed_and_bound_to_the_service_user(service_user):
    issued = machine_token(service_user)
    (stored,) = AccessToken.objects.all()
    assert stored.user == service_user
    assert issued["access_token"] not in repr(AccessToken.objects.values().get())


def test_a_read_scoped_token_refuses_writes_naming_the_scope_and_changes_nothing(world, service_user):
    client = token_client(machine_token(service_user, scope="read")["access_token"])
    before = TestCase.objects.count()

    refused = client.post("/api/testcases", {"project": "SHOP", "title": "Pay by card"}, format="json")

    assert refused.status_code == 403
    message = refused.json()["message"]
    assert "scope is 'read'" in message and "needs the 'write' scope" in message
    assert TestCase.objects.count() == before
    assert client.delete(f"/api/testcases/{world.mine.case.pk}").status_code == 403
    assert TestCase.objects.filter(pk=world.mine.case.pk).exists()


def test_a_read_write_token_writes_within_the_role_and_not_in_other_projects(world, service_user):
    client = token_client(machine_token(service_user, scope="read write")["access_token"])

    created = client.post("/api/testcases", {"project": "SHOP", "title": "Pay by card"}, format="json")
    assert created.status_code == 201, created.content
    assert TestCase.objects.get(pk=created.json()["id"]).project == world.project

    elsewhere = client.post("/api/testcases", {"project": "BANK", "title": "Transfer"}, format="json")
    assert elsewhere.status_code in (400, 404)
    assert not TestCase.objects.filter(title="Transfer").exists()


def test_a_viewer_service_user_cannot_write_even_with_the_write_scope(world):
    viewer = world.users["viewer"]
    client = token_client(machine_token(viewer, scope="read write")["access_token"])
    refused = client.post("/api/testcases", {"project": "SHOP", "title": "Pay"}, format="json")
    assert refused.status_code == 403
    assert "role" in refused.json()["message"]


def test_a_token_without_the_read_scope_cannot_read(service_user):
    client = token_client(machine_token(service_user, scope="write")["access_token"])
    refused = client.get("/api/testcases")
    assert refused.status_code == 403 and "needs the 'read' scope" in refused.json()["message"]


def test_a_wrong_secret_or_unknown_scope_gets_no_token(service_user):
    app = machine_app(service_user)
    assert client_credentials(app, secret="guess").status_code == 401
    unknown = client_credentials(app, scope="admin")
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_scope"
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize("who", ["nobody", "deactivated", "superuser"])
def test_a_client_credentials_application_without_a_proper_service_user_gets_no_token(world, who):
    user = {
        "nobody": None,
        "deactivated": UserFactory(is_active=False),
        "superuser": UserFactory(is_superuser=True, is_staff=True),
    }[who]
    response = client_credentials(machine_app(user))
    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize("change", ["is_active", "is_superuser"])
def test_a_service_users_tokens_stop_working_when_it_can_no_longer_be_one(service_user, change):
    client = token_client(machine_token(service_user)["access_token"])
    setattr(service_user, change, change == "is_superuser")
    service_user.save()
    assert client.get("/api/auth/me").status_code == 401


# -- revoked and expired -----------------------------------------------------------------------------


def test_a_revoked_token_answers_401(service_user):
    app = machine_app(service_user)
    raw = client_credentials(app).json()["access_token"]
    client = token_client(raw)
    assert client.get("/api/auth/me").status_code == 200

    revoked = APIClient().post("/oauth/revoke_token/", {"token": raw}, HTTP_AUTHORIZATION=basic_auth(app))

    assert revoked.status_code == 200
    refused = client.get("/api/auth/me")
    assert refused.status_code == 401
    assert refused.json() == {"message": "Invalid, expired or revoked token.", "errors": {}}
    assert refused["WWW-Authenticate"] == 'Bearer realm="api"'


def test_the_personal_token_revocation_endpoint_points_an_oauth_client_to_revocation(service_user):
    client = token_client(machine_token(service_user, scope="read write")["access_token"])
    answer = client.delete("/api/auth/token")
    assert answer.status_code == 400 and "/oauth/revoke_token/" in answer.json()["message"]
    assert client.get("/api/auth/me").status_code == 200


def test_an_expired_token_answers_401(service_user):
    client = token_client(machine_token(service_user)["access_token"])
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/testcases").status_code == 401


def test_an_unknown_token_answers_401_and_a_token_in_the_query_string_is_not_accepted(service_user):
    raw = machine_token(service_user)["access_token"]
    assert token_client("not-a-token-we-issued").get("/api/auth/me").status_code == 401
    assert APIClient().get("/api/auth/me", {"access_token": raw}).status_code == 401


def test_introspection_tells_the_client_whether_its_token_is_active(service_user):
    app = machine_app(service_user)
    raw = client_credentials(app).json()["access_token"]

    active = APIClient().post("/oauth/introspect/", {"token": raw}, HTTP_AUTHORIZATION=basic_auth(app)).json()
    assert active["active"] is True and active["scope"] == "read" and active["username"] == "ci-bot"
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    expired = APIClient().post("/oauth/introspect/", {"token": raw}, HTTP_AUTHORIZATION=basic_auth(app)).json()
    assert expired == {"active": False}


def test_the_periodic_task_deletes_expired_tokens_and_keeps_valid_ones(world, service_user):
    machine_token(service_user)
    machine_token(service_user)
    stale, fresh = AccessToken.objects.order_by("pk")
    AccessToken.objects.filter(pk=stale.pk).update(expires=timezone.now() - timedelta(minutes=1))

    clear_expired_oauth_tokens.delay()

    assert list(AccessToken.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_token_lifetimes_come_from_the_environment():
    lifetimes = "ACCESS_TOKEN_EXPIRE_SECONDS REFRESH_TOKEN_EXPIRE_SECONDS AUTHORIZATION_CODE_EXPIRE_SECONDS"
    show = f"from django.conf import settings; print(*[settings.OAUTH2_PROVIDER[n] for n in {lifetimes.split()!r}])"
    env = project_env(OAUTH_ACCESS_TOKEN_SECONDS="600", OAUTH_REFRESH_TOKEN_SECONDS="86400")
    env.pop("OAUTH_AUTHORIZATION_CODE_SECONDS", None)
    assert manage("shell", "--no-imports", "-c", show, env=env).stdout.split() == ["600", "86400", "60"]


# -- personal tokens --------------------------------------------------------------------------------


def test_personal_tokens_keep_working_beside_oauth_tokens(world, service_user):
    machine_token(service_user)
    member = bearer_client(world.users["member"])
    me = member.get("/api/auth/me").json()
    assert me["username"] == "member" and me["token"]["name"] == "tests"
    created = member.post("/api/testcases", {"project": "SHOP", "title": "Refund"}, format="json")
    assert created.status_code == 201
    assert APIClient(HTTP_AUTHORIZATION="Bearer tm_revoked-or-unknown").get("/api/auth/me").json() == {
        "message": "Invalid or revoked token.",
        "errors": {},
    }


# -- authorization code with PKCE ---------------------------------------------------------------------


def consent(client, app, challenge, method="S256", scope="read write"):
    """The member's browser: the consent page, then "Authorize"."""
    query = authorize_query(app, challenge, method=method, scope=scope)
    page = client.get("/oauth/authorize/", query)
    assert page.status_code == 200, page.content
    form = {name: value for name, value in page.context["form"].initial.items() if value is not None}
    return page, client.post("/oauth/authorize/", {**form, "allow": "Authorize"})


def test_a_tool_acts_as_the_member_after_consent_with_pkce_s256(client, world):
    member = world.users["member"]
    client.force_login(member)
    app = tool_app()
    verifier, challenge = pkce_pair()

    page, approved = consent(client, app, challenge)

    assert "Authorize Test CLI?" in page.content.decode()
    assert "Create and change them in your projects" in page.content.decode()
    assert approved.status_code == 302
    back = redirect_query(approved)
    assert back["state"] == "state-1" and back["iss"]
    issued = exchange_code(app, back["code"], verifier)
    assert issued.status_code == 200, issued.content
    tokens = issued.json()
    assert tokens["scope"] == "read write" and tokens["refresh_token"]

    tool = token_client(tokens["access_token"])
    assert tool.get("/api/auth/me").json()["username"] == "member"
    assert tool.post("/api/testcases", {"project": "SHOP", "title": "Ship"}, format="json").status_code == 201
    assert tool.get(f"/api/testcases/{world.other.case.pk}").status_code == 404
    # The code is used once.
    assert exchange_code(app, back["code"], verifier).json()["error"] == "invalid_grant"


def test_the_code_is_refused_without_the_matching_verifier(client, world):
    client.force_login(world.users["member"])
    app = tool_app()
    _, challenge = pkce_pair()
    _, approved = consent(client, app, challenge)
    other_verifier, _ = pkce_pair()

    refused = exchange_code(app, redirect_query(approved)["code"], other_verifier)

    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_an_authorization_without_pkce_is_refused(client, world):
    client.force_login(world.users["member"])
    refused = client.get("/oauth/authorize/", authorize_query(tool_app(), challenge=None))
    assert refused.status_code == 302
    back = redirect_query(refused)
    assert back["error"] == "invalid_request" and "challenge" in back["error_description"].lower()
    assert not Grant.objects.exists()


def test_the_plain_pkce_method_is_refused(client, world):
    client.force_login(world.users["member"])
    verifier = "a-plain-verifier-long-enough-for-rfc-7636-which-needs-43-characters"
    app = tool_app()

    page = client.get("/oauth/authorize/", authorize_query(app, challenge=verifier, method="plain"))
    if page.status_code == 200:  # the consent page; the refusal comes with the answer
        form = {name: value for name, value in page.context["form"].initial.items() if value is not None}
        page = client.post("/oauth/authorize/", {**form, "allow": "Authorize"})

    back = redirect_query(page)
    assert back["error"] == "invalid_request" and "S256" in back["error_description"]
    assert not Grant.objects.exists()
    assert not AccessToken.objects.exists()


def test_cancelling_consent_gives_the_tool_nothing(client, world):
    client.force_login(world.users["member"])
    app = tool_app()
    _, challenge = pkce_pair()
    page = client.get("/oauth/authorize/", authorize_query(app, challenge))
    form = {name: value for name, value in page.context["form"].initial.items() if value is not None}

    cancelled = client.post("/oauth/authorize/", form)

    assert redirect_query(cancelled)["error"] == "access_denied"
    assert not Grant.objects.exists()


def test_the_authorize_page_asks_who_you_are_first(client):
    app = tool_app()
    _, challenge = pkce_pair()
    response = client.get("/oauth/authorize/", authorize_query(app, challenge))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/oauth/authorize/")


def test_an_unknown_client_is_told_on_the_page_not_redirected(client, world):
    client.force_login(world.users["member"])
    app = tool_app()
    _, challenge = pkce_pair()
    query = {**authorize_query(app, challenge), "client_id": "no-such-client"}
    page = client.get("/oauth/authorize/", query)
    assert page.status_code == 400
    assert "cannot be completed" in page.content.decode() and "Log out" in page.content.decode()
    assert REDIRECT_URI not in page.get("Location", "")


def test_a_refresh_token_renews_and_rotates(client, world):
    client.force_login(world.users["member"])
    app = tool_app()
    verifier, challenge = pkce_pair()
    _, approved = consent(client, app, challenge, scope="read")
    first = exchange_code(app, redirect_query(approved)["code"], verifier).json()

    renewed = APIClient().post(
        "/oauth/token/",
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": app.client_id},
    )

    assert renewed.status_code == 200, renewed.content
    second = renewed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert token_client(first["access_token"]).get("/api/auth/me").status_code == 401
    assert token_client(second["access_token"]).get("/api/auth/me").status_code == 200
    assert RefreshToken.objects.filter(revoked__isnull=False).count() == 1
    # The tool revokes its token when done (a public client names itself).
    revoked = APIClient().post("/oauth/revoke_token/", {"token": second["access_token"], "client_id": app.client_id})
    assert revoked.status_code == 200
    assert token_client(second["access_token"]).get("/api/auth/me").status_code == 401


# -- registration in the admin ------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def registration(**overrides):
    form = {
        "name": "Nightly CI",
        "authorization_grant_type": Application.GRANT_CLIENT_CREDENTIALS,
        "user": "",
        "client_type": Application.CLIENT_CONFIDENTIAL,
        "redirect_uris": "",
        "client_id": "nightly-ci",
        "client_secret": SECRET,
        "hash_client_secret": "on",
        "allowed_origins": "",
    }
    return {**form, **overrides}


def test_the_admin_registers_a_client_credentials_application_with_its_service_user(admin_client, service_user):
    page = admin_client.get("/admin/oauth2_provider/application/add/").content.decode()
    assert "service user" in page

    saved = admin_client.post("/admin/oauth2_provider/application/add/", registration(user=service_user.pk))

    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    app = Application.objects.get(client_id="nightly-ci")
    assert app.user == service_user and app.client_secret != SECRET  # stored hashed
    assert client_credentials(app).status_code == 200


@pytest.mark.parametrize(
    "overrides, field, words",
    [
        ({}, "user", "choose one"),
        ({"client_type": Application.CLIENT_PUBLIC}, "client_type", "confidential"),
        ({"authorization_grant_type": Application.GRANT_PASSWORD}, "authorization_grant_type", "other grants"),
        ({"authorization_grant_type": Application.GRANT_IMPLICIT}, "authorization_grant_type", "other grants"),
    ],
)
def test_the_admin_refuses_a_registration_an_api_client_cannot_use(admin_client, overrides, field, words):
    refused = admin_client.post("/admin/oauth2_provider/application/add/", registration(**overrides))
    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors
    assert words in " ".join(errors[field])
    assert not Application.objects.exists()


def test_the_admin_refuses_a_site_admin_as_service_user(admin_client):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    refused = admin_client.post("/admin/oauth2_provider/application/add/", registration(user=superuser.pk))
    assert "must not be a site admin" in " ".join(refused.context["adminform"].form.errors["user"])
    assert not Application.objects.exists()


def test_the_admin_registers_an_authorization_code_tool_with_its_redirect_uri(admin_client):
    saved = admin_client.post(
        "/admin/oauth2_provider/application/add/",
        registration(
            name="Test CLI",
            client_id="test-cli",
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            client_type=Application.CLIENT_PUBLIC,
            redirect_uris=REDIRECT_URI,
        ),
    )
    assert saved.status_code == 302
    assert Application.objects.get(client_id="test-cli").redirect_uris == REDIRECT_URI


# -- the OpenAPI schema --------------------------------------------------------------------------------


def test_the_schema_documents_the_oauth_scheme_and_each_operations_scope():
    schema = yaml.safe_load(APIClient().get("/api/schema/").content)

    oauth = schema["components"]["securitySchemes"]["oauth2"]
    assert oauth["type"] == "oauth2"
    flows = oauth["flows"]
    assert flows["authorizationCode"]["authorizationUrl"] == "/oauth/authorize/"
    assert flows["authorizationCode"]["tokenUrl"] == flows["clientCredentials"]["tokenUrl"] == "/oauth/token/"
    assert set(flows["clientCredentials"]["scopes"]) == {"read", "write"}
    assert "PKCE" in oauth["description"]
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"  # personal tokens

    cases = schema["paths"]["/api/testcases"]
    assert {"oauth2": ["read"]} in cases["get"]["security"] and {"bearerAuth": []} in cases["get"]["security"]
    assert {"oauth2": ["write"]} in cases["post"]["security"]
    assert schema["paths"]["/api/auth/token"]["post"].get("security") in (None, [])


def test_the_admin_lists_issued_tokens_without_their_values_and_can_revoke_them(admin_client, service_user):
    raw = machine_token(service_user)["access_token"]
    token = AccessToken.objects.get()
    for page in ("/admin/oauth2_provider/accesstoken/", f"/admin/oauth2_provider/accesstoken/{token.pk}/change/"):
        html = admin_client.get(page).content.decode()
        assert "ci-bot" in html and raw not in html

    admin_client.post(
        "/admin/oauth2_provider/accesstoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]}
    )

    assert token_client(raw).get("/api/auth/me").status_code == 401
