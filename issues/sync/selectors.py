"""Reads of the sync: which sources background work may read, which are fed by webhooks, and the
defects kept in step."""

from datetime import datetime, timedelta

from django.utils import timezone

from integrations import selectors as integration_selectors
from integrations.models import IntegrationState, Source
from integrations.providers.base import (
    Capability,
)
from issues.links.models import ExternalReference
from issues.sync.models import DefectSync, WebhookDelivery

RECONCILE_INTERVAL = timedelta(days=1)


def reads_details(source: Source) -> bool:
    """Whether background work may read the source's issues: enabled, connected, reading details."""
    return source.syncs and integration_selectors.can(source, Capability.READ_DETAILS)


def webhook_fed(source: Source, now: datetime | None = None) -> bool:
    """Whether the tracker sends the source's changes: webhooks are on and one arrived lately."""
    since = (now or timezone.now()) - RECONCILE_INTERVAL
    return (
        source.can_process_webhooks and WebhookDelivery.objects.filter(source=source, received_at__gte=since).exists()
    )


def webhook_fed_sources(now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return [
        source.pk
        for source in Source.objects.filter(enabled=True, connected=True, can_process_webhooks=True)
        if reads_details(source) and webhook_fed(source, now)
    ]


def reference_ids_of(source_id: int) -> list[int]:
    return list(ExternalReference.objects.filter(source_id=source_id).order_by("pk").values_list("pk", flat=True))


def defect_syncs():
    return DefectSync.objects.filter(
        integration__isnull=False, integration__sync_defects=True, integration__state=IntegrationState.ACTIVE
    ).select_related("issue", "reference__source", "integration")
