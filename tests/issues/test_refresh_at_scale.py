"""Refreshing many references on the real ``refresh_source`` path: how many requests a run sends
(counted by the fake), that the stale references are read from the database in chunks, and that a run
holds one chunk at a time (tracemalloc).

Every tracker is a fake over real HTTP.
"""

import gc
import tracemalloc

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.models import Source
from issues.links.models import ExternalReference
from issues.sync import refresh
from tests.factories import ProjectIntegrationFactory
from tests.fakes.server import json_response
from tests.issues.sync_support import azure_devops_source

pytestmark = pytest.mark.django_db

STATES = r".*/_apis/wit/workitemtypes/[^/]+/states"
BATCH = r".*/_apis/wit/workitemsbatch"
MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


def never_read(source, keys):
    ExternalReference.objects.bulk_create(
        [ExternalReference(source=source, source_name=source.name, key=key, title="Cached") for key in keys],
        batch_size=2000,
    )
    return ExternalReference.objects.filter(source=source)


def test_ten_thousand_azure_devops_work_items_cost_51_requests(fake_azure_devops):
    fake_azure_devops.add_project("Fabrikam")
    ids = [fake_azure_devops.add_work_item("Fabrikam", "Bug", f"Bug {n}", state="Active").id for n in range(10_000)]
    source = azure_devops_source(fake_azure_devops, can_process_webhooks=False)  # the default budget
    references = never_read(source, [str(item_id) for item_id in ids])

    report = refresh.refresh_source(source.pk)

    assert (report.read, report.failed, report.error) == (10_000, 0, "")
    assert len(fake_azure_devops.requests_to("POST", BATCH)) == 50  # 200 ids a request
    assert len(fake_azure_devops.requests_to("GET", STATES)) == 1  # once per run, not once per batch
    assert len(fake_azure_devops.requests) <= 51
    assert set(references.values_list("status", "status_category", "last_error").distinct()) == {
        ("Active", "in_progress", "")
    }


def test_each_work_item_type_states_are_read_once_a_run_and_again_the_next_run(fake_azure_devops):
    fake_azure_devops.add_project("Fabrikam")
    ids = [fake_azure_devops.add_work_item("Fabrikam", "Bug" if n % 2 else "Task", f"Item {n}").id for n in range(600)]
    source = azure_devops_source(fake_azure_devops, can_process_webhooks=False)
    never_read(source, [str(item_id) for item_id in ids])

    refresh.refresh_source(source.pk)
    first_run = len(fake_azure_devops.requests_to("GET", STATES))
    ExternalReference.objects.filter(source=source).update(last_synced_at=None)
    refresh.refresh_source(source.pk)

    assert first_run == 2  # Bug and Task, across three batches
    # A new run asks again: states a project administrator changed meanwhile are read.
    assert len(fake_azure_devops.requests_to("GET", STATES)) == 4
    assert len(fake_azure_devops.requests_to("POST", BATCH)) == 6
    assert not ExternalReference.objects.filter(source=source, last_synced_at__isnull=True).exists()
    assert Source.objects.get(pk=source.pk).health != "error"


def reference_reads(queries):
    """The SELECTs of whole reference rows a run sent (not the locks and updates of what it stores)."""
    table = f'FROM "{ExternalReference._meta.db_table}"'
    return [
        query["sql"]
        for query in queries
        if query["sql"].startswith("SELECT")
        and table in query["sql"]
        and "FOR UPDATE" not in query["sql"]
        and '"title"' in query["sql"]
    ]


def test_stale_references_are_read_from_the_database_one_batch_at_a_time(fake_azure_devops):
    fake_azure_devops.add_project("Fabrikam")
    ids = [fake_azure_devops.add_work_item("Fabrikam", "Bug", f"Bug {n}").id for n in range(1_000)]
    source = azure_devops_source(fake_azure_devops, can_process_webhooks=False)
    never_read(source, [str(item_id) for item_id in ids])

    with CaptureQueriesContext(connection) as queries:
        report = refresh.refresh_source(source.pk)

    assert report.read == 1_000
    reads = reference_reads(queries.captured_queries)
    # One page of 200 rows per request the run sends (and one finding the end), never the 1,000 at once.
    assert len(reads) == 6
    assert all(read.endswith("LIMIT 200") for read in reads)


def test_what_follows_a_change_is_read_once_a_run_not_once_a_batch(fake_azure_devops):
    fake_azure_devops.add_project("Fabrikam")
    ids = [fake_azure_devops.add_work_item("Fabrikam", "Bug", f"Bug {n}").id for n in range(600)]
    source = azure_devops_source(fake_azure_devops, can_process_webhooks=False)
    ProjectIntegrationFactory(source=source, external_project="Fabrikam")  # keeps no defects, pulls nothing
    never_read(source, [str(item_id) for item_id in ids])

    with CaptureQueriesContext(connection) as queries:
        report = refresh.refresh_source(source.pk)

    assert (report.read, report.changed) == (600, 600)  # three batches, every reference changed
    sql = [query["sql"] for query in queries.captured_queries]
    # The integrations' options once for the run; nobody keeps defects or pulls requirements, so no batch
    # asks for pulled requirements or defects' comments: the defects' pending pushes (changes, then
    # comments) are looked for once, at the end of the run.
    assert len([query for query in sql if query.startswith('SELECT "integrations_projectintegration"')]) == 1
    assert not [query for query in sql if '"issues_pulledrequirement"' in query]
    assert len([query for query in sql if '"issues_defectsync"' in query]) == 2


# Measured (tracemalloc, Python 3.11): 10,000 references held as rows cost 7.6 MiB by themselves (20,000:
# 15.2 MiB, 100,000 about 76 MiB), before any answer or state is built for them. A run that holds one batch
# of 200 at a time peaks at about 2.2 MiB, whatever the count (the fake's answers and its request log
# included). The bound sits between the two: a run that held every stale reference would exceed it.
STREAMING_BOUND = 5 * MiB


def test_a_run_over_ten_thousand_references_holds_one_batch_at_a_time(fake_azure_devops):
    fake_azure_devops.add_project("Fabrikam")
    ids = [fake_azure_devops.add_work_item("Fabrikam", "Bug", f"Bug {n}", state="Active").id for n in range(10_000)]
    source = azure_devops_source(fake_azure_devops, can_process_webhooks=False)
    never_read(source, [str(item_id) for item_id in ids])
    gc.collect()

    tracemalloc.start()
    try:
        report = refresh.refresh_source(source.pk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (report.read, report.error) == (10_000, "")
    assert peak < STREAMING_BOUND, f"the run's peak was {peak / MiB:.1f} MiB"


def test_a_tracker_failing_mid_run_marks_the_batch_and_the_rest_the_run_meant_to_read(fake_azure_devops):
    fake_azure_devops.add_project("Fabrikam")
    ids = [fake_azure_devops.add_work_item("Fabrikam", "Bug", f"Bug {n}").id for n in range(1_000)]
    source = azure_devops_source(fake_azure_devops, can_process_webhooks=False)
    Source.objects.filter(pk=source.pk).update(rate_limit_per_minute=8)  # 4 requests a run: 800 references
    references = never_read(source, [str(item_id) for item_id in ids])

    original = fake_azure_devops.server.interceptor
    served = []

    def second_batch_fails(request):
        if "workitemsbatch" in request.path:
            served.append(request)
            if len(served) >= 2:  # and every retry
                return json_response(503, {"message": "Service unavailable"})
        return original(request) if original is not None else None

    fake_azure_devops.server.interceptor = second_batch_fails

    report = refresh.refresh_source(source.pk)

    assert (report.read, report.failed) == (200, 600)  # the failed batch and the two the run would have read
    assert references.filter(last_synced_at__isnull=False).count() == 200
    assert references.exclude(last_error="").count() == 600
    assert references.filter(last_synced_at__isnull=True, last_error="").count() == 200  # beyond the budget
