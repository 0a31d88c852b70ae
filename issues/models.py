"""Internal issues, cached remote issues, and the links between issues and test artefacts."""

import os
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.models import ProjectIntegration, Source
from projects.models import Project, Requirement, TestCase, TestResult, TestRun


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


class Issue(models.Model):
    """An internal issue, numbered per project (SHOP-1, SHOP-2, ...).

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

    class Meta:
        # By the project's id, not its key: the (project, -number) index then serves a project's
        # list pages without sorting every issue of the project.
        ordering = ["project_id", "-number"]
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
            models.Index(fields=["project", "-number"], name="issue_project_number_desc"),
        ]

    @property
    def key(self):
        return f"{self.project.key}-{self.number}"

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


class StatusCategory(models.TextChoices):
    TO_DO = "todo", "To do"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    UNKNOWN = "unknown", "Unknown"


class ExternalReference(models.Model):
    """One remote issue, with the last values the tracker reported.

    Deleting the source keeps the reference: the source becomes null and the snapshot of
    its name and the issue URL still tell users where the issue lived.
    """

    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="references")
    source_name = models.CharField(max_length=50, help_text="Snapshot, kept when the source is deleted.")
    key = models.CharField(max_length=200)
    url = models.URLField(max_length=1000, blank=True)
    title = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=100, blank=True)
    status_category = models.CharField(max_length=12, choices=StatusCategory.choices, default=StatusCategory.UNKNOWN)
    assignee = models.CharField(max_length=200, blank=True)
    priority = models.CharField(max_length=100, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    # When the tracker says the issue was created and resolved (closed, completed); the resolution is
    # cleared when the tracker reopens it. None where the tracker did not say.
    remote_created_at = models.DateTimeField(null=True, blank=True)
    remote_resolved_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.CharField(max_length=500, blank=True)
    deleted_remotely = models.BooleanField(default=False)
    # Validator for conditional requests (GitHub ETag): a 304 answer costs no rate limit.
    etag = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source_name", "key"]
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="externalreference_unique_key_per_source"),
            models.CheckConstraint(condition=~Q(key=""), name="externalreference_key_not_empty"),
            models.CheckConstraint(
                condition=Q(status_category__in=StatusCategory.values), name="externalreference_status_category_valid"
            ),
        ]

    def __str__(self):
        return f"{self.source_name}: {self.key}"


ISSUE_SIDES = ("issue", "external_reference")
ARTEFACT_SIDES = ("test_case", "test_run", "test_result", "requirement")


def _exactly_one(fields):
    condition = Q()
    for chosen in fields:
        term = Q(**{f"{chosen}__isnull": False})
        for other in fields:
            if other != chosen:
                term &= Q(**{f"{other}__isnull": True})
        condition |= term
    return condition


class Link(models.Model):
    """Exactly one issue side (internal or external) to exactly one test artefact."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="links")
    issue = models.ForeignKey(Issue, null=True, blank=True, on_delete=models.CASCADE, related_name="links")
    external_reference = models.ForeignKey(
        ExternalReference, null=True, blank=True, on_delete=models.CASCADE, related_name="links"
    )
    test_case = models.ForeignKey(TestCase, null=True, blank=True, on_delete=models.CASCADE, related_name="issue_links")
    test_run = models.ForeignKey(TestRun, null=True, blank=True, on_delete=models.CASCADE, related_name="issue_links")
    test_result = models.ForeignKey(
        TestResult, null=True, blank=True, on_delete=models.CASCADE, related_name="issue_links"
    )
    requirement = models.ForeignKey(
        Requirement, null=True, blank=True, on_delete=models.CASCADE, related_name="issue_links"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=_exactly_one(ISSUE_SIDES), name="link_exactly_one_issue_side"),
            models.CheckConstraint(condition=_exactly_one(ARTEFACT_SIDES), name="link_exactly_one_artefact_side"),
        ] + [
            models.UniqueConstraint(
                fields=[issue_side, artefact_side],
                condition=Q(**{f"{issue_side}__isnull": False, f"{artefact_side}__isnull": False}),
                name=f"link_unique_{issue_side}_{artefact_side}",
            )
            for issue_side in ISSUE_SIDES
            for artefact_side in ARTEFACT_SIDES
        ]

    @property
    def issue_side(self):
        return self.issue or self.external_reference

    @property
    def artefact(self):
        return self.test_case or self.test_run or self.test_result or self.requirement

    def __str__(self):
        return f"{self.issue_side} ↔ {self.artefact}"


# --- Requirements pulled from trackers, their coverage, known failures -------------------


class PullSettings(models.Model):
    """How a project integration's pulls map the tracker's work items to requirements. Whether it
    pulls, and its filter, are the integration's own (``pull_requirements``, ``requirements_filter``)."""

    MAX_RELEASE_DATE_FIELDS = 3

    integration = models.OneToOneField(ProjectIntegration, on_delete=models.CASCADE, related_name="pull_settings")
    requirement_types = models.JSONField(default=list, blank=True, help_text="Work item types; none: every type.")
    # {requirement state: [tracker status, ...]}; a status it does not name maps by its category.
    state_mapping = models.JSONField(default=dict, blank=True)
    release_field = models.CharField(max_length=100, blank=True, help_text="Tracker field naming the release.")
    # Up to MAX_RELEASE_DATE_FIELDS tracker fields in priority order: the first with a date wins.
    release_date_fields = models.JSONField(default=list, blank=True)
    sprint_field = models.CharField(max_length=100, blank=True, help_text="Tracker field naming the sprint.")
    last_pulled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    def __str__(self):
        return f"Pull settings of {self.integration}"


class PulledRequirement(models.Model):
    """A requirement a pull keeps: the integration that owns it (none once removed), the remote
    item it mirrors, its release and sprint, and the covering-tests comment on the remote item."""

    requirement = models.OneToOneField(Requirement, on_delete=models.CASCADE, related_name="pull")
    integration = models.ForeignKey(
        ProjectIntegration, null=True, blank=True, on_delete=models.SET_NULL, related_name="pulled_requirements"
    )
    reference = models.ForeignKey(
        ExternalReference, null=True, blank=True, on_delete=models.SET_NULL, related_name="pulled_requirements"
    )
    release = models.CharField(max_length=200, blank=True)
    release_date = models.DateField(null=True, blank=True)
    sprint = models.CharField(max_length=200, blank=True)
    coverage_comment_id = models.CharField(max_length=100, blank=True)
    coverage_comment = models.TextField(blank=True, help_text="The comment's text as last posted.")
    pulled_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["integration", "release"])]

    def __str__(self):
        return f"{self.requirement} (pulled)"


class Coverage(models.Model):
    """A test case that verifies a requirement of its project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="coverage")
    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="coverage")
    test_case = models.ForeignKey(TestCase, on_delete=models.CASCADE, related_name="coverage")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["requirement", "test_case__folder", "test_case__title", "test_case_id"]
        constraints = [
            models.UniqueConstraint(fields=["requirement", "test_case"], name="coverage_unique_case_per_requirement"),
        ]

    def __str__(self):
        return f"{self.test_case.title} covers {self.requirement.title}"


class KnownFailureRule(models.Model):
    """Failures whose message or stack trace match ``pattern`` (RE2), of tests whose name matches
    ``test_pattern`` when given, are a known issue: recording one links it to that issue."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="known_failure_rules")
    pattern = models.CharField(max_length=500, help_text="RE2 regular expression searched in the failure message.")
    test_pattern = models.CharField(max_length=500, blank=True, help_text="RE2 regular expression on the test's name.")
    issue = models.ForeignKey(
        Issue, null=True, blank=True, on_delete=models.CASCADE, related_name="known_failure_rules"
    )
    external_reference = models.ForeignKey(
        ExternalReference, null=True, blank=True, on_delete=models.CASCADE, related_name="known_failure_rules"
    )
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "id"]
        constraints = [
            models.CheckConstraint(condition=_exactly_one(ISSUE_SIDES), name="knownfailurerule_exactly_one_issue_side"),
            models.CheckConstraint(condition=~Q(pattern=""), name="knownfailurerule_pattern_not_empty"),
        ]

    @property
    def issue_side(self):
        return self.issue or self.external_reference

    def __str__(self):
        return f"/{self.pattern}/ → {self.issue_side}"


class KnownFailure(models.Model):
    """A link a known-failure rule made from a failed result to its issue; removing the link
    removes the mark."""

    link = models.OneToOneField(Link, on_delete=models.CASCADE, related_name="known_failure")
    rule = models.ForeignKey(KnownFailureRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="matches")
    matched_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Known failure: {self.link}"


class RecurrencePolicy(models.Model):
    """Whether a project files a follow-up issue by itself when a test fails again after the issue
    linked to it was resolved (otherwise the follow-up is only offered)."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="recurrence_policy")
    create_follow_ups = models.BooleanField(default=False)

    def __str__(self):
        return f"Recurrence policy of {self.project.key}"


class FollowUp(models.Model):
    """An issue filed because a test failed again after ``original_issue`` (internal) or
    ``original_reference`` (a tracker issue) had been resolved: the link from the new issue to the first."""

    issue = models.OneToOneField(Issue, on_delete=models.CASCADE, related_name="follow_up_of")
    original_issue = models.ForeignKey(
        Issue, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    original_reference = models.ForeignKey(
        ExternalReference, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    result = models.ForeignKey(TestResult, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.issue.key} follows up {self.original_issue or self.original_reference}"


class BugPullSettings(models.Model):
    """How a project integration's bug pull maps the tracker's bugs. Whether it pulls, and its filter,
    are the integration's own (``pull_bugs``, ``bugs_filter``); priorities and statuses map through the
    integration's priority and status mappings."""

    integration = models.OneToOneField(ProjectIntegration, on_delete=models.CASCADE, related_name="bug_pull_settings")
    bug_types = models.JSONField(default=list, blank=True, help_text="Work item types; none: every type.")
    severity_field = models.CharField(max_length=100, blank=True, help_text="Blank: the tracker's priority.")
    resolution_field = models.CharField(max_length=100, blank=True)
    last_pulled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    def __str__(self):
        return f"Bug pull settings of {self.integration}"


class PulledBug(models.Model):
    """A tracker bug a project's bug pull found, listed with the project's issues: its reference
    (live values) and its severity, status and resolution mapped to testmanager's terms."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="pulled_bugs")
    integration = models.ForeignKey(
        ProjectIntegration, null=True, blank=True, on_delete=models.SET_NULL, related_name="pulled_bugs"
    )
    reference = models.ForeignKey(ExternalReference, on_delete=models.CASCADE, related_name="pulled_bugs")
    severity = models.CharField(max_length=100, blank=True, help_text="As the tracker says it.")
    priority = models.CharField(max_length=10, choices=IssuePriority.choices, blank=True, help_text="Mapped.")
    status = models.CharField(max_length=12, choices=IssueStatus.choices, help_text="Mapped.")
    resolution = models.CharField(max_length=100, blank=True)
    pulled_at = models.DateTimeField()

    class Meta:
        ordering = ["project", "-pulled_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "reference"], name="pulledbug_unique_reference_per_project"),
            models.CheckConstraint(condition=Q(status__in=IssueStatus.values), name="pulledbug_status_valid"),
        ]

    def __str__(self):
        return f"{self.reference} in {self.project.key}"


class PlanKind(models.TextChoices):
    RELEASE = "release", "Release"
    SPRINT = "sprint", "Sprint"


class Plan(models.Model):
    """A release (fix version, milestone, cycle) or sprint (iteration) pulled from a tracker, with its dates."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="plans")
    integration = models.ForeignKey(
        ProjectIntegration, null=True, blank=True, on_delete=models.SET_NULL, related_name="plans"
    )
    kind = models.CharField(max_length=10, choices=PlanKind.choices)
    remote_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True, help_text="A release's date, a sprint's last day.")
    done = models.BooleanField(default=False, help_text="Released, or the sprint is closed.")
    deleted_remotely = models.BooleanField(default=False)
    pulled_at = models.DateTimeField()

    class Meta:
        ordering = ["project", "kind", "end", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "integration", "kind", "remote_id"], name="plan_unique_remote"),
            models.CheckConstraint(condition=Q(kind__in=PlanKind.values), name="plan_kind_valid"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.name}"


class FilingMode(models.TextChoices):
    EACH = "each", "One issue per result"
    COMBINED = "combined", "One issue listing all results"


class FilingJob(models.Model):
    """Tracker issues being filed for several failed results of a run, in the background.

    ``values`` holds what the member chose for every issue: ``{"issue_type": ..., "values":
    {field id: value}, "kinds": {field id: RemoteField kind}}``. ``site_url`` is the address of
    this testmanager as the member used it, for the links in descriptions and on the remote issues.
    In combined mode one issue lists every result; ``marker`` and ``attempts`` are its own.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="filing_jobs")
    run = models.ForeignKey(TestRun, on_delete=models.CASCADE, related_name="filing_jobs")
    integration = models.ForeignKey(
        ProjectIntegration, null=True, on_delete=models.SET_NULL, related_name="filing_jobs"
    )
    mode = models.CharField(max_length=10, choices=FilingMode.choices, default=FilingMode.EACH)
    values = models.JSONField(default=dict)
    site_url = models.URLField(max_length=500)
    marker = models.CharField(max_length=40)
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(mode__in=FilingMode.values), name="filingjob_mode_valid")]

    def __str__(self):
        return f"Filing {self.items.count()} results of {self.run}"


class FilingState(models.TextChoices):
    PENDING = "pending", "Waiting"
    FILED = "filed", "Filed"
    FAILED = "failed", "Failed"


class FilingJobItem(models.Model):
    """One result of a filing job and how filing its issue went."""

    job = models.ForeignKey(FilingJob, on_delete=models.CASCADE, related_name="items")
    result = models.ForeignKey(TestResult, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=FilingState.choices, default=FilingState.PENDING)
    reference = models.ForeignKey(ExternalReference, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    marker = models.CharField(max_length=40)
    attempts = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=1000, blank=True)
    notes = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["job", "id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "result"], name="filingjobitem_one_per_result"),
            models.CheckConstraint(condition=Q(state__in=FilingState.values), name="filingjobitem_state_valid"),
        ]

    def __str__(self):
        return f"{self.result}: {self.get_state_display()}"


# --- Sync: webhook deliveries, defects kept in step with the tracker, their comments ------


class WebhookDelivery(models.Model):
    """A webhook delivery already applied: a redelivery of the same id is acknowledged, not applied
    again. Rows older than ``WEBHOOK_DELIVERY_DAYS`` are pruned: by then a redelivery is older than
    what it would change, and applying events in order of the remote updated-at ignores it anyway."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="+")
    delivery_id = models.CharField(max_length=200)
    events = models.PositiveIntegerField(default=0, help_text="How many issue events the delivery carried.")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "delivery_id"], name="webhookdelivery_unique_per_source"),
            models.CheckConstraint(condition=~Q(delivery_id=""), name="webhookdelivery_id_not_empty"),
        ]

    def __str__(self):
        return f"{self.delivery_id} ({self.received_at:%Y-%m-%d %H:%M})"


class DefectSync(models.Model):
    """An internal issue (the project's defect) kept in step with a tracker issue linked in the
    project, when the project integration's ``sync_defects`` is on.

    The tracker's status and priority reach the defect through the integration's mappings;
    ``synced_status`` and ``synced_priority`` are the values the tracker's last known state maps to.
    A defect whose own value differs was changed here: with ``push_defect_changes`` that change is
    sent to the tracker (and retried until it is), and the tracker's older state does not undo it.
    """

    issue = models.OneToOneField(Issue, on_delete=models.CASCADE, related_name="defect_sync")
    reference = models.ForeignKey(ExternalReference, on_delete=models.CASCADE, related_name="defect_syncs")
    integration = models.ForeignKey(
        ProjectIntegration, null=True, blank=True, on_delete=models.SET_NULL, related_name="defect_syncs"
    )
    synced_status = models.CharField(max_length=12, choices=IssueStatus.choices)
    synced_priority = models.CharField(max_length=10, choices=IssuePriority.choices)
    # When the defect's status or priority was last changed here: a tracker state older than that
    # does not undo the change (it is still to be pushed), a newer one wins.
    changed_here_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, help_text="Why the last push failed, redacted.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["issue"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "reference"], name="defectsync_one_per_integration"),
            models.CheckConstraint(condition=Q(synced_status__in=IssueStatus.values), name="defectsync_status_valid"),
            models.CheckConstraint(
                condition=Q(synced_priority__in=IssuePriority.values), name="defectsync_priority_valid"
            ),
        ]

    def __str__(self):
        return f"{self.issue.key} ⇄ {self.reference}"


class CommentOrigin(models.TextChoices):
    TESTMANAGER = "testmanager", "testmanager"
    TRACKER = "tracker", "Tracker"


class IssueComment(models.Model):
    """A comment on an internal issue, in Markdown. On a synced defect it is also on the tracker
    issue: ``remote_id`` is the tracker's id of it, set when a comment written here was posted or
    when one written there arrived; a tracker comment whose id is known here is never taken again,
    so a posted comment does not come back as a new one."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=200, blank=True, help_text="The tracker account, for tracker comments.")
    body = models.TextField(help_text="Markdown.")
    origin = models.CharField(max_length=12, choices=CommentOrigin.choices, default=CommentOrigin.TESTMANAGER)
    remote_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "remote_id"], condition=~Q(remote_id=""), name="issuecomment_remote_id_once"
            ),
            models.CheckConstraint(condition=Q(origin__in=CommentOrigin.values), name="issuecomment_origin_valid"),
            models.CheckConstraint(condition=~Q(body=""), name="issuecomment_body_not_empty"),
        ]

    def __str__(self):
        return f"Comment on {self.issue.key} by {self.author_name or self.author or 'someone'}"
