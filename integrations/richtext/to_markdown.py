"""Atlassian Document Format -> Markdown, for comments and descriptions coming from Jira.

Whatever arrives, the result is Markdown whose visible text is the document's text:
characters Markdown would read as syntax are escaped, nodes without a Markdown form
(panels, expands, task lists, status lozenges, unknown future nodes) degrade to their
contents or text, and malformed nodes are skipped rather than raising.
"""

import re

from . import adf
from .from_markdown import markdown_to_adf
from .inline_writer import ENTITY_LIKE, flatten_inline, render_checked, strip_breaks
from .markdown_parser import MAX_NESTING

_MARKS = frozenset({"link", "strong", "em", "strike", "code"})
_DELIMITERS = {"strong": "**", "em": "*", "strike": "~~"}
_ALWAYS_ESCAPED = frozenset("\\`*[]<|~")
_LINE_START_SYNTAX = re.compile(r"[#>+=-]|\d+[.)]")
_BACKTICK_RUN = re.compile(r"`+")
_CLOSING_HASHES = re.compile(r"(^|[ \t])(#+)[ \t]*$")
_RESERVED_IN_DESTINATION = "<>()\\"
# CommonMark reads at most nine digits as an ordered list number.
_MAX_LIST_NUMBER = 999_999_999
# What is left of a container nested too deep for the parser to read it back.
_FLAT_BLOCKS = frozenset({"paragraph", "heading", "codeBlock", "rule", "table"})
# Parser nesting levels a list item or quote adds around its content.
_LIST_LEVELS = 2
_QUOTE_LEVELS = 1
_LISTS = frozenset({"bulletList", "orderedList", "taskList", "decisionList"})


def adf_to_markdown(document: object) -> str:
    """Markdown for an ADF document (or any ADF node)."""
    document = adf.bounded(document)
    return _blocks(adf.children(document) if adf.node_type(document) == "doc" else [document], MAX_NESTING)


def _escape_text(value: str, line_start: bool) -> str:
    out = []
    for index, char in enumerate(value):
        intraword = 0 < index < len(value) - 1 and value[index - 1].isalnum() and value[index + 1].isalnum()
        if (
            char in _ALWAYS_ESCAPED
            or (char == "_" and not intraword)
            or (char == "&" and ENTITY_LIKE.match(value, index))
            # '!' right before a link would turn the link into an image.
            or (char == "!" and index == len(value) - 1)
        ):
            out.append("\\")
        out.append(char)
    escaped = "".join(out)
    if line_start:
        escaped = escaped.lstrip(" \t")
        syntax = _LINE_START_SYNTAX.match(escaped)
        if syntax:
            at = syntax.end() - 1
            escaped = f"{escaped[:at]}\\{escaped[at:]}"
    return escaped


def _code_span(value: str, in_table: bool) -> str:
    value = value.replace("\n", " ")
    if in_table:
        # A table row is split at '|' before code spans are read, backticks or not.
        value = value.replace("|", "\\|")
    fence = "`" * (max((len(run) for run in _BACKTICK_RUN.findall(value)), default=0) + 1)
    if value.startswith("`") or value.endswith("`") or (value[0] == value[-1] == " " and value.strip(" ")):
        value = f" {value} "
    return f"{fence}{value}{fence}"


class _MarkdownSyntax:
    """Inline Markdown spelling; in a table or heading a line break must stay on the line."""

    def __init__(self, single_line: bool = False, in_table: bool = False):
        self.single_line = single_line
        self.in_table = in_table

    def open(self, mark: dict) -> str:
        return "[" if mark["type"] == "link" else _DELIMITERS[mark["type"]]

    def close(self, mark: dict) -> str:
        if mark["type"] != "link":
            return _DELIMITERS[mark["type"]]
        title = " ".join(mark["attrs"].get("title", "").replace("\\", "\\\\").replace('"', '\\"').split())
        quoted = f' "{title}"' if title else ""
        return f"]({adf.encode_url(mark['attrs']['href'], _RESERVED_IN_DESTINATION)}{quoted})"

    def text(self, value: str, line_start: bool) -> str:
        return _escape_text(value, line_start)

    def code(self, value: str) -> str:
        return _code_span(value, self.in_table)

    def hard_break(self) -> str:
        return " " if self.single_line else "\\\n"


def _read_back(markdown: str) -> list[dict]:
    return adf.children(markdown_to_adf(markdown))


def _inline(nodes: list[dict], syntax: _MarkdownSyntax) -> str:
    flat = strip_breaks(flatten_inline(nodes, _MARKS, keep_mentions=False))
    return render_checked(flat, syntax, _read_back)


def _rendered(nodes: list[dict], room: int) -> list[tuple[dict, str]]:
    """Each block that shows something, with its Markdown.

    `room` is how many nesting levels the parser has left. Two lists in a row would read
    back as one, so every second one of a kind takes the other bullet ('*', or ')').
    """
    rendered: list[tuple[dict, str]] = []
    previous, previous_alternate = "", False
    for node in nodes:
        kind = adf.node_type(node)
        follows_list = kind in _LISTS and previous in _LISTS and _ordered(kind) == _ordered(previous)
        alternate = follows_list and not previous_alternate
        markdown = _block(node, room, alternate)
        if markdown:
            rendered.append((node, markdown))
            previous, previous_alternate = kind, alternate
    return rendered


def _ordered(kind: str) -> bool:
    return kind == "orderedList"


def _blocks(nodes: list[dict], room: int) -> str:
    return "\n\n".join(markdown for _, markdown in _rendered(nodes, room))


def _block(node: dict, room: int, alternate: bool = False) -> str:
    kind = adf.node_type(node)
    levels = _LIST_LEVELS if kind in _LISTS else _QUOTE_LEVELS if kind == "blockquote" else 0
    if levels >= room:
        return _blocks(adf.fit_blocks([node], _FLAT_BLOCKS), room)
    if kind == "paragraph":
        return _inline(adf.children(node), _MarkdownSyntax())
    if kind == "heading":
        return _heading(node)
    if kind == "codeBlock":
        return _code_block(node)
    if kind in _LISTS:
        return _list(node, room - _LIST_LEVELS, alternate)
    if kind == "blockquote":
        quoted = _blocks(adf.children(node), room - _QUOTE_LEVELS)
        return _prefix_lines(quoted, "> ", ">") if quoted else ""
    if kind == "rule":
        return "---"
    if kind == "table":
        return _table(node)
    if kind in ("blockCard", "embedCard"):
        return _inline([{"type": "inlineCard", "attrs": adf.attrs(node)}], _MarkdownSyntax())
    if kind in ("expand", "nestedExpand") and adf.attrs(node).get("title"):
        title = adf.paragraph([adf.text(str(adf.attrs(node)["title"]), [{"type": "strong"}])])
        return _blocks([title, *adf.children(node)], room)
    return _unknown(node, room)


def _unknown(node: dict, room: int) -> str:
    """Panels, layouts, extensions and future nodes: their blocks, or their text."""
    content = adf.children(node)
    if adf.has_blocks(node):
        return _blocks(content, room)
    if content:
        return _inline(content, _MarkdownSyntax())
    return _inline([adf.text(adf.text_content(node))], _MarkdownSyntax())


def _heading(node: dict) -> str:
    content = _inline(adf.children(node), _MarkdownSyntax(single_line=True))
    # A trailing run of '#' would be read as the optional closing sequence.
    content = _CLOSING_HASHES.sub(lambda found: f"{found.group(1)}\\{found.group(2)}", content)
    return f"{'#' * adf.heading_level(node)} {content}".rstrip()


def _code_block(node: dict) -> str:
    code = adf.text_content(node)
    fence = "`" * max(3, max((len(run) for run in _BACKTICK_RUN.findall(code)), default=0) + 1)
    info = adf.code_language(node)
    return f"{fence}{info}\n{code}\n{fence}" if code else f"{fence}{info}\n{fence}"


def _prefix_lines(body: str, prefix: str, blank_prefix: str) -> str:
    return "\n".join(prefix + line if line else blank_prefix for line in body.split("\n"))


def _item_body(item: dict, room: int) -> str:
    kind = adf.node_type(item)
    content = adf.children(item)
    if kind in ("taskItem", "decisionItem"):
        done = "[x] " if adf.attrs(item).get("state") in ("DONE", "DECIDED") else "[ ] "
        content = [adf.paragraph([adf.text(done), *content])]
    parts: list[str] = []
    for block, markdown in _rendered(content, room):
        if parts and not _may_follow_tightly(block, markdown):
            parts.append("")
        parts.append(markdown)
    return "\n".join(parts)


def _may_follow_tightly(block: dict, rendered: str) -> bool:
    """A nested list may start on the line after its parent item's text.

    Only a bullet or a '1.' list can interrupt a paragraph; anything else needs a blank line.
    """
    return adf.node_type(block) == "bulletList" or rendered.startswith("1. ")


def _first_number(ordered_list: dict, count: int) -> int:
    order = adf.attrs(ordered_list).get("order")
    valid = isinstance(order, (int, float)) and not isinstance(order, bool)
    return int(order) if valid and 0 <= order <= _MAX_LIST_NUMBER - count else 1


def _list(node: dict, room: int, alternate: bool) -> str:
    items = adf.children(node)
    start = _first_number(node, len(items)) if adf.node_type(node) == "orderedList" else None
    # Empty items have nothing to show, and '- - -' (nested empty items) reads as a rule.
    bodies = [body for body in (_item_body(item, room) for item in items) if body]
    rendered = []
    for index, body in enumerate(bodies):
        bullet = "*" if alternate else "-"
        marker = bullet if start is None else f"{start + index}{')' if alternate else '.'}"
        indented = _prefix_lines(body, " " * (len(marker) + 1), "")
        rendered.append(f"{marker}{indented[len(marker) :]}")
    loose = any("\n\n" in item for item in rendered)
    return ("\n\n" if loose else "\n").join(rendered)


def _table(node: dict) -> str:
    syntax = _MarkdownSyntax(single_line=True, in_table=True)
    rows = []
    for row in adf.children(node):
        cells = [adf.join_blocks_inline(adf.children(cell)) for cell in adf.children(row)]
        if cells:
            rows.append([_inline(cell, syntax) for cell in cells])
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    lines = ["| " + " | ".join(row + [""] * (width - len(row))) + " |" for row in rows]
    # Markdown tables always have a header row; the first row takes that place.
    lines.insert(1, "|" + "|".join(["---"] * width) + "|")
    return "\n".join(lines)
