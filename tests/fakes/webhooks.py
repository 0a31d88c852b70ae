"""Webhook deliveries of the fake trackers: what each tracker sends, signed the way it signs.

A fake builds a `Delivery` (the exact body bytes and the headers) from its current state, so a test
can post it to testmanager's hook once, twice or after a newer one, or `send` it over real HTTP to
every hook registered with the fake (through the tracker's own hook API, as the admin action does).

Sources, each tracker's webhook documentation:
- GitHub "Validating webhook deliveries": X-Hub-Signature-256 is ``sha256=`` + the hex HMAC-SHA256
  of the body; X-GitHub-Event names the event and X-GitHub-Delivery is a GUID per delivery.
- GitLab "Webhooks": the secret token travels as it is in X-Gitlab-Token; X-Gitlab-Event names the
  hook, X-Gitlab-Webhook-UUID identifies the delivery, Idempotency-Key stays the same on a retry.
- Jira "Webhooks" (secure admin webhooks): X-Hub-Signature is ``sha256=`` + the hex HMAC-SHA256 of
  the body; X-Atlassian-Webhook-Identifier is the same for every retry of one delivery.
- Azure DevOps "Web Hooks" service hook consumer: basic authentication with the user name and
  password the subscription sets; the payload's ``id`` identifies the event.
- Linear "Webhooks": Linear-Signature is the hex HMAC-SHA256 of the body, Linear-Delivery a UUID
  per delivery, and the body's ``webhookTimestamp`` (epoch ms) is the time of sending.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as the tracker sends it."""

    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def with_headers(self, changes: dict[str, str]) -> Delivery:
        """The same body with some headers replaced (a forged or stale signature)."""
        return Delivery({**self.headers, **changes}, self.body)


@dataclass
class RegisteredHook:
    """A hook registered through a fake's API: where it posts, how it authenticates, what it sends."""

    id: int
    url: str
    secret: str
    events: list[str] = field(default_factory=list)
    scope: str = ""  # the repository, project or filter it was registered for
    active: bool = True


def body_of(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(delivery: Delivery, url: str) -> requests.Response:
    """Post a delivery to ``url`` over real HTTP, as the tracker does."""
    return requests.post(
        url, data=delivery.body, headers={"Content-Type": "application/json", **delivery.headers}, timeout=30
    )
