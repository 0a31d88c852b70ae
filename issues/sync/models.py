"""What the sync keeps besides the references: webhook deliveries received (for deduplication) and
the defects kept in step with tracker issues."""

from django.db import models
from django.db.models import Q

from integrations.models import ProjectIntegration, Source
from issues.core.models import Issue, IssuePriority, IssueStatus
from issues.links.models import ExternalReference


class WebhookDelivery(models.Model):
    """A webhook delivery received (applied, or queued for the worker): a redelivery of the same id, or
    of the same signed content under another id, is acknowledged, not applied again. Applied rows older
    than ``WEBHOOK_DELIVERY_DAYS`` are pruned: by then a redelivery is older than what it would change,
    and applying events in order of the remote updated-at ignores it anyway."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="+")
    delivery_id = models.CharField(max_length=200)
    # The key of the delivery's signed content (IssueEvent.content_key): a replay under a new id has the same.
    content_key = models.CharField(max_length=200, blank=True)
    events = models.PositiveIntegerField(default=0, help_text="How many issue events the delivery carried.")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Recorded by the hook, not applied yet: the delivery's events (IssueEvent.as_json) until the worker
    # applies them (issues.sync.webhooks.apply_queued) and clears them in the same transaction. Null: applied.
    pending_events = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(
                fields=["source", "id"],
                condition=Q(pending_events__isnull=False),
                name="webhookdelivery_pending",
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["source", "delivery_id"], name="webhookdelivery_unique_per_source"),
            models.UniqueConstraint(
                fields=["source", "content_key"],
                condition=~Q(content_key=""),
                name="webhookdelivery_unique_content_per_source",
            ),
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
    # With the integration's sync_labels: the labels both sides last agreed on (the base of the three-way
    # merge that keeps an addition or a removal made on either side; None before the first merge), whether
    # the merge still has labels to send, and the tags the tracker refused to take as labels (Linear
    # creates none): they stay here, and are offered again when the defect's tags are edited.
    synced_labels = models.JSONField(null=True, blank=True)
    labels_pending = models.BooleanField(default=False)
    unsent_labels = models.JSONField(default=list, blank=True)
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
