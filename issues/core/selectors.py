"""Read queries on internal issues, shared by pages and the API; each scoped to one project."""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse

from issues.core import artefacts
from issues.core.keys import internal_number_in
from issues.core.models import (
    FIELD_EVENTS,
    ArtefactAttachment,
    Attachment,
    Issue,
    IssueEvent,
    IssuePriority,
    IssueStatus,
    StatusCategory,
)
from projects.models import Role, TestResult

UNRESOLVED = "unresolved"


UNASSIGNED = "none"


INTERNAL = "internal"  # the issue list's source filter: internal issues only


# The status category of each internal status, so internal and tracker issues share badges and filters.
CATEGORY_OF_STATUS = {
    IssueStatus.OPEN: StatusCategory.TO_DO,
    IssueStatus.IN_PROGRESS: StatusCategory.IN_PROGRESS,
    IssueStatus.RESOLVED: StatusCategory.DONE,
    IssueStatus.CLOSED: StatusCategory.DONE,
}


def issues_of(project, *, status: str = "", priority: str = "", tag=None, assignee=None, text: str = ""):
    """The project's issues, newest first. `status` may be UNRESOLVED (open or in progress);
    `assignee` is a user id or UNASSIGNED; `text` matches name, description or a number
    ('12', '#12', 'SHOP#12', 'SHOP-12')."""
    issues = Issue.objects.filter(project=project).select_related("project", "assignee")
    if status == UNRESOLVED:
        issues = issues.filter(status__in=[IssueStatus.OPEN, IssueStatus.IN_PROGRESS])
    elif status:
        issues = issues.filter(status=status)
    if priority:
        issues = issues.filter(priority=priority)
    if tag is not None:
        issues = issues.filter(tags=tag)
    if assignee == UNASSIGNED:
        issues = issues.filter(assignee__isnull=True)
    elif assignee:
        issues = issues.filter(assignee_id=assignee)
    if text:
        matches = Q(name__icontains=text) | Q(description__icontains=text)
        number = internal_number_in(project.key, text)
        if number is not None:
            matches |= Q(number=number)
        issues = issues.filter(matches)
    return issues.order_by("-number")


@dataclass(frozen=True)
class TagSummary:
    """What a list of issues shows of one tag."""

    name: str
    color: str


# Set on each issue of a list page (the issue list page, /api/issues) by ``attach_listed_tags``.
LISTED_TAGS = "listed_tags"


def attach_listed_tags(issues) -> None:
    """Gives each issue its tags in name order as ``listed_tags``, from one flat query over the tag
    table and its links: a list shows tags without building a queryset per issue (as
    prefetch_related does), the same queries for 5 issues or 500."""
    tags: dict[int, list[TagSummary]] = {issue.pk: [] for issue in issues}
    rows = Issue.tags.through.objects.filter(issue_id__in=list(tags)).order_by("issue_id", "tag__name")
    for issue_id, name, color in rows.values_list("issue_id", "tag__name", "tag__color"):
        tags[issue_id].append(TagSummary(name, color))
    for issue in issues:
        setattr(issue, LISTED_TAGS, tags[issue.pk])


def attachments_of_artefact(artefact) -> QuerySet:
    """The files attached to a test case, requirement or test result, oldest first; none for other artefacts."""
    if artefacts.kind_of(artefact) not in ArtefactAttachment.ARTEFACT_FIELDS:
        return ArtefactAttachment.objects.none()
    return artefact.attachments.select_related("uploaded_by")


def attachments_of_results(artefacts) -> QuerySet:
    """The files attached to the test results among ``artefacts``, result by result: an issue filed
    about those results takes them along (a screenshot, the log of the failure)."""
    results = [artefact.pk for artefact in artefacts if isinstance(artefact, TestResult)]
    return (
        ArtefactAttachment.objects.filter(test_result__in=results)
        .select_related("test_result__run__project")
        .order_by("test_result_id", "uploaded_at", "id")
    )


def attachments_in(project, ids) -> QuerySet:
    """The attachments with these ids of the project's internal issues (others are left out)."""
    return Attachment.objects.filter(issue__project=project, pk__in=list(ids)).select_related("issue__project")


def download_path(attachment: Attachment | ArtefactAttachment) -> str:
    """The permission-checked download of an issue's or a test artefact's attachment (never the
    storage's own address): what pages link to and what trackers without uploads (GitHub) link to."""
    if isinstance(attachment, ArtefactAttachment):
        artefact = attachment.artefact
        project = artefacts.artefact_project(artefact)
        return reverse("issues:artefact_attachment", args=[project.key, attachment.kind, artefact.pk, attachment.pk])
    issue = attachment.issue
    return reverse("issues:attachment", args=[issue.project.key, issue.number, attachment.pk])


def issue_in(project, number: int) -> Issue:
    issues = Issue.objects.filter(project=project).select_related("project", "assignee", "reporter")
    return get_object_or_404(issues.prefetch_related("tags", "attachments"), number=number)


def members_of(project):
    """Users who may be assigned issues of the project."""
    return get_user_model().objects.filter(memberships__project=project, is_active=True).order_by("username")


def admins_of(project):
    """Who can complete the project's tracker settings: its project admins."""
    return (
        get_user_model()
        .objects.filter(memberships__project=project, memberships__role=Role.ADMIN, is_active=True)
        .order_by("username")
    )


# The fields an issue's history compares, in the order a step lists them, with their labels.
HISTORY_FIELDS = {
    "name": "Title",
    "status": "Status",
    "priority": "Priority",
    "assignee": "Assignee",
    "tag_names": "Tags",
    "description": "Description",
}


@dataclass(frozen=True)
class FieldChange:
    field: str  # the API's name of it: name, status, priority, assignee, tags, description
    label: str
    old: object  # as the API gives it: a status or priority value, a username, a list of tag names, text
    new: object
    old_text: str  # as the page shows it
    new_text: str


@dataclass(frozen=True)
class HistoryEntry:
    """One step of an issue's history: what happened, who did it (None: a tracker or a task), when."""

    id: int
    event: str
    event_label: str
    at: datetime
    user: object
    detail: str
    changes: list[FieldChange] = field(default_factory=list)


def history_of(issue: Issue):
    """The issue's history records, newest first (page these, then read them with ``history_entries``)."""
    return issue.history.select_related("history_user").order_by("-history_date", "-history_id")


def history_entries(issue: Issue, records) -> list[HistoryEntry]:
    """A page of ``history_of`` as entries, each field change compared with the change before it
    (on this page or the one record before the page: the number of queries does not grow)."""
    records = list(records)
    field_records = [record for record in records if record.event in FIELD_EVENTS]
    previous = {}
    for newer, older in zip(field_records, field_records[1:], strict=False):
        previous[newer.history_id] = older
    if field_records and field_records[-1].event not in (IssueEvent.CREATED, IssueEvent.BASELINE):
        oldest = field_records[-1]
        before = (
            issue.history.filter(event__in=FIELD_EVENTS)
            .filter(
                Q(history_date__lt=oldest.history_date)
                | Q(history_date=oldest.history_date, history_id__lt=oldest.history_id)
            )
            .order_by("-history_date", "-history_id")
            .first()
        )
        if before is not None:
            previous[oldest.history_id] = before
    usernames = _usernames(records, previous.values())
    return [
        HistoryEntry(
            id=record.history_id,
            event=record.event,
            event_label=IssueEvent(record.event).label,
            at=record.history_date,
            user=record.history_user,
            detail=record.detail,
            changes=_changes(record, previous.get(record.history_id), usernames),
        )
        for record in records
    ]


def _usernames(*record_lists) -> dict[int, str]:
    ids = {record.assignee_id for records in record_lists for record in records if record.assignee_id}
    return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))


def _changes(record, previous, usernames: dict[int, str]) -> list[FieldChange]:
    if previous is None:
        return []
    # diff_against sorts its changes by field name; the page lists them in HISTORY_FIELDS' order.
    delta = record.diff_against(previous, included_fields=list(HISTORY_FIELDS))
    changed = {change.field: change for change in delta.changes}
    return [
        _field_change(name, changed[name].old, changed[name].new, usernames)
        for name in HISTORY_FIELDS
        if name in changed
    ]


def _field_change(name: str, old, new, usernames: dict[int, str]) -> FieldChange:
    label = HISTORY_FIELDS[name]
    if name == "assignee":
        old, new = usernames.get(old) if old else None, usernames.get(new) if new else None
        return FieldChange("assignee", label, old, new, old or "Unassigned", new or "Unassigned")
    if name == "tag_names":
        return FieldChange("tags", label, old, new, ", ".join(old) or "none", ", ".join(new) or "none")
    choices = {"status": IssueStatus, "priority": IssuePriority}.get(name)
    if choices is not None:
        return FieldChange(name, label, old, new, choices(old).label, choices(new).label)
    return FieldChange(name, label, old, new, old or "(empty)", new or "(empty)")
