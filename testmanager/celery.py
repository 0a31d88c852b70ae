"""Celery application. Without REDIS_URL, tasks run eagerly in the calling process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testmanager.settings")

app = Celery("testmanager")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="testmanager.ping")
def ping():
    """Liveness probe used by health checks and the worker smoke test."""
    return "pong"
