"""Password guessing on the login page: five failed attempts for one username from one address within
15 minutes lock that pair out, even with the right password, with a clear message; other users and
other addresses are unaffected; a success clears the count; the lock ends 15 minutes after the first
failure. The admin's login and the API's token endpoint count the same failures."""

import time
import uuid
from types import SimpleNamespace

import pytest
from django.core.cache.backends import base as cache_base
from django.core.cache.backends import locmem
from django.urls import reverse
from rest_framework.test import APIClient

from projects import login_throttle
from projects.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # the factories' password


@pytest.fixture
def alice():
    # A name of its own: failures live in the shared cache, which may be Redis.
    return UserFactory(username=f"alice-{uuid.uuid4().hex[:8]}")


def attempt(client, username, password, address="198.51.100.7", page="login"):
    return client.post(reverse(page), {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username, times, address="198.51.100.7", page="login"):
    for _ in range(times):
        answer = attempt(client, username, "wrong", address, page)
        assert answer.status_code == 200 and login_throttle.LOCKED_OUT not in answer.content.decode()


def ask_for_token(username, password, address="198.51.100.7"):
    return APIClient().post(
        "/api/auth/token", {"username": username, "password": password}, format="json", REMOTE_ADDR=address
    )


def logged_in(client):
    return "_auth_user_id" in client.session


def test_four_failures_still_let_the_right_password_in(client, alice):
    fail(client, alice.username, 4)

    assert attempt(client, alice.username, PASSWORD).status_code == 302
    assert logged_in(client)


def test_the_fifth_failure_locks_the_pair_out_even_with_the_right_password(client, alice):
    fail(client, alice.username, 5)

    refused = attempt(client, alice.username, PASSWORD)

    assert refused.status_code == 200
    assert login_throttle.LOCKED_OUT in refused.content.decode()
    assert not logged_in(client)


def test_the_lock_ignores_case_and_surrounding_spaces_of_the_username(client, alice):
    fail(client, alice.username.upper(), 5)

    refused = attempt(client, f"  {alice.username} ", PASSWORD)

    assert login_throttle.LOCKED_OUT in refused.content.decode()
    assert not logged_in(client)


def test_other_users_and_other_addresses_are_not_locked(client, alice):
    bob = UserFactory(username=f"bob-{uuid.uuid4().hex[:8]}")
    fail(client, alice.username, 5)

    assert attempt(client, bob.username, PASSWORD).status_code == 302
    client.logout()
    assert attempt(client, alice.username, PASSWORD, address="203.0.113.9").status_code == 302


def test_a_success_clears_the_failures(client, alice):
    fail(client, alice.username, 4)
    assert attempt(client, alice.username, PASSWORD).status_code == 302
    client.logout()

    fail(client, alice.username, 4)

    assert attempt(client, alice.username, PASSWORD).status_code == 302


def test_the_lock_ends_when_the_window_since_the_first_failure_has_passed(client, alice, settings, monkeypatch):
    # The counter expires with its cache entry; an in-memory cache with a clock of our own shows it.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "window"}}
    clock = SimpleNamespace(time=time.time)
    monkeypatch.setattr(locmem, "time", clock)
    monkeypatch.setattr(cache_base, "time", clock)
    fail(client, alice.username, 5)
    assert login_throttle.LOCKED_OUT in attempt(client, alice.username, PASSWORD).content.decode()

    clock.time = lambda: time.time() + login_throttle.WINDOW.total_seconds() - 1
    assert login_throttle.LOCKED_OUT in attempt(client, alice.username, PASSWORD).content.decode()

    clock.time = lambda: time.time() + login_throttle.WINDOW.total_seconds() + 1
    assert attempt(client, alice.username, PASSWORD).status_code == 302


def test_the_admin_login_is_locked_by_its_own_failures(client, alice):
    alice.is_staff = True
    alice.save()
    fail(client, alice.username, 5, page="admin:login")

    refused = attempt(client, alice.username, PASSWORD, page="admin:login")

    assert refused.status_code == 200 and login_throttle.LOCKED_OUT in refused.content.decode()
    assert not logged_in(client)


def test_failures_on_the_login_page_lock_the_admin_login_too(client, alice):
    alice.is_staff = True
    alice.save()
    fail(client, alice.username, 5)

    refused = attempt(client, alice.username, PASSWORD, page="admin:login")

    assert login_throttle.LOCKED_OUT in refused.content.decode()
    assert not logged_in(client)
    client.post(reverse("login"), {"username": alice.username, "password": PASSWORD}, REMOTE_ADDR="203.0.113.9")
    assert logged_in(client)  # from another address the same account still logs in


def test_behind_a_trusted_proxy_each_client_is_counted_by_its_forwarded_address(client, alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for _ in range(5):
        client.post(
            reverse("login"),
            {"username": alice.username, "password": "wrong"},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )

    elsewhere = client.post(
        reverse("login"),
        {"username": alice.username, "password": PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="198.51.100.20",
    )

    assert elsewhere.status_code == 302, "a colleague behind the same proxy is not locked out"


def test_a_forwarded_address_the_client_made_up_does_not_escape_the_lock(client, alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for number in range(5):
        # The client sends its own X-Forwarded-For; the proxy appends the address it really saw.
        client.post(
            reverse("login"),
            {"username": alice.username, "password": "wrong"},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{number}, 203.0.113.9",
        )

    refused = client.post(
        reverse("login"),
        {"username": alice.username, "password": PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.9",
    )

    assert login_throttle.LOCKED_OUT in refused.content.decode()


def test_without_trusted_proxies_x_forwarded_for_is_ignored(client, alice):
    for number in range(5):
        client.post(
            reverse("login"),
            {"username": alice.username, "password": "wrong"},
            REMOTE_ADDR="198.51.100.7",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{number}",
        )

    refused = client.post(
        reverse("login"),
        {"username": alice.username, "password": PASSWORD},
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="192.0.2.200",
    )

    assert login_throttle.LOCKED_OUT in refused.content.decode()


def test_five_wrong_passwords_on_the_login_page_lock_the_token_endpoint(client, alice):
    fail(client, alice.username, 5)

    refused = ask_for_token(alice.username, PASSWORD)

    assert refused.status_code == 429
    assert refused.json()["message"] == login_throttle.LOCKED_OUT
    assert not ApiToken.objects.exists()
    assert ask_for_token(alice.username, PASSWORD, address="203.0.113.9").status_code == 201


def test_five_wrong_passwords_on_the_token_endpoint_lock_it_and_the_login_page(client, alice):
    for _ in range(5):
        wrong = ask_for_token(alice.username, "wrong")
        assert (
            wrong.status_code == 400 and wrong.json()["message"] == "Unable to sign in with this username and password."
        )

    assert ask_for_token(alice.username, PASSWORD).status_code == 429
    assert login_throttle.LOCKED_OUT in attempt(client, alice.username, PASSWORD).content.decode()
    assert not logged_in(client) and not ApiToken.objects.exists()


def test_a_token_issued_clears_the_failures_of_the_login_page(client, alice):
    fail(client, alice.username, 4)
    assert ask_for_token(alice.username, PASSWORD).status_code == 201

    fail(client, alice.username, 4)

    assert attempt(client, alice.username, PASSWORD).status_code == 302
