"""Tracker issues as cached here (ExternalReference) and the links between an issue (internal or
tracker) and a test artefact."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from integrations.models import Source
from issues.core.keys import tracker_key
from issues.core.models import Issue, StatusCategory
from projects.models import Project, Requirement, TestCase, TestResult, TestRun

# The cached values of a reference that a remote issue's state sets (sync.refresh.remote_state); a source
# move keeps the freshest of them.
STATE_FIELDS = (
    "title",
    "status",
    "status_category",
    "assignee",
    "priority",
    "url",
    "remote_updated_at",
    "etag",
    "deleted_remotely",
    "deleted_remotely_at",
    "remote_created_at",
    "remote_resolved_at",
    "remote_id",
    "labels",
)


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
    # When the tracker deleted the issue (the deletion event's time, else when it was found gone): an event
    # older than that never brings the issue back.
    deleted_remotely_at = models.DateTimeField(null=True, blank=True)
    # Validator for conditional requests (GitHub ETag): a 304 answer costs no rate limit.
    etag = models.CharField(max_length=200, blank=True)
    # The tracker's own id of the issue where it outlives the key (Linear's UUID): a delivery naming a new
    # key with this id is the issue moved (issues.links.key_moves). "" where unknown.
    remote_id = models.CharField(max_length=100, blank=True)
    # The issue's labels as the tracker spells them; None until an answer carried them.
    labels = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source_name", "key"]
        indexes = [
            models.Index(
                fields=["source", "remote_id"], condition=~Q(remote_id=""), name="externalreference_remote_id"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="externalreference_unique_key_per_source"),
            models.CheckConstraint(condition=~Q(key=""), name="externalreference_key_not_empty"),
            models.CheckConstraint(
                condition=Q(status_category__in=StatusCategory.values), name="externalreference_status_category_valid"
            ),
        ]

    def __str__(self):
        return f"{self.source_name}: {self.key}"

    @property
    def display_key(self) -> str:
        """The key with the tracker it lives in (``SHOP-2 · Acme Jira``), as every page shows it."""
        return tracker_key(self.key, self.source_name)


class ReferenceAlias(models.Model):
    """A key the tracker gave a reference's issue before it moved (a GitHub transfer, a Jira or GitLab
    move to another project, a Linear team move): links, searches and deliveries naming the old key
    still find the issue under its new one (issues.links.key_moves keeps them)."""

    reference = models.ForeignKey(ExternalReference, on_delete=models.CASCADE, related_name="aliases")
    # The reference's source, so that a key is one issue's per source (set null with the source, as is
    # the reference's own).
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    key = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["reference", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="referencealias_unique_key_per_source"),
            models.CheckConstraint(condition=~Q(key=""), name="referencealias_key_not_empty"),
        ]

    def __str__(self):
        return f"{self.key} → {self.reference}"


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
