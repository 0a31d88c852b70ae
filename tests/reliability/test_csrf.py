"""Cross-site request forgery: every page route (walked from the resolver) refuses a logged-in POST that
lacks the CSRF token with 403 and changes nothing; the same POST with the token gets past the check.
Only webhook receivers, which verify a signature instead, and the OAuth endpoints API clients call
with their own credentials (token, revocation, introspection; never a cookie) may be exempt."""

import pytest
from django.test import Client

from .conftest import database_state, fill, page_routes

pytestmark = pytest.mark.django_db

ROUTES = [(name, route) for name, route, view in page_routes() if not getattr(view, "csrf_exempt", False)]
# Any form field a page posts; none is valid for every page, and none needs to be.
FORM = {"name": "Forged", "title": "Forged", "status": "passed", "comment": "forged", "username": "x", "password": "y"}
TOKEN = "Zq3" * 10 + "ab"  # a CSRF secret: 32 characters of the token alphabet


OAUTH_CLIENT_ENDPOINTS = {"oauth/token/", "oauth/revoke_token/", "oauth/introspect/"}


def test_only_webhook_receivers_and_oauth_client_endpoints_are_exempt():
    exempt = [route for _, route, view in page_routes() if getattr(view, "csrf_exempt", False)]
    assert all(route.startswith("hooks/") or route in OAUTH_CLIENT_ENDPOINTS for route in exempt), exempt
    assert "oauth/authorize/" in {route for _, route in ROUTES}  # the consent page is a page like any other
    assert len(ROUTES) > 20


@pytest.fixture
def browser(worlds):
    client = Client(enforce_csrf_checks=True)
    client.force_login(worlds.member)
    return client


@pytest.mark.parametrize(("name", "route"), ROUTES, ids=[name for name, _ in ROUTES])
def test_a_post_without_the_token_is_refused_and_changes_nothing(browser, worlds, name, route):
    path = fill(route, worlds.mine.key, 1)
    before = database_state()

    refused = browser.post(path, FORM)

    assert refused.status_code == 403
    assert b"CSRF" in refused.content
    assert database_state() == before


@pytest.mark.parametrize(("name", "route"), ROUTES, ids=[name for name, _ in ROUTES])
def test_the_same_post_with_the_token_passes_the_check(browser, worlds, name, route):
    browser.cookies["csrftoken"] = TOKEN

    answer = browser.post(fill(route, worlds.mine.key, 1), {**FORM, "csrfmiddlewaretoken": TOKEN})

    assert answer.status_code != 403
