"""Fixtures shared by the issues app's tests."""

import pytest
from django.core.cache import caches
from redis.connection import AbstractConnection


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs a write and what it left for after its commit (tasks queued with on_commit)."""

    def run(write, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return write(*args, **kwargs)

    return run


@pytest.fixture
def redis_round_trips(monkeypatch):
    """How many times the app sent Redis something and waited for the answer: a pipeline is one send."""
    sent = []
    send = AbstractConnection.send_packed_command

    def counted(connection, command, check_health=True):
        sent.append(command)
        return send(connection, command, check_health)

    caches["default"].get("warm-up")  # the connection's own handshake is not the page's work
    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    return sent
