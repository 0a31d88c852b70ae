"""Bulk filing jobs: many failed results of a run filed in the background, one item per result."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from integrations.models import ProjectIntegration
from issues.core.models import Issue
from issues.links.models import ExternalReference
from projects.models import Project, TestCase, TestResult, TestRun


class FilingMode(models.TextChoices):
    EACH = "each", "One issue per result"
    COMBINED = "combined", "One issue listing all results"


class FilingJob(models.Model):
    """Tracker issues being filed for several failed results of a run, or several internal issues
    being pushed (``run`` None, each item an ``issue``), in the background.

    ``values`` holds what the member chose for every issue: ``{"issue_type": ..., "values":
    {field id: value}, "kinds": {field id: RemoteField kind}}``. ``site_url`` is the address of
    this testmanager as the member used it, for the links in descriptions and on the remote issues.
    In combined mode one issue lists every result; ``marker`` and ``attempts`` are its own.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="filing_jobs")
    run = models.ForeignKey(TestRun, null=True, blank=True, on_delete=models.CASCADE, related_name="filing_jobs")
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
        if self.run_id is None:
            return f"Pushing {self.items.count()} issues"
        return f"Filing {self.items.count()} results of {self.run}"


class FilingState(models.TextChoices):
    PENDING = "pending", "Waiting"
    FILED = "filed", "Filed"
    FAILED = "failed", "Failed"


class FilingJobItem(models.Model):
    """One result of a filing job (or one internal issue of a push job) and how filing its issue went."""

    job = models.ForeignKey(FilingJob, on_delete=models.CASCADE, related_name="items")
    result = models.ForeignKey(TestResult, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    issue = models.ForeignKey(Issue, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
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
            models.UniqueConstraint(fields=["job", "issue"], name="filingjobitem_one_per_issue"),
            models.CheckConstraint(
                condition=Q(result__isnull=False, issue__isnull=True) | Q(result__isnull=True, issue__isnull=False),
                name="filingjobitem_result_or_issue",
            ),
            models.CheckConstraint(condition=Q(state__in=FilingState.values), name="filingjobitem_state_valid"),
        ]

    def __str__(self):
        return f"{self.result or self.issue}: {self.get_state_display()}"


class TestCaseSync(models.Model):
    """A test case kept as an issue in a tracker: the first sync creates the issue (of the integration's
    test issue type), later syncs edit that same issue; "Refresh" reads its status and comments.

    ``marker`` is written in the issue's description, so that a first sync whose answer was lost is
    found in the tracker rather than created twice. ``comments`` are the issue's comments as last read
    (``{"author", "body", "created_at"}``, Markdown), shown on the case page.
    """

    __test__ = False  # not a pytest class, whatever its name

    case = models.ForeignKey(TestCase, on_delete=models.CASCADE, related_name="tracker_syncs")
    integration = models.ForeignKey(ProjectIntegration, on_delete=models.CASCADE, related_name="test_case_syncs")
    reference = models.ForeignKey(ExternalReference, on_delete=models.CASCADE, related_name="test_case_syncs")
    marker = models.CharField(max_length=40)
    synced_at = models.DateTimeField()
    synced_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    refreshed_at = models.DateTimeField(null=True, blank=True)
    comments = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["case", "integration"]
        constraints = [
            models.UniqueConstraint(fields=["case", "integration"], name="testcasesync_one_per_case_and_integration")
        ]

    def __str__(self):
        return f"{self.case} ↔ {self.reference.key}"
