"""Field mappings of a project integration: per purpose (a defect, a test case), where each field the
tracker reports for the purpose's issue type takes its value from. One rule, used by every caller
(filing, bulk filing, pushing a defect, syncing a test case) through ``resolve``.

Stored in ``ProjectIntegration.field_mappings`` as::

    {"defect": {"fields": {<field id>: {"source": "constant" | "value", "value": ...}}},
     "test_case": {"fields": {...}},
     "severity": {<tracker severity>: <defect priority>}}

A field not listed is ``unset``. A ``constant`` is the tracker value itself (one of its allowed
values where the tracker lists them; a list for multi-value fields); a ``value`` is text with
placeholders of the artefact (``{case.title}``, ``{run.environment}``), filled when the issue is
drafted. The issue types live beside them on the integration (``default_issue_type``,
``test_issue_type``). Mappings written before purposes existed (``{field name: value}``, with
``{run}``, ``{environment}``, ``{case}``, ``{folder}``) are read as the defect's, in the new terms.

This app may not import the issues app: the facts a placeholder stands for are computed there
(``issues.filing.mapped``) and passed in as a mapping of placeholder name to text.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from .mappings import DEFECT_PRIORITIES, name_key

DEFECT, TEST_CASE = "defect", "test_case"
PURPOSES = {DEFECT: "Defects", TEST_CASE: "Test cases"}
UNSET, CONSTANT, VALUE = "unset", "constant", "value"
SOURCES = (UNSET, CONSTANT, VALUE)

# Every placeholder a mapped value may use, with what it stands for (shown on the form and in errors).
PLACEHOLDERS = {
    "case.title": "the test case's title",
    "case.steps": "the test case's steps",
    "case.expected_result": "the test case's expected result",
    "case.preconditions": "the test case's preconditions",
    "case.description": "what the test case checks",
    "case.priority": "the test case's priority",
    "case.type": "the test case's type",
    "case.folder": "the test case's folder",
    "case.url": "the test case's page",
    "issue.title": "the internal issue's title",
    "issue.description": "the internal issue's description",
    "issue.priority": "the internal issue's priority",
    "issue.assignee": "the internal issue's assignee (a user field: matched to a tracker account)",
    "issue.reporter": "the internal issue's reporter (a user field: matched to a tracker account)",
    "issue.tags": "the internal issue's tags",
    "result.comment": "the failed result's comment (actual result)",
    "result.status": "the failed result's status",
    "run.name": "the run's name",
    "run.environment": "the run's environment",
}
# Placeholders naming a testmanager user: a user field takes the matching tracker account.
USER_PLACEHOLDERS = frozenset({"issue.assignee", "issue.reporter"})
_PLACEHOLDER = re.compile(r"\{([a-z_]+\.[A-Za-z0-9_-]+)\}")
# A project's own case fields: {custom.<field name>} (the names are the project's, checked when filled).
CUSTOM_PREFIX = "custom."
_LEGACY = {
    "{run}": "{run.name}",
    "{environment}": "{run.environment}",
    "{case}": "{case.title}",
    "{folder}": "{case.folder}",
    "{priority}": "{case.priority}",
    "{type}": "{case.type}",
}
MAX_VALUE_LENGTH = 2000


@dataclass(frozen=True)
class Field:
    """A field the tracker reports for an issue type, as mappings see it (``RemoteField``'s shape)."""

    id: str
    name: str
    required: bool
    kind: str
    allowed_values: tuple[str, ...] = ()


# --- Reading what is stored ------------------------------------------------------------


def _legacy_value(value):
    if isinstance(value, str):
        for old, new in _LEGACY.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [_legacy_value(item) for item in value]
    return value


def _is_placeholder_text(value) -> bool:
    texts = value if isinstance(value, list) else [value]
    return any(isinstance(text, str) and _PLACEHOLDER.search(text) for text in texts)


def stored(document) -> dict:
    """The stored document in today's shape; an old flat mapping becomes the defect's fields (keyed by
    the field's name or id as written, matched to the tracker's fields by ``field_for``)."""
    document = document if isinstance(document, dict) else {}
    if document and not set(document) & {DEFECT, TEST_CASE, "severity"}:
        fields = {}
        for name, value in document.items():
            value = _legacy_value(value)
            fields[str(name)] = {"source": VALUE if _is_placeholder_text(value) else CONSTANT, "value": value}
        return {DEFECT: {"fields": fields}, TEST_CASE: {"fields": {}}, "severity": {}}
    result = {}
    for purpose in PURPOSES:
        part = document.get(purpose) if isinstance(document.get(purpose), dict) else {}
        fields = part.get("fields") if isinstance(part.get("fields"), dict) else {}
        result[purpose] = {
            "fields": {str(key): dict(value) for key, value in fields.items() if isinstance(value, dict)}
        }
    result["severity"] = dict(document.get("severity") or {})
    return result


def mapping_of(document, purpose: str, field: Field) -> dict:
    """``{"source", "value"}`` of the field in the stored document (looked up by id, else by name)."""
    fields = stored(document)[purpose]["fields"]
    for key in (field.id, field.name):
        for written, mapping in fields.items():
            if name_key(written) == name_key(key):
                return {"source": mapping.get("source", UNSET), "value": mapping.get("value")}
    return {"source": UNSET, "value": None}


# --- Filling values --------------------------------------------------------------------


def placeholders_in(value) -> list[str]:
    texts = value if isinstance(value, list) else [value]
    return [name for text in texts if isinstance(text, str) for name in _PLACEHOLDER.findall(text)]


def fill(value, facts: Mapping[str, str]):
    """The mapped text with each placeholder replaced by its fact ("" when the artefact has none)."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda match: str(facts.get(match.group(1), "") or ""), value).strip()
    if isinstance(value, list):
        return [item for item in (fill(item, facts) for item in value) if item not in ("", None)]
    return value


def resolve(document, purpose: str, fields: Sequence, facts: Mapping[str, str]) -> dict:
    """The values, by tracker field id, that the mappings give an issue of ``purpose`` about an
    artefact whose placeholders stand for ``facts``. Empty results are left out."""
    values = {}
    for field in fields:
        mapping = mapping_of(document, purpose, field)
        if mapping["source"] == CONSTANT:
            value = mapping["value"]
        elif mapping["source"] == VALUE:
            value = fill(mapping["value"], facts)
            if field.kind in ("labels", "multi_select", "multi_user", "checkboxes") and isinstance(value, str):
                value = [part.strip() for part in value.split(",") if part.strip()]
        else:
            continue
        if value not in (None, "", []):
            values[field.id] = value
    return values


def user_placeholder(document, purpose: str, field: Field) -> str:
    """The user placeholder (``issue.assignee``) a user field's mapping names alone; "" otherwise."""
    mapping = mapping_of(document, purpose, field)
    if mapping["source"] != VALUE or not isinstance(mapping["value"], str):
        return ""
    named = placeholders_in(mapping["value"])
    whole = mapping["value"].strip() == "{" + (named[0] if named else "") + "}"
    return named[0] if whole and named[0] in USER_PLACEHOLDERS else ""


def unmapped_required(document, purpose: str, fields: Sequence) -> list[str]:
    """Names of the required fields the mappings leave unset (title and description aside: the
    artefact's text fills them)."""
    return [
        field.name
        for field in fields
        if field.required
        and field.id not in ("summary", "title", "description", "System.Title")
        and mapping_of(document, purpose, field)["source"] == UNSET
    ]


# --- Validating a new document ----------------------------------------------------------


def _check_value(where: str, field: Field, source: str, value) -> object:
    if source == CONSTANT:
        values = value if isinstance(value, list) else [value]
        if not values or any(not isinstance(item, (str, int, float, bool)) or item == "" for item in values):
            raise ValidationError({where: f"{field.name}: give the constant value."})
        if field.allowed_values:
            allowed = {name_key(str(option)): option for option in field.allowed_values}
            for item in values:
                if name_key(str(item)) not in allowed:
                    raise ValidationError(
                        {where: f"{field.name}: “{item}” is not one of its values ({', '.join(field.allowed_values)})."}
                    )
            canonical = [allowed[name_key(str(item))] for item in values]
            return canonical if isinstance(value, list) else canonical[0]
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({where: f"{field.name}: write the value, e.g. “{{case.title}}”."})
    if len(value) > MAX_VALUE_LENGTH:
        raise ValidationError({where: f"{field.name}: at most {MAX_VALUE_LENGTH} characters."})
    for name in placeholders_in(value):
        if name not in PLACEHOLDERS and not name.startswith(CUSTOM_PREFIX):
            raise ValidationError(
                {where: f"{field.name}: {{{name}}} is not a placeholder; use one of {', '.join(PLACEHOLDERS)}."}
            )
    if "{" in _PLACEHOLDER.sub("", value):
        raise ValidationError({where: f"{field.name}: write placeholders as {{case.title}}."})
    return value


def validate_fields(purpose: str, entries, fields: Sequence) -> dict:
    """The stored ``fields`` of a purpose from the API's list (or dict) of field mappings, checked against
    the fields the tracker reports; ``ValidationError`` keyed ``<purpose>.fields.<id>`` otherwise."""
    if isinstance(entries, dict):
        entries = [{"id": key, **(value if isinstance(value, dict) else {})} for key, value in entries.items()]
    if not isinstance(entries, list):
        raise ValidationError({f"{purpose}.fields": "List the fields, each with its id and mapping."})
    known = {field.id: field for field in fields}
    result = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise ValidationError({f"{purpose}.fields": "Each field needs its id."})
        where = f"{purpose}.fields.{entry['id']}"
        field = known.get(entry["id"])
        if field is None:
            raise ValidationError({where: f"The tracker reports no field “{entry['id']}” for this issue type."})
        mapping = entry.get("mapping", entry)
        source = mapping.get("source", UNSET) if isinstance(mapping, dict) else None
        if source not in SOURCES:
            raise ValidationError({where: f"{field.name}: the source is one of {', '.join(SOURCES)}."})
        if source != UNSET:
            result[field.id] = {"source": source, "value": _check_value(where, field, source, mapping.get("value"))}
    return result


def validate_severity(table) -> dict:
    """``{tracker severity: defect priority}``, canonical; ``ValidationError`` on ``severity``."""
    if not isinstance(table, dict):
        raise ValidationError({"severity": "Map tracker severities to defect priorities."})
    result = {}
    for severity, priority in table.items():
        name = " ".join(str(severity).split())
        choice = next((p for p in DEFECT_PRIORITIES if isinstance(priority, str) and name_key(priority) == p), None)
        if not name or choice is None:
            raise ValidationError(
                {"severity": f"{name or 'A severity'}: map it to one of {', '.join(DEFECT_PRIORITIES)}."}
            )
        result[name[:100]] = choice
    return result


# The severity names a tracker may give each defect priority when the severity table names none, in the
# order they are tried against the tracker's allowed values: Jira's usual custom options, then Azure
# DevOps's ("2 - High"); the first is the one a label carries (``severity:major``).
DEFAULT_SEVERITIES = {
    "blocker": ("Blocker", "Critical", "1 - Critical"),
    "critical": ("Critical", "1 - Critical"),
    "major": ("Major", "High", "2 - High"),
    "minor": ("Minor", "Medium", "3 - Medium"),
    "trivial": ("Trivial", "Low", "4 - Low"),
}


def tracker_severities(document, priority: str) -> list[str]:
    """The tracker severities a defect priority stands for: those the severity table maps to it (in its
    order), then the usual names (``DEFAULT_SEVERITIES``)."""
    mapped = [name for name, mapped_to in stored(document)["severity"].items() if mapped_to == priority]
    return list(dict.fromkeys([*mapped, *DEFAULT_SEVERITIES.get(priority, ())]))


def severity_for(document, severity: str) -> str | None:
    """The defect priority the severity table gives a tracker severity; None when it names none."""
    wanted = name_key(severity or "")
    for name, priority in stored(document)["severity"].items():
        if wanted and name_key(name) == wanted:
            return priority
    return None
