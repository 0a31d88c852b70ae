"""A full refresh of N linked issues per tracker on the real path: ``refresh_source`` with the source's
default request budget and every database write.

    DATABASE_URL=postgres://... .venv/bin/python bench/refresh.py [--references N] [--latency-ms 50]
        [--trackers "GitLab,Azure DevOps"]

For each tracker's fake (Jira Cloud, Jira Data Center, GitHub Enterprise (GraphQL and REST on an
Enterprise base URL), GitLab, Azure DevOps, Linear, Redmine), seeded with N issues and answering every request
``--latency-ms`` late (outside routes too), N never-read references are stored; then a worker process
of its own (a fresh interpreter, as a Celery child is) starts periodic runs until none is stale. Prints
runs, requests, wall seconds, the latency share, the fake's CPU (its request handlers, in this process),
the app's CPU (the worker's process CPU during the runs: neither the fake's nor PostgreSQL's) and the
worker's peak resident memory (VmHWM, its Django start included), each with the issue's target and
met/missed. The worker imports this script, the fakes' modules with it (about 14 MiB), so the peak errs
high: a Django process of the app starts at about 108 MiB. The targets are for 10,000 references:
requests and CPU scale with N (101 requests and 2 s per 10,000, Azure DevOps 51), the peak does not
(150 MiB).
"""

import argparse
import json
import logging
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testmanager.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from integrations.models import AuthType, Provider, Source  # noqa: E402
from issues.links.models import ExternalReference  # noqa: E402
from issues.sync.refresh import refresh_source, stale_references  # noqa: E402
from tests.fakes.azure_devops import AzureDevOpsFake  # noqa: E402
from tests.fakes.fixtures import (  # noqa: E402
    ADO_LOGIN,
    ADO_PAT,
    CLOUD_API_TOKEN,
    CLOUD_LOGIN,
    GITHUB_LOGIN,
    GITHUB_TOKEN,
    GITLAB_PAT,
    GITLAB_USERNAME,
    LINEAR_API_KEY,
    LINEAR_LOGIN,
    REDMINE_API_KEY,
    REDMINE_LOGIN,
    SERVER_LOGIN,
    SERVER_PAT,
)
from tests.fakes.github import GitHubFake  # noqa: E402
from tests.fakes.gitlab import DEVELOPER, GitLabFake  # noqa: E402
from tests.fakes.jira import JiraFake  # noqa: E402
from tests.fakes.linear import LinearFake  # noqa: E402
from tests.fakes.redmine import RedmineFake  # noqa: E402


@dataclass
class Tracker:
    """A started-to-be fake seeded with issues, the source for it and the keys of its issues."""

    name: str
    fake: object  # one of the tests.fakes classes: has .server, .requests and is a context manager
    provider: str
    auth_type: str
    credentials: dict
    keys: list[str]

    def base_url(self) -> str:
        return getattr(self.fake, "web_url", None) or self.fake.base_url

    def source(self) -> Source:
        return Source(
            provider=self.provider,
            name=f"bench {self.name}",
            base_url=self.base_url(),
            allow_http=True,
            auth_type=self.auth_type,
            credentials=self.credentials,
            issue_url_template="",
            can_read_details=True,
            can_process_webhooks=False,
        )


def jira(deployment: str, count: int) -> Tracker:
    cloud = deployment == "cloud"
    fake = JiraFake(deployment, context_path="" if cloud else "/jira")
    if cloud:
        fake.set_credentials(CLOUD_LOGIN, CLOUD_API_TOKEN)
    else:
        fake.add_personal_access_token(SERVER_LOGIN, SERVER_PAT)
    fake.add_project("SHOP")
    keys = [fake.add_issue("SHOP", f"Issue {number}").key for number in range(count)]
    if cloud:
        return Tracker(
            "Jira Cloud",
            fake,
            Provider.JIRA_CLOUD,
            AuthType.API_TOKEN,
            {"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
            keys,
        )
    return Tracker("Jira Data Center", fake, Provider.JIRA_SERVER, AuthType.PAT, {"token": SERVER_PAT}, keys)


def github(count: int) -> Tracker:
    fake = GitHubFake(enterprise=True)
    fake.add_user(GITHUB_LOGIN, "Bench Bot")
    fake.add_token(GITHUB_LOGIN, GITHUB_TOKEN, scopes=("repo",))
    fake.add_repo("acme/shop")
    fake.grant("acme/shop", GITHUB_LOGIN, "write")
    keys = [f"acme/shop#{fake.add_issue('acme/shop', f'Issue {n}', author=GITHUB_LOGIN).number}" for n in range(count)]
    return Tracker("GitHub", fake, Provider.GITHUB, AuthType.PAT, {"token": GITHUB_TOKEN}, keys)


def gitlab(count: int) -> Tracker:
    fake = GitLabFake("/gitlab")
    fake.add_user(GITLAB_USERNAME, "Bench Bot")
    fake.add_token(GITLAB_USERNAME, GITLAB_PAT)
    fake.add_project("acme/web")
    fake.add_member("acme/web", GITLAB_USERNAME, DEVELOPER)
    keys = [f"acme/web#{fake.add_issue('acme/web', f'Issue {n}', author=GITLAB_USERNAME).iid}" for n in range(count)]
    return Tracker("GitLab", fake, Provider.GITLAB, AuthType.PAT, {"token": GITLAB_PAT}, keys)


def azure_devops(count: int) -> Tracker:
    fake = AzureDevOpsFake("/fabrikam")
    fake.add_personal_access_token(ADO_LOGIN, ADO_PAT)
    fake.add_project("Fabrikam")
    keys = [str(fake.add_work_item("Fabrikam", "Bug", f"Issue {n}").id) for n in range(count)]
    return Tracker("Azure DevOps", fake, Provider.AZURE_DEVOPS, AuthType.PAT, {"token": ADO_PAT}, keys)


def linear(count: int) -> Tracker:
    fake = LinearFake("example")
    fake.add_api_key(LINEAR_LOGIN, LINEAR_API_KEY)
    fake.add_team("ENG", "Engineering")
    keys = [f"ENG-{fake.add_issue('ENG', f'Issue {n}').number}" for n in range(count)]
    return Tracker("Linear", fake, Provider.LINEAR, AuthType.PAT, {"token": LINEAR_API_KEY}, keys)


def redmine(count: int) -> Tracker:
    fake = RedmineFake("/redmine")
    fake.add_user(REDMINE_LOGIN, "Bench Bot", api_key=REDMINE_API_KEY)
    fake.add_project("shop", members=(REDMINE_LOGIN,))
    keys = [str(fake.add_issue("shop", f"Issue {n}", author=REDMINE_LOGIN).id) for n in range(count)]
    return Tracker("Redmine", fake, Provider.REDMINE, AuthType.PAT, {"token": REDMINE_API_KEY}, keys)


TRACKERS: list[tuple[str, Callable[[int], Tracker]]] = [
    ("Jira Cloud", lambda count: jira("cloud", count)),
    ("Jira Data Center", lambda count: jira("server", count)),
    ("GitHub", github),
    ("GitLab", gitlab),
    ("Azure DevOps", azure_devops),
    ("Linear", linear),
    ("Redmine", redmine),
]


class Latency:
    """Every request the fake serves waits ``seconds`` first; the CPU its handlers spend is added up."""

    def __init__(self, fake, seconds: float):
        self.seconds, self.cpu, self.requests = seconds, 0.0, 0
        original = fake.server.dispatch

        def late(request):
            time.sleep(seconds)
            started = time.thread_time()
            try:
                return original(request)
            finally:
                self.cpu += time.thread_time() - started
                self.requests += 1

        fake.server.dispatch = late  # every request, outside routes (GitHub Enterprise's GraphQL) included


# Per 10,000 references: Azure DevOps reads 200 a request; Redmine 100 plus its statuses; the others 100.
TARGET_REQUESTS = {"Azure DevOps": 51, "Redmine": 101}
TARGET_APP_CPU = 2.0  # seconds per 10,000 references
TARGET_PEAK_MIB = 150


def stored(tracker: Tracker) -> Source:
    """The tracker's source with N never-read references (stored before the clock starts)."""
    source = tracker.source()
    source.save()
    ExternalReference.objects.bulk_create(
        [ExternalReference(source=source, source_name=source.name, key=key) for key in tracker.keys], batch_size=2000
    )
    return source


def refresh_all(name: str, source_id: int) -> int:
    """Periodic refresh runs until none of the source's references is stale; how many runs."""
    runs = 0
    while stale_references(Source.objects.get(pk=source_id), timezone.now()).exists() and runs < 20:
        report = refresh_source(source_id)
        runs += 1
        if report.error or report.skipped:
            raise SystemExit(f"{name}: {report.error or report.skipped}")
    return runs


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def worker(name: str, source_id: int) -> None:
    """In the worker process: refresh the source until nothing is stale; print runs, CPU and peak as JSON."""
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True
    logging.getLogger("integrations.http").setLevel(logging.ERROR)
    cpu = time.process_time()
    runs = refresh_all(name, source_id)
    print(json.dumps({"runs": runs, "cpu": time.process_time() - cpu, "peak_mib": peak_rss_mib()}))


def in_worker(tracker: Tracker, source: Source) -> dict:
    """Run ``worker`` in a fresh interpreter against this process's fake."""
    command = [sys.executable, __file__, "--worker", tracker.name, str(source.pk)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{tracker.name}: the worker failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def verdict(value: float, most: float, shown: str) -> str:
    return f"<={shown} {'met' if value <= most else 'MISSED'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--references", type=int, default=10_000, help="issues per tracker (default 10,000)")
    parser.add_argument("--latency-ms", type=float, default=50, help="added to every request (default 50)")
    parser.add_argument("--trackers", default="", help="comma-separated tracker names (default all)")
    parser.add_argument("--worker", nargs=2, metavar=("TRACKER", "SOURCE_ID"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        worker(arguments.worker[0], int(arguments.worker[1]))
        return
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True
    logging.getLogger("integrations.http").setLevel(logging.ERROR)
    count, latency = arguments.references, arguments.latency_ms / 1000
    wanted = {name.strip() for name in arguments.trackers.split(",") if name.strip()}
    scale = count / 10_000
    print(f"{count} references per tracker on refresh_source, {arguments.latency_ms:g} ms added to every request")
    header = ("tracker", "runs", "requests", "target", "wall s", "latency s", "fake CPU s", "app CPU s", "target")
    print("  ".join(f"{title:<17}" for title in (*header, "peak MiB", "target")))
    for name, build in TRACKERS:
        if wanted and name not in wanted:
            continue
        tracker = build(count)
        timing = Latency(tracker.fake, latency)
        with tracker.fake:
            Source.objects.filter(name=f"bench {tracker.name}").delete()
            source = stored(tracker)
            wall = time.perf_counter()
            figures = in_worker(tracker, source)
            wall = time.perf_counter() - wall
            read = ExternalReference.objects.filter(source=source, last_synced_at__isnull=False).count()
            Source.objects.filter(pk=source.pk).delete()
        assert read == count, f"{tracker.name}: {read} of {count} references read"
        most = math.ceil(TARGET_REQUESTS.get(tracker.name, 101) * scale)
        runs_needed = math.ceil(scale)  # one run reads 10,000 within the default budget
        cpu_most = TARGET_APP_CPU * scale
        row = (
            tracker.name,
            str(figures["runs"]),
            str(timing.requests),
            f"<={most} {'met' if timing.requests <= most and figures['runs'] <= runs_needed else 'MISSED'}",
            f"{wall:.1f}",
            f"{timing.requests * latency:.1f}",
            f"{timing.cpu:.2f}",
            f"{figures['cpu']:.2f}",
            verdict(figures["cpu"], cpu_most, f"{cpu_most:g}"),
            f"{figures['peak_mib']:.0f}",
            verdict(figures["peak_mib"], TARGET_PEAK_MIB, str(TARGET_PEAK_MIB)),
        )
        print("  ".join(f"{cell:<17}" for cell in row), flush=True)


if __name__ == "__main__":
    main()
