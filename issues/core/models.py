"""Internal issues of a project, their tags, attachments and comments."""

import os
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from simple_history.models import HistoricalRecords

# Defined once in integrations.mappings; re-exported here for the issues app (the "as" marks the re-export).
from integrations.mappings import StatusCategory as StatusCategory
from issues.core.keys import internal_key
from projects.models import Project, Requirement, TestCase, TestResult


class IssueStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


# The statuses an issue counts as resolved in: entering one dates the resolution, leaving them clears it.
RESOLVED_STATUSES = (IssueStatus.RESOLVED, IssueStatus.CLOSED)


class IssuePriority(models.TextChoices):
    BLOCKER = "blocker", "Blocker"
    CRITICAL = "critical", "Critical"
    MAJOR = "major", "Major"
    MINOR = "minor", "Minor"
    TRIVIAL = "trivial", "Trivial"


class Tag(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=50)
    color = models.CharField(max_length=7, default="#6b7280", help_text="Hex colour, e.g. #d97706.")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="tag_unique_name_per_project"),
            models.CheckConstraint(condition=Q(color__regex=r"^#[0-9a-fA-F]{6}$"), name="tag_color_hex"),
            models.CheckConstraint(condition=~Q(name=""), name="tag_name_not_empty"),
        ]

    def __str__(self):
        return self.name


class IssueQuerySet(models.QuerySet):
    """Every way of writing issues in bulk dates or clears their resolution with their status, as
    ``Issue.save`` does."""

    def update(self, **changes):
        # A status computed in SQL (bulk_update's CASE) comes with its dates, or the constraint refuses it.
        if isinstance(changes.get("status"), str) and "resolved_at" not in changes:
            if changes["status"] in RESOLVED_STATUSES:
                # Resolved -> closed keeps the time it was resolved; the UPDATE reads each row's own.
                changes["resolved_at"] = Coalesce(F("resolved_at"), Value(timezone.now()))
            else:
                changes.update(resolved_at=None, resolved_at_estimated=False)
        return super().update(**changes)

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for issue in objs:
            issue.date_resolution()
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        if "status" in fields:
            for issue in objs:
                issue.date_resolution()
            fields = [*fields, "resolved_at", "resolved_at_estimated"]
        return super().bulk_update(objs, fields, *args, **kwargs)


class IssueEvent(models.TextChoices):
    """What a step of an issue's history records: a change of its fields (``created``, ``edited``,
    ``synced`` when its tracker changed it), or something done to it that is kept beside them."""

    BASELINE = "baseline", "History began"
    CREATED = "created", "Created"
    EDITED = "edited", "Edited"
    SYNCED = "synced", "Changed by its tracker"
    COMMENTED = "commented", "Commented"
    LINKED = "linked", "Linked"
    UNLINKED = "unlinked", "Unlinked"
    PUSHED = "pushed", "Pushed to a tracker"


# The events that carry a change of the issue's fields: each is compared with the one before it.
FIELD_EVENTS = (IssueEvent.BASELINE, IssueEvent.CREATED, IssueEvent.EDITED, IssueEvent.SYNCED)


class IssueHistoryFields(models.Model):
    """What django-simple-history's snapshot of an issue (``Issue.history``) keeps besides the issue's
    own columns: the kind of step, the tag names then (tags are many-to-many, not columns) and a
    sentence for steps that are not field changes ("Linked test result ...")."""

    event = models.CharField(max_length=12, choices=IssueEvent.choices, default=IssueEvent.EDITED)
    tag_names = models.JSONField(default=list, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        abstract = True


class Issue(models.Model):
    """An internal issue, numbered per project: SHOP#1, SHOP#2, ... (``issues.core.keys``).

    ``resolved_at`` is set when the issue enters resolved or closed and cleared when it is reopened,
    by ``save`` and by the manager's bulk writes alike, so no writer can forget it (raw SQL could,
    and the constraint below refuses what it gets wrong)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="issues")
    number = models.PositiveIntegerField(editable=False)
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True, help_text="Markdown.")
    status = models.CharField(max_length=12, choices=IssueStatus.choices, default=IssueStatus.OPEN)
    priority = models.CharField(max_length=10, choices=IssuePriority.choices, default=IssuePriority.MAJOR)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_issues"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reported_issues"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="issues")
    # Optimistic concurrency: an edit based on an older version is refused, not silently lost.
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Resolved before resolution times were kept: dated by the issue's last change then, an upper bound.
    resolved_at_estimated = models.BooleanField(default=False, editable=False)

    objects = IssueQuerySet.as_manager()
    # Every change, newest last: one snapshot per step (issues.core.history writes the steps). The
    # history goes with the issue when it is deleted, as its links and attachments do.
    history = HistoricalRecords(
        bases=[IssueHistoryFields],
        excluded_fields=["version", "updated_at", "resolved_at_estimated"],
        cascade_delete_history=True,
    )

    class Meta:
        # By the project's id, not its key, newest first: the (-project, -number) index then serves
        # list pages without sorting every issue of the project.
        ordering = ["-project_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="issue_unique_number_per_project"),
            models.CheckConstraint(condition=Q(number__gte=1), name="issue_number_positive"),
            models.CheckConstraint(condition=Q(status__in=IssueStatus.values), name="issue_status_valid"),
            models.CheckConstraint(condition=Q(priority__in=IssuePriority.values), name="issue_priority_valid"),
            models.CheckConstraint(condition=~Q(name=""), name="issue_name_not_empty"),
            models.CheckConstraint(
                condition=Q(status__in=RESOLVED_STATUSES, resolved_at__isnull=False)
                | (~Q(status__in=RESOLVED_STATUSES) & Q(resolved_at__isnull=True, resolved_at_estimated=False)),
                name="issue_resolved_at_iff_resolved",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "status"]),
            models.Index(fields=["project", "priority"]),
            # Covering (the id is in the index, PostgreSQL only): a page by number selects its ids
            # by OFFSET from the index alone, without reading the table rows it skips.
            models.Index(fields=["-project", "-number"], include=["id"], name="issue_list_order_id"),
        ]

    @property
    def key(self):
        return internal_key(self.project.key, self.number)

    def date_resolution(self) -> None:
        """Keep the known resolution time while resolved or closed, date it now on entering one of
        them, clear it when (re)opened."""
        if self.status in RESOLVED_STATUSES:
            self.resolved_at = self.resolved_at or timezone.now()
        else:
            self.resolved_at, self.resolved_at_estimated = None, False

    def save(self, *args, **kwargs):
        self.date_resolution()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "status" in update_fields:
            kwargs["update_fields"] = {*update_fields, "resolved_at", "resolved_at_estimated"}
        super().save(*args, **kwargs)

    def __str__(self):
        return f"{self.key} {self.name}"


def attachment_path(instance, filename):
    # Random stored name: the original name is kept in a column, never trusted as a path.
    extension = os.path.splitext(filename)[1].lower()[:10]
    return f"attachments/{uuid.uuid4().hex}{extension}"


class Attachment(models.Model):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name


class ArtefactAttachment(models.Model):
    """A file attached to a test case, a requirement or a test result (exactly one), stored like an
    issue's attachments. A result's files (a screenshot, a log of the failure) go with an issue filed
    from it."""

    # The artefact kinds that take files, each with its field here (the pages' `kind` in the URL).
    ARTEFACT_FIELDS = {"case": "test_case", "requirement": "requirement", "result": "test_result"}

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="artefact_attachments")
    test_case = models.ForeignKey(TestCase, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    requirement = models.ForeignKey(
        Requirement, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    test_result = models.ForeignKey(
        TestResult, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(test_case__isnull=False, requirement__isnull=True, test_result__isnull=True)
                | Q(test_case__isnull=True, requirement__isnull=False, test_result__isnull=True)
                | Q(test_case__isnull=True, requirement__isnull=True, test_result__isnull=False),
                name="artefactattachment_exactly_one_artefact",
            )
        ]

    def __str__(self):
        return self.original_name

    @property
    def kind(self) -> str:
        """The kind of artefact the file is attached to (a key of ARTEFACT_FIELDS)."""
        return next(kind for kind, field in self.ARTEFACT_FIELDS.items() if getattr(self, f"{field}_id"))

    @property
    def artefact(self):
        return getattr(self, self.ARTEFACT_FIELDS[self.kind])


class CommentOrigin(models.TextChoices):
    TESTMANAGER = "testmanager", "testmanager"
    TRACKER = "tracker", "Tracker"


class IssueComment(models.Model):
    """A comment on an internal issue, in Markdown. On a synced defect it is also on the tracker
    issue: ``remote_id`` is the tracker's id of it, set when a comment written here was posted or
    when one written there arrived; a tracker comment whose id is known here is never taken again,
    so a posted comment does not come back as a new one. A tracker comment edited there takes the new
    text; one deleted there keeps its place, marked ``deleted_remotely_at``, with its text removed."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=200, blank=True, help_text="The tracker account, for tracker comments.")
    body = models.TextField(help_text="Markdown.")
    origin = models.CharField(max_length=12, choices=CommentOrigin.choices, default=CommentOrigin.TESTMANAGER)
    remote_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # A tracker comment's time of the text held here: an edit older than it is not taken.
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    # When the tracker comment was deleted there: the comment stays in the thread, marked, without its text.
    deleted_remotely_at = models.DateTimeField(null=True, blank=True)
    # When posting a comment written here to the tracker last started: a later post first looks for it
    # there, since a worker that died after the tracker took it left it posted without its id.
    post_attempted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "remote_id"], condition=~Q(remote_id=""), name="issuecomment_remote_id_once"
            ),
            models.CheckConstraint(condition=Q(origin__in=CommentOrigin.values), name="issuecomment_origin_valid"),
            models.CheckConstraint(
                condition=~Q(body="") | Q(deleted_remotely_at__isnull=False), name="issuecomment_body_not_empty"
            ),
        ]

    def __str__(self):
        return f"Comment on {self.issue.key} by {self.author_name or self.author or 'someone'}"
