"""Writes on internal issues, tags and attachments. Every write with side effects lives here.

Callers (pages, API, tasks) check permissions first with projects.permissions; these functions
enforce the data rules: per-project numbering, the attachment size limit, optimistic concurrency
on edits. Linking an issue to a test artefact is links.services'."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from issues.core import artefacts, history
from issues.core.models import ArtefactAttachment, Attachment, Issue, IssueEvent, IssuePriority, IssueStatus, Tag
from issues.core.signals import issue_updated
from projects.models import Project

EDITABLE_ISSUE_FIELDS = {"name", "description", "status", "priority", "assignee"}


class EditConflict(Exception):
    """The issue changed since the editor loaded it; saving would silently discard that change."""

    def __init__(self, issue):
        super().__init__(
            f"{issue.key} was changed by someone else while you were editing. Reload it, then apply your change again."
        )
        self.issue = issue


@transaction.atomic
def create_issue(
    *,
    project: Project,
    name: str,
    reporter=None,
    description: str = "",
    status: str = IssueStatus.OPEN,
    priority: str = IssuePriority.MAJOR,
    assignee=None,
    tags=(),
) -> Issue:
    """Create an issue with the project's next number.

    The UPDATE takes a row lock on the project until the transaction commits, so
    concurrent creators on PostgreSQL queue up instead of reading the same number.
    """
    Project.objects.filter(pk=project.pk).update(last_issue_number=F("last_issue_number") + 1)
    number = Project.objects.values_list("last_issue_number", flat=True).get(pk=project.pk)
    issue = Issue(
        project=project,
        number=number,
        name=name,
        description=description,
        status=status,
        priority=priority,
        assignee=assignee,
        reporter=reporter,
    )
    issue.save_without_historical_record(force_insert=True)  # recorded below, with its tags
    if tags:
        issue.tags.set(tags)
    history.record(issue, IssueEvent.CREATED, actor=reporter)
    return issue


@transaction.atomic
def update_issue(issue: Issue, *, expected_version: int, tags=None, actor=None, **changes) -> Issue:
    """Apply changes only if nobody saved the issue since `expected_version` was read; the edit dates
    the issue's "updated" and is kept in its history as done by ``actor``."""
    unknown = set(changes) - EDITABLE_ISSUE_FIELDS
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))} of an issue.")
    updated = Issue.objects.filter(pk=issue.pk, version=expected_version).update(
        version=F("version") + 1, updated_at=timezone.now(), **changes
    )
    if not updated:
        issue.refresh_from_db()
        raise EditConflict(issue)
    changed = set(changes)
    if tags is not None:
        before = set(issue.tags.values_list("pk", flat=True))
        issue.tags.set(tags)
        if before != {tag.pk for tag in tags}:
            changed.add("tags")
    issue.refresh_from_db()
    history.record(issue, IssueEvent.EDITED, actor=actor)
    issue_updated.send(sender=Issue, issue=issue, changed=frozenset(changed))
    return issue


def tags_by_name(project: Project, names, color: str = "#6b7280") -> list[Tag]:
    """The project's tags with these names, created on the fly when new."""
    tags = []
    for name in dict.fromkeys(n.strip() for n in names if n and n.strip()):
        if len(name) > 50:
            raise ValidationError(f"Tag names are at most 50 characters: {name[:50]}…")
        tag, _ = Tag.objects.get_or_create(project=project, name=name, defaults={"color": color})
        tags.append(tag)
    return tags


def _refuse_oversized(uploaded_file) -> None:
    limit = settings.ATTACHMENT_MAX_BYTES
    if uploaded_file.size > limit:
        raise ValidationError(
            f"{uploaded_file.name} is {uploaded_file.size // 1024} KiB; attachments may be at most {limit // 1024} KiB."
        )


def add_attachment(issue: Issue, uploaded_file, uploaded_by=None) -> Attachment:
    _refuse_oversized(uploaded_file)
    return Attachment.objects.create(
        issue=issue,
        file=uploaded_file,
        original_name=uploaded_file.name[:255],
        content_type=(getattr(uploaded_file, "content_type", "") or "")[:100],
        size=uploaded_file.size,
        uploaded_by=uploaded_by,
    )


def delete_attachment(attachment: Attachment | ArtefactAttachment) -> None:
    """The row, then its file once committed (issues.core.receivers)."""
    attachment.delete()


@transaction.atomic
def add_attachments(issue: Issue, uploaded_files, uploaded_by=None) -> list[Attachment]:
    """Attach several files, or none of them when one is refused."""
    stored = []
    try:
        for uploaded_file in uploaded_files:
            stored.append(add_attachment(issue, uploaded_file, uploaded_by=uploaded_by))
    except ValidationError:
        for attachment in stored:  # the rollback removes the rows, not the files already written
            attachment.file.delete(save=False)
        raise
    return stored


@transaction.atomic
def edit_issue(
    issue: Issue, *, expected_version: int, tag_names, tag_color: str = "#6b7280", actor=None, **changes
) -> Issue:
    """`update_issue` with tags given by name; on EditConflict no new tag is left behind."""
    tags = tags_by_name(issue.project, tag_names, tag_color)
    return update_issue(issue, expected_version=expected_version, tags=tags, actor=actor, **changes)


def delete_issue(issue: Issue) -> None:
    """Delete an issue with its links and attachments, and the attachment files once committed
    (issues.core.receivers)."""
    issue.delete()


@transaction.atomic
def add_artefact_attachments(artefact, uploaded_files, uploaded_by=None) -> list[ArtefactAttachment]:
    """Attach files to a test case, a requirement or a test result (`artefact`), all or none of them."""
    side = ArtefactAttachment.ARTEFACT_FIELDS[artefacts.kind_of(artefact)]
    stored = []
    try:
        for uploaded_file in uploaded_files:
            _refuse_oversized(uploaded_file)
            stored.append(
                ArtefactAttachment.objects.create(
                    project=artefacts.artefact_project(artefact),
                    file=uploaded_file,
                    original_name=uploaded_file.name[:255],
                    content_type=(getattr(uploaded_file, "content_type", "") or "")[:100],
                    size=uploaded_file.size,
                    uploaded_by=uploaded_by,
                    **{side: artefact},
                )
            )
    except ValidationError:
        for attachment in stored:  # the rollback removes the rows, not the files already written
            attachment.file.delete(save=False)
        raise
    return stored
