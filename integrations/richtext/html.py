"""Markdown -> sanitized HTML, for Azure DevOps descriptions and for our own pages.

Markdown is rendered with raw HTML disabled (so `<script>` is text), then nh3 keeps
only the tags Markdown produces, only http(s)/mailto URLs, no style and no event
handlers, and marks every link `rel="noopener noreferrer nofollow"`.
"""

import nh3

from .markdown_parser import markdown_parser

_TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "code", "pre",
        "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
_URL_SCHEMES = frozenset({"http", "https", "mailto"})


def markdown_to_safe_html(markdown: str) -> str:
    return nh3.clean(
        markdown_parser.render(markdown),
        tags=set(_TAGS),
        attributes=_ATTRIBUTES,
        url_schemes=set(_URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
