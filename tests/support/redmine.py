"""A real Redmine for end-to-end tests.

`make test` (scripts/test-services.sh) starts a throwaway Debian Redmine on 127.0.0.1 and exports its
address and an administrator's API key as REDMINE_URL and REDMINE_API_KEY. The `real_redmine` fixture
gives each test a fresh Redmine project of its own on it (a unique identifier, so tests running in
parallel never see each other's issues) and deletes it, and the users the test made, afterwards.
Without those variables the fixture fails saying how to start Redmine: a missing server is an error,
never a skip.
"""

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

TIMEOUT = 30  # seconds; the server shares two cores with the rest of the suite
START_HINT = 'start it with `eval "$(scripts/test-services.sh start)"` (make test does)'


def unique(prefix: str) -> str:
    """A name no other test uses, valid as a Redmine project identifier and login (starts with a letter)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass
class RealRedmine:
    """The server (`url`, administrator key `api_key`) and the test's own project (`project`: id,
    identifier, name)."""

    url: str
    api_key: str
    project: dict[str, Any] = field(default_factory=dict)
    _users: list[int] = field(default_factory=list)

    @property
    def identifier(self) -> str:
        return self.project["identifier"]

    def request(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> requests.Response:
        """One REST call (`path` on the server, or a URL Redmine gave) as the administrator, or as the
        account whose API key is `key`."""
        headers = {"X-Redmine-API-Key": key or self.api_key, **kwargs.pop("headers", {})}
        url = path if path.startswith(self.url) else f"{self.url}/{path.lstrip('/')}"
        return requests.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)

    def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> dict[str, Any]:
        """A REST call that must answer `expect`; its JSON body, or {} when it has none."""
        response = self.request(method, path, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.content.strip() else {}

    def id_of(self, listing: str, name: str) -> int:
        """The id of a named tracker, status or priority (`trackers`, `issue_statuses`,
        `enumerations/issue_priorities`)."""
        items = next(iter(self.call("GET", f"{listing}.json").values()))
        return next(item["id"] for item in items if item["name"] == name)

    def create_issue(self, subject: str, **fields: Any) -> dict[str, Any]:
        """An issue in the test's project, as the administrator."""
        issue = {"project_id": self.project["id"], "subject": subject, **fields}
        return self.call("POST", "issues.json", json={"issue": issue}, expect=201)["issue"]

    def set_status(self, issue_id: int, status: str) -> None:
        """Move an issue to the named status (an update: on creation Redmine keeps the tracker's default
        status unless the workflow allows the new one)."""
        status_id = self.id_of("issue_statuses", status)
        self.call("PUT", f"issues/{issue_id}.json", json={"issue": {"status_id": status_id}}, expect=204)

    def issue(self, issue_id: int, include: str = "") -> dict[str, Any]:
        return self.call("GET", f"issues/{issue_id}.json", params={"include": include} if include else None)["issue"]

    def create_member(self, role: str = "Developer") -> tuple[dict[str, Any], str]:
        """A non-administrator account with `role` in the test's project, and its API key."""
        login = unique("tm")
        user = self.call(
            "POST",
            "users.json",
            json={
                "user": {
                    "login": login,
                    "firstname": "Test",
                    "lastname": login,
                    "mail": f"{login}@example.com",
                    "password": uuid.uuid4().hex,
                }
            },
            expect=201,
        )["user"]
        self._users.append(user["id"])
        roles = {role_["name"]: role_["id"] for role_ in self.call("GET", "roles.json")["roles"]}
        self.call(
            "POST",
            f"projects/{self.project['id']}/memberships.json",
            json={"membership": {"user_id": user["id"], "role_ids": [roles[role]]}},
            expect=201,
        )
        # An administrator reading an account gets its API key (Redmine makes one on first read).
        return user, self.call("GET", f"users/{user['id']}.json")["user"]["api_key"]

    def clean_up(self) -> None:
        if self.project:
            self.request("DELETE", f"projects/{self.project['id']}.json")
        for user_id in self._users:
            self.request("DELETE", f"users/{user_id}.json")


def redmine_from_environment() -> RealRedmine:
    url, key = os.environ.get("REDMINE_URL", ""), os.environ.get("REDMINE_API_KEY", "")
    if not url or not key:
        pytest.fail(f"REDMINE_URL and REDMINE_API_KEY name no Redmine: {START_HINT}.", pytrace=False)
    redmine = RealRedmine(url.rstrip("/"), key)
    try:
        answer = redmine.request("GET", "users/current.json")
    except requests.ConnectionError as error:
        pytest.fail(f"Redmine at {url} does not answer ({error}): {START_HINT}.", pytrace=False)
    if answer.status_code != 200 or not answer.json()["user"].get("admin"):
        pytest.fail(f"REDMINE_API_KEY is not an administrator's key on {url} ({answer.status_code}).", pytrace=False)
    return redmine


@pytest.fixture
def real_redmine(settings) -> Iterator[RealRedmine]:
    """The real Redmine with a fresh project of the test's own (all trackers, issue tracking on).

    The server listens on loopback, which the outbound guard refuses unless TRACKER_ALLOW_PRIVATE_HOSTS
    is on: it is turned on here the way tests turn it on for their fakes.
    """
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True
    redmine = redmine_from_environment()
    identifier = unique("tm")
    trackers = [tracker["id"] for tracker in redmine.call("GET", "trackers.json")["trackers"]]
    redmine.project = redmine.call(
        "POST",
        "projects.json",
        json={
            "project": {
                "name": f"testmanager {identifier}",
                "identifier": identifier,
                "tracker_ids": trackers,
                "enabled_module_names": ["issue_tracking"],
            }
        },
        expect=201,
    )["project"]
    try:
        yield redmine
    finally:
        redmine.clean_up()
