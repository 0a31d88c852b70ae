"""Requirements pulled from trackers: what a project integration's pull writes.

A project integration with "pull requirements" reads the work items its filter selects through
its provider's ``pull`` and keeps one requirement per item. A new item becomes a requirement
whose origin names the source (the tracker badge) and the item; a changed item updates its
requirement; an item deleted in the tracker makes its requirement Deprecated (and editable: no
tracker owns it any more). The item's status maps to the requirement's state, its priority to
P0-P3 (the integration's priority mapping), and the fields the pull settings name give its
release, release date (the first of up to three fields that has a date) and sprint.

While the integration is connected the tracker owns title and description (``origin_read_only``).
Disconnecting, archiving or removing the integration (deleting its source removes it), or
switching its pull off makes them editable; nothing is deleted. A later pull takes them back.
Disabling or disconnecting the source only pauses the pulls: they are the administrator's
temporary switches, so the requirements stay the tracker's.

Each requirement is linked to the remote item's reference, so the item's live status shows
where linked issues show, and the sync engine keeps it fresh. What the sync engine hears of the item
between pulls (a webhook delivery, a refresh: ``issues.sync.signals.remote_issues_heard``) updates the
requirement at once, by the pull's own mapping (``requirement_values``); a field the tracker's answer
did not carry (a refresh has no description, a partial delivery no title) stays as it is.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import post_save, pre_delete
from django.utils import timezone

from integrations.errors import TrackerError
from integrations.mappings import name_key, priority_for, status_for
from integrations.models import IntegrationState, ProjectIntegration, Source
from integrations.providers import provider_for
from integrations.providers.base import PulledItem, PullQuery, RemoteIssue
from integrations.services import source_excerpt
from issues.links import services
from issues.links.models import ExternalReference
from issues.pulls.models import PulledRequirement, PullSettings
from issues.pulls.summary import PullSummary
from issues.sync.signals import remote_issues_heard
from projects.models import Priority, Requirement, RequirementState

TITLE_MAX = Requirement._meta.get_field("title").max_length


ERROR_MAX = PullSettings._meta.get_field("last_error").max_length


# A tracker status the state mapping does not name maps by its category.
STATE_BY_CATEGORY = {
    "todo": RequirementState.DRAFT,
    "in_progress": RequirementState.ACTIVE,
    "done": RequirementState.ACTIVE,
    "unknown": RequirementState.DRAFT,
}


_DEFAULT_STATE_MAPPING = {RequirementState.DEPRECATED.value: ["Removed", "Won't Do", "Cancelled", "Obsolete"]}


def default_state_mapping() -> dict:
    return {state: list(names) for state, names in _DEFAULT_STATE_MAPPING.items()}


def validate_state_mapping(mapping) -> dict:
    """``{requirement state: [tracker status, ...]}`` in canonical form; a status names one state."""
    if not isinstance(mapping, dict):
        raise ValidationError("The state mapping must map requirement states to lists of tracker statuses.")
    result: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for state, statuses in mapping.items():
        if state not in RequirementState.values:
            states = ", ".join(RequirementState.values)
            raise ValidationError(f"“{state}” is not a requirement state; use {states}.")
        if not isinstance(statuses, list) or not all(isinstance(name, str) and name.strip() for name in statuses):
            raise ValidationError(f"{state}: list tracker statuses by name.")
        names = [" ".join(name.split()) for name in statuses]
        for name in names:
            if name_key(name) in owner and owner[name_key(name)] != state:
                raise ValidationError(
                    f"The tracker status “{name}” is mapped to both {owner[name_key(name)]} and {state}."
                )
            owner[name_key(name)] = state
        result[state] = names
    return result


def parse_state_mapping(text: str) -> dict:
    """``deprecated = Removed, Won't Do`` per line (lines starting with # are comments)."""
    mapping: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.strip().startswith("#"):
            continue
        state, equals, statuses = line.partition("=")
        names = [name.strip() for name in statuses.split(",") if name.strip()]
        if not equals or not names:
            raise ValidationError(f"Line {number}: write it as “deprecated = Removed, Won't Do”.")
        mapping.setdefault(state.strip().lower(), []).extend(names)
    return validate_state_mapping(mapping)


def state_mapping_to_text(mapping: dict) -> str:
    return "\n".join(f"{state} = {', '.join(names)}" for state, names in mapping.items())


def settings_of(integration: ProjectIntegration) -> PullSettings:
    """The integration's pull settings; defaults (not saved) when it has none yet."""
    try:
        return integration.pull_settings
    except PullSettings.DoesNotExist:
        return PullSettings(integration=integration, state_mapping=default_state_mapping())


@transaction.atomic
def save_settings(
    integration: ProjectIntegration,
    *,
    pull_requirements: bool,
    requirements_filter: str,
    requirement_types: Iterable[str],
    state_mapping: dict,
    release_field: str,
    release_date_fields: Iterable[str],
    sprint_field: str,
    comment_linked_tests: bool,
) -> PullSettings:
    """Store how the integration pulls requirements; switching the pull off releases them."""
    dates = [name.strip() for name in release_date_fields if name.strip()]
    if len(dates) > PullSettings.MAX_RELEASE_DATE_FIELDS:
        raise ValidationError(
            {"release_date_fields": f"At most {PullSettings.MAX_RELEASE_DATE_FIELDS} release date fields."}
        )
    settings = settings_of(integration)
    settings.requirement_types = list(dict.fromkeys(name.strip() for name in requirement_types if name.strip()))
    settings.state_mapping = validate_state_mapping(state_mapping)
    settings.release_field, settings.sprint_field = release_field.strip(), sprint_field.strip()
    settings.release_date_fields = dates
    settings.save()
    integration.pull_requirements = pull_requirements
    integration.requirements_filter = requirements_filter.strip()
    integration.comment_linked_tests = comment_linked_tests
    integration.save(update_fields=["pull_requirements", "requirements_filter", "comment_linked_tests", "updated_at"])
    return settings


def pulls(integration: ProjectIntegration) -> bool:
    """Whether the integration pulls requirements now."""
    return integration.pull_requirements and integration.state == IntegrationState.ACTIVE and integration.source.syncs


def requirement_state(item: RemoteIssue, mapping: Mapping[str, list[str]]) -> str:
    """The state the pull's state mapping gives the item's status; else its category's (Draft)."""
    return status_for(mapping, item.status) or STATE_BY_CATEGORY.get(item.status_category, RequirementState.DRAFT)


def requirement_priority(item: RemoteIssue, mapping: Mapping[str, dict]) -> str | None:
    """P0-P3 by the integration's priority mapping; None when it does not name the item's priority."""
    return priority_for(mapping, item.priority, "requirement")


def requirement_values(integration: ProjectIntegration, settings: PullSettings, item: RemoteIssue) -> dict:
    """The requirement fields the pull's mapping makes of a work item: title, description (a pulled item's
    or a delivery's; a plain refresh answer has none), state (the state mapping), priority (only where the
    priority mapping names it), the item's URL and the tracker's ownership. Fields the tracker's answer did
    not carry (``item.unknown``) are left out, so the requirement keeps them as they are."""
    values: dict = {"origin_read_only": True}
    if "title" not in item.unknown:
        values["title"] = item.title.strip()[:TITLE_MAX] or f"{item.key} (no title)"
    if isinstance(item, PulledItem) and "description" not in item.unknown:
        values["description"] = item.description
    if "status" not in item.unknown:
        values["state"] = requirement_state(item, settings.state_mapping)
    if "priority" not in item.unknown and (priority := requirement_priority(item, integration.priority_mapping)):
        values["priority"] = priority
    if item.url:
        values["origin_url"] = item.url
    return values


@dataclass(frozen=True)
class Plan:
    """Where a pulled item is planned: its release, the release's date, its sprint."""

    release: str = ""
    release_date: date | None = None
    sprint: str = ""


def plan_of(item: PulledItem, settings: PullSettings) -> Plan:
    """The release (the release field's text), its date (the first release date field with a
    date, in the settings' order) and the sprint (the sprint field's text)."""

    def text(field_id: str) -> str:
        return item.fields[field_id].text if field_id else ""

    day = next((item.fields[name].day for name in settings.release_date_fields if item.fields[name].day), None)
    return Plan(release=text(settings.release_field)[:200], release_date=day, sprint=text(settings.sprint_field)[:200])


def pull_query(integration: ProjectIntegration, settings: PullSettings) -> PullQuery:
    fields = [settings.release_field, *settings.release_date_fields, settings.sprint_field]
    return PullQuery(
        project=integration.external_project,
        filter=integration.requirements_filter,
        item_types=tuple(settings.requirement_types),
        fields=tuple(dict.fromkeys(name for name in fields if name)),
    )


def pull_requirements(integration: ProjectIntegration) -> PullSummary:
    """Bring the integration's requirements up to date with the tracker. A tracker error is
    recorded in the pull settings (``last_error``) and raised; nothing is written then."""
    if not pulls(integration):
        raise ValidationError(
            f"{integration} does not pull requirements: it is not active, its source does not "
            "sync, or pulling requirements is switched off."
        )
    settings = settings_of(integration)
    known = {
        pulled.reference.key: pulled
        for pulled in PulledRequirement.objects.filter(
            integration=integration,
            reference__isnull=False,
            reference__deleted_remotely=False,
        ).select_related("requirement", "reference")
    }
    try:
        result = provider_for(integration.source).pull(pull_query(integration, settings), known=list(known))
    except TrackerError as error:
        settings.last_error = source_excerpt(integration.source, str(error), ERROR_MAX)
        settings.save()
        raise
    # The sync engine may have found a deletion first: still the tracker's, so not deprecated yet.
    found_deleted = PulledRequirement.objects.filter(
        integration=integration,
        reference__deleted_remotely=True,
        requirement__origin_read_only=True,
    ).select_related("requirement")
    summary = PullSummary(deleted_became="now deprecated")
    with transaction.atomic():
        for item in result.items:
            outcome = _keep(integration, settings, item)
            setattr(summary, outcome, getattr(summary, outcome) + 1)
        for pulled in [*(known[key] for key in result.deleted), *found_deleted]:
            _deprecate(pulled)
            summary.deleted += 1
        settings.last_pulled_at, settings.last_error = timezone.now(), ""
        settings.save()
    return summary


def _keep(integration: ProjectIntegration, settings: PullSettings, item: PulledItem) -> str:
    """Create or update the item's requirement; "created", "updated" or "unchanged"."""
    source = integration.source
    reference = services.store_reference(source, item)
    values = {**requirement_values(integration, settings, item), "origin_key": item.key}
    # The requirement of the item's key, else the one its reference was pulled into: an item that moved (a
    # new key, issues.links.key_moves) keeps its requirement, which takes the new key.
    requirement = (
        Requirement.objects.filter(project=integration.project, origin_tracker=source.name, origin_key=item.key).first()
        or Requirement.objects.filter(project=integration.project, pull__reference=reference).first()
    )
    if requirement is None:
        requirement = Requirement.objects.create(
            project=integration.project, origin_tracker=source.name, **{"priority": Priority.P2, **values}
        )
        outcome = "created"
    else:
        outcome = "updated" if _update(requirement, values) else "unchanged"
    plan = plan_of(item, settings)
    pulled, created = PulledRequirement.objects.get_or_create(
        requirement=requirement,
        defaults={"integration": integration, "reference": reference, "pulled_at": timezone.now(), **vars(plan)},
    )
    if not created:
        moved = (pulled.integration_id, pulled.reference_id, Plan(pulled.release, pulled.release_date, pulled.sprint))
        if moved != (integration.pk, reference.pk, plan):
            outcome = "updated" if outcome == "unchanged" else outcome
        pulled.integration, pulled.reference, pulled.pulled_at = integration, reference, timezone.now()
        pulled.release, pulled.release_date, pulled.sprint = plan.release, plan.release_date, plan.sprint
        pulled.save()
    services.link(artefact=requirement, reference=reference)
    return outcome


def _update(requirement: Requirement, values: dict) -> bool:
    """Give the requirement the values that differ; whether any did."""
    changed = [name for name, value in values.items() if getattr(requirement, name) != value]
    for name in changed:
        setattr(requirement, name, values[name])
    if changed:
        requirement.save(update_fields=[*changed, "updated_at"])
    return bool(changed)


def follow_heard(heard: Iterable[tuple[ExternalReference, RemoteIssue]]) -> int:
    """The requirements pulled from these references take what the tracker just said of their items (a
    webhook delivery or a refresh), by the pull's mapping; only while the tracker owns them (the pull is
    on, its integration active, the requirement read-only). Returns how many changed."""
    items = {reference.pk: item for reference, item in heard}
    pulled = PulledRequirement.objects.filter(
        reference_id__in=items, integration__isnull=False, requirement__origin_read_only=True
    ).select_related("requirement", "integration__source", "integration__pull_settings")
    changed = 0
    for row in pulled:
        if pulls(row.integration):
            item = items[row.reference_id]
            values = requirement_values(row.integration, settings_of(row.integration), item)
            if _may_take_key(row.requirement, item.key):  # the item moved (issues.links.key_moves)
                values["origin_key"] = item.key
            changed += _update(row.requirement, values)
    return changed


def _may_take_key(requirement: Requirement, key: str) -> bool:
    """Whether the requirement may take ``key`` as its origin key: another one, of no other requirement."""
    return key != requirement.origin_key and not (
        Requirement.objects.filter(
            project_id=requirement.project_id, origin_tracker=requirement.origin_tracker, origin_key=key
        )
        .exclude(pk=requirement.pk)
        .exists()
    )


def _remote_issues_heard(sender, heard, **kwargs) -> int:
    return follow_heard(heard)


def _deprecate(pulled: PulledRequirement) -> None:
    """The remote item is deleted: its requirement becomes Deprecated and editable; nothing is removed."""
    ExternalReference.objects.filter(pk=pulled.reference_id).update(
        deleted_remotely=True, deleted_remotely_at=timezone.now()
    )
    requirement = pulled.requirement
    requirement.state, requirement.origin_read_only = RequirementState.DEPRECATED, False
    requirement.save(update_fields=["state", "origin_read_only", "updated_at"])


def release(integrations) -> int:
    """Make the requirements the integrations pulled editable again; how many were released."""
    return Requirement.objects.filter(pull__integration__in=integrations, origin_read_only=True).update(
        origin_read_only=False,
        updated_at=timezone.now(),
    )


def _integration_saved(sender, instance: ProjectIntegration, **kwargs) -> None:
    if instance.state != IntegrationState.ACTIVE or not instance.pull_requirements:
        release([instance])


def _integration_removed(sender, instance: ProjectIntegration, **kwargs) -> None:
    release([instance])  # before the deletion clears PulledRequirement.integration


def connect() -> None:
    """Wire the receivers that release requirements and that keep them in step with what the sync engine
    hears of their items (IssuesConfig.ready calls this)."""
    post_save.connect(_integration_saved, sender=ProjectIntegration, dispatch_uid="requirements_pull.integration")
    pre_delete.connect(_integration_removed, sender=ProjectIntegration, dispatch_uid="requirements_pull.removed")
    remote_issues_heard.connect(_remote_issues_heard, sender=Source, dispatch_uid="requirements_pull.heard")
