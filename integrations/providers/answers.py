"""Reading what trackers answer: a JSON body of the expected shape (else an ``UpstreamError`` that
points at the base URL, the usual cause), ISO 8601 time stamps, and requests in batches."""

from datetime import datetime
from typing import Any

from integrations.errors import UpstreamError
from integrations.http import TrackerResponse

# Requests in batches: the code base's one helper, re-exported for the providers.
from projects.batching import chunks as chunks


def json_object(response: TrackerResponse, what: str) -> dict:
    body = response.json()
    if not isinstance(body, dict):
        raise UpstreamError(
            f"{response.host} answered with something other than {what}: check the base URL.", status=response.status
        )
    return body


def json_list(response: TrackerResponse, what: str) -> list[dict]:
    """The objects of a JSON list body (anything else in the list is skipped)."""
    body = response.json()
    if not isinstance(body, list):
        raise UpstreamError(f"{response.host} answered without {what}: check the base URL.", status=response.status)
    return [item for item in body if isinstance(item, dict)]


def iso_timestamp(value: Any) -> datetime | None:
    """``2024-01-31T09:30:00.123Z`` and the like (fractions of any length, or none; Z or an offset);
    None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
