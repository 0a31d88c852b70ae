"""Markdown -> sanitized HTML, for Azure DevOps descriptions and for our own pages.

Markdown is rendered with raw HTML disabled (so `<script>` is text), then nh3 keeps
only the tags Markdown produces (a task list's disabled checkbox included), only
http(s)/mailto URLs, no style and no event handlers, and marks every link
`rel="noopener noreferrer nofollow"`.
"""

import nh3

from .markdown_parser import markdown_parser

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
