"""Priority and status mappings of a project integration: defaults, validation, text form.

Stored as JSON:

- priority mapping: ``{tracker priority: {"requirement": "P0".."P3", "defect": <issue priority>}}``
- status mapping: ``{<issue status>: [tracker status, ...]}``

The issue values are the issues app's choices, which this app may not import; a test keeps
``DEFECT_PRIORITIES`` and ``DEFECT_STATUSES`` equal to them. Pages edit a mapping as text,
one rule per line (``High = P1, critical``; ``open = To Do, Open``).
"""

import copy

from django.core.exceptions import ValidationError

from projects.models import Priority

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
        if name.lower() in seen:
            raise ValidationError(f"The tracker priority “{name}” is mapped twice.")
        seen[name.lower()] = name
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
            if name.lower() in owner:
                raise ValidationError(
                    f"The tracker status “{name}” is mapped to both {owner[name.lower()]} and {status}."
                )
            owner[name.lower()] = status
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
