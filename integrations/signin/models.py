"""A sign-in provider a site admin has configured (client id and secret of an OAuth app)."""

from django.core.exceptions import ValidationError
from django.db import models

from integrations.fields import EncryptedSecretField

from .catalogue import KINDS


class SignInProvider(models.Model):
    """One OAuth app members sign in through. The environment can configure the same provider
    (``SOCIAL_AUTH_<BACKEND>_KEY``/``_SECRET``); a row here, when enabled, wins."""

    backend = models.CharField(
        max_length=40, unique=True, choices=[(kind.backend, kind.label) for kind in KINDS.values()]
    )
    enabled = models.BooleanField(default=True)
    client_id = models.CharField(max_length=255)
    client_secret = EncryptedSecretField(help_text="Stored encrypted; never shown again.")
    server_url = models.URLField(
        blank=True,
        help_text="GitHub Enterprise Server or self-managed GitLab address; empty for github.com / gitlab.com.",
    )
    tenant_id = models.CharField(max_length=64, blank=True, help_text="Microsoft Entra ID: the directory (tenant) id.")
    allow_new_users = models.BooleanField(
        default=False,
        help_text="Create an account for a person whose verified email matches no user here. "
        "Off: only existing users (matched by verified email) can sign in this way.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["backend"]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        return KINDS[self.backend].label

    def clean(self):
        kind = KINDS.get(self.backend)
        if kind is None:
            return
        if self.server_url and not kind.takes_server_url:
            raise ValidationError({"server_url": f"{kind.label} has no self-hosted server address."})
        if kind.takes_tenant and not self.tenant_id:
            raise ValidationError({"tenant_id": "Microsoft Entra ID needs the directory (tenant) id."})
