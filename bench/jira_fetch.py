"""Requests the Jira provider makes to refresh N linked issues, against the fake Jira.

    .venv/bin/python bench/jira_fetch.py [keys]

For Jira Cloud and Jira Data Center, prints the requests ``fetch_many`` made for N keys when
every issue exists, and when 2% were deleted and 2% lie in a project the account cannot
browse (those cost one project lookup, and a deleted issue one read to tell it from a moved
one), with the time it took on this machine.
"""

import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testmanager.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from integrations.models import AuthType, Provider, Source  # noqa: E402
from integrations.providers import provider_for  # noqa: E402
from tests.fakes.jira import JiraFake  # noqa: E402

LOGIN, SECRET = "bench@example.com", "bench-token"


def site(deployment: str, count: int) -> tuple[JiraFake, Source, list[str], list[str]]:
    """A fake with ``count`` issues, one in fifty in project SECRET; (fake, source, SHOP keys, SECRET keys)."""
    fake = JiraFake(deployment, context_path="" if deployment == "cloud" else "/jira")
    fake.set_credentials(LOGIN, SECRET)
    fake.add_project("SHOP")
    fake.add_project("SECRET")
    issues = [fake.add_issue("SECRET" if number % 50 == 0 else "SHOP", f"Issue {number}") for number in range(count)]
    source = Source(
        provider=Provider.JIRA_CLOUD if deployment == "cloud" else Provider.JIRA_SERVER,
        name=f"bench {deployment}",
        auth_type=AuthType.API_TOKEN if deployment == "cloud" else AuthType.BASIC,
        credentials={"email": LOGIN, "api_token": SECRET, "username": LOGIN, "password": SECRET},
        rate_limit_per_minute=100_000,
    )
    shop = [issue.key for issue in issues if issue.project.key == "SHOP"]
    return fake, source, shop, [issue.key for issue in issues if issue.project.key == "SECRET"]


def measure(fake: JiraFake, source: Source, keys: list[str], label: str) -> None:
    before = len(fake.requests)
    started = time.perf_counter()
    result = provider_for(source).fetch_many(keys)
    elapsed = time.perf_counter() - started
    made = Counter(request.route_path.split("/")[4] for request in fake.requests[before:])
    print(
        f"  {label:<22} {len(keys):6d} keys  {sum(made.values()):4d} requests {dict(made)}  "
        f"found {len(result.issues)}, missing {len(result.missing)}, forbidden {len(result.forbidden)}  "
        f"{elapsed:.2f} s"
    )


def main(count: int) -> None:
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True
    logging.getLogger("integrations.http").setLevel(logging.ERROR)  # the expected 404s of deleted issues
    for deployment in ("cloud", "server"):
        fake, source, shop, secret = site(deployment, count)
        with fake:
            source.base_url = fake.base_url
            print(f"Jira {deployment}:")
            measure(fake, source, [*shop, *secret], "all present")
            for key in shop[::49]:
                fake.delete_issue(key)
            fake.forbid_project("SECRET")
            measure(fake, source, [*shop, *secret], "2% deleted, 2% hidden")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
