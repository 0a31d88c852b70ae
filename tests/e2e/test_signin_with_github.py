"""A member signs in with their GitHub account in real Chromium: the login page's button, the fake
GitHub Enterprise Server's OAuth endpoints (its authorize page answers for the account signed in
there), back to testmanager's callback, landing on their projects. An account whose address GitHub
has not verified matches nobody: the login page says why."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from integrations.signin.models import SignInProvider
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory
from tests.fakes.github import GitHubFake

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

CLIENT_ID, CLIENT_SECRET = "signin-client", "signin-secret-value"


@pytest.fixture
def github(live_server):
    fake = GitHubFake(enterprise=True)
    fake.add_user("mia", "Mia Krystof")
    fake.enable_oauth(CLIENT_ID, CLIENT_SECRET, f"{live_server.url}/accounts/sso/complete/github/")
    fake.oauth.sign_in("mia")  # the account signed in to GitHub in this browser
    with fake:
        SignInProvider.objects.create(
            backend="github", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, server_url=fake.web_url
        )
        yield fake


@pytest.fixture
def mia():
    user = get_user_model().objects.create_user("mia.k", email="mia@example.com")
    MembershipFactory(project=ProjectFactory(key="SHOP", name="Web shop"), user=user, role=Role.MEMBER)
    ProjectFactory(key="BANK", name="Banking")  # not hers
    return user


def test_a_member_signs_in_with_github_and_lands_on_their_projects(page, github, mia):
    github.add_email("mia", "mia@example.com", verified=True, primary=True)
    page.goto("/accounts/login/")

    page.get_by_role("button", name="Sign in with GitHub").click()

    page.wait_for_url("**/projects/")
    expect(page.locator("#site-nav")).to_contain_text("mia.k")
    expect(page.get_by_role("link", name="SHOP")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("BANK")
    (authorize,) = github.oauth.authorize_requests
    assert authorize["client_id"] == CLIENT_ID and "user:email" in authorize["scope"]


def test_an_unverified_address_is_refused_with_the_reason_on_the_login_page(page, github, mia):
    github.add_email("mia", "mia@example.com", verified=False, primary=True)
    page.goto("/accounts/login/")

    page.get_by_role("button", name="Sign in with GitHub").click()

    page.wait_for_url("**/accounts/login/")
    expect(page.locator(".messages")).to_contain_text("no verified email address")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.goto("/projects/")
    page.wait_for_url("**/accounts/login/?next=/projects/")  # still signed out
