from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def forget_webhook_sources(sender, **kwargs):
    """A saved or deleted source is no longer the one webhook deliveries were checked against."""
    from . import selectors

    selectors.forget_webhook_sources()


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        from .models import Source

        post_save.connect(forget_webhook_sources, sender=Source, dispatch_uid="integrations-forget-webhook-sources")
        post_delete.connect(forget_webhook_sources, sender=Source, dispatch_uid="integrations-forget-webhook-sources")
