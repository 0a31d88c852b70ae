"""Webhook ingest over real HTTP, against the production stack (gunicorn, Celery worker, PostgreSQL, Redis).

    .venv/bin/python bench/webhook_ingest.py [deliveries per phase]      (default 2,000)

Starts what `make prod` runs (tests/support/prod_stack.py: gunicorn with WEB_WORKERS, default 4, and
the Celery worker), seeds a Jira Cloud source with a webhook secret and one stale reference per issue,
then posts signed Jira deliveries (one issue event each, every one changing its reference) to
/hooks/<uuid>/: first with 1 sender, then with 4 (threads, each with its own keep-alive session), each
phase about its own issues; then every delivery once more (all duplicates). The hook records each
delivery and answers 202; the worker applies them in batches while the senders post. Prints per phase
events/s, p50/p95 and the CPU each part spent per delivery (gunicorn, the worker, PostgreSQL, the
senders: CPU time, which the machine's other load inflates far less than latency), against the targets
(>= 600 events/s with 4 senders, p95 <= 30 ms); then waits for the worker to drain the queue and checks
nothing is lost: every delivery answered, recorded once and applied once (as many references changed as
deliveries sent, none left queued), every duplicate queued 0 times. The senders share the 2 cores with
the server.
"""

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import requests

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

SECRET = "bench-webhook-secret"
TARGET_EVENTS_PER_SECOND = 600
TARGET_P95_MS = 30


def seed(base_url: str, count: int) -> None:
    """Inside the stack's Django: the source and its stale references (HOOK-1..count); prints the uuid."""
    import django

    django.setup()
    from integrations.models import AuthType, Provider, Source
    from issues.links.models import ExternalReference
    from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN

    source = Source.objects.create(
        provider=Provider.JIRA_CLOUD,
        name="Jira (webhooks)",
        base_url=base_url,
        allow_http=True,
        auth_type=AuthType.API_TOKEN,
        credentials={"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
        webhook_secret=SECRET,
        can_process_webhooks=True,
    )
    ExternalReference.objects.bulk_create(
        [
            ExternalReference(source=source, source_name=source.name, key=f"HOOK-{n}", title="Cached")
            for n in range(1, count + 1)
        ],
        batch_size=1000,
    )
    print(source.uuid)


def count_rows(uuid: str) -> None:
    """Inside the stack's Django: references changed, deliveries recorded and still queued, as JSON."""
    import django

    django.setup()
    from integrations.models import Source
    from issues.links.models import ExternalReference
    from issues.sync.models import WebhookDelivery

    source = Source.objects.get(uuid=uuid)
    changed = ExternalReference.objects.filter(source=source, status="In Progress").count()
    deliveries = WebhookDelivery.objects.filter(source=source)
    pending = deliveries.filter(pending_events__isnull=False).count()
    print(json.dumps({"changed": changed, "deliveries": deliveries.count(), "pending": pending}))


def cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) of a process and its live descendants, from /proc."""
    parents, times = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        pid = int(stat.parent.name)
        parents[pid], times[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
    tree, grown = {root}, True
    while grown:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= children
        grown = bool(children)
    return sum(times.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


def postmaster(port: str) -> int:
    """The stack's PostgreSQL server process (started with ``-p <port>``)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if words and words[0].endswith(b"postgres") and b"-p" in words and port.encode() in words:
            return int(cmdline.parent.name)
    sys.exit(f"no PostgreSQL server on port {port}")


def cpu_of(parts: dict[str, int]) -> dict[str, float]:
    return {**{name: cpu_seconds(pid) for name, pid in parts.items()}, "senders": time.process_time()}


def pending_deliveries(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        query = "SELECT count(*) FROM issues_webhookdelivery WHERE pending_events IS NOT NULL"
        return connection.execute(query).fetchone()[0]


def drain(database_url: str, limit: float = 600) -> float:
    """Seconds until the worker applied every queued delivery."""
    started = time.perf_counter()
    while pending_deliveries(database_url):
        if time.perf_counter() - started > limit:
            sys.exit(f"The worker did not drain the queue within {limit:.0f} s.")
        time.sleep(0.2)
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def send_all(url: str, deliveries: list, senders: int) -> tuple[float, list[float], list[str]]:
    """Post the deliveries from ``senders`` threads; seconds, latencies (ms) and answers' messages."""
    latencies: list[float] = []
    messages: list[str] = []
    lock = threading.Lock()
    shares = [deliveries[index::senders] for index in range(senders)]

    def sender(share: list) -> None:
        session = requests.Session()
        for delivery in share:
            headers = {"Content-Type": "application/json", **delivery.headers}
            started = time.perf_counter()
            response = session.post(url, data=delivery.body, headers=headers, timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            answered = response.status_code in (200, 202)
            message = response.json()["message"] if answered else f"HTTP {response.status_code}"
            with lock:
                latencies.append(elapsed)
                messages.append(message)

    threads = [threading.Thread(target=sender, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, messages


def django_script(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, __file__, *args],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        env={**env, "DJANGO_SETTINGS_MODULE": "testmanager.settings"},
    )
    if done.returncode:
        sys.exit(f"{args[0]} failed:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN
    from tests.fakes.jira import JiraFake
    from tests.support.prod_stack import prod_stack

    per_phase = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
    web_workers = os.environ.get("WEB_WORKERS", "4")
    settings = {
        "DEBUG": "false",
        "HTTPS": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FERNET_KEYS": secrets.token_urlsafe(32),
        "WEB_WORKERS": web_workers,
        "TRACKER_ALLOW_PRIVATE_HOSTS": "true",
    }
    print(f"Starting the production stack (gunicorn with {web_workers} workers, PostgreSQL, Redis) ...", flush=True)
    with JiraFake("cloud") as jira, prod_stack(**settings) as stack:
        jira.set_credentials(CLOUD_LOGIN, CLOUD_API_TOKEN)
        jira.add_project("HOOK")
        for number in range(2 * per_phase):
            jira.add_issue("HOOK", f"Hooked {number}")
        for key in jira.issues:
            jira.edit_issue(key, status="In Progress", priority="High")
        deliveries = [jira.issue_delivery(key, secret=SECRET) for key in jira.issues]
        uuid = django_script(stack.env, "seed", jira.base_url, str(2 * per_phase))
        url = f"{stack.base_url}/hooks/{uuid}/"
        phases = [
            ("1 sender, new deliveries", deliveries[:per_phase], 1, False),
            ("4 senders, new deliveries", deliveries[per_phase:], 4, True),
            ("4 senders, all again (duplicates)", deliveries, 4, False),
        ]
        lost = []
        with stack.web() as web, stack.worker() as worker:
            parts = {"gunicorn": web.pid, "worker": worker.pid, "PostgreSQL": postmaster(stack.env["PROD_PG_PORT"])}
            send_all(url, deliveries[:0], 1)
            for label, batch, senders, targeted in phases:
                before = cpu_of(parts)
                seconds, latencies, messages = send_all(url, batch, senders)
                spent = {name: (value - before[name]) * 1000 / len(batch) for name, value in cpu_of(parts).items()}
                rate, p50, p95 = len(batch) / seconds, percentile(latencies, 0.5), percentile(latencies, 0.95)
                expected = "0 of 1 event(s) queued." if "duplicates" in label else "1 of 1 event(s) queued."
                lost += [message for message in messages if message != expected]
                verdict = ""
                if targeted:
                    verdict = (
                        f"  target >= {TARGET_EVENTS_PER_SECOND}/s: {met(rate >= TARGET_EVENTS_PER_SECOND)}, "
                        f"p95 <= {TARGET_P95_MS} ms: {met(p95 <= TARGET_P95_MS)}"
                    )
                print(
                    f"  {label:<36} {len(batch):>6} events {rate:7.0f} events/s  "
                    f"p50 {p50:5.1f} ms  p95 {p95:5.1f} ms{verdict}",
                    flush=True,
                )
                print("      CPU per delivery: " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in spent.items()))
            before = cpu_of(parts)
            drained = drain(stack.env["DATABASE_URL"])
            spent = {name: value - before[name] for name, value in cpu_of(parts).items()}
            print(
                f"  the worker applied the rest of the queue {drained:.1f} s after the last answer "
                f"({spent['worker']:.1f} s of its CPU)"
            )
        rows = json.loads(django_script(stack.env, "count", uuid))
    total = len(deliveries)
    exact = not lost and rows["changed"] == total and rows["deliveries"] == total and rows["pending"] == 0
    print(
        f"  nothing lost, each applied once: {met(exact)} ({rows['changed']} of {total} references changed, "
        f"{rows['deliveries']} deliveries recorded, {rows['pending']} still queued, "
        f"{len(lost)} unexpected answers{' ' + repr(lost[:3]) if lost else ''})"
    )
    if not exact:
        sys.exit("Deliveries were lost or applied twice.")


def met(condition: bool) -> str:
    return "met" if condition else "missed"


if __name__ == "__main__":
    if sys.argv[1:2] == ["seed"]:
        seed(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:2] == ["count"]:
        count_rows(sys.argv[2])
    else:
        main()
