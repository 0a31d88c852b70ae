"""Priority and status mappings of a project integration: defaults, validation, text form, and the
one lookup every caller uses (sync, pulls, filing).

Stored as JSON:

- priority mapping: ``{tracker priority: {"requirement": "P0".."P3", "defect": <issue priority>}}``
- status mapping: ``{<issue status>: [tracker status, ...]}`` (a requirement pull's state mapping,
  ``{<requirement state>: [tracker status, ...]}``, has the same shape and the same lookup)

A tracker name matches a mapping's name by one rule, ``same_name``: case- and whitespace-insensitive
(``" In  progress "`` is ``in progress``). A lookup returns None when no rule names the value; what
an unmapped value becomes (a status category's status, Open, Draft) is the caller's to say.

The issue values are the issues app's choices, which this app may not import; a test keeps
``DEFECT_PRIORITIES`` and ``DEFECT_STATUSES`` equal to them. ``StatusCategory`` is defined here, once:
the issues app imports it. Pages edit a mapping as text, one rule per line (``High = P1, critical``;
``open = To Do, Open``).
"""

import copy
from collections.abc import Mapping
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import models

from projects.models import Priority


class StatusCategory(models.TextChoices):
    """What kind of status a tracker issue is in, whatever the tracker calls the status."""

    TO_DO = "todo", "To do"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    UNKNOWN = "unknown", "Unknown"


DEFECT_PRIORITIES = ("blocker", "critical", "major", "minor", "trivial")
DEFECT_STATUSES = ("open", "in_progress", "resolved", "closed")
REQUIREMENT_PRIORITIES = tuple(Priority.values)

_DEFAULT_PRIORITY_MAPPING = {
    "Highest": {"requirement": "P0", "defect": "blocker"},
    "Blocker": {"requirement": "P0", "defect": "blocker"},
    "High": {"requirement": "P1", "defect": "critical"},
    "Critical": {"requirement": "P1", "defect": "critical"},
    "Medium": {"requirement": "P2", "defect": "major"},
    "Low": {"requirement": "P3", "defect": "minor"},
    "Lowest": {"requirement": "P3", "defect": "trivial"},
    # Redmine's default priorities (High and Low are above): Immediate, Urgent, High, Normal, Low. Urgent is
    # Linear's highest too, so it is a blocker.
    "Immediate": {"requirement": "P0", "defect": "blocker"},
    "Urgent": {"requirement": "P0", "defect": "blocker"},
    "Normal": {"requirement": "P2", "defect": "major"},
}
_DEFAULT_STATUS_MAPPING = {
    "open": ["To Do", "Open"],
    "in_progress": ["In Progress"],
    "closed": ["Done", "Closed"],
}

MAX_NAME_LENGTH = 100


def default_priority_mapping() -> dict:
    return copy.deepcopy(_DEFAULT_PRIORITY_MAPPING)


def default_status_mapping() -> dict:
    return copy.deepcopy(_DEFAULT_STATUS_MAPPING)


# --- Lookups ---------------------------------------------------------------------------

Side = Literal["requirement", "defect"]


def name_key(name: str) -> str:
    """The form two names are compared in: inner whitespace runs as one space, no outer whitespace,
    case folded."""
    return " ".join(name.split()).casefold()


def find_type(offered, wanted: str):
    """The issue type of ``offered`` (RemoteIssueType) that ``wanted`` names by id or name; None."""
    wanted = name_key(wanted)
    if not wanted:
        return None
    return next((t for t in offered if wanted in (t.id.casefold(), name_key(t.name))), None)


def same_name(first: str, second: str) -> bool:
    """Whether two tracker names are the same by the one matching rule (case and whitespace ignored)."""
    return name_key(first) == name_key(second)


def status_for(status_mapping: Mapping[str, list[str]] | None, tracker_status: str) -> str | None:
    """The value (issue status; requirement state for a state mapping) whose rule lists the tracker
    status; None when no rule names it (an empty status names none)."""
    wanted = name_key(tracker_status or "")
    if not wanted:
        return None
    for value, names in (status_mapping or {}).items():
        if any(name_key(name) == wanted for name in names):
            return value
    return None


def priority_for(priority_mapping: Mapping[str, dict] | None, tracker_priority: str, side: Side) -> str | None:
    """The ``side`` ("requirement": P0-P3, "defect": an issue priority) the priority mapping gives a
    tracker priority; None when no rule names it (an empty priority names none)."""
    wanted = name_key(tracker_priority or "")
    if not wanted:
        return None
    for name, target in (priority_mapping or {}).items():
        if name_key(name) == wanted and isinstance(target, dict):
            return target.get(side)
    return None


def tracker_names_for_status(status_mapping: Mapping[str, list[str]] | None, value: str) -> list[str]:
    """The tracker statuses the mapping lists for a value (issue status or requirement state), in its
    order; [] when it names none."""
    return list((status_mapping or {}).get(value, []))


def tracker_priorities_for(priority_mapping: Mapping[str, dict] | None, side: Side, value: str) -> list[str]:
    """The tracker priorities whose ``side`` the mapping sets to ``value``, in its order."""
    return [
        name
        for name, target in (priority_mapping or {}).items()
        if isinstance(target, dict) and target.get(side) == value
    ]


# --- Validation ------------------------------------------------------------------------


def _name(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"Every {what} needs a name.")
    value = " ".join(value.split())
    if len(value) > MAX_NAME_LENGTH:
        raise ValidationError(f"The {what} “{value[:40]}…” is longer than {MAX_NAME_LENGTH} characters.")
    return value


def _choice(value, choices: tuple[str, ...], what: str, context: str) -> str:
    if isinstance(value, str):
        for choice in choices:
            if value.strip().lower() == choice.lower():
                return choice
    raise ValidationError(f"{context}: “{value}” is not a {what}; use one of {', '.join(choices)}.")


def validate_priority_mapping(mapping) -> dict:
    """The mapping in its canonical form, or ``ValidationError`` naming the first problem."""
    if not isinstance(mapping, dict):
        raise ValidationError(
            "The priority mapping must map tracker priorities to a requirement and a defect priority."
        )
    result: dict[str, dict[str, str]] = {}
    seen: dict[str, str] = {}
    for tracker_priority, target in mapping.items():
        name = _name(tracker_priority, "tracker priority")
        if name_key(name) in seen:
            raise ValidationError(f"The tracker priority “{name}” is mapped twice.")
        seen[name_key(name)] = name
        if not isinstance(target, dict) or set(target) != {"requirement", "defect"}:
            raise ValidationError(f"{name}: give both a requirement priority and a defect priority.")
        result[name] = {
            "requirement": _choice(target["requirement"], REQUIREMENT_PRIORITIES, "requirement priority", name),
            "defect": _choice(target["defect"], DEFECT_PRIORITIES, "defect priority", name),
        }
    return result


def validate_status_mapping(mapping) -> dict:
    """The mapping in its canonical form; a tracker status may belong to one defect status only."""
    if not isinstance(mapping, dict):
        raise ValidationError("The status mapping must map defect statuses to lists of tracker statuses.")
    result: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for defect_status, tracker_statuses in mapping.items():
        status = _choice(defect_status, DEFECT_STATUSES, "defect status", "Status mapping")
        if status in result:
            raise ValidationError(f"The defect status {status} is mapped twice.")
        if not isinstance(tracker_statuses, list) or not tracker_statuses:
            raise ValidationError(f"{status}: list at least one tracker status.")
        names = []
        for tracker_status in tracker_statuses:
            name = _name(tracker_status, "tracker status")
            if name_key(name) in owner:
                raise ValidationError(
                    f"The tracker status “{name}” is mapped to both {owner[name_key(name)]} and {status}."
                )
            owner[name_key(name)] = status
            names.append(name)
        result[status] = names
    return result


# --- Text form, for pages -------------------------------------------------------------


def _lines(text: str):
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.strip().startswith("#"):
            yield number, line


def _split_rule(number: int, line: str, example: str) -> tuple[str, list[str]]:
    left, equals, right = line.partition("=")
    values = [value.strip() for value in right.split(",") if value.strip()]
    if not equals or not left.strip() or not values:
        raise ValidationError(f"Line {number}: write it as “{example}”.")
    return left.strip(), values


def priority_mapping_to_text(mapping: dict) -> str:
    return "\n".join(f"{name} = {target['requirement']}, {target['defect']}" for name, target in mapping.items())


def parse_priority_mapping(text: str) -> dict:
    """``High = P1, critical`` per line (lines starting with # are comments)."""
    mapping = {}
    for number, line in _lines(text):
        name, values = _split_rule(number, line, "High = P1, critical")
        if len(values) != 2:
            raise ValidationError(
                f"Line {number}: give a requirement priority and a defect priority, e.g. “High = P1, critical”."
            )
        if name in mapping:
            raise ValidationError(f"Line {number}: the tracker priority “{name}” is mapped twice.")
        mapping[name] = {"requirement": values[0], "defect": values[1]}
    return validate_priority_mapping(mapping)


def status_mapping_to_text(mapping: dict) -> str:
    return "\n".join(f"{status} = {', '.join(names)}" for status, names in mapping.items())


def parse_status_mapping(text: str) -> dict:
    """``open = To Do, Open`` per line (lines starting with # are comments)."""
    mapping: dict[str, list[str]] = {}
    for number, line in _lines(text):
        status, names = _split_rule(number, line, "open = To Do, Open")
        key = status.strip().lower()
        if key in mapping:
            raise ValidationError(f"Line {number}: the defect status {status} is mapped twice.")
        mapping[key] = names
    return validate_status_mapping(mapping)
