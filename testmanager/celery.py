"""Celery application. Without REDIS_URL, tasks run eagerly in the calling process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testmanager.settings")

app = Celery("testmanager")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The issues app keeps a tasks module in each domain package that has background work.
app.autodiscover_tasks(["issues.sync", "issues.filing", "issues.pulls", "issues.imports"])


@app.task(name="testmanager.ping")
def ping():
    """Liveness probe used by health checks and the worker smoke test."""
    return "pong"
