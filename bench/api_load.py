"""Issue list API at 10,000 issues on the production stack, against issue 21's targets.

    .venv/bin/python bench/api_load.py [seconds per phase]      (default: 30 s)

Starts what `make prod` runs (tests/support/prod_stack.py: its own PostgreSQL and Redis on free
ports, `scripts/prod.sh prepare`, then gunicorn with WEB_WORKERS, default 4, keeping database
connections as make prod does), seeds a project with 10,000 issues (two tags and a link to a test case
each, every third unassigned) and an API token, then calls `GET /api/issues?project=BENCH&page=N`
(a random page of 50) for `seconds` with 1 client, then with 20 concurrent clients, each thread with
its own keep-alive session, and prints each target with its measured value and met/missed:

    p95 with 1 client <= 60 ms;  p95 with 20 clients <= 150 ms;  >= 150 requests/s with 20 clients

The clients share the 2 cores with the server (Python threads), so figures are an upper bound of
what a remote client would see. Figures are for information only; no test times anything.
"""

import os
import random
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

ISSUES = 10_000
PAGE_SIZE = 50  # the API's default page size (REST_FRAMEWORK PAGE_SIZE)
WORDS = ("checkout", "search", "login", "payment", "cart")
# (what, limit, unit, True when the measured value must be at most the limit)
TARGETS = {
    "p95 with 1 client": (60, "ms", True),
    "p95 with 20 clients": (150, "ms", True),
    "requests/s with 20 clients": (150, "req/s", False),
}


def seed(issues: int = ISSUES, key: str = "BENCH") -> None:
    """Inside the stack's Django: the project with `issues` issues, its run, and a token (printed)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from issues.core.models import Issue, IssuePriority, IssueStatus, Tag
    from issues.links.models import Link
    from projects.models import ApiToken, Membership, Project, ResultStatus, Role, TestCase, TestResult, TestRun

    project = Project.objects.create(key=key, name="Benchmark")
    users = [get_user_model().objects.create_user(f"{key.lower()}member{number}") for number in range(5)]
    Membership.objects.bulk_create([Membership(project=project, user=user, role=Role.MEMBER) for user in users])
    tags = [Tag.objects.create(project=project, name=name) for name in WORDS]
    statuses, priorities = IssueStatus.values, IssuePriority.values
    Issue.objects.bulk_create(
        [
            Issue(
                project=project,
                number=number,
                name=f"Issue {number} in {WORDS[number % len(WORDS)]}",
                description="Steps and details",
                status=statuses[number % len(statuses)],
                priority=priorities[number % len(priorities)],
                reporter=users[0],
                assignee=users[number % len(users)] if number % 3 else None,
            )
            for number in range(1, issues + 1)
        ],
        batch_size=1000,
    )
    Project.objects.filter(pk=project.pk).update(last_issue_number=issues)
    Issue.tags.through.objects.bulk_create(
        [
            Issue.tags.through(issue_id=issue_id, tag_id=tags[(issue_id + offset) % len(tags)].pk)
            for issue_id in Issue.objects.filter(project=project).values_list("id", flat=True)
            for offset in (0, 1)
        ],
        batch_size=2000,
    )
    run = TestRun.objects.create(project=project, name="Nightly")
    cases = TestCase.objects.bulk_create([TestCase(project=project, title=f"Case {n}") for n in range(100)])
    Link.objects.bulk_create(
        [
            Link(project=project, issue_id=issue_id, test_case=cases[issue_id % len(cases)], created_by=users[0])
            for issue_id in Issue.objects.filter(project=project).values_list("id", flat=True)
        ],
        batch_size=2000,
    )
    results = ResultStatus.values
    TestResult.objects.bulk_create(
        [TestResult(run=run, case=case, status=results[index % len(results)]) for index, case in enumerate(cases)]
    )
    _, raw = ApiToken.objects.issue(user=users[0], name="bench")
    # Planner statistics and the visibility map (index-only scans), as autovacuum would soon after a bulk load.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(raw)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def load(base_url: str, token: str, clients: int, seconds: float):
    import requests

    def request(rng: random.Random) -> tuple[str, str]:
        return "list page", f"/api/issues?project=BENCH&page={rng.randint(1, ISSUES // PAGE_SIZE)}"

    timings: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(number: int) -> None:
        rng = random.Random(number)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        while time.monotonic() < stop_at:
            kind, path = request(rng)
            started = time.perf_counter()
            try:
                ok = session.get(base_url + path, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                timings[kind].append(elapsed)
                if not ok:
                    errors[kind] += 1

    threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings, errors, time.monotonic() - began


def summary(timings, errors, elapsed: float, clients: int) -> tuple[float, float]:
    """Prints the phase's figures; returns its p95 (ms) and requests a second."""
    everything = [value for values in timings.values() for value in values]
    rate = len(everything) / elapsed
    p95 = percentile(everything, 0.95)
    print(
        f"{clients:>2} client(s): {len(everything):,} requests in {elapsed:.1f} s, {rate:.0f} requests/s, "
        f"{sum(errors.values())} errors; p50 {statistics.median(everything):.0f} ms, p95 {p95:.0f} ms, "
        f"p99 {percentile(everything, 0.99):.0f} ms",
        flush=True,
    )
    return p95, rate


def verdicts(measured: dict[str, float], targets=TARGETS) -> None:
    print(f"\n{'target':<28}{'limit':>12}{'measured':>12}  verdict")
    for name, (limit, unit, at_most) in targets.items():
        value = measured[name]
        met = value <= limit if at_most else value >= limit
        bound = f"{'<=' if at_most else '>='} {limit} {unit}"
        print(f"{name:<28}{bound:>12}{value:>9.0f} {unit:<3}  {'met' if met else 'MISSED'}")


@contextmanager
def seeded_stack(issues: int, key: str):
    """The production stack with a project `key` of `issues` issues, serving; yields it and an API token."""
    from tests.support.prod_stack import prod_stack

    web_workers = os.environ.get("WEB_WORKERS", "4")
    settings = {
        "DEBUG": "false",
        "HTTPS": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FERNET_KEYS": secrets.token_urlsafe(32),
        "WEB_WORKERS": web_workers,
    }
    print(f"Starting the production stack (gunicorn with {web_workers} workers, PostgreSQL, Redis) ...", flush=True)
    with prod_stack(**settings) as stack:
        seeded = subprocess.run(
            [sys.executable, __file__, "seed", str(issues), key],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            env={**stack.env, "DJANGO_SETTINGS_MODULE": "testmanager.settings"},
        )
        if seeded.returncode:
            sys.exit(f"Seeding failed:\n{seeded.stderr}")
        print(f"Seeded {issues:,} issues in {key}", flush=True)
        with stack.web():
            yield stack, seeded.stdout.split()[-1]


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30
    with seeded_stack(ISSUES, "BENCH") as (stack, token):
        print(f"{seconds:.0f} s per phase against {stack.base_url}", flush=True)
        load(stack.base_url, token, 4, 3)  # warm-up: every worker connected and its code loaded
        p95_alone, _ = summary(*load(stack.base_url, token, 1, seconds), 1)
        p95_loaded, rate = summary(*load(stack.base_url, token, 20, seconds), 20)
    verdicts({"p95 with 1 client": p95_alone, "p95 with 20 clients": p95_loaded, "requests/s with 20 clients": rate})


if __name__ == "__main__":
    if sys.argv[1:2] == ["seed"]:
        seed(*[int(sys.argv[2]), sys.argv[3]] if len(sys.argv) > 2 else [])
    else:
        main()
