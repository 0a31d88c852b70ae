"""Projects and their test artefacts. This app imports neither integrations nor issues."""

import hashlib
import io
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.validators import RegexValidator
from django.db import connection, models
from django.db.models import F, Q, Value
from django.db.models.functions import Substr
from django.utils import timezone

PROJECT_KEY_REGEX = r"^[A-Z][A-Z0-9]{1,9}$"


class Project(models.Model):
    key = models.CharField(
        max_length=10,
        unique=True,
        validators=[
            RegexValidator(PROJECT_KEY_REGEX, "2-10 characters: uppercase letters and digits, starting with a letter.")
        ],
        help_text="Short uppercase key used in issue numbers, e.g. SHOP (SHOP-12).",
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Last issue number handed out; incremented under a row lock (issues.core.services).
    last_issue_number = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="projects")

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(condition=Q(key__regex=PROJECT_KEY_REGEX), name="project_key_format"),
        ]

    def __str__(self):
        return f"{self.key} · {self.name}"


class Role(models.TextChoices):
    ADMIN = "admin", "Project admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project__key", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user_per_project"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self):
        return f"{self.user} in {self.project.key} ({self.get_role_display()})"


class CasePriority(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


# TestRail's default case types, so a team moving from it finds its vocabulary (and imports map 1:1).
DEFAULT_CASE_TYPES = (
    "Acceptance",
    "Accessibility",
    "Automated",
    "Compatibility",
    "Destructive",
    "Functional",
    "Other",
    "Performance",
    "Regression",
    "Security",
    "Smoke & Sanity",
    "Usability",
)


def case_type_key(name: str) -> str:
    """What makes two spellings of a case type the same type.

    TestRail writes "Smoke & Sanity", people type "smoke and sanity" or "Smoke  &  sanity":
    case, "&" versus "and" and runs of spaces do not make a different type.
    """
    spaced = re.sub(r"\s*&\s*", " and ", name.casefold())
    return " ".join(spaced.split())


class CaseType(models.Model):
    """One entry of a project's list of test case types; seeded with DEFAULT_CASE_TYPES.

    Names are compared with case_type_key, so a project never has two spellings of one type.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="case_types")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["project", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="casetype_unique_name_per_project"),
            models.CheckConstraint(condition=~Q(name=""), name="casetype_name_not_empty"),
        ]

    def __str__(self):
        return self.name


class CaseFieldKind(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    SELECT = "select", "Select"
    CHECKBOX = "checkbox", "Checkbox"


class CaseField(models.Model):
    """A field the project adds to its test cases; values live in TestCase.custom_fields under `name`."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="case_fields")
    name = models.SlugField(max_length=50, help_text="Key in the API and in filing placeholders, e.g. browser.")
    label = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=CaseFieldKind.choices, default=CaseFieldKind.TEXT)
    options = models.JSONField(default=list, blank=True, help_text="The choices of a select field.")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["project", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="casefield_unique_name_per_project"),
            models.CheckConstraint(condition=Q(kind__in=CaseFieldKind.values), name="casefield_kind_valid"),
            models.CheckConstraint(condition=~Q(name="") & ~Q(label=""), name="casefield_name_label_not_empty"),
        ]

    def __str__(self):
        return f"{self.project.key} · {self.label}"


class TestCase(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="test_cases")
    title = models.CharField(max_length=300)
    folder = models.CharField(max_length=500, blank=True, help_text="Slash-separated path, e.g. Checkout/Payment.")
    description = models.TextField(blank=True, help_text="What the case checks. Markdown.")
    preconditions = models.TextField(blank=True)
    # [{"action": "...", "expected": "..."}, ...] in order; projects.steps checks the shape.
    steps = models.JSONField(default=list, blank=True)
    priority = models.CharField(max_length=10, choices=CasePriority.choices, default=CasePriority.MEDIUM)
    case_type = models.ForeignKey(
        CaseType, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases", verbose_name="type"
    )
    estimate = models.DurationField(null=True, blank=True)
    # Values of the project's CaseFields by name.
    custom_fields = models.JSONField(default=dict, blank=True)
    # Identity of an automated test (JUnit classname + name) so uploads update instead of duplicating.
    automation_key = models.CharField(max_length=500, blank=True)
    # Identity in a system we imported from (TestRail "C123"), so imports are idempotent.
    import_key = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["folder", "title", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "automation_key"],
                condition=~Q(automation_key=""),
                name="testcase_unique_automation_key",
            ),
            models.UniqueConstraint(
                fields=["project", "import_key"],
                condition=~Q(import_key=""),
                name="testcase_unique_import_key",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="testcase_title_not_empty"),
            models.CheckConstraint(condition=Q(priority__in=CasePriority.values), name="testcase_priority_valid"),
        ]
        indexes = [models.Index(fields=["project", "folder"])]

    def __str__(self):
        return f"{self.project.key} · {self.title}"

    def steps_markdown(self) -> str:
        """The steps as a numbered Markdown list, each action followed by its expected result."""
        return steps_markdown(self.steps)


def _indented(text: str, indent: int) -> str:
    """Continuation lines of a list item, indented so Markdown keeps them in the item."""
    first, *rest = text.strip().split("\n")
    return "\n".join([first, *((" " * indent + line) if line.strip() else "" for line in rest)])


def steps_markdown(steps: list[dict]) -> str:
    """[{"action", "expected"}] (a case's steps, or a result's step results) as a numbered Markdown list."""
    items = []
    for number, step in enumerate(steps, start=1):
        marker = f"{number}. "
        item = marker + _indented(step.get("action") or "—", len(marker))
        if step.get("expected"):
            item += "\n\n" + " " * len(marker) + "**Expected:** " + _indented(step["expected"], len(marker))
        if step.get("status"):
            item += "\n\n" + " " * len(marker) + f"**Status:** {ResultStatus(step['status']).label}"
        items.append(item)
    return "\n".join(items)


class Milestone(models.Model):
    """A target made here (a release, a sprint, an audit) that runs and plans count towards.

    Pulled releases and sprints live in issues.pulls (Plan); these are the project's own."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    start_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = [models.F("due_date").asc(nulls_last=True), "name", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="milestone_name_not_empty"),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True) | Q(due_date__isnull=True) | Q(due_date__gte=F("start_date")),
                name="milestone_due_not_before_start",
            ),
        ]

    def __str__(self):
        return f"{self.project.key} · {self.name}"


class TestRun(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="test_runs")
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    environment = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    milestone = models.ForeignKey(Milestone, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="testrun_name_not_empty")]

    def __str__(self):
        return f"{self.project.key} · {self.name}"


class TestPlan(models.Model):
    """A set of runs planned for a milestone (e.g. "2.0 regression": the browser runs and the API run)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="test_plans")
    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="plans")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    runs = models.ManyToManyField(TestRun, blank=True, related_name="plans")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="testplan_name_not_empty")]

    def __str__(self):
        return f"{self.project.key} · {self.name}"


class ResultStatus(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    BLOCKED = "blocked", "Blocked"
    SKIPPED = "skipped", "Skipped"
    UNTESTED = "untested", "Untested"
    # Its linked issue was resolved in the tracker: the test awaits another run (issues.sync).
    RETEST = "retest", "Retest"


class TestResult(models.Model):
    run = models.ForeignKey(TestRun, on_delete=models.CASCADE, related_name="results")
    case = models.ForeignKey(TestCase, on_delete=models.CASCADE, related_name="results")
    status = models.CharField(max_length=10, choices=ResultStatus.choices, default=ResultStatus.UNTESTED)
    comment = models.TextField(blank=True)
    duration = models.DurationField(null=True, blank=True)
    # The case's steps as they were executed, each with its status: [{"action", "expected", "status"}].
    step_results = models.JSONField(default=list, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now=True)
    # Who is to execute it; listed on their "My results" page.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_results"
    )

    class Meta:
        ordering = ["run", "case__folder", "case__title"]
        constraints = [
            models.UniqueConstraint(fields=["run", "case"], name="testresult_unique_case_per_run"),
            models.CheckConstraint(condition=Q(status__in=ResultStatus.values), name="testresult_status_valid"),
        ]

    @property
    def project(self):
        return self.run.project

    def __str__(self):
        return f"{self.case.title} in {self.run.name}: {self.get_status_display()}"


class RequirementState(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    DEPRECATED = "deprecated", "Deprecated"


class Priority(models.TextChoices):
    P0 = "P0", "P0 (highest)"
    P1 = "P1", "P1"
    P2 = "P2", "P2"
    P3 = "P3", "P3 (lowest)"


class Requirement(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="requirements")
    title = models.CharField(max_length=300)
    folder = models.CharField(max_length=500, blank=True, help_text="Slash-separated path, e.g. Checkout/Payment.")
    description = models.TextField(blank=True)
    state = models.CharField(max_length=12, choices=RequirementState.choices, default=RequirementState.DRAFT)
    priority = models.CharField(max_length=2, choices=Priority.choices, default=Priority.P2)
    # External origin: where a pulled requirement came from. Plain values, not a foreign key,
    # because projects must not depend on integrations; the issues app links the live reference.
    origin_tracker = models.CharField(max_length=50, blank=True)
    origin_key = models.CharField(max_length=100, blank=True)
    origin_url = models.URLField(max_length=500, blank=True)
    # While the pulling integration is connected the tracker owns title and description.
    origin_read_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "title", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=RequirementState.values), name="requirement_state_valid"),
            models.CheckConstraint(condition=Q(priority__in=Priority.values), name="requirement_priority_valid"),
            models.CheckConstraint(condition=~Q(title=""), name="requirement_title_not_empty"),
            models.CheckConstraint(
                condition=Q(origin_read_only=False) | ~Q(origin_key=""), name="requirement_read_only_needs_origin"
            ),
            models.UniqueConstraint(
                fields=["project", "origin_tracker", "origin_key"],
                condition=~Q(origin_key=""),
                name="requirement_unique_origin",
            ),
        ]

    def __str__(self):
        return f"{self.project.key} · {self.title}"


API_TOKEN_PREFIX = "tm_"


def hash_api_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)

    def issue(self, *, user, name: str) -> tuple["ApiToken", str]:
        """Create a token for the user; the plain value is returned once and never stored."""
        raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = self.create(user=user, name=name, hint=raw[:8], token_hash=hash_api_token(raw))
        return token, raw

    def find_active(self, raw: str) -> "ApiToken | None":
        if not raw.startswith(API_TOKEN_PREFIX):
            return None
        return self.active().select_related("user").filter(token_hash=hash_api_token(raw)).first()


class ApiToken(models.Model):
    """A personal API token (`Authorization: Bearer tm_...`). Only its SHA-256 is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. CI uploads.")
    # First characters of the token, so its owner can tell tokens apart without the secret.
    hint = models.CharField(max_length=8, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    # Recording every request would write on every API call; a minute is precise enough.
    LAST_USED_PRECISION = timedelta(minutes=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="apitoken_name_not_empty")]

    def __str__(self):
        return f"{self.name} ({self.hint}…) of {self.user}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def touch(self) -> None:
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at >= self.LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=self.revoked_at)


class ImportStatus(models.TextChoices):
    PREVIEW = "preview", "Preview"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """One uploaded export file (TestRail XML or CSV): previewed, then imported in the background.

    The file's bytes stay in the row until the import ends, so a worker on another machine reads
    them without shared storage. The log lists every item created, updated, left unchanged or
    skipped, with the reason; `counts` sums it per kind of item.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    data = models.BinaryField(editable=False)
    # What the preview decided: field mappings, the run's name, the tracker defects link to.
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.PREVIEW)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    log = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    run = models.ForeignKey(TestRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # Progress is written while the import's own transaction is still open, where no other
    # connection could see it, so it goes to the cache (Redis when there is a worker).
    PROGRESS_CACHE_SECONDS = 6 * 3600

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ImportStatus.values), name="importjob_status_valid")
        ]

    def __str__(self):
        return f"{self.project.key} import of {self.filename} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    def _progress_key(self) -> str:
        return f"projects:importjob:{self.pk}:processed"

    def start(self, total: int) -> bool:
        """Claim a queued job (or one whose worker died mid-run: imports are idempotent); False if it ended."""
        now = timezone.now()
        claimed = ImportJob.objects.filter(pk=self.pk, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]).update(
            status=ImportStatus.RUNNING, started_at=now, total=total, processed=0
        )
        if claimed:
            self.status, self.started_at, self.total, self.processed = ImportStatus.RUNNING, now, total, 0
            cache.set(self._progress_key(), 0, self.PROGRESS_CACHE_SECONDS)
        return bool(claimed)

    def report_progress(self, processed: int) -> None:
        self.processed = min(processed, self.total)
        cache.set(self._progress_key(), self.processed, self.PROGRESS_CACHE_SECONDS)

    def live_processed(self) -> int:
        if self.status == ImportStatus.RUNNING:
            return cache.get(self._progress_key(), self.processed)
        return self.processed

    # The file is written and read in parts: one statement with a 34 MB file costs the process
    # about eight times that (the bytes as hex text in the SQL, and copies), reading it whole five.
    FILE_PART = 1024 * 1024

    def store_file(self, data: bytes) -> None:
        """Keep the uploaded file in the saved row, a part at a time (PostgreSQL appends to bytea;
        other databases, used for tests and small installs, get it in one statement)."""
        if connection.vendor != "postgresql":
            ImportJob.objects.filter(pk=self.pk).update(data=data)
            return
        view = memoryview(data)
        for start in range(0, len(view), self.FILE_PART):
            part = Value(bytes(view[start : start + self.FILE_PART]), output_field=models.BinaryField())
            ImportJob.objects.filter(pk=self.pk).update(data=_Append(F("data"), part))

    def open_file(self):
        """The file's bytes as a binary file read a part at a time from the row (an unsaved job's from memory)."""
        if self.pk is None:
            return io.BytesIO(self.data)
        return io.BufferedReader(_StoredFile(self.pk), buffer_size=self.FILE_PART)

    def _end(self, status: str, **fields) -> None:
        self.status, self.finished_at, self.data = status, timezone.now(), b""
        for name, value in fields.items():
            setattr(self, name, value)
        self.save(update_fields=["status", "finished_at", "data", *fields])
        cache.delete(self._progress_key())

    def finish(self, *, log: list[dict], run=None) -> None:
        """Record a successful import: its log, the counts per kind of item and action, the run."""
        counts: dict[str, dict[str, int]] = {}
        for entry in log:
            per_kind = counts.setdefault(entry["kind"], {})
            per_kind[entry["action"]] = per_kind.get(entry["action"], 0) + 1
        self._end(ImportStatus.DONE, log=log, counts=counts, run=run, processed=self.total)

    def fail(self, error: str) -> None:
        self._end(ImportStatus.FAILED, error=error)


class _Append(models.Func):
    """PostgreSQL's bytea concatenation: `data || part`."""

    arg_joiner = " || "
    template = "(%(expressions)s)"
    output_field = models.BinaryField()


class _StoredFile(io.RawIOBase):
    """An import job's stored file, read with one query per part (SUBSTRING of the bytea or blob)."""

    def __init__(self, job_id: int):
        self.job_id, self.offset = job_id, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size = min(len(buffer), ImportJob.FILE_PART)
        part = (
            ImportJob.objects.filter(pk=self.job_id)
            .annotate(part=Substr("data", self.offset + 1, size, output_field=models.BinaryField()))
            .values_list("part", flat=True)
            .get()
        )
        part = bytes(part or b"")
        buffer[: len(part)] = part
        self.offset += len(part)
        return len(part)
