"""Tracker errors: stable codes, actionable messages, and secrets never shown."""

import base64
import pickle
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from integrations.errors import (
    REDACTED,
    AddressNotAllowed,
    AuthenticationFailed,
    CredentialsUnreadable,
    NotFound,
    PermissionDenied,
    RateLimited,
    RemoteValidationError,
    TrackerError,
    Unreachable,
    UpstreamError,
    redact,
)

TOKEN = "ATATT3xFfGF0-s3cr3t/token+value=="


@pytest.mark.parametrize(
    ("error_class", "code"),
    [
        (AuthenticationFailed, "auth"),
        (PermissionDenied, "permission"),
        (NotFound, "not_found"),
        (RateLimited, "rate_limited"),
        (Unreachable, "unreachable"),
        (AddressNotAllowed, "address_not_allowed"),
        (CredentialsUnreadable, "credentials_unreadable"),
        (UpstreamError, "upstream"),
        (RemoteValidationError, "validation"),
    ],
)
def test_every_error_is_a_tracker_error_with_a_stable_code_and_a_default_message(error_class, code):
    error = error_class()

    assert isinstance(error, TrackerError)
    assert error.code == code
    assert str(error) == error.message == error_class.default_message


def test_default_messages_tell_the_user_what_to_do():
    assert "check the token or password" in str(AuthenticationFailed())
    assert "re-enter them" in str(CredentialsUnreadable())


def test_an_address_refusal_is_a_kind_of_unreachable():
    error = AddressNotAllowed("Refused to connect to 10.0.0.5.")

    assert isinstance(error, Unreachable)
    assert error.reason == "address_not_allowed"


def test_errors_carry_status_retry_after_and_field_errors_for_the_api():
    error = RemoteValidationError("Jira refused the issue.", status=400, field_errors={"summary": "required"})

    assert error.to_dict() == {
        "code": "validation",
        "message": "Jira refused the issue.",
        "status": 400,
        "retry_after": None,
        "field_errors": {"summary": "required"},
    }
    assert RateLimited(retry_after=30.0, status=429).to_dict()["retry_after"] == 30.0


def test_errors_survive_pickling_with_all_their_attributes_as_celery_results_need():
    error = Unreachable("tracker.example.com did not answer.", reason="read_timeout", status=None)
    limited = RateLimited("slow down", status=429, retry_after=12.5)

    copy = pickle.loads(pickle.dumps(error))
    limited_copy = pickle.loads(pickle.dumps(limited))

    assert (type(copy), str(copy), copy.reason) == (Unreachable, str(error), "read_timeout")
    assert (limited_copy.status, limited_copy.retry_after) == (429, 12.5)


def test_redact_removes_the_secret_and_its_url_encoded_forms():
    text = f"token {TOKEN} in path /{quote(TOKEN, safe='')} and query ?t={quote_plus(TOKEN)}"

    redacted = redact(text, [TOKEN])

    assert TOKEN not in redacted
    assert quote(TOKEN, safe="") not in redacted
    assert quote_plus(TOKEN) not in redacted
    assert redacted.count(REDACTED) == 3


def test_redact_removes_a_secret_inside_a_basic_auth_header():
    header = "Authorization: Basic " + base64.b64encode(f"me@example.com:{TOKEN}".encode()).decode()

    redacted = redact(header, [TOKEN])

    assert REDACTED in redacted
    assert not _reveals(redacted, TOKEN)


@given(prefix=st.text(max_size=40), secret=st.text(min_size=8, max_size=60))
def test_a_base64_encoded_secret_cannot_be_read_back_whatever_precedes_it(prefix, secret):
    assume(secret.encode()[1:-1] not in prefix.encode())  # else the prefix itself "reveals" it
    encoded = base64.b64encode(f"{prefix}:{secret}".encode()).decode()

    assert not _reveals(redact(encoded, [secret]), secret)


def test_redact_ignores_empty_secrets_and_leaves_other_text_alone():
    assert redact("nothing secret here", ["", None]) == "nothing secret here"
    assert redact("nothing secret here", [TOKEN]) == "nothing secret here"


def _reveals(text: str, secret: str) -> bool:
    """Whether base64-decoding what is left of ``text``, at any alignment, shows the
    secret's inner bytes (its first and last byte may share characters with neighbours)."""
    inner = secret.encode()[1:-1]
    for piece in text.replace("Authorization: Basic ", "").split(REDACTED):
        for start in range(4):
            chunk = piece[start:]
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            try:
                if inner in base64.b64decode(chunk):
                    return True
            except ValueError:
                continue
    return False
