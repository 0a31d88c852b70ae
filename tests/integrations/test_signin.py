"""Signing in with a tracker's account: GitHub (Enterprise Server) through the fake's OAuth app flow.

Who may enter is decided by a verified email: an existing user with that address is signed in, a
new account is created only where the admin allows it, and an unverified or shared address is
refused with its reason on the login page. No tracker token is kept after sign-in."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from social_django.models import UserSocialAuth

from integrations.signin.models import SignInProvider
from tests.fakes.github import GitHubFake

CLIENT_ID, CLIENT_SECRET = "signin-client", "signin-secret-value"
CALLBACK = "http://testserver/accounts/sso/complete/github/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def github():
    fake = GitHubFake(enterprise=True)
    fake.add_user("mia", "Mia Krystof")
    fake.enable_oauth(CLIENT_ID, CLIENT_SECRET, CALLBACK)
    with fake:
        yield fake


@pytest.fixture
def provider(github):
    return SignInProvider.objects.create(
        backend="github", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, server_url=github.web_url
    )


def sign_in_with_github(client, github, login="mia"):
    """The member's browser: login page button -> GitHub's authorize page -> back with a code."""
    github.oauth.sign_in(login)
    begin = client.post("/accounts/sso/login/github/")  # a form with the CSRF token, not a link
    assert begin.status_code == 302 and begin["Location"].startswith(f"{github.web_url}/login/oauth/authorize")
    consented = requests.get(begin["Location"], allow_redirects=False, timeout=10)
    assert consented.status_code == 302, consented.text
    back = urlsplit(consented.headers["Location"])
    return client.get(back.path, {name: values[0] for name, values in parse_qs(back.query).items()})


def signed_in_user(client):
    return client.get("/projects/").wsgi_request.user


def test_the_login_page_offers_only_configured_providers(client, provider):
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with GitHub" in page
    assert "Sign in with GitLab" not in page
    provider.enabled = False
    provider.save()
    assert "Sign in with" not in client.get("/accounts/login/").content.decode()


def test_an_unconfigured_provider_answers_404(client):
    assert client.post("/accounts/sso/login/gitlab/").status_code == 404
    assert client.post("/accounts/sso/login/nonsense/").status_code == 404


def test_a_user_is_signed_in_by_the_verified_primary_email_of_their_github_account(client, github, provider):
    mia = get_user_model().objects.create_user("mia.k", email="Mia@Example.com")
    github.add_email("mia", "mia@example.com", verified=True, primary=True)

    landed = sign_in_with_github(client, github)

    assert landed.status_code == 302
    assert signed_in_user(client) == mia
    (association,) = UserSocialAuth.objects.all()
    assert (association.user, association.provider) == (mia, "github")
    assert "access_token" not in association.extra_data  # no tracker token is kept
    # The second time the account is known by its GitHub id, whatever the addresses say.
    client.logout()
    sign_in_with_github(client, github)
    assert signed_in_user(client) == mia


def test_an_unverified_address_matches_nobody_and_the_login_page_says_why(client, github, provider):
    get_user_model().objects.create_user("mia.k", email="mia@example.com")
    github.add_email("mia", "mia@example.com", verified=False, primary=True)

    landed = sign_in_with_github(client, github)

    assert landed.status_code == 302 and landed["Location"] == "/accounts/login/"
    page = client.get("/accounts/login/").content.decode()
    assert "no verified email address" in page
    assert signed_in_user(client).is_anonymous
    assert not UserSocialAuth.objects.exists()


def test_no_account_is_created_unless_the_admin_allows_it(client, github, provider):
    github.add_email("mia", "mia@example.com", verified=True, primary=True)

    sign_in_with_github(client, github)

    assert signed_in_user(client).is_anonymous
    assert "A site admin can add you" in client.get("/accounts/login/").content.decode()
    assert not get_user_model().objects.exists()

    provider.allow_new_users = True
    provider.save()
    sign_in_with_github(client, github)
    created = signed_in_user(client)
    assert (created.username, created.email, created.has_usable_password()) == ("mia", "mia@example.com", False)


def test_an_address_two_users_share_is_refused(client, github, provider):
    get_user_model().objects.create_user("mia1", email="mia@example.com")
    get_user_model().objects.create_user("mia2", email="MIA@example.com")
    github.add_email("mia", "mia@example.com", verified=True, primary=True)

    sign_in_with_github(client, github)

    assert signed_in_user(client).is_anonymous
    assert "More than one user here has the address" in client.get("/accounts/login/").content.decode()


def test_the_environment_configures_a_provider_when_the_admin_has_not(client, github, settings):
    settings.SOCIAL_AUTH_GITHUB_KEY = CLIENT_ID
    settings.SOCIAL_AUTH_GITHUB_SECRET = CLIENT_SECRET
    settings.SOCIAL_AUTH_GITHUB_SERVER_URL = github.web_url
    mia = get_user_model().objects.create_user("mia.k", email="mia@example.com")
    github.add_email("mia", "mia@example.com", verified=True, primary=True)

    sign_in_with_github(client, github)

    assert signed_in_user(client) == mia


def test_the_secret_is_stored_encrypted_and_never_shown_in_the_admin(admin_client, provider):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM integrations_signinprovider")
        (stored,) = cursor.fetchone()
    assert CLIENT_SECRET not in str(stored)
    page = admin_client.get(f"/admin/integrations/signinprovider/{provider.pk}/change/").content.decode()
    assert CLIENT_SECRET not in page
    assert "/accounts/sso/complete/github/" in page
    # Saving without typing the secret again keeps it.
    form = {
        "backend": "github",
        "enabled": "on",
        "client_id": CLIENT_ID,
        "client_secret": "",
        "server_url": provider.server_url,
        "tenant_id": "",
    }
    assert admin_client.post(f"/admin/integrations/signinprovider/{provider.pk}/change/", form).status_code == 302
    provider.refresh_from_db()
    assert provider.client_secret == CLIENT_SECRET
