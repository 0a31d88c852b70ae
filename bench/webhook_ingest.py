"""Webhook ingest over real HTTP, against the production stack (gunicorn, PostgreSQL, Redis).

    .venv/bin/python bench/webhook_ingest.py [deliveries per phase]      (default 2,000)

Starts what `make prod` runs (tests/support/prod_stack.py, gunicorn with WEB_WORKERS, default 4),
seeds a Jira Cloud source with a webhook secret and one stale reference per issue, then posts signed
Jira deliveries (one issue event each, every one changing its reference) to /hooks/<uuid>/: first with
1 sender, then with 4 (threads, each with its own keep-alive session), each phase about its own
issues. Then every delivery once more (all duplicates). Prints events/s and p50/p95 per phase against
the targets (>= 600 events/s with 4 senders, p95 <= 30 ms) and checks nothing is lost: every delivery
answered 200, every reference changed, one WebhookDelivery row per delivery, every duplicate
applied 0 times. The senders share the 2 cores with the server. Figures are for information only.
"""

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

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
    """Inside the stack's Django: references changed and deliveries recorded, as JSON."""
    import django

    django.setup()
    from integrations.models import Source
    from issues.links.models import ExternalReference
    from issues.sync.models import WebhookDelivery

    source = Source.objects.get(uuid=uuid)
    changed = ExternalReference.objects.filter(source=source, status="In Progress").count()
    print(json.dumps({"changed": changed, "deliveries": WebhookDelivery.objects.filter(source=source).count()}))


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
            message = response.json()["message"] if response.status_code == 200 else f"HTTP {response.status_code}"
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
        with stack.web():
            send_all(url, deliveries[:0], 1)
            for label, batch, senders, targeted in phases:
                seconds, latencies, messages = send_all(url, batch, senders)
                rate, p50, p95 = len(batch) / seconds, percentile(latencies, 0.5), percentile(latencies, 0.95)
                expected = "0 of 1 event(s) applied." if "duplicates" in label else "1 of 1 event(s) applied."
                lost += [message for message in messages if message != expected]
                verdict = ""
                if targeted:
                    met = rate >= TARGET_EVENTS_PER_SECOND and p95 <= TARGET_P95_MS
                    verdict = (
                        f"  target >= {TARGET_EVENTS_PER_SECOND}/s, p95 <= {TARGET_P95_MS} ms: "
                        f"{'met' if met else 'missed'}"
                    )
                print(
                    f"  {label:<36} {len(batch):>6} events {rate:7.0f} events/s  "
                    f"p50 {p50:5.1f} ms  p95 {p95:5.1f} ms{verdict}",
                    flush=True,
                )
        rows = json.loads(django_script(stack.env, "count", uuid))
    total = len(deliveries)
    print(
        f"  nothing lost: {rows['changed']} of {total} references changed, {rows['deliveries']} deliveries recorded, "
        f"{len(lost)} unexpected answers{' ' + repr(lost[:3]) if lost else ''}"
    )
    if lost or rows["changed"] != total or rows["deliveries"] != total:
        sys.exit("Deliveries were lost or applied twice.")


if __name__ == "__main__":
    if sys.argv[1:2] == ["seed"]:
        seed(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:2] == ["count"]:
        count_rows(sys.argv[2])
    else:
        main()
