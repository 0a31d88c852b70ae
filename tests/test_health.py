"""/healthz: database, Redis and worker liveness as JSON, for load balancers and monitors.

The worker answers are Celery's broadcast ping replies; here a recording stand-in answers for
the workers (the production smoke test, tests/e2e/test_production_smoke.py, pings real ones).
"""

import os

import pytest
from django.core.cache import cache

from testmanager import health
from testmanager.celery import app
from tests.support.processes import free_port

pytestmark = pytest.mark.django_db


class Workers:
    """Stands in for the workers answering `app.control.ping`, and counts the pings."""

    def __init__(self, monkeypatch):
        self.running = ["worker1@web-1"]
        self.pings = 0
        monkeypatch.setattr(app.control, "ping", self.ping)

    def ping(self, timeout):
        self.pings += 1
        assert timeout <= 1.0, "a health probe waits for workers only briefly"
        return [{name: {"ok": "pong"}} for name in self.running]


@pytest.fixture
def redis_url(settings):
    url = os.environ.get("REDIS_URL")
    assert url, "make test provides a real Redis in REDIS_URL"
    settings.REDIS_URL = url
    # A cache of this test's own: the ping slot and last answer are not shared with other tests.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "healthz"}}
    cache.clear()
    return url


@pytest.fixture
def workers(monkeypatch, redis_url):
    return Workers(monkeypatch)


def window_passes():
    """The worker check's window ends: the next probe may ping again."""
    cache.delete(health.WORKER_SLOT_KEY)


def test_all_parts_answering_is_200_for_an_anonymous_probe(client, workers):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    assert response.json() == {
        "status": "ok",
        "checks": {"database": {"ok": True}, "redis": {"ok": True}, "worker": {"ok": True, "workers": 1}},
    }


def test_no_worker_answering_is_503_naming_the_worker(client, workers):
    workers.running = []
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "failing",
        "checks": {
            "database": {"ok": True},
            "redis": {"ok": True},
            "worker": {"ok": False, "detail": "no worker answered"},
        },
    }


def test_unreachable_redis_is_503_without_pinging_and_without_the_url(client, settings, workers):
    settings.REDIS_URL = f"redis://:broker-password@127.0.0.1:{free_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": {"ok": True},
        "redis": {"ok": False, "detail": "unreachable"},
        "worker": {"ok": False, "detail": "broker unreachable"},
    }
    assert workers.pings == 0
    assert b"broker-password" not in response.content and b"127.0.0.1" not in response.content


def test_workers_are_pinged_once_per_window_however_often_probed(client, workers):
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
    assert workers.pings == 1

    workers.running = []
    assert client.get("/healthz").status_code == 200, "within the window the last answer stands"
    window_passes()
    assert client.get("/healthz").json()["checks"]["worker"] == {"ok": False, "detail": "no worker answered"}
    assert workers.pings == 2


def test_a_failing_ping_reports_the_worker_unreachable(client, monkeypatch, redis_url):
    def broker_gone(timeout):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379")

    monkeypatch.setattr(app.control, "ping", broker_gone)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == {"ok": False, "detail": "unreachable"}
    assert b"6379" not in response.content


def test_without_redis_tasks_run_eagerly_and_nothing_else_is_needed(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": {"ok": True},
        "redis": {"ok": True, "detail": "not used (tasks run eagerly)"},
        "worker": {"ok": True, "detail": "not used (tasks run eagerly)"},
    }


def test_only_reads_are_allowed(client, workers):
    assert client.post("/healthz").status_code == 405
    assert client.head("/healthz").status_code == 200


def test_probes_over_plain_http_are_not_sent_to_https(client, settings, workers):
    settings.SECURE_SSL_REDIRECT = True  # HTTPS=true
    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301
