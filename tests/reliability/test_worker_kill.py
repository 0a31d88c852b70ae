"""Workers killed mid-task. SIGKILL on the whole worker (its main process and the pool child that runs
the task): tasks are acknowledged when they end, so Redis hands the task to the next worker once the
visibility timeout has passed. SIGKILL on the pool child alone: the main process puts the task back
at once (reject on worker lost). Either way the next run finishes what the dead one left half done:
nothing is done twice, nothing is lost.

The fake tracker carries out a request and then holds its answer, so the worker is provably waiting
on the tracker (the tracker already did the work) when it is killed. Each test's workers have a Redis
database of their own as broker: no other test's worker takes their tasks, and no test clears it
under them (the tests' caches are databases 1 up, one per xdist worker; 7 is test_refresh_worker's).
"""

import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import redis
from celery import Celery
from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.db import connection
from django.utils import timezone

from issues.filing import tasks
from issues.filing.models import FilingJob, FilingState
from issues.links.models import ExternalReference, Link
from issues.links.services import link
from projects.models import ResultStatus, Role
from tests.factories import MembershipFactory, ProjectFactory, TestResultFactory, TestRunFactory
from tests.issues.filing_support import CREATE_PATH, SEARCH_PATH, jira_world
from tests.issues.sync_support import jira_cloud_source
from tests.issues.test_filing_bulk import submit
from tests.support.processes import project_env, running, worker_database_url

pytestmark = [pytest.mark.postgres, pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

VISIBILITY_TIMEOUT = 2  # seconds an unacknowledged task waits before Redis delivers it again
WAIT_SECONDS = 45


def wait_for(condition, what: str, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {timeout} s")
        time.sleep(0.1)


class Broker:
    """A Redis database of the test's own, as its workers' broker, result backend and cache."""

    def __init__(self, url: str):
        self.url = url
        self.redis = redis.Redis.from_url(self.url)
        self.redis.flushdb()
        self.client = Celery("testmanager-test-client", broker=self.url, backend=self.url)

    def unacknowledged(self) -> list[float]:
        """When each task delivered but not acknowledged was delivered (epoch seconds)."""
        return [delivered for _, delivered in self.redis.zrange("unacked_index", 0, -1, withscores=True)]

    def worker(self, name: str):
        """A prefork worker with one child, running in a process group of its own."""
        env = project_env(
            REDIS_URL=self.url,
            DATABASE_URL=worker_database_url(),
            TRACKER_ALLOW_PRIVATE_HOSTS="true",
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        )
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "testmanager",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{name}@%h",
        ]
        return running(command, env, ready=lambda: bool(self.client.control.ping(timeout=0.5)), own_group=True)

    def kill(self, worker) -> None:
        """SIGKILL the worker's whole process group: the task runs in the pool child, not the main process."""
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=WAIT_SECONDS)

    def result(self, task, worker):
        """What the task returned, once ``worker`` ran it; else a failure telling where the task is
        and what the worker logged."""
        try:
            return task.get(timeout=WAIT_SECONDS)
        except CeleryTimeoutError:
            queued, unacknowledged = self.redis.llen("celery"), len(self.unacknowledged())
            self.kill(worker)
            pytest.fail(
                f"task {task.id} not done after {WAIT_SECONDS} s ({queued} queued, "
                f"{unacknowledged} delivered and unacknowledged); the worker logged:\n"
                f"{worker.stdout.read()[-3000:]}"
            )

    def pool_child(self, worker) -> int:
        """The process that runs the worker's tasks (its only pool child)."""
        (child,) = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
        return int(child)

    def wait_for_redelivery(self) -> None:
        """Until the killed worker's task is older than the visibility timeout: the next worker, when it
        starts, gives it back to the queue."""
        (delivered,) = self.unacknowledged()  # the dead worker never acknowledged its task
        wait_for(
            lambda: time.time() - delivered > VISIBILITY_TIMEOUT + 0.5,
            f"the task waiting {VISIBILITY_TIMEOUT} s for its redelivery",
        )


@pytest.fixture
def worker_broker(settings):
    """A Broker on the Redis database of the number given."""
    assert settings.REDIS_URL, "make test provides a real Redis in REDIS_URL"
    assert connection.vendor == "postgresql", "the workers read the test database, served from PostgreSQL"
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True
    # Sessions open before the workers start are this test process's own (a live server thread of an
    # earlier browser test may still hold one); only the workers' must end.
    before = other_sessions()
    yield lambda database: Broker(urlsplit(settings.REDIS_URL)._replace(path=f"/{database}").geturl())
    # The workers' database sessions end a moment after their processes: the test database is dropped
    # at the end of the run, which fails while one is open.
    wait_for(lambda: not other_sessions() - before, "the workers' database sessions closing")


def other_sessions() -> set[int]:
    """The server process ids of the other sessions on the test database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


REFERENCES = 250  # three reads of 100 keys: the worker dies waiting for the second


def test_a_refresh_killed_mid_run_is_finished_by_the_next_worker_and_nothing_is_lost_or_read_twice(
    fake_jira_cloud, worker_broker
):
    broker = worker_broker(15)
    fake_jira_cloud.add_project("SHOP")
    read_at = datetime(2026, 3, 1, tzinfo=UTC)
    for number in range(1, REFERENCES + 1):
        fake_jira_cloud.add_issue("SHOP", f"Issue {number}", status="Done", updated=read_at)
    source = jira_cloud_source(fake_jira_cloud, can_process_webhooks=False)
    synced_before = timezone.now() - timedelta(hours=1)
    ExternalReference.objects.bulk_create(
        [
            ExternalReference(
                source=source,
                source_name=source.name,
                key=f"SHOP-{number}",
                title="Cached",
                status="To Do",
                status_category="todo",
                last_synced_at=synced_before,
                remote_updated_at=read_at - timedelta(days=1),
            )
            for number in range(1, REFERENCES + 1)
        ]
    )
    run = TestRunFactory()
    for key in ("SHOP-1", "SHOP-150", "SHOP-250"):  # one in each read
        result = TestResultFactory(run=run, case__project=run.project, status=ResultStatus.FAILED)
        link(artefact=result, reference=ExternalReference.objects.get(key=key))
    links = set(Link.objects.values_list("pk", "external_reference_id", "test_result_id"))
    second_read = fake_jira_cloud.server.hold_answers("POST", SEARCH_PATH, after=1)

    with broker.worker("refresh-killed") as worker:
        task = broker.client.send_task("issues.refresh_source_references", [source.pk])
        second_read.wait_until_held()
        broker.kill(worker)
    second_read.release()
    refreshed = ExternalReference.objects.filter(status="Done")
    assert refreshed.count() == 100, "the first read was stored before the worker died"
    broker.wait_for_redelivery()
    with broker.worker("refresh-next") as worker:
        report = broker.result(task, worker)

    assert (report["skipped"], report["read"], report["failed"]) == ("", REFERENCES - 100, 0)
    assert len(fake_jira_cloud.requests_to("POST", SEARCH_PATH)) == 4, "the stored read was not read again"
    references = list(ExternalReference.objects.order_by("pk"))
    assert [reference.key for reference in references] == [f"SHOP-{number}" for number in range(1, REFERENCES + 1)]
    for reference in references:
        assert (reference.title, reference.status, reference.last_error) == (
            fake_jira_cloud.issue(reference.key).summary,
            "Done",
            "",
        )
        assert reference.remote_updated_at == read_at and reference.last_synced_at > synced_before
    assert set(Link.objects.values_list("pk", "external_reference_id", "test_result_id")) == links


FAILURES = 5  # one Jira issue each; the worker dies waiting for the answer to the third create


def queue_filing(broker, fake_jira_cloud, client, monkeypatch):
    """A bulk filing of five failures queued for the workers, the answer to its third create held back."""
    project = ProjectFactory(key="SHOP", name="Web shop")
    jira = jira_world(fake_jira_cloud, project)
    client.force_login(MembershipFactory(project=project, role=Role.MEMBER).user)
    run = TestRunFactory(project=project, name="Nightly", environment="Chrome")
    for number in range(1, FAILURES + 1):
        TestResultFactory(
            run=run,
            case__project=project,
            case__title=f"Checkout step {number}",
            status=ResultStatus.FAILED,
            comment=f"Step {number} broke",
        )
    queued = []
    monkeypatch.setattr(
        tasks.run_filing_job,
        "delay",
        lambda job_id: queued.append(broker.client.send_task("issues.run_filing_job", [job_id])),
    )
    third_create = fake_jira_cloud.server.hold_answers("POST", CREATE_PATH, after=2)
    submit(client, jira, run)
    (task,) = queued
    return SimpleNamespace(jira=jira, job=FilingJob.objects.get(), task=task, third_create=third_create)


def wait_for_the_third_create(filing) -> None:
    """Until the worker waits for the answer to the third create, which Jira carried out."""
    filing.third_create.wait_until_held()
    assert len(filing.jira.fake.issues) == 3
    assert filing.job.items.filter(state=FilingState.FILED).count() == 2 and ExternalReference.objects.count() == 2


def assert_each_failure_filed_once(filing) -> None:
    jira, job = filing.jira, filing.job
    job.refresh_from_db()
    assert job.finished_at is not None
    assert len(jira.creates()) == FAILURES, "the third issue was found by its marker, not created again"
    assert len(jira.fake.issues) == FAILURES
    items = list(job.items.select_related("reference", "result__case"))
    assert {item.state for item in items} == {FilingState.FILED}
    assert {item.reference.key for item in items} == set(jira.fake.issues)
    assert ExternalReference.objects.count() == FAILURES and Link.objects.count() == FAILURES
    for item in items:
        remote = jira.fake.issue(item.reference.key)
        assert remote.summary == f"{item.result.case.title} failed in Nightly"
        assert list(Link.objects.filter(external_reference=item.reference).values_list("test_result", flat=True)) == [
            item.result_id
        ]
        assert len(remote.remote_links) == 1, "one link back to the result's page"


def test_a_bulk_filing_whose_worker_is_killed_after_a_remote_create_files_each_failure_exactly_once(
    fake_jira_cloud, worker_broker, client, monkeypatch
):
    broker = worker_broker(9)
    filing = queue_filing(broker, fake_jira_cloud, client, monkeypatch)
    with broker.worker("filing-killed") as worker:
        wait_for_the_third_create(filing)
        broker.kill(worker)
    filing.third_create.release()
    broker.wait_for_redelivery()
    with broker.worker("filing-next") as worker:
        broker.result(filing.task, worker)

    assert_each_failure_filed_once(filing)


def test_a_bulk_filing_whose_pool_child_is_killed_is_given_back_at_once_and_files_each_failure_exactly_once(
    fake_jira_cloud, worker_broker, client, monkeypatch
):
    broker = worker_broker(8)
    filing = queue_filing(broker, fake_jira_cloud, client, monkeypatch)
    with broker.worker("filing-child-killed") as worker:
        wait_for_the_third_create(filing)
        child = broker.pool_child(worker)
        os.kill(child, signal.SIGKILL)  # the main process sees its child lost and puts the task back
        broker.result(filing.task, worker)
        assert broker.pool_child(worker) != child
    filing.third_create.release()

    assert_each_failure_filed_once(filing)
