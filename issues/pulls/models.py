"""What project integrations pull from trackers: requirement pull settings and pulled requirements,
coverage of requirements by test cases, bug pull settings and pulled bugs, releases and sprints."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from integrations.models import ProjectIntegration
from issues.core.models import IssuePriority, IssueStatus
from issues.links.models import ExternalReference
from projects.models import Project, Requirement, TestCase


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
    plans = models.BooleanField(
        "releases and sprints",
        default=True,
        help_text="Show this tracker's releases and sprints on the Plans page and sync them with the requirements.",
    )
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


class StatusFrom(models.TextChoices):
    """What decides a pulled bug's mapped status."""

    STATUS = "status", "The tracker's status (through the status mapping)"
    RESOLUTION = "resolution", "The tracker's resolution (a bug with one is resolved)"


class BugPullSettings(models.Model):
    """How a project integration's bug pull maps the tracker's bugs. Whether it pulls, and its filter,
    are the integration's own (``pull_bugs``, ``bugs_filter``); a severity field's values map through
    the severity table of the integration's field mappings (the tracker's priority, when no severity
    field is named, through its priority mapping); the status or the resolution decides the status."""

    integration = models.OneToOneField(ProjectIntegration, on_delete=models.CASCADE, related_name="bug_pull_settings")
    bug_types = models.JSONField(default=list, blank=True, help_text="Work item types; none: every type.")
    severity_field = models.CharField(max_length=100, blank=True, help_text="Blank: the tracker's priority.")
    resolution_field = models.CharField(max_length=100, blank=True)
    status_from = models.CharField(max_length=10, choices=StatusFrom.choices, default=StatusFrom.STATUS)
    last_pulled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status_from__in=StatusFrom.values), name="bugpullsettings_status_from_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status_from=StatusFrom.RESOLUTION, resolution_field=""),
                name="bugpullsettings_resolution_decides_only_with_its_field",
            ),
        ]

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
