"""Which sign-in providers members can use, and each one's settings (admin row, else environment)."""

from django.conf import settings
from social_core.utils import setting_name

from .catalogue import KINDS, Kind
from .models import SignInProvider

# A row's fields, by the setting name social-core asks for (SOCIAL_AUTH_<BACKEND>_<NAME>).
_ROW_FIELDS = {"KEY": "client_id", "SECRET": "client_secret", "SERVER_URL": "server_url", "TENANT_ID": "tenant_id"}


def provider_row(backend: str) -> SignInProvider | None:
    return SignInProvider.objects.filter(backend=backend, enabled=True).first()


UNSET = object()


def row_setting(name: str):
    """The value an enabled admin row gives for social-core's setting ``name``, or ``UNSET`` when no
    row speaks for it (then settings, the environment, do)."""
    for backend in KINDS:
        prefix = setting_name(backend) + "_"
        if name.startswith(prefix) and name[len(prefix) :] in _ROW_FIELDS:
            row = provider_row(backend)
            if row is not None:
                return getattr(row, _ROW_FIELDS[name[len(prefix) :]]) or None
    return UNSET


def is_configured(backend: str) -> bool:
    if backend not in KINDS:
        return False
    if provider_row(backend) is not None:
        return True
    return bool(
        getattr(settings, setting_name(backend, "KEY"), "") and getattr(settings, setting_name(backend, "SECRET"), "")
    )


def available_kinds() -> list[Kind]:
    """What the login page offers, in the catalogue's order."""
    return [kind for backend, kind in KINDS.items() if is_configured(backend)]


def allows_new_users(backend: str) -> bool:
    row = provider_row(backend)
    if row is not None:
        return row.allow_new_users
    return bool(getattr(settings, setting_name(backend, "ALLOW_NEW_USERS"), False))
