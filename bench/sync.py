"""A refresh of 10,000 references on a real Celery worker.

    .venv/bin/python bench/sync.py [references]

The references spread over a fake Jira Cloud (60%), a fake GitLab (25%) and a fake Azure DevOps (15%),
all stale; one ``issues.refresh_stale_references`` sent to a real Celery worker (a subprocess, prefork
pool of 3 unless the database is SQLite, then one process) through Redis. Prints the requests each fake
received and the seconds until every reference was stored. (Webhook ingest is measured over real HTTP
by bench/webhook_ingest.py.)

Uses REDIS_URL when set, else starts a private redis-server on a free port (and stops it); uses
DATABASE_URL when set, else a throwaway SQLite file. The sources' request budgets are raised out of
the way: this measures the work, not the rate limits. Figures are for information only.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# On tmpfs when there is one: SQLite's fsync on a slow disk would be all that is measured.
WORK_DIR = Path(
    tempfile.mkdtemp(prefix="testmanager-bench-sync-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None)
)
sys.path.insert(0, str(BASE_DIR))
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "testmanager.settings",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{WORK_DIR / 'bench.sqlite3'}",
        "TRACKER_ALLOW_PRIVATE_HOSTS": "true",
        "ALLOWED_HOSTS": "testserver",
    }
)
OWN_REDIS = not os.environ.get("REDIS_URL")
if OWN_REDIS:
    from tests.support.processes import free_port

    REDIS_PORT = free_port()
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{REDIS_PORT}/0"

import django  # noqa: E402

django.setup()

from celery import Celery  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from integrations.models import AuthType, Provider, Source  # noqa: E402
from issues.links.models import ExternalReference  # noqa: E402
from testmanager.celery import app  # noqa: E402
from tests.fakes.azure_devops import AzureDevOpsFake  # noqa: E402
from tests.fakes.fixtures import (  # noqa: E402
    ADO_LOGIN,
    ADO_PAT,
    CLOUD_API_TOKEN,
    CLOUD_LOGIN,
    GITLAB_PAT,
    GITLAB_USERNAME,
)
from tests.fakes.gitlab import DEVELOPER, GitLabFake  # noqa: E402
from tests.fakes.jira import JiraFake  # noqa: E402
from tests.support.processes import project_env, running  # noqa: E402

BUDGET = 1_000_000  # requests a minute: out of the way


def source(**fields) -> Source:
    return Source.objects.create(allow_http=True, can_read_details=True, rate_limit_per_minute=BUDGET, **fields)


def stale(source_: Source, keys: list[str]) -> None:
    read = timezone.now() - timedelta(days=1)
    ExternalReference.objects.bulk_create(
        [
            ExternalReference(source=source_, source_name=source_.name, key=key, title="Cached", last_synced_at=read)
            for key in keys
        ],
        batch_size=1000,
    )


# --- refresh on a real worker ------------------------------------------------------------


def refresh_on_worker(count: int) -> None:
    jira_count, gitlab_count = count * 60 // 100, count * 25 // 100
    ado_count = count - jira_count - gitlab_count
    with JiraFake("cloud") as jira, GitLabFake("/gitlab") as gitlab, AzureDevOpsFake("/fabrikam") as ado:
        jira.set_credentials(CLOUD_LOGIN, CLOUD_API_TOKEN)
        jira.add_project("SHOP")
        for number in range(jira_count):
            jira.add_issue("SHOP", f"Jira issue {number}", status="Done")
        gitlab.add_user(GITLAB_USERNAME, "Bench Bot")
        gitlab.add_token(GITLAB_USERNAME, GITLAB_PAT)
        for project_number in range(5):
            path = f"bench/project-{project_number}"
            gitlab.add_project(path)
            gitlab.add_member(path, GITLAB_USERNAME, DEVELOPER)
            for number in range(gitlab_count // 5):
                gitlab.add_issue(path, f"GitLab issue {number}", author=GITLAB_USERNAME, state="closed")
        ado.add_personal_access_token(ADO_LOGIN, ADO_PAT)
        ado.add_project("Shop")
        items = [ado.add_work_item("Shop", "Bug", f"Work item {number}", state="Active") for number in range(ado_count)]
        sources = {
            "Jira Cloud": (
                jira,
                source(
                    provider=Provider.JIRA_CLOUD,
                    name="Jira",
                    base_url=jira.base_url,
                    auth_type=AuthType.API_TOKEN,
                    credentials={"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
                ),
            ),
            "GitLab": (
                gitlab,
                source(
                    provider=Provider.GITLAB,
                    name="GitLab",
                    base_url=gitlab.web_url,
                    auth_type=AuthType.PAT,
                    credentials={"token": GITLAB_PAT},
                ),
            ),
            "Azure DevOps": (
                ado,
                source(
                    provider=Provider.AZURE_DEVOPS,
                    name="Azure DevOps",
                    base_url=ado.base_url,
                    auth_type=AuthType.PAT,
                    credentials={"token": ADO_PAT},
                ),
            ),
        }
        stale(sources["Jira Cloud"][1], [f"SHOP-{n}" for n in range(1, jira_count + 1)])
        stale(
            sources["GitLab"][1], [f"bench/project-{p}#{n}" for p in range(5) for n in range(1, gitlab_count // 5 + 1)]
        )
        stale(sources["Azure DevOps"][1], [str(item.id) for item in items])
        total = ExternalReference.objects.filter(title="Cached").count()
        sqlite = connection.vendor == "sqlite"
        pool = ["--pool=solo"] if sqlite else ["--pool=prefork", "--concurrency=3"]
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "testmanager",
            "worker",
            *pool,
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            "bench-sync@%h",
        ]
        client = Celery("bench-sync", broker=os.environ["REDIS_URL"], backend=os.environ["REDIS_URL"])
        connection.close()  # the worker writes to SQLite too: hold no lock while it runs
        with running(command, project_env(), ready=lambda: bool(client.control.ping(timeout=0.5))):
            started = time.perf_counter()
            client.send_task("issues.refresh_stale_references").get(timeout=120)
            while ExternalReference.objects.filter(title="Cached").exists():
                time.sleep(0.1)
                if time.perf_counter() - started > 1800:
                    raise SystemExit("the refresh did not finish within 30 minutes")
            seconds = time.perf_counter() - started
    print(f"  {total:,} references on {len(sources)} sources, worker {' '.join(pool)}, {connection.vendor}")
    for label, (fake, source_) in sources.items():
        stored = ExternalReference.objects.filter(source=source_).count()
        print(f"  {label:<14} {stored:>6} references {len(fake.requests):>5} requests")
    print(
        f"  every reference stored {seconds:.2f} s after the beat task was sent ({total / seconds:,.0f} references/s)"
    )


def main() -> None:
    references = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    redis_server = None
    try:
        if OWN_REDIS:
            redis_server = subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(REDIS_PORT), "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            )
        app.conf.task_always_eager = True  # in this process; the worker gets REDIS_URL and queues for real
        call_command("migrate", verbosity=0)
        print(f"Refresh of {references:,} references on a real Celery worker through Redis")
        refresh_on_worker(references)
    finally:
        if redis_server is not None:
            redis_server.terminate()
            redis_server.wait()
        shutil.rmtree(WORK_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
