"""API latency at 10,000 issues under concurrent clients, against the production stack.

    .venv/bin/python bench/api_load.py [clients] [seconds]      (defaults: 20 clients, 60 s)

Starts what `make prod` runs (tests/support/prod_stack.py: its own PostgreSQL and Redis on free
ports, `scripts/prod.sh prepare`, then gunicorn with WEB_WORKERS, default 4), seeds a project with
10,000 issues (two tags each, every third unassigned), a run of 100 results and an API token, then
lets `clients` threads call the API for `seconds`, each with its own keep-alive session, in this mix:

    40%  GET /api/issues?project=BENCH&page=N            a random page of the list
    20%  GET /api/issues?project=BENCH&status=open&search=W   filtered and searched
    30%  GET /api/issues/BENCH-N                         one issue by key
    10%  GET /api/testruns/ID                            a run with its per-status counts

and prints requests made, errors, requests a second and the p50/p95/p99 latency of each kind and
overall. Target: p95 under 500 ms overall at 20 clients on 2 cores. The clients share the machine
with the server (Python threads), so figures are an upper bound of what a remote client would see.
Figures are for information only; no test times anything.
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
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

ISSUES = 10_000
PAGE_SIZE = 50  # the API's default page size (REST_FRAMEWORK PAGE_SIZE)
WORDS = ("checkout", "search", "login", "payment", "cart")
TARGET_P95_MS = 500


def seed() -> None:
    """Inside the stack's Django: the project, its issues and run, and a token (printed)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from issues.core.models import Issue, IssuePriority, IssueStatus, Tag
    from projects.models import ApiToken, Membership, Project, ResultStatus, Role, TestCase, TestResult, TestRun

    project = Project.objects.create(key="BENCH", name="Benchmark")
    users = [get_user_model().objects.create_user(f"member{number}") for number in range(5)]
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
            for number in range(1, ISSUES + 1)
        ],
        batch_size=1000,
    )
    Project.objects.filter(pk=project.pk).update(last_issue_number=ISSUES)
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
    results = ResultStatus.values
    TestResult.objects.bulk_create(
        [TestResult(run=run, case=case, status=results[index % len(results)]) for index, case in enumerate(cases)]
    )
    _, raw = ApiToken.objects.issue(user=users[0], name="bench")
    # Planner statistics, as autovacuum would gather them soon after a bulk load.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(run.pk, raw)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def load(base_url: str, token: str, run_id: int, clients: int, seconds: float):
    import requests

    def request(rng: random.Random) -> tuple[str, str]:
        roll = rng.random()
        if roll < 0.4:
            return "list page", f"/api/issues?project=BENCH&page={rng.randint(1, ISSUES // PAGE_SIZE)}"
        if roll < 0.6:
            return "filtered search", f"/api/issues?project=BENCH&status=open&search={rng.choice(WORDS)}"
        if roll < 0.9:
            return "issue by key", f"/api/issues/BENCH-{rng.randint(1, ISSUES)}"
        return "run with counts", f"/api/testruns/{run_id}"

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


def report(timings, errors, elapsed: float, clients: int) -> None:
    everything = [value for values in timings.values() for value in values]
    print(
        f"\n{len(everything):,} requests from {clients} clients in {elapsed:.1f} s: "
        f"{len(everything) / elapsed:.0f} requests/s, {sum(errors.values())} errors"
    )
    print(f"{'kind':<18}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for kind, values in sorted(timings.items()) + [("all", everything)]:
        print(
            f"{kind:<18}{len(values):>9,}{statistics.median(values):>9.0f}"
            f"{percentile(values, 0.95):>9.0f}{percentile(values, 0.99):>9.0f}"
        )
    p95 = percentile(everything, 0.95)
    verdict = "meets" if p95 < TARGET_P95_MS else "MISSES"
    print(f"overall p95 {p95:.0f} ms {verdict} the target of {TARGET_P95_MS} ms")


def main() -> None:
    from tests.support.prod_stack import prod_stack

    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 60
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
            [sys.executable, __file__, "seed"],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            env={**stack.env, "DJANGO_SETTINGS_MODULE": "testmanager.settings"},
        )
        if seeded.returncode:
            sys.exit(f"Seeding failed:\n{seeded.stderr}")
        run_id, token = seeded.stdout.split()[-2:]
        print(f"Seeded {ISSUES:,} issues; {clients} clients for {seconds:.0f} s against {stack.base_url}", flush=True)
        with stack.web():
            report(*load(stack.base_url, token, int(run_id), clients, seconds), clients)


if __name__ == "__main__":
    if sys.argv[1:] == ["seed"]:
        seed()
    else:
        main()
