"""Two-way defects and what follows a tracker issue's change.

With a project integration's ``sync_defects`` a tracker issue linked in the project gets an
internal issue, its defect (``DefectSync``), whose status and priority follow the tracker through
the integration's mappings; with ``push_defect_changes`` the defect's own status and priority
changes are sent to the tracker (retried with every refresh until they are). With
``update_test_status_on_resolve`` a failed or blocked result linked to an issue the tracker
resolves becomes "retest"."""

from collections.abc import Callable, Sequence
from functools import partial
from typing import NamedTuple
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations.errors import RemoteValidationError, TrackerError
from integrations.mappings import (
    priority_for,
    same_name,
    status_for,
    tracker_names_for_status,
    tracker_priorities_for,
)
from integrations.models import IntegrationState, ProjectIntegration, Source
from integrations.providers import provider_for
from integrations.providers.base import (
    RemoteIssue,
    TrackerProvider,
    Unsupported,
)
from integrations.services import source_excerpt
from issues.core import history, services
from issues.core.models import (
    CommentOrigin,
    Issue,
    IssueComment,
    IssueEvent,
    IssuePriority,
    IssueStatus,
    StatusCategory,
)
from issues.core.selectors import CATEGORY_OF_STATUS
from issues.links.models import ExternalReference, Link
from issues.sync.comments import PUSH_GRACE, push_comment
from issues.sync.labels import follow_labels, push_labels, tags_edited_here
from issues.sync.models import DefectSync
from issues.sync.selectors import defect_syncs
from issues.sync.signals import remote_issues_heard
from projects.models import ResultStatus, TestResult

RESOLVABLE_RESULTS = (ResultStatus.FAILED, ResultStatus.BLOCKED)


# The defect status a tracker status category stands for, when the status mapping does not name it.
CATEGORY_STATUS = {
    StatusCategory.TO_DO: IssueStatus.OPEN, StatusCategory.IN_PROGRESS: IssueStatus.IN_PROGRESS,
    StatusCategory.DONE: IssueStatus.CLOSED,
}  # fmt: skip


class ActiveOptions(NamedTuple):
    """What one of the source's active project integrations asks to follow a tracker issue's change."""

    project_id: int
    sync_defects: bool
    update_test_status_on_resolve: bool
    pull_requirements: bool
    sync_comments: bool


def active_options(source: Source) -> list[ActiveOptions]:
    """The source's active project integrations' options, in one query: what a webhook delivery or a
    refresh run reads once to know what follows it."""
    rows = ProjectIntegration.objects.filter(source=source, state=IntegrationState.ACTIVE)
    return [ActiveOptions(*row) for row in rows.values_list(*ActiveOptions._fields)]


def tell_heard(
    source: Source, heard: list[tuple[ExternalReference, RemoteIssue]], options: list[ActiveOptions]
) -> None:
    """Tell the app what the tracker just said of these references (``signals.remote_issues_heard``). Its
    one listener (pulled requirements) follows only integrations that pull requirements: with none, nothing
    is sent and no query is made."""
    if heard and any(option.pull_requirements for option in options):
        remote_issues_heard.send(sender=Source, source=source, heard=heard)


def follow_changes(
    source: Source,
    stored: list[tuple[ExternalReference, dict]],
    seen: Sequence[int],
    options: list[ActiveOptions] | None = None,
) -> None:
    """Results to retest for issues that became resolved; defects that follow the changed issues; defects
    for those of the ``seen`` references that have none yet. One query when no project asks for any, none
    when the caller passes the ``active_options`` it read."""
    if options is None:
        options = active_options(source)
    retesting = [option.project_id for option in options if option.update_test_status_on_resolve]
    defects = [option.project_id for option in options if option.sync_defects]
    resolved = [
        reference.pk
        for reference, state in stored
        if state["status_category"] == StatusCategory.DONE and reference.status_category != StatusCategory.DONE
    ]
    if retesting and resolved:
        retest(retesting, resolved)
    if defects:
        follow_defects([reference.pk for reference, _ in stored])
        mirror_defects(defects, seen)


def retest(projects: Sequence[int], reference_ids: Sequence[int]) -> int:
    """Failed or blocked results of these projects linked to these (now resolved) issues become "retest";
    returns how many."""
    return TestResult.objects.filter(
        issue_links__external_reference_id__in=reference_ids,
        issue_links__project_id__in=projects,
        status__in=RESOLVABLE_RESULTS,
    ).update(status=ResultStatus.RETEST)


def defect_status(integration: ProjectIntegration, tracker_status: str, category: str) -> str | None:
    """The defect status a tracker status maps to: by the status mapping, else by its category."""
    return status_for(integration.status_mapping, tracker_status) or CATEGORY_STATUS.get(category)


def defect_priority(integration: ProjectIntegration, tracker_priority: str) -> str | None:
    return priority_for(integration.priority_mapping, tracker_priority, "defect")


def tracker_statuses(integration: ProjectIntegration, status: str) -> list[str]:
    """The tracker statuses a defect status maps to, in the mapping's order; a status the mapping does
    not name takes those of the statuses of its category (resolved: closed's)."""
    names = tracker_names_for_status(integration.status_mapping, status)
    if names:
        return names
    category = CATEGORY_OF_STATUS.get(status)
    return [
        name
        for other in integration.status_mapping
        if CATEGORY_OF_STATUS.get(other) == category
        for name in tracker_names_for_status(integration.status_mapping, other)
    ]


def tracker_priorities(integration: ProjectIntegration, priority: str) -> list[str]:
    return tracker_priorities_for(integration.priority_mapping, "defect", priority)


# The links that make a tracker issue a defect of their project: to what a test found (a result, a run,
# a case), as filing and linking a defect make them; a link to a requirement is a story it covers.
DEFECT_LINKS = Q(test_result__isnull=False) | Q(test_run__isnull=False) | Q(test_case__isnull=False)


def is_defect(reference: ExternalReference, project) -> bool:
    """Whether "keep defects in step" mirrors the tracker issue in the project: it is linked there to a
    test result, run or case (filed or linked as a defect), or the project's bug pull found it. Never an
    item a requirement pull keeps (a story), nor an issue deleted in the tracker."""
    if reference.deleted_remotely or reference.pulled_requirements.exists():
        return False
    return (
        Link.objects.filter(DEFECT_LINKS, project=project, external_reference=reference).exists()
        or reference.pulled_bugs.filter(project=project).exists()
    )


def mirror_defect(reference: ExternalReference, project, actor=None) -> DefectSync | None:
    """The project's defect for a tracker issue that is one of its defects (``is_defect``), created
    with the mapped status and priority when the project's integration of the issue's source keeps
    defects in step; None when none does or the issue is no defect."""
    if reference.source_id is None or not is_defect(reference, project):
        return None
    integration = (
        ProjectIntegration.objects.filter(
            project=project,
            source_id=reference.source_id,
            sync_defects=True,
            state=IntegrationState.ACTIVE,
        )
        .order_by("-is_primary", "pk")
        .first()
    )
    if integration is None:
        return None
    existing = DefectSync.objects.filter(reference=reference, issue__project=project).first()
    if existing is not None:
        return existing
    status = defect_status(integration, reference.status, reference.status_category) or IssueStatus.OPEN
    priority = defect_priority(integration, reference.priority) or IssuePriority.MAJOR
    try:
        with transaction.atomic():
            issue = services.create_issue(
                project=project,
                name=(reference.title or reference.key)[:300],
                reporter=actor,
                status=status,
                priority=priority,
                description=_defect_description(reference),
            )
            sync = DefectSync.objects.create(
                issue=issue,
                reference=reference,
                integration=integration,
                synced_status=status,
                synced_priority=priority,
            )
            follow_labels(sync)  # the new defect takes the issue's labels as tags
            return sync
    except IntegrityError:  # a concurrent link created it first
        return DefectSync.objects.filter(reference=reference, issue__project=project).first()


def _defect_description(reference: ExternalReference) -> str:
    where = (
        f"[{reference.key}]({reference.url})"
        if urlsplit(reference.url).scheme in ("http", "https")
        else f"`{reference.key}`"
    )
    return (
        f"Kept in step with {where} in {reference.source_name}: its status and priority follow the tracker, "
        "and comments go both ways when the project's integration says so."
    )


def mirror_defects(projects: Sequence[int], reference_ids: Sequence[int]) -> int:
    """Defects for those of the references that are defects of these projects (which keep defects in step)
    and have none yet (an integration switched on after they were linked or pulled); returns how many were
    created."""
    links = (
        Link.objects.filter(DEFECT_LINKS, external_reference_id__in=reference_ids, project_id__in=projects)
        .select_related("external_reference", "project", "created_by")
        .order_by("created_at", "id")
    )
    candidates = [(link.external_reference, link.project, link.created_by) for link in links]
    bugs = ExternalReference.objects.filter(pk__in=reference_ids, pulled_bugs__project_id__in=projects).distinct()
    for reference in bugs:
        for bug in reference.pulled_bugs.filter(project_id__in=projects).select_related("project"):
            candidates.append((reference, bug.project, None))
    have = set(
        DefectSync.objects.filter(reference_id__in=reference_ids).values_list("reference_id", "issue__project_id")
    )
    created = 0
    for reference, project, actor in candidates:
        if (reference.pk, project.pk) not in have:
            created += mirror_defect(reference, project, actor) is not None
            have.add((reference.pk, project.pk))
    return created


def follow_defects(reference_ids: Sequence[int]) -> None:
    """Bring the defects of these references to the tracker's state, through the mappings. A defect
    changed here more recently than the tracker's state (and still to push) keeps its own value."""
    for sync in defect_syncs().filter(reference_id__in=reference_ids):
        _follow_defect(sync)


def _follow_defect(sync: DefectSync) -> None:
    if follow_labels(sync):
        from issues.sync.tasks import push_defect_changes  # tasks import this module's callers

        transaction.on_commit(partial(push_defect_changes.delay, sync.issue_id))
    reference, integration, issue = sync.reference, sync.integration, sync.issue
    tracker = {
        "status": defect_status(integration, reference.status, reference.status_category) or sync.synced_status,
        "priority": defect_priority(integration, reference.priority) or sync.synced_priority,
    }
    keep_here = (
        integration.push_defect_changes
        and sync.changed_here_at is not None
        and (reference.remote_updated_at is None or reference.remote_updated_at <= sync.changed_here_at)
    )
    moved = {
        name: value
        for name, value in tracker.items()
        if value != getattr(sync, f"synced_{name}") and not _holds(sync, name, getattr(reference, name))
    }
    if not moved:
        return  # the tracker did not move: a change made here stays to be pushed
    changes = {
        name: value
        for name, value in moved.items()
        if not (keep_here and getattr(issue, name) != getattr(sync, f"synced_{name}"))
    }
    if changes:
        Issue.objects.filter(pk=issue.pk).update(**changes, version=F("version") + 1, updated_at=timezone.now())
        history.record(issue, IssueEvent.SYNCED, detail=f"From {reference.key} in {reference.source_name}")
    for name, value in moved.items():
        setattr(sync, f"synced_{name}", value)
    sync.save(update_fields=["synced_status", "synced_priority"])


def _holds(sync: DefectSync, name: str, tracker_value: str) -> bool:
    """Whether the tracker's status (or priority) is one the synced value is sent as: "resolved" is sent as
    "Done", which maps back to "closed"; the tracker holding "Done" has not moved from "resolved"."""
    synced = getattr(sync, f"synced_{name}")
    names = (
        tracker_statuses(sync.integration, synced) if name == "status" else tracker_priorities(sync.integration, synced)
    )
    return any(same_name(tracker_value, sent) for sent in names)


def push_defect(issue_id: int) -> bool:
    """Send a defect's status and priority to the tracker where they differ from its last known state:
    each through the first of the mapped tracker names the tracker accepts. Returns whether anything
    was sent; a failure is kept on the defect's sync and retried by the source's next refresh."""
    sync = defect_syncs().filter(issue_id=issue_id).first()
    source = sync.reference.source if sync is not None else None
    pushes = sync is not None and (sync.integration.push_defect_changes or sync.integration.sync_labels)
    if source is None or not pushes or not source.syncs:
        return False
    try:
        provider = provider_for(source)
    except TrackerError as error:
        DefectSync.objects.filter(pk=sync.pk).update(last_error=source_excerpt(source, str(error), 500))
        return False
    return _push(sync, provider)


def _push(sync: DefectSync, provider: TrackerProvider) -> bool:
    """Status and priority (with push_defect_changes), then labels (with sync_labels)."""
    sent = _push_fields(sync, provider) if sync.integration.push_defect_changes else False
    return push_labels(sync, provider) or sent


def _push_fields(sync: DefectSync, provider: TrackerProvider) -> bool:
    issue, integration, key = sync.issue, sync.integration, sync.reference.key
    problems, sent = [], False
    operations: list[tuple[str, Callable[[str, str], None], list[str]]] = [
        ("status", provider.transition, tracker_statuses(integration, issue.status)),
        ("priority", provider.set_priority, tracker_priorities(integration, issue.priority)),
    ]
    for name, operation, targets in operations:
        value = getattr(issue, name)
        if value == getattr(sync, f"synced_{name}"):
            continue
        try:
            accepted = _first_accepted(partial(operation, key), targets)
        except Unsupported:  # the tracker has no such field (GitHub and GitLab priorities): nothing to send
            setattr(sync, f"synced_{name}", value)
            continue
        except TrackerError as error:  # kept, and retried by the source's next refresh
            problems.append(str(error))
            continue
        if accepted is None:
            problems.append(
                f"The tracker accepted none of the {name} names “{value}” maps to "
                f"({', '.join(targets) or 'none'}): check the integration's {name} mapping."
            )
            continue
        setattr(sync, f"synced_{name}", value)
        sent = True
    sync.last_error = source_excerpt(sync.reference.source, " ".join(problems), 500)
    sync.save(update_fields=["synced_status", "synced_priority", "last_error"])
    if sent:
        history.record(
            issue, IssueEvent.PUSHED, detail=f"Status and priority sent to {key} in {sync.reference.source_name}"
        )
        from issues.sync.tasks import refresh_references  # imported here: the task imports this module's callers

        transaction.on_commit(partial(refresh_references.delay, sync.reference.source_id, [sync.reference_id]))
    return sent


def _first_accepted(operation: Callable[[str], None], names: list[str]) -> str | None:
    """The first name the tracker takes; a name it refuses as invalid makes way for the next one."""
    for name in names:
        try:
            operation(name)
        except RemoteValidationError:
            continue
        return name
    return None


def push_pending(source: Source, provider: TrackerProvider) -> None:
    """Send what is still to send for the source's defects: status and priority changes, comments."""
    now = timezone.now()
    changed = Q(integration__push_defect_changes=True) & (
        ~Q(issue__status=F("synced_status")) | ~Q(issue__priority=F("synced_priority"))
    )
    pending = (
        defect_syncs()
        .filter(reference__source=source)
        .filter(changed | Q(integration__sync_labels=True, labels_pending=True))
    )
    for sync in pending:
        _push(sync, provider)
    comments = IssueComment.objects.filter(
        origin=CommentOrigin.TESTMANAGER,
        remote_id="",
        created_at__lt=now - PUSH_GRACE,
        issue__defect_sync__reference__source=source,
        issue__defect_sync__integration__sync_comments=True,
    ).values_list("pk", flat=True)
    for comment_id in comments:
        push_comment(comment_id)


def defect_edited_here(issue: Issue, changed: frozenset) -> None:
    """A defect edited here: remember when, and send its status and priority (and tags) to the tracker."""
    if "tags" in changed:
        tags_edited_here(issue)
    if not {"status", "priority"} & changed:
        return
    if DefectSync.objects.filter(issue=issue).update(changed_here_at=timezone.now()):
        from issues.sync.tasks import push_defect_changes  # tasks import this module's callers

        transaction.on_commit(partial(push_defect_changes.delay, issue.pk))
