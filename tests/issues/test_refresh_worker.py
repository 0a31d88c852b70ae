"""A refresh on a real Celery worker, through the real Redis of REDIS_URL, against the test database:
the beat task fans out one run per source and the worker reads the fake Jira over real HTTP,
counting its requests in the budget every worker shares in Redis.

The worker gets a Redis database of its own, so that no other worker of the suite takes its tasks.
"""

import os
import sys
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import redis
from celery import Celery
from django.db import connection
from django.utils import timezone

from issues.links.models import ExternalReference
from tests.issues.sync_support import jira_cloud_source
from tests.support.processes import project_env, running, worker_database_url

pytestmark = [pytest.mark.postgres, pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

REFERENCES = 150
WORKER_REDIS_DB = 7


def test_a_periodic_refresh_runs_on_a_real_worker_through_redis(fake_jira_cloud, settings):
    redis_url = os.environ.get("REDIS_URL")
    assert redis_url, "make test provides a real Redis in REDIS_URL"
    assert connection.vendor == "postgresql", (
        "the worker reads the test database, which make test serves from PostgreSQL"
    )
    worker_redis = urlsplit(redis_url)._replace(path=f"/{WORKER_REDIS_DB}").geturl()
    redis.Redis.from_url(worker_redis).flushdb()
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True
    fake_jira_cloud.add_project("SHOP")
    for number in range(REFERENCES):
        fake_jira_cloud.add_issue("SHOP", f"Issue {number + 1}", status="Done")
    source = jira_cloud_source(fake_jira_cloud, can_process_webhooks=False)
    ExternalReference.objects.bulk_create(
        [
            ExternalReference(
                source=source,
                source_name=source.name,
                key=f"SHOP-{n}",
                title="Cached",
                last_synced_at=timezone.now() - timedelta(hours=1),
            )
            for n in range(1, REFERENCES + 1)
        ]
    )
    client = Celery("testmanager-test-client", broker=worker_redis, backend=worker_redis)
    env = project_env(REDIS_URL=worker_redis, DATABASE_URL=worker_database_url(), TRACKER_ALLOW_PRIVATE_HOSTS="true")
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
        "sync@%h",
    ]

    with running(command, env, ready=lambda: bool(client.control.ping(timeout=0.5))):
        queued = client.send_task("issues.refresh_stale_references").get(timeout=60)
        refreshed = ExternalReference.objects.filter(source=source, title__startswith="Issue ", status="Done")
        deadline = time.monotonic() + 60  # the fanned-out run is another task: wait for its writes
        while refreshed.count() < REFERENCES and time.monotonic() < deadline:
            time.sleep(0.2)

    assert queued == [source.pk]
    assert refreshed.count() == REFERENCES
    assert set(ExternalReference.objects.values_list("status_category", "last_error")) == {("done", "")}
    assert len(fake_jira_cloud.requests_to("POST", r"/rest/api/3/search/jql")) == 2  # 100 keys a request
    budget = redis.Redis.from_url(worker_redis).keys(f"testmanager:http-budget:{source.uuid}:*")
    assert budget, "the worker counted its requests in the budget shared through Redis"
