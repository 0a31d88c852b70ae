"""Saving what a project integration pulls, with its filters checked against the tracker first: the
one way the settings page and the API change pull settings.

A filter (JQL, a WIQL condition, GitHub qualifiers, GitLab parameters, Linear terms) is checked by a
dry run, the provider's ``count_matching`` of the very query the pull would send, so the admin learns
at once how many work items it selects ("matches 37 work items"). A filter the tracker refuses is
refused with the tracker's message (redacted) and nothing is saved: otherwise it would only fail at
the next pull, in the background. A tracker that cannot answer now (down, rate limiting, refusing the
credentials, a disconnected source) does not stop the save: the filter is saved "not verified", and
the page and the API say why.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from integrations.errors import RemoteValidationError, TrackerError
from integrations.models import ProjectIntegration
from integrations.providers import provider_for
from integrations.providers.base import MatchCount, PullQuery
from integrations.services import interactive, source_excerpt
from issues.pulls import bugs, requirements
from issues.pulls.models import StatusFrom

MESSAGE_MAX = 500

# The filter fields, what the page calls them, and the types that go with them.
FILTERS = {
    "requirements_filter": ("Requirement filter", "requirement_types", "pull_requirements"),
    "bugs_filter": ("Bug filter", "bug_types", "pull_bugs"),
}


@dataclass(frozen=True)
class FilterCheck:
    """What the dry run of one filter found: ``verified`` with the ``count`` it matches, or not verified
    (the tracker could not answer) with the reason in ``message``."""

    field: str
    verified: bool
    message: str
    count: MatchCount | None = None

    def to_dict(self) -> dict:
        count = self.count
        return {
            "field": self.field,
            "verified": self.verified,
            "message": self.message,
            "count": None if count is None else count.count,
            "precision": None if count is None else count.precision,
        }


def check_filter(integration: ProjectIntegration, field: str, text: str, item_types: list[str]) -> FilterCheck:
    """The dry run of the filter in ``field``: how many work items of the integration's external project
    and of ``item_types`` it selects. ``ValidationError`` naming ``field`` with the tracker's message when
    the tracker refuses the filter."""
    label = FILTERS[field][0]
    source = integration.source
    if not source.syncs:
        reason = f"{source.name} is disabled or disconnected, so it was not asked"
        return FilterCheck(field, False, f"{label} not verified: {reason}.")
    query = PullQuery(project=integration.external_project, filter=text.strip(), item_types=tuple(item_types))
    try:
        with interactive(source, advice="the filter is saved unverified"):
            count = provider_for(source).count_matching(query)
    except RemoteValidationError as error:
        message = f"{source.name} refused the {label.lower()}: {error}"
        raise ValidationError({field: source_excerpt(source, message, MESSAGE_MAX)}) from None
    except TrackerError as error:
        return FilterCheck(field, False, source_excerpt(source, f"{label} not verified: {error}", MESSAGE_MAX))
    return FilterCheck(field, True, f"{label} {count.in_words()} in {source.name}.", count)


def check_filters(integration: ProjectIntegration, settings: dict, bug_settings: dict) -> list[FilterCheck]:
    """The dry run of each filter that is in use (its pull switched on, or a filter written); every
    refusal is collected so that the admin sees all of them at once."""
    values = {**settings, **bug_settings}
    checks, refusals = [], {}
    for field, (_label, types_field, switch) in FILTERS.items():
        if not (values[switch] or values[field].strip()):
            continue
        try:
            checks.append(check_filter(integration, field, values[field], list(values[types_field])))
        except ValidationError as error:
            refusals.update(error.message_dict)
    if refusals:
        raise ValidationError(refusals)
    return checks


def save(integration: ProjectIntegration, settings: dict, bug_settings: dict) -> list[FilterCheck]:
    """Check the filters, then store both pulls' settings (``requirements.save_settings`` and
    ``bugs.save_bug_settings`` take ``settings`` and ``bug_settings``), all or nothing. Returns the
    checks; ``ValidationError`` by field when the tracker refuses a filter or a value is wrong."""
    bugs.check_status_from(bug_settings.get("status_from", StatusFrom.STATUS), bug_settings["resolution_field"])
    checks = check_filters(integration, settings, bug_settings)  # outside the transaction: it waits on a tracker
    with transaction.atomic():
        requirements.save_settings(integration, **settings)
        bugs.save_bug_settings(integration, **bug_settings)
    return checks


REQUIREMENT_FIELDS = (
    "pull_requirements",
    "requirements_filter",
    "requirement_types",
    "state_mapping",
    "release_field",
    "release_date_fields",
    "sprint_field",
    "comment_linked_tests",
)
BUG_FIELDS = ("pull_bugs", "bugs_filter", "bug_types", "severity_field", "resolution_field", "status_from")


def document(integration: ProjectIntegration) -> dict:
    """The integration's pull settings as the API shows them (defaults when none are saved yet)."""
    settings, bug_settings = requirements.settings_of(integration), bugs.bug_settings_of(integration)
    return {
        "pull_requirements": integration.pull_requirements,
        "requirements_filter": integration.requirements_filter,
        "requirement_types": settings.requirement_types,
        "state_mapping": settings.state_mapping,
        "release_field": settings.release_field,
        "release_date_fields": settings.release_date_fields,
        "sprint_field": settings.sprint_field,
        "comment_linked_tests": integration.comment_linked_tests,
        "pull_bugs": integration.pull_bugs,
        "bugs_filter": integration.bugs_filter,
        "bug_types": bug_settings.bug_types,
        "severity_field": bug_settings.severity_field,
        "resolution_field": bug_settings.resolution_field,
        "status_from": bug_settings.status_from,
        "requirements_last_pulled_at": settings.last_pulled_at,
        "requirements_last_error": settings.last_error,
        "bugs_last_pulled_at": bug_settings.last_pulled_at,
        "bugs_last_error": bug_settings.last_error,
    }


def update(integration: ProjectIntegration, changes: dict) -> list[FilterCheck]:
    """``save`` with ``changes`` over the current settings: a field left out keeps its value."""
    values = {**document(integration), **changes}
    return save(
        integration,
        {name: values[name] for name in REQUIREMENT_FIELDS},
        {name: values[name] for name in BUG_FIELDS},
    )
