"""Issue keys, URL templates and base URLs: checked and rendered the same way everywhere.

Key patterns are administrator input evaluated on every link and webhook, so they run on
RE2, whose matching time is linear in the input: no pattern can hang a worker. Templates
are filled by one substitution pass (never ``str.format``), so a template cannot reach
attributes or formatting machinery, and every value except the base URL is URL-encoded.
"""

import re
from functools import lru_cache
from urllib.parse import quote, urlsplit

import re2
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

# Templates: "{name}" placeholders. Our own fixed pattern, so Python's re is fine here.
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

# {issueId} is an alias of {key} (Kiwi TCMS and older configurations use it).
ISSUE_URL_PLACEHOLDERS = ("baseUrl", "key", "issueId", "project", "number")
CREATE_URL_PLACEHOLDERS = ("baseUrl", "project", "title", "description")
_KEY_PLACEHOLDERS = {"key", "issueId", "number"}

PLACEHOLDER_HELP = {
    "baseUrl": "the source's base URL",
    "key": "the issue key, e.g. SHOP-12 or 42",
    "issueId": "alias of {key}",
    "project": "the project integration's external project, e.g. owner/repo",
    "number": "the digits at the end of the key, e.g. 42 for #42",
    "title": "the new issue's title",
    "description": "the new issue's description",
}

# Sample values to check that a template renders to a usable URL.
_SAMPLE_VALUES = {
    "key": "SHOP-12",
    "issueId": "SHOP-12",
    "project": "owner/repo",
    "number": "12",
    "title": "Checkout fails",
    "description": "Steps to reproduce",
}

MAX_KEY_LENGTH = 200


# --- Key patterns (RE2) ---------------------------------------------------------------


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a bad pattern is the admin's input, not a server error
    options.max_mem = 1 << 20  # bounds the compiled program; RE2 refuses what does not fit
    return options


_OPTIONS = _re2_options()


class KeyPatternError(ValueError):
    """A key pattern RE2 cannot compile; the message says why."""


@lru_cache(maxsize=512)
def compile_key_pattern(pattern: str):
    """The compiled RE2 pattern, or ``KeyPatternError`` with RE2's reason."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        reason = (
            error.args[0].decode(errors="replace") if error.args and isinstance(error.args[0], bytes) else str(error)
        )
        raise KeyPatternError(reason) from None


def validate_key_pattern(pattern: str) -> None:
    """``ValidationError`` with a message an administrator can act on."""
    try:
        compile_key_pattern(pattern)
    except KeyPatternError as error:
        raise ValidationError(
            f"Not a valid RE2 regular expression ({error}). RE2 supports the usual syntax but no "
            "backreferences or look-around, which is what guarantees a pattern cannot hang the server."
        ) from None


def key_matches(pattern: str, key: str) -> bool:
    """Whether the whole ``key`` matches ``pattern`` (RE2, linear time)."""
    if len(key) > MAX_KEY_LENGTH:
        return False
    return compile_key_pattern(pattern).fullmatch(key) is not None


# --- URL templates --------------------------------------------------------------------


def _placeholders(template: str) -> list[str]:
    return _PLACEHOLDER.findall(template)


def _describe(allowed: tuple[str, ...]) -> str:
    return ", ".join(f"{{{name}}} ({PLACEHOLDER_HELP[name]})" for name in allowed)


def validate_url_template(template: str, *, allowed: tuple[str, ...], needs_key: bool) -> None:
    """Check a template's placeholders and that it renders to an http(s) URL."""
    if "{" in _PLACEHOLDER.sub("", template) or "}" in _PLACEHOLDER.sub("", template):
        raise ValidationError("A brace is not closed or not opened: placeholders are written {name}.")
    unknown = [name for name in _placeholders(template) if name not in allowed]
    if unknown:
        raise ValidationError(
            "Unknown placeholder "
            + ", ".join(f"{{{name}}}" for name in dict.fromkeys(unknown))
            + ". Use "
            + _describe(allowed)
            + "."
        )
    if needs_key and not _KEY_PLACEHOLDERS & set(_placeholders(template)):
        raise ValidationError(
            "The issue URL must contain {key} (or {issueId} or {number}): otherwise every issue links to the same page."
        )
    sample = render_template(template, base_url="https://tracker.example.com", values=_SAMPLE_VALUES)
    try:
        URLValidator(schemes=["http", "https"])(sample)
    except ValidationError:
        raise ValidationError(
            "The template must produce an http(s) URL: start it with {baseUrl} or https://."
        ) from None


def _number(key: str) -> str:
    match = re.search(r"\d+$", key)
    return match.group() if match else key


def render_template(template: str, *, base_url: str, values: dict[str, str]) -> str:
    """Fill a template; every value but the base URL is URL-encoded (a project keeps its slashes)."""
    encoded = {"baseUrl": base_url}
    for name, value in values.items():
        encoded[name] = quote(value, safe="/" if name == "project" else "")

    def fill(match: re.Match) -> str:
        return encoded.get(match.group(1), "")

    return _PLACEHOLDER.sub(fill, template)


def issue_url(template: str, *, base_url: str, key: str, project: str = "") -> str:
    return render_template(
        template,
        base_url=base_url,
        values={"key": key, "issueId": key, "number": _number(key), "project": project},
    )


def create_url(template: str, *, base_url: str, project: str = "", title: str = "", description: str = "") -> str:
    return render_template(
        template,
        base_url=base_url,
        values={"project": project, "title": title, "description": description},
    )


# --- Base URLs ------------------------------------------------------------------------


def normalize_base_url(url: str, *, allow_http: bool) -> str:
    """The canonical form of a tracker's base URL, or ``ValidationError`` saying what to fix.

    Lower-case scheme and host, no default port, no trailing slash; a path is kept (Jira
    Server under /jira, GitHub Enterprise, self-hosted GitLab in a subdirectory).
    """
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("Enter the tracker's address starting with https://, e.g. https://example.atlassian.net.")
    if scheme == "http" and not allow_http:
        raise ValidationError(
            'The base URL must use https. For a server on an internal network without TLS, tick "allow http".'
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "Do not put credentials in the URL: enter them in the credential fields, which are encrypted."
        )
    if parts.query or parts.fragment:
        raise ValidationError("The base URL takes no query string or fragment (nothing after ? or #).")
    try:
        port = parts.port
    except ValueError:
        raise ValidationError("The port in the base URL is not a number between 1 and 65535.") from None
    host = (parts.hostname or "").lower()
    if not host:
        raise ValidationError("The base URL has no host name.")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        netloc += f":{port}"
    normalized = f"{scheme}://{netloc}{parts.path.rstrip('/')}"
    try:
        URLValidator(schemes=["http", "https"])(normalized)
    except ValidationError:
        raise ValidationError(f"{url} is not a valid URL: check the host name.") from None
    return normalized
