"""A real Celery worker, against the real Redis started by `make test`, runs a task end to end."""

import os
import sys

from testmanager.celery import app, ping
from tests.support.processes import project_env, running


def test_a_real_worker_runs_a_task_through_redis(settings):
    redis_url = os.environ.get("REDIS_URL")
    assert redis_url, "make test provides a real Redis in REDIS_URL"
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert app.conf.broker_url.startswith("redis://")
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "testmanager",
        "worker",
        "--pool=solo",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        "smoke@%h",
    ]
    with running(command, project_env(REDIS_URL=redis_url), ready=lambda: bool(app.control.ping(timeout=0.5))):
        result = ping.delay()
        assert result.get(timeout=60) == "pong"
        assert result.successful()
