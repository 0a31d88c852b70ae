"""Writes on links and tracker references: link and unlink an issue and a test artefact, store what a
tracker said of an issue, report an internal issue from a test artefact (created and linked)."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.models import AuditAction, Source
from integrations.providers.base import RemoteIssue
from integrations.services import record_audit
from issues.core import history
from issues.core.artefacts import ARTEFACT_LABELS, artefact_field, artefact_project, kind_of
from issues.core.models import Issue, IssueEvent, StatusCategory
from issues.core.services import add_attachments, create_issue, tags_by_name
from issues.links.models import ExternalReference, Link
from projects.models import Project


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
    if is_new and issue is not None:
        history.record(issue, IssueEvent.LINKED, actor=actor, detail=f"Linked {_described(artefact)}")
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


def _described(artefact) -> str:
    return f"{ARTEFACT_LABELS[kind_of(artefact)].lower()} “{artefact}”"


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


def label_list(labels) -> list[str]:
    """A remote issue's labels as a reference keeps them: each once, in the tracker's order."""
    return list(dict.fromkeys(str(label)[:255] for label in labels if str(label).strip()))


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
        "deleted_remotely_at": None,
        "last_error": "",
    }
    values.update(remote_dates(remote))
    if remote.remote_id:
        values["remote_id"] = remote.remote_id[:100]
    if remote.labels is not None:
        values["labels"] = label_list(remote.labels)
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
    described = _described(link_to_remove.artefact)
    link_to_remove.delete()
    if link_to_remove.issue_id is not None:
        history.record(link_to_remove.issue, IssueEvent.UNLINKED, actor=actor, detail=f"Unlinked {described}")
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
