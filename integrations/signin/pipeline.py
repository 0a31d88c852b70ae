"""Steps of the sign-in pipeline that decide who enters (see settings.SOCIAL_AUTH_PIPELINE).

social-core's own `associate_by_email` trusts whatever address a provider sends; these steps
trust only an address the provider says is verified, refuse an address two users share, and
create accounts only where the admin allows it.
"""

from django.contrib.auth import get_user_model
from social_core.exceptions import AuthPolicyError

from . import selectors
from .catalogue import KINDS


class SignInRefused(AuthPolicyError):
    """A refusal the login page shows as it is written."""

    def __init__(self, backend, message: str):
        super().__init__(backend)
        self.message = message

    def __str__(self):
        return self.message


def match_user_by_verified_email(backend, details, user=None, *args, **kwargs):
    """An account already linked (social_user found it) or the one user with the verified address."""
    if user is not None:
        return None
    email = details.get("verified_email") or ""
    label = _label(backend)
    if not email:
        raise SignInRefused(backend, f"Your {label} account has no verified email address, so it matches no user here.")
    matches = list(get_user_model().objects.filter(email__iexact=email, is_active=True)[:2])
    if len(matches) > 1:
        raise SignInRefused(
            backend, f"More than one user here has the address {email}; ask a site admin to sign you in another way."
        )
    if matches:
        return {"user": matches[0], "is_new": False}
    return None


def create_user_if_allowed(backend, details, user=None, *args, **kwargs):
    """A new account for a verified address nobody here has, only where the admin allows it."""
    if user is not None:
        return None
    if not selectors.allows_new_users(backend.name):
        raise SignInRefused(
            backend,
            f"No user here has the address {details['verified_email']}. A site admin can add you, "
            f"or allow new accounts from {_label(backend)}.",
        )
    username = _free_username(details.get("username") or details["verified_email"].split("@")[0])
    created = get_user_model().objects.create_user(
        username=username,
        email=details["verified_email"],
        first_name=(details.get("first_name") or "")[:150],
        last_name=(details.get("last_name") or "")[:150],
    )
    return {"user": created, "is_new": True}


def _free_username(wanted: str) -> str:
    users = get_user_model().objects
    base = wanted[:140] or "user"
    candidate, suffix = base, 1
    while users.filter(username__iexact=candidate).exists():
        suffix += 1
        candidate = f"{base}-{suffix}"
    return candidate


def _label(backend) -> str:
    kind = KINDS.get(backend.name)
    return kind.label if kind else backend.name
