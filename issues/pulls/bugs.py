"""Bugs pulled from trackers: a project integration with "pull bugs" reads the bugs its filter
selects (the provider's ``pull``) and lists them with the project's issues, each through its
external reference (live status) with its severity, status and resolution mapped: a severity
field's value to a defect priority by the severity table of the integration's field mappings (never
the priority table: severities and priorities are different scales), or, when no severity field is
named, the tracker's priority by the priority mapping; the status by the status mapping (else by its
category), or, when the admin chose so, by the resolution (a bug with one is resolved). A bug deleted
in the tracker keeps its row, marked deleted."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.errors import TrackerError
from integrations.field_mappings import severity_for
from integrations.mappings import priority_for, status_for
from integrations.models import IntegrationState, ProjectIntegration
from integrations.providers import provider_for
from integrations.providers.base import PulledItem, PullQuery
from integrations.services import source_excerpt
from issues.core.models import IssueStatus
from issues.core.selectors import INTERNAL, UNRESOLVED
from issues.links import services
from issues.links.models import ExternalReference
from issues.pulls.models import BugPullSettings, PulledBug, StatusFrom
from issues.pulls.summary import PullSummary
from issues.sync.defects import mirror_defect

ERROR_MAX = BugPullSettings._meta.get_field("last_error").max_length


STATUS_BY_CATEGORY = {
    "todo": IssueStatus.OPEN,
    "in_progress": IssueStatus.IN_PROGRESS,
    "done": IssueStatus.CLOSED,
    "unknown": IssueStatus.OPEN,
}


def bug_settings_of(integration: ProjectIntegration) -> BugPullSettings:
    """The integration's bug pull settings; defaults (not saved) when it has none yet."""
    try:
        return integration.bug_pull_settings
    except BugPullSettings.DoesNotExist:
        return BugPullSettings(integration=integration)


def check_status_from(status_from: str, resolution_field: str) -> None:
    """``ValidationError`` unless ``status_from`` is a ``StatusFrom`` and, when the resolution is to decide
    the status, a resolution field is named."""
    if status_from not in StatusFrom.values:
        raise ValidationError({"status_from": f"Choose one of: {', '.join(StatusFrom.values)}."})
    if status_from == StatusFrom.RESOLUTION and not resolution_field.strip():
        raise ValidationError(
            {"resolution_field": "Name the resolution field: the resolution is to decide the mapped status."}
        )


@transaction.atomic
def save_bug_settings(
    integration: ProjectIntegration,
    *,
    pull_bugs: bool,
    bugs_filter: str,
    bug_types: Iterable[str],
    severity_field: str,
    resolution_field: str,
    status_from: str = StatusFrom.STATUS,
) -> BugPullSettings:
    """Save what the bug pull reads; ``ValidationError`` (nothing saved) when the resolution is to decide
    the status but no resolution field is named, or ``status_from`` is neither."""
    check_status_from(status_from, resolution_field)
    settings = bug_settings_of(integration)
    settings.bug_types = list(dict.fromkeys(name.strip() for name in bug_types if name.strip()))
    settings.severity_field, settings.resolution_field = severity_field.strip(), resolution_field.strip()
    settings.status_from = status_from
    settings.save()
    integration.pull_bugs, integration.bugs_filter = pull_bugs, bugs_filter.strip()
    integration.save(update_fields=["pull_bugs", "bugs_filter", "updated_at"])
    return settings


def pulls_bugs(integration: ProjectIntegration) -> bool:
    return integration.pull_bugs and integration.state == IntegrationState.ACTIVE and integration.source.syncs


def defect_status(
    item: PulledItem, status_mapping: dict, *, status_from: str = StatusFrom.STATUS, resolution: str = ""
) -> str:
    """The bug's mapped status. By status: what the status mapping gives the tracker's status, else its
    category's. By resolution: a bug with a resolution is resolved (or what the status mapping gives
    that resolution, e.g. "Won't Fix" listed under closed); one without is open (in progress while the
    tracker says so), whatever its status says (a workflow that reaches "Done" without a resolution)."""
    if status_from == StatusFrom.RESOLUTION:
        if resolution.strip():
            return status_for(status_mapping, resolution) or IssueStatus.RESOLVED
        return IssueStatus.IN_PROGRESS if item.status_category == "in_progress" else IssueStatus.OPEN
    return status_for(status_mapping, item.status) or STATUS_BY_CATEGORY.get(item.status_category, IssueStatus.OPEN)


def defect_priority(severity: str, settings: BugPullSettings, integration: ProjectIntegration) -> str:
    """The defect priority of a bug's severity: a severity field's value through the severity table of
    the integration's field mappings only; the tracker's priority (no severity field named) through the
    priority mapping; "" when the table does not name it."""
    if settings.severity_field:
        return severity_for(integration.field_mappings, severity) or ""
    return priority_for(integration.priority_mapping, severity, "defect") or ""


def pull_bugs(integration: ProjectIntegration) -> PullSummary:
    """Bring the project's pulled bugs up to date; a tracker error is recorded and raised."""
    settings = bug_settings_of(integration)
    known = {
        bug.reference.key: bug
        for bug in PulledBug.objects.filter(
            project=integration.project,
            integration=integration,
            reference__deleted_remotely=False,
        ).select_related("reference")
    }
    fields = tuple(name for name in (settings.severity_field, settings.resolution_field) if name)
    query = PullQuery(
        project=integration.external_project,
        filter=integration.bugs_filter,
        item_types=tuple(settings.bug_types),
        fields=fields,
    )
    try:
        result = provider_for(integration.source).pull(query, known=list(known))
    except TrackerError as error:
        settings.last_error = source_excerpt(integration.source, str(error), ERROR_MAX)
        settings.save()
        raise
    summary = PullSummary()
    with transaction.atomic():
        for item in result.items:
            outcome = _keep(integration, settings, item)
            setattr(summary, outcome, getattr(summary, outcome) + 1)
        ExternalReference.objects.filter(pk__in=[known[key].reference_id for key in result.deleted]).update(
            deleted_remotely=True, deleted_remotely_at=timezone.now()
        )
        summary.deleted = len(result.deleted)
        settings.last_pulled_at, settings.last_error = timezone.now(), ""
        settings.save()
    return summary


def _keep(integration: ProjectIntegration, settings: BugPullSettings, item: PulledItem) -> str:
    bug = (
        PulledBug.objects.filter(
            project=integration.project, reference__source=integration.source, reference__key=item.key
        )
        .select_related("reference")
        .first()
    )
    before = (bug.reference.title, bug.reference.status) if bug is not None else None
    reference = services.store_reference(integration.source, item)
    severity = item.fields[settings.severity_field].text if settings.severity_field else item.priority
    resolution = item.fields[settings.resolution_field].text if settings.resolution_field else ""
    values = {
        "integration": integration,
        "severity": severity[:100],
        "priority": defect_priority(severity, settings, integration),
        "status": defect_status(
            item, integration.status_mapping, status_from=settings.status_from, resolution=resolution
        ),
        "resolution": resolution[:100],
    }
    if bug is None:
        PulledBug.objects.create(project=integration.project, reference=reference, pulled_at=timezone.now(), **values)
        if integration.sync_defects:  # a pulled bug is a defect: "keep defects in step" mirrors it at once
            mirror_defect(reference, integration.project)
        return "created"
    changed = [name for name, value in values.items() if getattr(bug, name) != value]
    for name in changed:
        setattr(bug, name, values[name])
    bug.pulled_at = timezone.now()
    bug.save()
    return "updated" if changed or before != (reference.title, reference.status) else "unchanged"


def bugs_of(
    project,
    *,
    status: str = "",
    text: str = "",
    priority: str = "",
    category: str = "",
    source: str = "",
    tag=None,
    assignee: str = "",
):
    """The project's pulled bugs, most severe and newest first, filtered as the issue list filters:
    ``status`` (a defect status, or UNRESOLVED) and ``priority`` are the mapped ones, ``category`` the
    tracker's status category, ``source`` a source id. A tag, an assignee (fields only internal issues
    have) or the internal-only source match no bug."""
    if tag is not None or assignee or source == INTERNAL:
        return PulledBug.objects.none()
    bugs = PulledBug.objects.filter(project=project).select_related("reference", "integration__source")
    if status == UNRESOLVED:
        bugs = bugs.filter(status__in=[IssueStatus.OPEN, IssueStatus.IN_PROGRESS])
    elif status:
        bugs = bugs.filter(status=status)
    if text:
        bugs = bugs.filter(Q(reference__key__iexact=text.strip()) | Q(reference__title__icontains=text))
    if priority:
        bugs = bugs.filter(priority=priority)
    if category:
        bugs = bugs.filter(reference__status_category=category)
    if source.isdigit():
        bugs = bugs.filter(reference__source_id=int(source))
    return bugs.order_by("reference__deleted_remotely", "-reference__remote_updated_at", "-id")
