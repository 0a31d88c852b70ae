"""Writes on internal issues, tags, attachments and links. Every write with side effects lives here.

Callers (pages, API, tasks) check permissions first with projects.permissions; these
functions enforce the data rules: same-project links, per-project numbering, the
attachment size limit, optimistic concurrency on edits.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from integrations.models import AuditAction, Source
from integrations.providers.base import RemoteIssue
from integrations.services import record_audit
from projects.models import Project, Requirement, TestCase, TestResult, TestRun

from .models import Attachment, ExternalReference, Issue, IssuePriority, IssueStatus, Link, StatusCategory, Tag
from .signals import issue_updated

ARTEFACT_FIELDS = {TestCase: "test_case", TestRun: "test_run", TestResult: "test_result", Requirement: "requirement"}
EDITABLE_ISSUE_FIELDS = {"name", "description", "status", "priority", "assignee"}


class EditConflict(Exception):
    """The issue changed since the editor loaded it; saving would silently discard that change."""

    def __init__(self, issue):
        super().__init__(
            f"{issue.key} was changed by someone else while you were editing. Reload it, then apply your change again."
        )
        self.issue = issue


def artefact_project(artefact) -> Project:
    return artefact.run.project if isinstance(artefact, TestResult) else artefact.project


def artefact_field(artefact) -> str:
    try:
        return ARTEFACT_FIELDS[type(artefact)]
    except KeyError:
        raise ValidationError(
            f"Issues can be linked to test cases, runs, results and requirements, not {type(artefact).__name__}."
        )


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
    issue = Issue.objects.create(
        project=project,
        number=number,
        name=name,
        description=description,
        status=status,
        priority=priority,
        assignee=assignee,
        reporter=reporter,
    )
    if tags:
        issue.tags.set(tags)
    return issue


@transaction.atomic
def update_issue(issue: Issue, *, expected_version: int, tags=None, **changes) -> Issue:
    """Apply changes only if nobody saved the issue since `expected_version` was read."""
    unknown = set(changes) - EDITABLE_ISSUE_FIELDS
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))} of an issue.")
    updated = Issue.objects.filter(pk=issue.pk, version=expected_version).update(version=F("version") + 1, **changes)
    if not updated:
        issue.refresh_from_db()
        raise EditConflict(issue)
    if tags is not None:
        issue.tags.set(tags)
    issue.refresh_from_db()
    issue_updated.send(sender=Issue, issue=issue, changed=frozenset(changes))
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


def add_attachment(issue: Issue, uploaded_file, uploaded_by=None) -> Attachment:
    limit = settings.ATTACHMENT_MAX_BYTES
    if uploaded_file.size > limit:
        raise ValidationError(
            f"{uploaded_file.name} is {uploaded_file.size // 1024} KiB; attachments may be at most {limit // 1024} KiB."
        )
    return Attachment.objects.create(
        issue=issue,
        file=uploaded_file,
        original_name=uploaded_file.name[:255],
        content_type=(getattr(uploaded_file, "content_type", "") or "")[:100],
        size=uploaded_file.size,
        uploaded_by=uploaded_by,
    )


def delete_attachment(attachment: Attachment) -> None:
    attachment.file.delete(save=False)
    attachment.delete()


def link(*, artefact, issue: Issue | None = None, reference: ExternalReference | None = None, actor=None) -> Link:
    """Link an internal issue or a remote reference to a test artefact; linking twice is a no-op."""
    if (issue is None) == (reference is None):
        raise ValidationError("Link exactly one issue: an internal issue or a tracker reference.")
    project = artefact_project(artefact)
    if issue is not None and issue.project_id != project.pk:
        raise ValidationError(
            f"{issue.key} belongs to another project than this {artefact_field(artefact).replace('_', ' ')}."
        )
    sides = {"issue": issue, "external_reference": reference, artefact_field(artefact): artefact}
    try:
        with transaction.atomic():
            created, is_new = Link.objects.get_or_create(project=project, **sides, defaults={"created_by": actor})
    except IntegrityError:  # a concurrent request created the same link first
        created, is_new = Link.objects.get(project=project, **sides), False
    if is_new and reference is not None:
        record_audit(
            AuditAction.ISSUE_LINKED,
            actor=actor,
            source=reference.source,
            project=project,
            target=reference.key,
            details={"artefact": str(artefact)[:200]},
        )
    return created


def remote_dates(remote: RemoteIssue) -> dict:
    """The creation and resolution times a remote issue's state sets on its reference: those the
    tracker's answer left out are left as known, except that an issue not done has no resolution."""
    dates = {}
    if remote.created_at is not None:
        dates["remote_created_at"] = remote.created_at
    if remote.status_category != StatusCategory.DONE:
        dates["remote_resolved_at"] = None
    elif remote.resolved_at is not None:
        dates["remote_resolved_at"] = remote.resolved_at
    return dates


def store_reference(source: Source, remote: RemoteIssue, *, synced: bool = True) -> ExternalReference:
    """The reference of a remote issue, created or brought up to date with what the tracker said.
    ``synced`` False: the values are what was sent, not read back (the next refresh reads them)."""
    values = {
        "source_name": source.name,
        "url": remote.url,
        "title": remote.title[:500],
        "status": remote.status[:100],
        "status_category": remote.status_category,
        "assignee": remote.assignee[:200],
        "priority": remote.priority[:100],
        "remote_updated_at": remote.updated_at,
        "deleted_remotely": False,
        "last_error": "",
    }
    values.update(remote_dates(remote))
    if synced:
        values["last_synced_at"] = timezone.now()
    try:
        with transaction.atomic():
            reference, _ = ExternalReference.objects.update_or_create(source=source, key=remote.key, defaults=values)
    except IntegrityError:  # a concurrent request stored the same key first
        reference = ExternalReference.objects.get(source=source, key=remote.key)
    return reference


def unlink(link_to_remove: Link, actor=None) -> None:
    reference = link_to_remove.external_reference
    project = link_to_remove.project
    artefact = str(link_to_remove.artefact)[:200]
    link_to_remove.delete()
    if reference is not None:
        record_audit(
            AuditAction.ISSUE_UNLINKED,
            actor=actor,
            source=reference.source,
            project=project,
            target=reference.key,
            details={"artefact": artefact},
        )


@transaction.atomic
def report_issue(
    *, project: Project, reporter, tag_names=(), tag_color: str = "#6b7280", attachments=(), artefact=None, **fields
) -> Issue:
    """File an issue with its tags (new names are created) and attachments and, when it was
    filed from a test artefact, link it there. All or nothing: a refused part creates nothing."""
    issue = create_issue(project=project, reporter=reporter, tags=tags_by_name(project, tag_names, tag_color), **fields)
    if artefact is not None:
        link(artefact=artefact, issue=issue, actor=reporter)
    add_attachments(issue, attachments, uploaded_by=reporter)
    return issue


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
def edit_issue(issue: Issue, *, expected_version: int, tag_names, tag_color: str = "#6b7280", **changes) -> Issue:
    """`update_issue` with tags given by name; on EditConflict no new tag is left behind."""
    tags = tags_by_name(issue.project, tag_names, tag_color)
    return update_issue(issue, expected_version=expected_version, tags=tags, **changes)


def delete_issue(issue: Issue) -> None:
    """Delete an issue with its links and attachments, and the attachment files once committed."""
    files = [attachment.file for attachment in issue.attachments.all()]

    def remove_files():
        for stored in files:
            stored.delete(save=False)

    with transaction.atomic():
        issue.delete()
        transaction.on_commit(remove_files)
