"""Markdown -> sanitized HTML, for Azure DevOps descriptions and for our own pages.

Markdown is rendered with raw HTML disabled (so `<script>` is text), then nh3 keeps
only the tags Markdown produces (a task list's disabled checkbox included), only
http(s)/mailto URLs, no style and no event handlers, and marks every link
`rel="noopener noreferrer nofollow"`.

Rendering is pure Python and pages render the same texts on every view, so long texts are
rendered once and kept in Django's cache (Redis in production) under the hash of the text and
of the renderer's own code, and only their first MAX_MARKDOWN_CHARS are read as Markdown.
"""

import hashlib
import html
from importlib.metadata import version
from pathlib import Path

import nh3
from django.core.cache import cache

from .markdown_parser import markdown_parser

# Past this the rest of a text is shown as plain text: a long list costs markdown-it about 7 µs a
# character, so this keeps the first view of any text under a second (about 30 printed pages).
MAX_MARKDOWN_CHARS = 100_000
# Shorter texts render faster than a round trip to Redis, and a page may show hundreds of them.
CACHE_FROM_CHARS = 2_000
CACHE_SECONDS = 7 * 24 * 3600


def _renderer_fingerprint() -> str:
    """Changes whenever the rendering can: this package's code or the libraries' versions (no stale HTML)."""
    digest = hashlib.sha256(f"{version('markdown-it-py')} {version('nh3')}".encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(module.read_bytes())
    return digest.hexdigest()[:16]


_RENDERER = _renderer_fingerprint()

_TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "code", "pre",
        "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "input",
    }
)  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
# A task list's checkbox (the only input Markdown makes): shown, never a form control.
_ATTRIBUTE_VALUES = {"input": {"type": {"checkbox"}, "checked": {"checked"}}}
_FORCED_ATTRIBUTES = {"input": {"type": "checkbox", "disabled": "disabled"}}


def markdown_to_safe_html(markdown: str) -> str:
    if len(markdown) < CACHE_FROM_CHARS:
        return _render(markdown)
    text_hash = hashlib.sha256(markdown.encode("utf-8", "surrogatepass")).hexdigest()
    key = f"richtext:html:{_RENDERER}:{text_hash}"
    rendered = cache.get(key)
    if rendered is None:
        rendered = _render(markdown)
        cache.set(key, rendered, CACHE_SECONDS)
    return rendered


def _render(markdown: str) -> str:
    if len(markdown) <= MAX_MARKDOWN_CHARS:
        return _clean(markdown)
    cut = markdown.rfind("\n", 0, MAX_MARKDOWN_CHARS) + 1 or MAX_MARKDOWN_CHARS
    rest = markdown[cut:]
    notice = (
        f"The text goes on for {len(rest):,} more characters, shown as plain text: "
        f"only the first {MAX_MARKDOWN_CHARS:,} characters of a text are formatted."
    )
    return f"{_clean(markdown[:cut])}\n<p><em>{notice}</em></p>\n<pre>{html.escape(rest)}</pre>\n"


def _clean(markdown: str) -> str:
    return nh3.clean(
        markdown_parser.render(markdown),
        tags=set(_TAGS),
        attributes=_ATTRIBUTES,
        tag_attribute_values=_ATTRIBUTE_VALUES,
        set_tag_attribute_values=_FORCED_ATTRIBUTES,
        url_schemes=set(_URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
