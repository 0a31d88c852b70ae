"""Celery entry points of the integrations app; each calls a service."""

from celery import shared_task
from django.contrib.auth import get_user_model

from . import selectors, services
from .models import Source


@shared_task(name="integrations.check_source_health")
def check_source_health(source_id: int, actor_id: int | None = None) -> bool | None:
    """Test one source's connection and store its health; None when the source is gone."""
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return None
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id is not None else None
    return services.test_connection(source, actor=actor).ok


@shared_task(name="integrations.refresh_source_health")
def refresh_source_health() -> int:
    """Periodic (beat): one health check per enabled, connected source, each its own task so
    that a slow tracker delays nobody else. Returns how many were queued."""
    source_ids = list(selectors.sources_due_for_health_check().values_list("pk", flat=True))
    for source_id in source_ids:
        check_source_health.delay(source_id)
    return len(source_ids)
