"""Celery entry points of the projects app."""

from celery import shared_task


@shared_task(name="projects.clear_expired_oauth_tokens")
def clear_expired_oauth_tokens() -> None:
    """Periodic (beat): delete API clients' expired OAuth access tokens, refresh tokens past their
    lifetime and unused authorization codes; the toolkit decides which (its `cleartokens`)."""
    from oauth2_provider.models import clear_expired

    clear_expired()
