"""Suite-wide fixtures. Fixture modules of fakes and helpers are registered in pytest_plugins."""

import ipaddress
import os
import socket

import pytest
from hypothesis import settings as hypothesis_settings

pytest_plugins = ["tests.fakes.fixtures", "tests.support.redmine"]

# CI replays the same generated examples every run (a red CI always means a change broke
# something); developers' runs keep exploring new examples.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def pytest_sessionstart(session):
    """``make test``'s main pass runs on real PostgreSQL and Redis (TEST_SERVICES_REQUIRED): it stops at
    once, saying why, when it would run on anything else, instead of passing on a fallback."""
    if not os.environ.get("TEST_SERVICES_REQUIRED"):
        return
    import redis
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        pytest.exit(f"TEST_SERVICES_REQUIRED: the database is {engine}, not PostgreSQL (DATABASE_URL).", returncode=3)
    if not settings.REDIS_URL:
        pytest.exit("TEST_SERVICES_REQUIRED: REDIS_URL is not set.", returncode=3)
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5).ping()
    except redis.RedisError as error:
        pytest.exit(f"TEST_SERVICES_REQUIRED: Redis at {settings.REDIS_URL} does not answer: {error}", returncode=3)


_LOCAL_NAMES = {"localhost", "testserver"}
_resolve = socket.getaddrinfo


def _offline_getaddrinfo(host, *args, **kwargs):
    """Resolve addresses and local names only: a test that reaches for a public tracker host (a source at
    example.atlassian.net, say) gets the resolver error it would get offline, on every machine, instead of
    asking the real host when the machine happens to have a network."""
    name = host.decode() if isinstance(host, bytes) else str(host)
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        if name.lower() not in _LOCAL_NAMES:
            raise socket.gaierror(socket.EAI_NONAME, f"{name}: tests resolve no public host names") from None
    return _resolve(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _no_public_hosts(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _offline_getaddrinfo)


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Tasks run in-process unless a test starts a real worker (tests/test_celery_worker.py)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from testmanager.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = True


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded files of a test land in its own temporary folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _static_files_from_sources(settings):
    """Production serves the hashed names `collectstatic` writes (make prod); tests render pages
    without collecting, from the static folders."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The production hasher is slow by design; tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _isolated_cache(settings):
    """Each test starts with an empty cache of its own.

    With REDIS_URL (make test) the cache is the real Redis: each xdist worker gets its own
    database number, counted from REDIS_URL's (1 when it names none), so that clearing it never
    disturbs the other worker's test, nor a test run of someone else who uses another database.
    """
    from django.core.cache import cache

    if settings.REDIS_URL:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
        named = settings.REDIS_URL.rsplit("/", 1)[-1]
        database = (int(named) if named.isdigit() and int(named) else 1) + int(worker.removeprefix("gw") or 0)
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": f"{settings.REDIS_URL.rsplit('/', 1)[0]}/{database}",
            }
        }
    cache.clear()
    yield
    cache.clear()
