"""The profile page where users create, see and revoke their personal API tokens."""

import pytest
from django.test import Client

from projects.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return UserFactory(username="dana")


@pytest.fixture
def browser(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_page_needs_a_login():
    response = Client().get("/account/tokens/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_page_lists_only_the_users_active_tokens(browser, user):
    ApiToken.objects.issue(user=user, name="Nightly CI")
    ApiToken.objects.issue(user=user, name="Old laptop")[0].revoke()
    ApiToken.objects.issue(user=UserFactory(), name="Someone else's")

    page = browser.get("/account/tokens/").content.decode()

    assert "Nightly CI" in page
    assert "Old laptop" not in page and "Someone else" not in page


def test_a_new_token_is_shown_exactly_once(browser, user):
    created = browser.post("/account/tokens/", {"name": "Nightly CI"})

    assert created.status_code == 200
    token = ApiToken.objects.get(user=user)
    raw = created.context["raw"]
    assert raw.startswith("tm_") and raw in created.content.decode()
    assert "no-store" in created["Cache-Control"]
    assert token.name == "Nightly CI"
    assert raw not in browser.get("/account/tokens/").content.decode()
    assert ApiToken.objects.find_active(raw) == token


def test_a_token_needs_a_name(browser, user):
    response = browser.post("/account/tokens/", {"name": ""})
    assert response.status_code == 200
    assert response.context["form"].errors == {"name": ["This field is required."]}
    assert not ApiToken.objects.exists()


def test_revoking_asks_for_confirmation_first(browser, user):
    token, _ = ApiToken.objects.issue(user=user, name="Nightly CI")
    confirmation = browser.get(f"/account/tokens/{token.pk}/revoke/")
    assert confirmation.status_code == 200
    assert "Revoke the token “Nightly CI”?" in confirmation.content.decode()
    assert ApiToken.objects.get(pk=token.pk).is_active


def test_a_revoked_token_no_longer_opens_the_api(browser, user):
    token, raw = ApiToken.objects.issue(user=user, name="Nightly CI")

    response = browser.post(f"/account/tokens/{token.pk}/revoke/", follow=True)

    assert response.redirect_chain == [("/account/tokens/", 302)]
    assert "Token “Nightly CI” revoked." in response.content.decode()
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/auth/me").status_code == 401


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_users_token_cannot_be_revoked(browser, method):
    token, raw = ApiToken.objects.issue(user=UserFactory(), name="Theirs")
    assert getattr(browser, method)(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=token.pk).is_active


def test_a_revoked_token_cannot_be_revoked_again(browser, user):
    token, _ = ApiToken.objects.issue(user=user, name="Nightly CI")
    token.revoke()
    assert browser.get(f"/account/tokens/{token.pk}/revoke/").status_code == 404
