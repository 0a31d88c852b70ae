"""Shared by the rich-text tests: the vendored ADF schema, the Markdown corpus, a
reader's-eye plain text of Markdown, and hypothesis strategies."""

import json
from pathlib import Path

import jsonschema
from hypothesis import strategies as st
from markdown_it import MarkdownIt

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "adf"
CORPUS = sorted((FIXTURES / "corpus").glob("*.md"))

_SCHEMA = json.loads((FIXTURES / "full.json").read_text())
assert _SCHEMA["$schema"] == "http://json-schema.org/draft-04/schema#"
ADF_VALIDATOR = jsonschema.Draft4Validator(_SCHEMA)

# Spelled out here rather than imported: the tests read Markdown as the product promises to.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def assert_valid_adf(document: dict) -> None:
    errors = [f"{list(error.absolute_path)}: {error.message[:200]}" for error in ADF_VALIDATOR.iter_errors(document)]
    assert not errors, "\n".join(errors)


def squash(text: str) -> str:
    return " ".join(text.split())


def _inline_text(tokens) -> str:
    parts: list[str] = []
    open_links: list[tuple[int, str]] = []
    for token in tokens:
        if token.type in ("text", "code_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif token.type == "image":
            # An image is shown as a link labelled with its alt text, else its address.
            parts.append(_inline_text(token.children or []) or token.attrGet("src"))
        elif token.type == "link_open":
            open_links.append((len(parts), token.attrGet("href")))
        elif token.type == "link_close":
            start, href = open_links.pop()
            if not "".join(parts[start:]):
                parts.append(href)
    return "".join(parts)


def markdown_text(markdown: str) -> str:
    """What a reader of the rendered Markdown sees, whitespace collapsed."""
    parts = []
    for token in _MARKDOWN.parse(markdown):
        if token.type == "inline":
            parts.append(_inline_text(token.children))
        elif token.type in ("fence", "code_block"):
            parts.append(token.content)
    return squash(" ".join(parts))


_SYNTAX_FRAGMENTS = [
    "# ", "## ", "- ", "* ", "+ ", "1. ", "7) ", "> ", "**", "*", "_", "__", "~~", "`", "``",
    "```py\n", "~~~\n", "\n", "\n\n", "  \n", "\\\n", "    ", "\t", "---", "***", "===",
    "| a | b |\n|---|---|\n", "| c |", "|", "[x](https://e.com/p)", "[", "](", ")", "<https://e.com>",
    "![i](https://e.com/i.png)", "![](https://e.com/i.png)", "[ref]", "\n[ref]: https://e.com/r\n",
    "\\", "&amp;", "&#35;", "&", "<b>", "<!-- c -->", "!", "#", "@alice", "1.", ":", "\"",
    # wiki markup in Markdown text must stay text
    "h1. ", "bq. ", "{code}", "{quote}", "{{x}}", "[~bob]", "[a|https://e.com]", "||", "^", "+",
    "-", "??", "{", "}", "!img.png!", "----",
    # hostile input
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
    "[x](data:text/html,<b>)", "![x](data:image/png;base64,AA)", "\u0000", "\u202e",
]  # fmt: skip

markdown_documents = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="ab1 *_`~#>-+=|[]()!<&\\\n\t.:{}^?é", max_size=80),
    st.lists(
        st.one_of(st.sampled_from(_SYNTAX_FRAGMENTS), st.text(alphabet="ab é", min_size=1, max_size=4)),
        max_size=30,
    ).map("".join),
)

_NODE_TYPES = [
    "doc", "paragraph", "text", "heading", "bulletList", "orderedList", "listItem", "blockquote",
    "codeBlock", "rule", "table", "tableRow", "tableHeader", "tableCell", "hardBreak", "mention",
    "emoji", "status", "date", "inlineCard", "blockCard", "panel", "expand", "taskList", "taskItem",
    "mediaSingle", "media", "somethingNew", "", None, 7,
]  # fmt: skip
_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8))
_attrs = st.dictionaries(
    st.sampled_from(["level", "order", "language", "id", "text", "url", "href", "title", "timestamp", "type", "state"]),
    _json_scalars,
    max_size=3,
)
_marks = st.lists(
    st.one_of(
        st.fixed_dictionaries({"type": st.sampled_from(["strong", "em", "strike", "code", "underline", "bogus"])}),
        st.fixed_dictionaries({"type": st.just("link"), "attrs": _attrs}),
        _json_scalars,
    ),
    max_size=3,
)
_leaves = st.fixed_dictionaries(
    {"type": st.sampled_from(_NODE_TYPES)},
    optional={
        "text": _json_scalars,
        "marks": st.one_of(_marks, _json_scalars),
        "attrs": st.one_of(_attrs, _json_scalars),
    },
)
any_adf = st.recursive(
    _leaves,
    lambda inner: st.fixed_dictionaries(
        {"type": st.sampled_from(_NODE_TYPES)},
        optional={
            "content": st.one_of(st.lists(st.one_of(inner, _json_scalars), max_size=4), _json_scalars),
            "attrs": _attrs,
        },
    ),
    max_leaves=25,
)
