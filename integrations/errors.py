"""Typed errors for everything that can go wrong talking to an issue tracker.

Every error carries a message a user can act on and a stable ``code`` that pages and the
API use to pick wording or a remedy. Messages never contain secrets: build them with
``redact`` (the HTTP client does this for every error it raises).
"""

import base64
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"

# A base64 fragment shorter than this would match ordinary text all over a message.
_MIN_BASE64_FRAGMENT = 6


class TrackerError(Exception):
    """Base of all tracker errors; ``str(error)`` is the user-facing message."""

    code = "tracker_error"
    default_message = "The issue tracker request failed."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        field_errors: dict[str, str] | None = None,
    ):
        self.message = message or self.default_message
        self.status = status
        self.retry_after = retry_after
        self.field_errors = dict(field_errors or {})
        # Only the message goes to Exception.args, so pickling (Celery results) rebuilds
        # the error from the message and restores the other attributes from __dict__.
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict:
        """The shape the API and pages show: no traceback, no secrets."""
        return {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "retry_after": self.retry_after,
            "field_errors": self.field_errors,
        }


class Refused(TrackerError):
    """testmanager itself refuses the action (a switched-off capability, a disabled source, an archived
    assignment): no request was sent. Carries the ``selectors.Refusal`` saying why and who can change it."""

    code = "refused"
    default_message = "This tracker does not take that action from here."

    def __init__(self, refusal):
        super().__init__(str(refusal))
        self.refusal = refusal


class AuthenticationFailed(TrackerError):
    code = "auth"
    default_message = (
        "The tracker rejected the credentials: check the token or password, "
        "and that it has not expired or been revoked."
    )


class PermissionDenied(TrackerError):
    code = "permission"
    default_message = (
        "The tracker refused access: the account behind the credentials lacks permission "
        "for this; grant it in the tracker or use another account."
    )


class NotFound(TrackerError):
    code = "not_found"
    default_message = (
        "The tracker has no such resource: check the base URL, the project and the issue key, "
        "and that the account can see them."
    )


class RateLimited(TrackerError):
    code = "rate_limited"
    default_message = "The tracker is rate limiting requests: try again in a few minutes."


class Unreachable(TrackerError):
    """The tracker could not be reached; ``reason`` says which step failed."""

    code = "unreachable"
    default_message = "The tracker could not be reached: check the base URL and that this server can reach it."

    def __init__(self, message: str | None = None, *, reason: str = "connection", **kwargs):
        self.reason = reason
        super().__init__(message, **kwargs)


class AddressNotAllowed(Unreachable):
    """The tracker's address is loopback, private, link-local or otherwise not public."""

    code = "address_not_allowed"
    default_message = "The tracker's address is not a public internet address and requests to it are refused."

    def __init__(self, message: str | None = None, **kwargs):
        super().__init__(message, reason="address_not_allowed", **kwargs)


class CredentialsUnreadable(TrackerError):
    code = "credentials_unreadable"
    default_message = "The stored credentials cannot be decrypted (the encryption key may have changed): re-enter them."


class UpstreamError(TrackerError):
    """The tracker answered, but not with something usable (5xx, garbage, oversized, bad redirect)."""

    code = "upstream"
    default_message = "The tracker answered with an error: try again later."


class RemoteValidationError(TrackerError):
    """The tracker refused the request as invalid; ``field_errors`` maps field to problem."""

    code = "validation"
    default_message = "The tracker refused the request as invalid."


class UnknownLabels(RemoteValidationError):
    """The tracker creates no label on the way (Linear) and lacks those named in ``labels``."""

    def __init__(self, message: str, labels, **options):
        super().__init__(message, **options)
        self.labels = tuple(labels)


class AuthorizationRequired(TrackerError):
    """A member's own authorization is needed: they have none for an OAuth 2.0 source, or the
    tracker no longer accepts it and it cannot be renewed."""

    code = "authorization_required"
    default_message = "This tracker acts as each member: authorize your own account on the project's Trackers page."


class OAuthRefused(TrackerError):
    """The tracker's OAuth 2.0 token endpoint refused a grant (a code or a refresh token) or the
    client; ``error`` is the OAuth error code it gave ("invalid_grant", "invalid_client", ...)."""

    code = "oauth_refused"
    default_message = "The tracker refused the authorization: authorize your account again."

    def __init__(self, message: str | None = None, *, error: str = "", **kwargs):
        self.error = error
        super().__init__(message, **kwargs)


class RenewalBusy(TrackerError):
    """Another worker has been renewing the same member token for longer than it may."""

    code = "renewal_busy"
    default_message = (
        "Your authorization for this tracker is being renewed by another request that takes long: "
        "try again in a minute."
    )


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Return ``text`` with every secret removed, also in URL-encoded and base64 forms.

    The base64 forms cover a secret inside an HTTP basic-auth header
    (``base64("user:secret")``) whatever the length of what precedes it.
    """
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        forms.update({secret, quote(secret), quote(secret, safe=""), quote_plus(secret)})
        forms.update(_base64_fragments(secret.encode()))
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text


def redacted_excerpt(text: str, secrets: Iterable[str | None], limit: int) -> str:
    """``text`` on one line, secrets removed, then cut to ``limit`` characters: the one way a
    tracker's words are shortened. Redacting first matters: a cut through a secret leaves a
    fragment that no longer matches it, and a tracker echoing the token after 280 characters
    leaked 20 of its 25 characters past a cut at 300."""
    return redact(" ".join(str(text).split()), secrets)[:limit]


def _base64_fragments(secret: bytes) -> set[str]:
    """The base64 characters that encode only ``secret``'s bits, for each of the three
    alignments it can have inside a longer encoded value (standard and URL-safe alphabets)."""
    fragments = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret).decode()
        first = -(-offset * 8 // 6)  # first character made only of secret bits
        last = (offset + len(secret)) * 8 // 6  # end of the last such character
        fragment = encoded[first:last]
        if len(fragment) >= _MIN_BASE64_FRAGMENT:
            fragments.update({fragment, fragment.translate(str.maketrans("+/", "-_"))})
    return fragments
