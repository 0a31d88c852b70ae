"""Personal API tokens over the API: sign in for a token, use it as a Bearer token, revoke it."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from projects.models import ApiToken, Role
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

from .conftest import bearer_client

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


def sign_in(client=None, **body):
    return (client or APIClient()).post("/api/auth/token", body, format="json")


def test_signing_in_answers_a_new_token_once_and_stores_only_its_hash():
    user = UserFactory(username="ci")
    response = sign_in(username="ci", password=PASSWORD, name="Nightly CI")

    assert response.status_code == 201
    body = response.json()
    raw = body["token"]
    assert raw.startswith("tm_") and len(raw) > 40
    assert body["name"] == "Nightly CI" and body["hint"] == raw[:8] and body["last_used_at"] is None
    token = ApiToken.objects.get(user=user)
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in repr(ApiToken.objects.filter(pk=token.pk).values().get())


def test_the_token_authenticates_requests_and_records_its_last_use():
    user = UserFactory(username="ci")
    raw = sign_in(username="ci", password=PASSWORD).json()["token"]
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")

    me = client.get("/api/auth/me")

    assert me.status_code == 200
    assert me.json()["username"] == "ci" and me.json()["token"]["name"] == "API"
    assert ApiToken.objects.get(user=user).last_used_at is not None


def test_last_use_is_written_at_most_once_a_minute():
    user = UserFactory()
    token, raw = ApiToken.objects.issue(user=user, name="ci")
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    recent = timezone.now() - timedelta(seconds=10)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=recent)
    client.get("/api/auth/me")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == recent

    stale = timezone.now() - timedelta(minutes=5)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=stale)
    client.get("/api/auth/me")
    assert ApiToken.objects.get(pk=token.pk).last_used_at > stale


@pytest.mark.parametrize("username, password", [("ci", "wrong password"), ("nobody", PASSWORD)])
def test_wrong_credentials_get_one_answer_and_no_token(username, password):
    UserFactory(username="ci")
    response = sign_in(username=username, password=password)
    assert response.status_code == 400
    assert response.json() == {"message": "Unable to sign in with this username and password.", "errors": {}}
    assert not ApiToken.objects.exists()


def test_an_inactive_user_gets_no_token():
    UserFactory(username="gone", is_active=False)
    assert sign_in(username="gone", password=PASSWORD).status_code == 400
    assert not ApiToken.objects.exists()


def test_missing_credentials_are_named_field_by_field():
    response = sign_in(username="ci")
    assert response.status_code == 400
    assert response.json() == {
        "message": "password: This field is required.",
        "errors": {"password": ["This field is required."]},
    }


def test_signing_in_is_throttled_after_ten_attempts_a_minute_whatever_the_usernames():
    # Five per username lock that username (tests/reliability/test_login_throttle.py); ten a minute is for any names.
    UserFactory(username="ci")
    for number in range(10):
        assert sign_in(username=f"ci-{number}", password="guess").status_code == 400
    throttled = sign_in(username="ci", password=PASSWORD)
    assert throttled.status_code == 429
    assert "Request was throttled" in throttled.json()["message"]
    assert int(throttled["Retry-After"]) > 0
    assert not ApiToken.objects.exists()


def test_revoking_the_calling_token_makes_it_useless():
    user = UserFactory()
    token, raw = ApiToken.objects.issue(user=user, name="ci")
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert client.delete("/api/auth/token").status_code == 204

    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    refused = client.get("/api/auth/me")
    assert refused.status_code == 401
    assert refused.json() == {"message": "Invalid or revoked token.", "errors": {}}


def test_revoking_one_token_leaves_the_users_other_tokens_working():
    user = UserFactory()
    first, second = bearer_client(user), bearer_client(user)
    first.delete("/api/auth/token")
    assert second.get("/api/auth/me").status_code == 200


def test_a_browser_session_cannot_revoke_a_token_it_does_not_hold():
    user = UserFactory()
    ApiToken.objects.issue(user=user, name="ci")
    client = APIClient()
    client.force_login(user)
    response = client.delete("/api/auth/token")
    assert response.status_code == 400
    assert "not authenticated by a token" in response.json()["message"]
    assert ApiToken.objects.active().count() == 1


@pytest.mark.parametrize(
    "header",
    [
        "Bearer tm_not-a-real-token",
        "Bearer not-even-prefixed",
        "Bearer",
        "Bearer two parts",
    ],
)
def test_bad_bearer_headers_answer_401_with_a_challenge(header):
    response = APIClient(HTTP_AUTHORIZATION=header).get("/api/auth/me")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["message"]


def test_anonymous_calls_answer_401_with_a_challenge():
    response = APIClient().get("/api/testcases")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {"message": "Authentication credentials were not provided.", "errors": {}}


def test_a_deactivated_users_tokens_stop_working():
    user = UserFactory()
    client = bearer_client(user)
    user.is_active = False
    user.save()
    assert client.get("/api/auth/me").status_code == 401


def test_pages_session_works_for_the_api_with_csrf_protection_on_writes():
    membership = MembershipFactory(project=ProjectFactory(key="SHOP"), role=Role.MEMBER)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(membership.user)

    assert client.get("/api/testcases").status_code == 200
    refused = client.post("/api/testcases", {"project": "SHOP", "title": "Pay"}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["message"]


def test_me_tells_the_user_their_projects_and_roles():
    user = UserFactory(username="dana", first_name="Dana", last_name="Scully")
    MembershipFactory(user=user, project=ProjectFactory(key="SHOP"), role=Role.VIEWER)
    MembershipFactory(user=user, project=ProjectFactory(key="BANK"), role=Role.ADMIN)
    ProjectFactory(key="HIDDEN")

    me = bearer_client(user).get("/api/auth/me").json()

    assert me["username"] == "dana" and me["full_name"] == "Dana Scully" and me["is_superuser"] is False
    assert [(p["key"], p["role"]) for p in me["projects"]] == [("BANK", "admin"), ("SHOP", "viewer")]


def test_me_shows_a_system_admin_as_admin_of_every_project():
    ProjectFactory(key="SHOP")
    admin = UserFactory(is_superuser=True, is_staff=True)
    me = bearer_client(admin).get("/api/auth/me").json()
    assert [(p["key"], p["role"]) for p in me["projects"]] == [("SHOP", "admin")]
