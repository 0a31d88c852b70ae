"""SQL queries, HTML size and time of the heaviest member pages, and Redis round trips per page view.
Run by hand: `.venv/bin/python bench/pages.py` (BENCH_REDIS_URL=redis://host:port/db to count Redis
round trips against a real Redis; without it they are not measured).

Builds a throwaway SQLite database with 10,000 issues and test cases with 50 and 5,000 linked
tracker issues (a quarter in each status category), renders the pages through Django's test client
as a logged-in member, and prints the number of SQL queries, the HTML bytes and the median time per
page. Issue 21's targets are printed with the
measured value and met/missed: the test case with 5,000 links costs what the one with 50 does (same
queries, HTML within 10%, median time within 1.5x: links beyond the first page are paged), and a page
view asks Redis once, whatever it shows (the stale tracker issues it asks to refresh, marked by one
pipeline of SET NX: 8 views of 250 were 2,000 round trips). Times depend on the machine's load and
are never asserted by a test.
"""

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
WORK_DIR = Path(tempfile.mkdtemp(prefix="testmanager-bench-"))
sys.path.insert(0, str(BASE_DIR))
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "testmanager.settings",
        "DATABASE_URL": f"sqlite:///{WORK_DIR / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(WORK_DIR / "media"),
        # Pages name their stylesheets and scripts through the manifest that collectstatic writes (see build).
        "STATIC_ROOT": str(WORK_DIR / "static"),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "testserver",
        "REDIS_URL": "",
    }
)

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from redis.connection import AbstractConnection  # noqa: E402

from integrations.models import AuthType, Provider, Source  # noqa: E402
from issues.core.models import Issue, IssuePriority, IssueStatus, Tag  # noqa: E402
from issues.links.models import ExternalReference, Link  # noqa: E402
from issues.links.selectors import link_page  # noqa: E402
from issues.sync import refresh, tasks  # noqa: E402
from projects.models import Membership, Project, ResultStatus, Role, TestCase, TestResult, TestRun  # noqa: E402

ISSUES = 10_000
REPEAT = 5
LINK_COUNTS = (50, 5000)
VIEWS = 8  # page views whose Redis round trips are counted (issue 21: 8 views of 250 stale references)
SHOWN_STALE = 250


def build():
    call_command("migrate", verbosity=0)
    # Without DEBUG, {% static %} looks names up in collectstatic's manifest: no manifest, no page.
    call_command("collectstatic", interactive=False, verbosity=0)
    project = Project.objects.create(key="BENCH", name="Benchmark")
    users = []
    for number in range(5):
        user = get_user_model()(username=f"member{number}")
        user.set_unusable_password()
        user.save()
        Membership.objects.create(project=project, user=user, role=Role.MEMBER)
        users.append(user)
    tags = [Tag.objects.create(project=project, name=name) for name in ("ui", "api", "checkout", "search", "flaky")]
    statuses, priorities = IssueStatus.values, IssuePriority.values
    Issue.objects.bulk_create(
        [
            Issue(
                project=project,
                number=number,
                name=f"Issue number {number}",
                description="Steps and details",
                status=statuses[number % len(statuses)],
                priority=priorities[number % len(priorities)],
                assignee=users[number % len(users)] if number % 3 else None,
                reporter=users[0],
            )
            for number in range(1, ISSUES + 1)
        ],
        batch_size=1000,
    )
    Project.objects.filter(pk=project.pk).update(last_issue_number=ISSUES)
    issue_ids = list(Issue.objects.filter(project=project).order_by("number").values_list("id", flat=True))
    Issue.tags.through.objects.bulk_create(
        [
            Issue.tags.through(issue_id=issue_id, tag_id=tags[(index + offset) % len(tags)].pk)
            for index, issue_id in enumerate(issue_ids)
            for offset in (0, 1)
        ],
        batch_size=2000,
    )
    source = Source.objects.create(
        provider=Provider.CUSTOM,
        name="Bench tracker",
        base_url="https://tracker.example.com",
        auth_type=AuthType.NONE,
        issue_url_template="{baseUrl}/issues/{key}",
    )
    categories = ("todo", "in_progress", "done", "unknown")
    references = ExternalReference.objects.bulk_create(
        [
            ExternalReference(
                source=source,
                source_name=source.name,
                key=f"EXT-{number}",
                title=f"Remote {number}",
                url=f"https://tracker.example.com/issues/EXT-{number}",
                status=categories[number % 4].replace("_", " ").title(),
                status_category=categories[number % 4],
            )
            for number in range(1, sum(LINK_COUNTS) + 1)
        ]
    )
    cases, first = {}, 0
    for count in LINK_COUNTS:
        case = TestCase.objects.create(
            project=project,
            title=f"Case with {count} links",
            folder="Bench",
            steps=[{"action": "Do it", "expected": "Done"}],
        )
        # Tracker issues only, whose rows all weigh the same: the page of 5,000 links is compared with that
        # of 50 row for row (an internal issue's row is shorter than a tracker issue's).
        Link.objects.bulk_create(
            [
                Link(project=project, test_case=case, external_reference=reference)
                for reference in references[first : first + count]
            ]
        )
        cases[count], first = case, first + count
    run = TestRun.objects.create(project=project, name="Bench run")
    bench_cases = TestCase.objects.bulk_create(
        [TestCase(project=project, title=f"Run case {number}", folder="Run") for number in range(100)]
    )
    results = TestResult.objects.bulk_create(
        [TestResult(run=run, case=case, status=ResultStatus.FAILED) for case in bench_cases]
    )
    Link.objects.bulk_create(
        [
            Link(project=project, test_result=result, issue_id=issue_ids[index * 2 + offset])
            for index, result in enumerate(results)
            for offset in (0, 1)
        ]
    )
    return users[0], cases, run


def measure(client, url):
    """(SQL queries, HTML bytes, median ms) of a page."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    query_count = len(queries)  # now: the timed requests below reset the connection's query log
    timings = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    return query_count, len(response.content), statistics.median(timings)


class RoundTrips:
    """Counts what the app sends Redis and waits for: one command or one pipeline is one round trip."""

    def __init__(self):
        self.count = 0
        self._send = AbstractConnection.send_packed_command

    def __enter__(self):
        def counted(connection, command, check_health=True):
            self.count += 1
            return self._send(connection, command, check_health)

        AbstractConnection.send_packed_command = counted
        return self

    def __exit__(self, *exc):
        AbstractConnection.send_packed_command = self._send


def redis_round_trips(client, case, redis_url):
    """Redis round trips per page view, on the real Redis at ``redis_url`` (its bench keys are deleted
    after): the case page whose first page shows stale tracker issues, and ``request_refresh`` of 250
    shown stale references (issue 21's figure), each over VIEWS views with the markers cleared between
    views so that every view asks for all it shows. The refresh tasks are not queued: a worker's work."""
    ExternalReference.objects.update(last_synced_at=None)
    references = list(ExternalReference.objects.order_by("pk")[:SHOWN_STALE])
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    ):
        from django.core.cache import cache

        queued = tasks.refresh_references.delay
        tasks.refresh_references.delay = lambda *args, **kwargs: None
        try:
            cache.get("bench-warm-up")  # the connection's handshake is not a view's work
            figures = {}
            shown = len(link_page(case).references)
            for label, view in (
                (
                    f"case page view ({shown} stale tracker issues shown)",
                    lambda: client.get(f"/projects/BENCH/cases/{case.pk}/"),
                ),
                (
                    f"request_refresh of {SHOWN_STALE} shown stale references",
                    lambda: refresh.request_refresh(references),
                ),
            ):
                total = 0
                for _ in range(VIEWS):
                    _forget_asked(redis_url)
                    with RoundTrips() as trips:
                        view()
                    total += trips.count
                figures[label] = total / VIEWS
            return figures
        finally:
            tasks.refresh_references.delay = queued
            _forget_asked(redis_url)


def _forget_asked(redis_url):
    """Delete the bench's "asked to refresh" markers (only those) from the Redis database."""
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match="*issues:sync:asked:*", count=1000))
    if keys:
        client.delete(*keys)


def verdict(met: bool) -> str:
    return "met" if met else "missed"


def main():
    try:
        print(f"Building {ISSUES:,} issues and the link fixtures in {WORK_DIR} ...", flush=True)
        member, cases, run = build()
        client = Client()
        client.force_login(member)
        few, many = LINK_COUNTS
        pages = [
            ("issue list, page 1 of 10,000 issues", "/projects/BENCH/issues/"),
            ("issue list, last page", "/projects/BENCH/issues/?page=200"),
            (
                "issue list, filtered (unresolved, tag, text)",
                "/projects/BENCH/issues/?status=unresolved&tag=ui&q=number",
            ),
            (f"test case with {few:,} links", f"/projects/BENCH/cases/{cases[few].pk}/"),
            (f"test case with {many:,} links", f"/projects/BENCH/cases/{cases[many].pk}/"),
            (f"test case with {many:,} links, last page", f"/projects/BENCH/cases/{cases[many].pk}/?links_page=100"),
            ("run with 100 results, 200 linked issues", f"/projects/BENCH/runs/{run.pk}/"),
        ]
        print(f"\n{'page':<48} {'SQL queries':>11} {'HTML bytes':>11} {'median ms':>10}")
        measured = {}
        for label, url in pages:
            measured[label] = measure(client, url)
            queries, size, milliseconds = measured[label]
            print(f"{label:<48} {queries:>11} {size:>11,} {milliseconds:>10.1f}")
        (few_queries, few_bytes, few_ms), (many_queries, many_bytes, many_ms) = (
            measured[f"test case with {few:,} links"],
            measured[f"test case with {many:,} links"],
        )
        print(f"\nTargets (issue 21): the test case with {many:,} links costs what the one with {few} does")
        print(
            f"  SQL queries   {many_queries} vs {few_queries} (target: equal): {verdict(many_queries == few_queries)}"
        )
        print(
            f"  HTML bytes    {many_bytes:,} vs {few_bytes:,} (target: within 10%): "
            f"{verdict(many_bytes <= few_bytes * 1.1)}"
        )
        print(
            f"  median ms     {many_ms:.1f} vs {few_ms:.1f} (target: within 1.5x; depends on load): "
            f"{verdict(many_ms <= few_ms * 1.5)}"
        )
        redis_url = os.environ.get("BENCH_REDIS_URL", "")
        if redis_url:
            print(f"\nRedis round trips per page view (real Redis at {redis_url}, mean of {VIEWS} views; target: 1)")
            for label, trips in redis_round_trips(client, cases[many], redis_url).items():
                print(f"  {label:<58} {trips:>5.1f}: {verdict(trips <= 1)}")
        else:
            print("\nRedis round trips per page view: not measured (set BENCH_REDIS_URL=redis://host:port/db)")
        print(f"\nSQLite, {REPEAT} timed requests per page after one warm-up request; Django test client, no network.")
    finally:
        shutil.rmtree(WORK_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
