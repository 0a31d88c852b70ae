"""A full refresh of N linked issues per tracker: the batched path against one issue a request.

    .venv/bin/python bench/refresh.py [--references N] [--latency-ms 50]

For each tracker's fake (Jira Cloud, Jira Data Center, GitHub, GitLab, Azure DevOps, Linear),
seeded with N issues and answering every request ``--latency-ms`` late, prints the requests and
seconds of ``fetch_many`` over all N keys (the batched path a refresh takes), and of
``fetch_many`` called with one key at a time. The one-by-one column is measured on a sample of
``SAMPLE`` keys and extrapolated to N; the table says so.

The fakes serve one request at a time (their interceptor runs under the server's lock), so the
latency adds up as it would for a client that sends its requests one after another.
"""

import argparse
import logging
import os
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

from integrations.errors import RateLimited  # noqa: E402
from integrations.models import AuthType, Provider, Source  # noqa: E402
from integrations.providers import provider_for  # noqa: E402
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
    SERVER_LOGIN,
    SERVER_PAT,
)
from tests.fakes.github import GitHubFake  # noqa: E402
from tests.fakes.gitlab import DEVELOPER, GitLabFake  # noqa: E402
from tests.fakes.jira import JiraFake  # noqa: E402
from tests.fakes.linear import LinearFake  # noqa: E402

SAMPLE = 200


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
            rate_limit_per_minute=1_000_000,
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


TRACKERS: list[Callable[[int], Tracker]] = [
    lambda count: jira("cloud", count),
    lambda count: jira("server", count),
    github,
    gitlab,
    azure_devops,
    linear,
]


def add_latency(fake, seconds: float) -> None:
    """Every request the fake serves waits ``seconds`` first (before the fake's own interceptor)."""
    original = fake.server.interceptor

    def late(request):
        time.sleep(seconds)
        return original(request) if original is not None else None

    fake.server.interceptor = late


def timed(fake, source: Source, batches: list[list[str]]) -> tuple[int, float, int]:
    """(requests, seconds, issues found) of ``fetch_many`` over each batch in turn."""
    before = len(fake.requests)
    found = 0
    started = time.perf_counter()
    for batch in batches:
        found += len(provider_for(source).fetch_many(batch).issues)
    return len(fake.requests) - before, time.perf_counter() - started, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--references", type=int, default=10_000, help="issues per tracker (default 10,000)")
    parser.add_argument("--latency-ms", type=float, default=50, help="added to every request (default 50)")
    arguments = parser.parse_args()
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True
    logging.getLogger("integrations.http").setLevel(logging.ERROR)
    count, latency = arguments.references, arguments.latency_ms / 1000
    sample = min(SAMPLE, count)

    print(
        f"{count} references per tracker, {arguments.latency_ms:g} ms added to every request; "
        f"one by one: measured on {sample} keys, extrapolated to {count}."
    )
    header = (
        "tracker",
        "references",
        "requests (batched)",
        "seconds (batched)",
        "requests (one by one)",
        "seconds (one by one, extrapolated)",
    )
    widths = [max(len(title), 16) for title in header]
    print("  ".join(title.ljust(width) for title, width in zip(header, widths, strict=True)))
    for build in TRACKERS:
        tracker = build(count)
        add_latency(tracker.fake, latency)
        with tracker.fake:
            source = tracker.source()
            try:
                batched_requests, batched_seconds, found = timed(tracker.fake, source, [tracker.keys])
            except RateLimited as error:
                # A finding, not a crash: a tracker without a batch read runs into its own rate limit.
                print(f"{tracker.name}: rate limited after {len(tracker.fake.requests)} requests ({error})", flush=True)
                continue
            assert found == count, f"{tracker.name}: the batched refresh found {found} of {count} issues"
            step = max(1, count // sample)
            one_by_one = [[key] for key in tracker.keys[::step][:sample]]
            single_requests, single_seconds, found = timed(tracker.fake, source, one_by_one)
            assert found == len(one_by_one), f"{tracker.name}: one by one found {found} of {len(one_by_one)}"
        scale = count / len(one_by_one)
        row = (
            tracker.name,
            str(count),
            str(batched_requests),
            f"{batched_seconds:.1f}",
            f"{single_requests * scale:.0f}",
            f"{single_seconds * scale:.1f}",
        )
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)), flush=True)


if __name__ == "__main__":
    main()
