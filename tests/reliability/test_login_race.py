"""Thirty wrong passwords sent at once for one username from one address, to the login page or to the
API's token endpoint, get at most five passwords checked: every attempt takes its number from one
atomic counter before its password is looked at, so a burst cannot slip past the lockout."""

import threading
import uuid

import pytest
from django.contrib.auth.backends import ModelBackend
from django.db import connections
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from projects import login_throttle
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PARALLEL = 30


class Gate:
    """Holds every password check until each of the parallel requests has either reached a check or
    been answered: requests that are not refused up front all meet here at the same moment."""

    def __init__(self, expected: int):
        self.expected = expected
        self.checked = 0
        self.answered = 0
        self.changed = threading.Condition()
        self.open = threading.Event()

    def note(self, field: str) -> None:
        with self.changed:
            setattr(self, field, getattr(self, field) + 1)
            self.changed.notify_all()

    def open_when_all_arrived(self) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.checked + self.answered >= self.expected, timeout=60)
        self.open.set()


GATE: Gate | None = None


class GatedBackend(ModelBackend):
    """The ordinary password check, counted and held at the gate."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        GATE.note("checked")
        GATE.open.wait(timeout=60)
        return super().authenticate(request, username=username, password=password, **kwargs)


@pytest.fixture
def gate(settings):
    global GATE
    settings.AUTHENTICATION_BACKENDS = [f"{__name__}.GatedBackend"]
    GATE = Gate(PARALLEL)
    yield GATE
    GATE.open.set()
    GATE = None


def in_parallel(send) -> list:
    """Sends PARALLEL requests from as many threads, released together; answers in any order."""
    start = threading.Barrier(PARALLEL)
    answers = []

    def worker():
        try:
            start.wait()
            answers.append(send())
        finally:
            GATE.note("answered")
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    GATE.open_when_all_arrived()
    for thread in threads:
        thread.join()
    return answers


@pytest.fixture
def username():
    return UserFactory(username=f"carol-{uuid.uuid4().hex[:8]}").username


def test_thirty_parallel_wrong_logins_check_at_most_five_passwords(gate, username):
    def send():
        return Client().post(reverse("login"), {"username": username, "password": "wrong"}, REMOTE_ADDR="198.51.100.7")

    answers = in_parallel(send)

    assert gate.checked == login_throttle.MAX_FAILURES
    locked = [answer for answer in answers if login_throttle.LOCKED_OUT in answer.content.decode()]
    assert len(answers) == PARALLEL and len(locked) == PARALLEL - login_throttle.MAX_FAILURES


def test_thirty_parallel_wrong_token_requests_check_at_most_five_passwords(gate, username, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth_token": "1000/min"}}

    def send():
        return APIClient().post(
            "/api/auth/token", {"username": username, "password": "wrong"}, format="json", REMOTE_ADDR="198.51.100.7"
        )

    answers = in_parallel(send)

    assert gate.checked == login_throttle.MAX_FAILURES
    assert sorted(answer.status_code for answer in answers) == [400] * 5 + [429] * 25
