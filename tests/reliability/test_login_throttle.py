"""Password guessing on the login page: five failed attempts for one username from one address within
15 minutes lock that pair out, even with the right password, with a clear message; other users and
other addresses are unaffected; a success clears the count; the lock ends as the failures age out.
The admin's login counts the same failures."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from projects import login_throttle
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


def test_the_lock_ends_when_the_failures_leave_the_window(client, alice, monkeypatch):
    fail(client, alice.username, 5)
    later = timezone.now() + login_throttle.WINDOW + timedelta(seconds=1)
    monkeypatch.setattr(login_throttle.timezone, "now", lambda: later)

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
