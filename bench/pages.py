"""SQL queries and time of the heaviest member pages. Run by hand: `.venv/bin/python bench/pages.py`.

Builds a throwaway SQLite database with 10,000 issues and test cases with 5 and 500 linked
issues, renders the pages through Django's test client as a logged-in member, and prints
the number of SQL queries and the median time per page. The query count of a page must not
grow with the number of rows or links on it (selectors use select_related/prefetch_related);
the time is for information only and is never asserted anywhere.
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

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from integrations.models import AuthType, Provider, Source  # noqa: E402
from issues.core.models import Issue, IssuePriority, IssueStatus, Tag  # noqa: E402
from issues.links.models import ExternalReference, Link  # noqa: E402
from projects.models import Membership, Project, ResultStatus, Role, TestCase, TestResult, TestRun  # noqa: E402

ISSUES = 10_000
REPEAT = 5


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
    references = ExternalReference.objects.bulk_create(
        [
            ExternalReference(
                source=source,
                source_name=source.name,
                key=f"EXT-{number}",
                title=f"Remote {number}",
                url=f"https://tracker.example.com/issues/EXT-{number}",
                status="In Progress",
                status_category="in_progress",
            )
            for number in range(1, 251)
        ]
    )
    cases = {}
    for count in (5, 500):
        case = TestCase.objects.create(
            project=project,
            title=f"Case with {count} links",
            folder="Bench",
            steps=[{"action": "Do it", "expected": "Done"}],
        )
        Link.objects.bulk_create(
            [
                Link(project=project, test_case=case, issue_id=issue_ids[number])
                if number % 2
                else Link(project=project, test_case=case, external_reference=references[number // 2])
                for number in range(count)
            ]
        )
        cases[count] = case
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
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    query_count = len(queries)  # now: the timed requests below reset the connection's query log
    timings = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    return query_count, statistics.median(timings)


def main():
    try:
        print(f"Building {ISSUES:,} issues and the link fixtures in {WORK_DIR} ...", flush=True)
        member, cases, run = build()
        client = Client()
        client.force_login(member)
        pages = [
            ("issue list, page 1 of 10,000 issues", "/projects/BENCH/issues/"),
            ("issue list, last page", "/projects/BENCH/issues/?page=200"),
            (
                "issue list, filtered (unresolved, tag, text)",
                "/projects/BENCH/issues/?status=unresolved&tag=ui&q=number",
            ),
            ("test case with 5 links", f"/projects/BENCH/cases/{cases[5].pk}/"),
            ("test case with 500 links", f"/projects/BENCH/cases/{cases[500].pk}/"),
            ("run with 100 results, 200 linked issues", f"/projects/BENCH/runs/{run.pk}/"),
        ]
        print(f"\n{'page':<48} {'SQL queries':>11} {'median ms':>10}")
        for label, url in pages:
            queries, milliseconds = measure(client, url)
            print(f"{label:<48} {queries:>11} {milliseconds:>10.1f}")
        print(f"\nSQLite, {REPEAT} timed requests per page after one warm-up request; Django test client, no network.")
    finally:
        shutil.rmtree(WORK_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
