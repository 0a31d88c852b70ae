"""How an issue key says where the issue lives, built and read in one place.

Internal issues are ``SHOP#12``: the project key, ``#``, the number. No tracker writes keys that
way (Jira, Linear and Azure DevOps use ``SHOP-12`` or a bare number; GitHub and GitLab put ``#`` after
a repository path, ``owner/repo#12``, never after a bare project key), so an internal key can never be
mistaken for a tracker's. The ``SHOP-12`` form internal issues had before is still read wherever a key
is typed or sent. Tracker keys are shown with the tracker they live in: ``SHOP-12 · Acme Jira``.
"""

import re

INTERNAL_SEPARATOR = "#"
TRACKER_SEPARATOR = " · "

# What a member may type for an internal issue: SHOP#12, SHOP-12 (the old form), #12 or 12.
_INTERNAL = re.compile(r"^(?:(?P<project>[A-Za-z][A-Za-z0-9]*)\s*[#-]|#)?\s*(?P<number>\d{1,9})$")
# What an API path may carry for an issue: its id, or its key in either form.
ISSUE_ID_OR_KEY_REGEX = r"[0-9]+|[A-Za-z][A-Za-z0-9]*[#-][0-9]+"


def internal_key(project_key: str, number: int) -> str:
    """The key of internal issue ``number`` of the project ``project_key``: ``SHOP#12``."""
    return f"{project_key}{INTERNAL_SEPARATOR}{number}"


def tracker_key(key: str, source_name: str) -> str:
    """A tracker issue's key with the tracker it lives in: ``SHOP-12 · Acme Jira``."""
    return f"{key}{TRACKER_SEPARATOR}{source_name}" if source_name else key


def parse_internal(text: str) -> tuple[str | None, int] | None:
    """(project key or None, number) of a typed internal key (``SHOP#12``, ``SHOP-12``, ``#12``,
    ``12``); None when ``text`` is not one. The project key is upper-cased, as projects keep it."""
    found = _INTERNAL.match(text.strip())
    if found is None:
        return None
    project = found["project"]
    return (project.upper() if project else None), int(found["number"])


def internal_number_in(project_key: str, text: str) -> int | None:
    """The number of the internal issue of ``project_key`` that ``text`` names, else None (another
    project's key, or not a key at all)."""
    parsed = parse_internal(text)
    if parsed is None or parsed[0] not in (None, project_key.upper()):
        return None
    return parsed[1]
