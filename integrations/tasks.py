"""Celery entry points of the integrations app; each calls a service.

Each task imports the services and selectors it calls inside its body, and services never import
this module at module level (they enqueue through transaction.on_commit with the task imported
where it is queued): services <-> tasks stays free of import cycles.
"""

from celery import shared_task
from django.contrib.auth import get_user_model

from .errors import AuthorizationRequired
from .models import Source


@shared_task(name="integrations.check_source_health")
def check_source_health(source_id: int, actor_id: int | None = None) -> bool | None:
    """Test one source's connection and store its health; None when the source is gone."""
    from . import services

    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return None
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id is not None else None
    return services.test_connection(source, actor=actor).ok


@shared_task(name="integrations.refresh_source_health")
def refresh_source_health() -> int:
    """Periodic (beat): one health check per enabled, connected source, each its own task so
    that a slow tracker delays nobody else. Returns how many were queued."""
    from . import selectors

    source_ids = list(selectors.sources_due_for_health_check().values_list("pk", flat=True))
    for source_id in source_ids:
        check_source_health.delay(source_id)
    return len(source_ids)


@shared_task(name="integrations.renew_expiring_tokens")
def renew_expiring_tokens() -> int:
    """Periodic (beat): one renewal task per member OAuth token expiring within five minutes, so
    that nobody meets an expired token. Returns how many were queued."""
    from . import selectors

    token_ids = list(selectors.tokens_due_for_renewal().values_list("pk", flat=True))
    for token_id in token_ids:
        renew_member_token.delay(token_id)
    return len(token_ids)


@shared_task(name="integrations.renew_member_token")
def renew_member_token(token_id: int) -> bool | None:
    """Renew one member token that is still due: True when renewed (here or by another worker
    meanwhile), False when the tracker refused (the token is marked and the member asked to
    authorize again), None when it is not due (any more). Other failures raise, to be retried by
    the next periodic run."""
    from . import selectors, services

    token = selectors.tokens_due_for_renewal().filter(pk=token_id).first()
    if token is None:
        return None
    try:
        services.renew_member_token(token)
    except AuthorizationRequired:
        return False
    return True


@shared_task(name="integrations.register_project_webhook")
def register_project_webhook(integration_id: int, url: str, actor_id: int | None = None) -> bool | None:
    """Register the webhook of a source just connected to a project; None when the assignment is gone."""
    from . import services
    from .models import ProjectIntegration

    integration = ProjectIntegration.objects.select_related("source", "project").filter(pk=integration_id).first()
    if integration is None:
        return None
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id is not None else None
    return services.register_integration_webhook(integration, url, actor=actor)
