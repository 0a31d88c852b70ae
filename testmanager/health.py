"""GET /healthz: is this deployment able to serve and to run background work?

Answers JSON without authentication: 200 when the database, Redis and at least one Celery
worker answer, 503 otherwise. It names which part failed and never carries a secret (no URLs,
host names or exception messages: those go to the server log, by exception class only).

Worker liveness is a Celery broadcast ping with a short timeout rather than a heartbeat key:
a ping is answered by whatever worker is consuming the broker right now, so a stopped worker
shows within seconds, and it needs no extra beat entry nor a stale-age threshold to tune. Pings
cost every worker a reply, so one ping per WORKER_CHECK_SECONDS is shared by all web processes
through the Redis cache: whoever takes the cache slot pings, everyone else reads the last answer.

Without REDIS_URL (the embedded `make run` default) tasks run eagerly in the web process:
Redis and the worker are reported as not needed, and healthy.
"""

import logging

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from testmanager.celery import app

logger = logging.getLogger(__name__)

WORKER_CHECK_SECONDS = 5
PING_TIMEOUT_SECONDS = 1.0
REDIS_TIMEOUT_SECONDS = 2.0
WORKER_RESULT_KEY = "healthz:worker:result"
WORKER_SLOT_KEY = "healthz:worker:slot"


def _failed(part: str, error: Exception) -> dict:
    logger.warning("healthz: %s check failed (%s)", part, type(error).__name__)
    return {"ok": False, "detail": "unreachable"}


def database_status() -> dict:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001
        # A health probe must report any failure as "cannot serve", whatever the driver or settings raised.
        return _failed("database", error)
    return {"ok": True}


def redis_status() -> dict:
    if not settings.REDIS_URL:
        return {"ok": True, "detail": "not used (tasks run eagerly)"}
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except redis.RedisError as error:
        return _failed("redis", error)
    finally:
        client.close()
    return {"ok": True}


def ping_workers() -> dict:
    """Ask the broker's workers to answer within PING_TIMEOUT_SECONDS."""
    try:
        replies = app.control.ping(timeout=PING_TIMEOUT_SECONDS)
    except Exception as error:  # noqa: BLE001
        # A health probe must report any failure: kombu, redis and the socket layer each raise their
        # own connection errors, with no common base class short of Exception.
        return _failed("worker", error)
    if not replies:
        return {"ok": False, "detail": "no worker answered"}
    return {"ok": True, "workers": len(replies)}


def worker_status() -> dict:
    """The last ping's answer, pinging again at most once per WORKER_CHECK_SECONDS across all
    web processes (cache.add is atomic in Redis: one request wins the slot). Only while no answer
    is known yet, right after a deployment, does a request without the slot ping as well."""
    if not settings.REDIS_URL:
        return {"ok": True, "detail": "not used (tasks run eagerly)"}
    took_slot = cache.add(WORKER_SLOT_KEY, True, timeout=WORKER_CHECK_SECONDS)
    last = cache.get(WORKER_RESULT_KEY)
    if not took_slot and last is not None:
        return last
    status = ping_workers()
    cache.set(WORKER_RESULT_KEY, status, timeout=None)
    return status


@never_cache
@require_safe
def healthz(request):
    checks = {"database": database_status(), "redis": redis_status()}
    if checks["redis"]["ok"]:
        checks["worker"] = worker_status()
    else:
        checks["worker"] = {"ok": False, "detail": "broker unreachable"}
    healthy = all(part["ok"] for part in checks.values())
    return JsonResponse({"status": "ok" if healthy else "failing", "checks": checks}, status=200 if healthy else 503)
