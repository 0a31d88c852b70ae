"""Atlassian Document Format -> Jira wiki markup (Jira Server / Data Center REST v2).

User text is escaped so it cannot become markup: every effect character is
backslash-escaped, a backslash itself is written as the entity `&#92;` (Jira reads
`\\\\` as a line break, so a literal backslash has no other spelling) and an '&' that
would start an entity as `&amp;`.
"""

import re

from . import adf
from .inline_writer import ENTITY_LIKE, MARK_ORDER, flatten_inline, render_checked, strip_breaks
from .wiki_reader import wiki_to_adf

_MARKS = frozenset({*MARK_ORDER, "code"})
_DELIMITERS = {"strong": "*", "em": "_", "strike": "-", "underline": "+"}
_ALWAYS_ESCAPED = frozenset("*_-+^~{}[]|!")
_LINE_START_SYNTAX = re.compile(r"(?:h[1-6]|bq)(?=\.)|#")
_CODE_TAG = re.compile(r"\{code", re.IGNORECASE)
_NOFORMAT_TAG = re.compile(r"\{noformat", re.IGNORECASE)
_LINE_BREAK = "\\\\"
_RESERVED_IN_LINK = "|[]{}\\"


def adf_to_wiki(document: object) -> str:
    """Jira wiki markup for an ADF document (or any ADF node)."""
    document = adf.bounded(document)
    return _blocks(adf.children(document) if adf.node_type(document) == "doc" else [document])


def _escape_text(value: str, line_start: bool) -> str:
    out = []
    for index, char in enumerate(value):
        if char == "\\":
            out.append("&#92;")
            continue
        if char == "&" and ENTITY_LIKE.match(value, index):
            out.append("&amp;")
            continue
        if char in _ALWAYS_ESCAPED or (char == "?" and "??" in value[max(index - 1, 0) : index + 2]):
            out.append("\\")
        out.append(char)
    escaped = "".join(out)
    if line_start:
        escaped = escaped.lstrip(" \t")
        syntax = _LINE_START_SYNTAX.match(escaped)
        if syntax:
            # 'h1.' and 'bq.' lose their meaning with an escaped dot, '#' with an escaped '#'.
            at = syntax.end() if escaped[0] != "#" else 0
            escaped = f"{escaped[:at]}\\{escaped[at:]}"
    return escaped


class _WikiSyntax:
    def open(self, mark: dict) -> str:
        if mark["type"] == "link":
            return "["
        if mark["type"] == "subsup":
            return "~" if mark["attrs"]["type"] == "sub" else "^"
        return _DELIMITERS[mark["type"]]

    def close(self, mark: dict) -> str:
        if mark["type"] == "link":
            return f"|{adf.encode_url(mark['attrs']['href'], _RESERVED_IN_LINK)}]"
        return self.open(mark)

    def text(self, value: str, line_start: bool) -> str:
        return _escape_text(value, line_start)

    def code(self, value: str) -> str:
        # Jira still reads effects inside {{...}}, so the content is escaped as well.
        return "{{" + _escape_text(value.replace("\n", " "), line_start=False) + "}}"

    def hard_break(self) -> str:
        return _LINE_BREAK

    def mention(self, node: dict) -> str:
        return "[~" + re.sub(r"[\[\]|\s\\]", "", node["attrs"]["id"]) + "]"


def _read_back(wiki: str) -> list[dict]:
    return adf.children(wiki_to_adf(wiki))


def _inline(nodes: list[dict]) -> str:
    flat = strip_breaks(flatten_inline(nodes, _MARKS, keep_mentions=True))
    return render_checked(flat, _WikiSyntax(), _read_back)


def _blocks(nodes: list[dict]) -> str:
    return "\n\n".join(rendered for rendered in (_block(node) for node in nodes) if rendered)


def _block(node: dict) -> str:
    kind = adf.node_type(node)
    if kind == "paragraph":
        return _inline(adf.children(node))
    if kind == "heading":
        return f"h{adf.heading_level(node)}. {_inline(adf.children(node))}".rstrip()
    if kind == "codeBlock":
        return _code_block(node)
    if kind in ("bulletList", "orderedList", "taskList", "decisionList"):
        return "\n".join(_list_lines(node, ""))
    if kind == "blockquote":
        return _quote(node)
    if kind == "rule":
        return "----"
    if kind == "table":
        return _table(node)
    if kind in ("blockCard", "embedCard"):
        return _inline([{"type": "inlineCard", "attrs": adf.attrs(node)}])
    return _unknown(node)


def _unknown(node: dict) -> str:
    content = adf.children(node)
    if adf.has_blocks(node):
        return _blocks(content)
    return _inline(content or [adf.text(adf.text_content(node))])


def _code_block(node: dict) -> str:
    code = adf.text_content(node)
    if not _CODE_TAG.search(code):
        language = adf.code_language(node)
        tag = f"{{code:{language}}}" if language else "{code}"
        return f"{tag}\n{code}\n{{code}}"
    if not _NOFORMAT_TAG.search(code):
        return f"{{noformat}}\n{code}\n{{noformat}}"
    # Code quoting both closing tags has no block spelling: monospace lines keep it inert.
    return _monospace_lines(code)


def _monospace_lines(code: str) -> str:
    return _inline(
        [node for line in code.split("\n") for node in (adf.hard_break(), adf.text(line, [{"type": "code"}]))]
    )


def _on_one_line(block: dict) -> str:
    """A block inside a list item or table cell, where wiki markup has no room for blocks."""
    if adf.node_type(block) == "codeBlock":
        return _monospace_lines(adf.text_content(block))
    return _inline(adf.join_blocks_inline([block]))


def _quote(node: dict) -> str:
    # {quote} does not nest: an inner closing tag would close the outer quote.
    content = adf.fit_blocks(adf.children(node), adf.QUOTE_BLOCKS)
    if len(content) == 1 and adf.node_type(content[0]) == "paragraph":
        return f"bq. {_inline(adf.children(content[0]))}".rstrip()
    return "{quote}\n" + _blocks(content) + "\n{quote}"


def _list_lines(node: dict, prefix: str) -> list[str]:
    marker = prefix + ("#" if adf.node_type(node) == "orderedList" else "*")
    lines = []
    for item in adf.children(node):
        content = adf.children(item)
        if adf.node_type(item) == "taskList":
            # A task list nests by following its parent task; wiki markup nests by a longer marker.
            lines += _list_lines(item, marker)
            continue
        if adf.node_type(item) == "taskItem":
            # Wiki markup has no checkbox: the task's state reads as a character.
            content = [adf.paragraph([adf.text(adf.CHECKBOXES[adf.task_state(item)]), *content])]
        elif adf.node_type(item) == "decisionItem":
            content = [adf.paragraph(content)]
        line_parts, nested = [], []
        for block in content:
            kind = adf.node_type(block)
            if kind in ("bulletList", "orderedList", "taskList", "decisionList"):
                nested += _list_lines(block, marker)
            else:
                line_parts.append(_on_one_line(block))
        # One wiki line per item: its paragraphs join with line breaks, nested lists follow.
        lines.append(f"{marker} {_LINE_BREAK.join(part for part in line_parts if part)}".rstrip())
        lines += nested
    return lines


def _table(node: dict) -> str:
    lines = []
    for row in adf.children(node):
        cells = []
        for cell in adf.children(row):
            separator = "||" if adf.node_type(cell) == "tableHeader" else "|"
            rendered = (_on_one_line(block) for block in adf.children(cell))
            cells.append((separator, _LINE_BREAK.join(part for part in rendered if part) or " "))
        if cells:
            lines.append("".join(separator + content for separator, content in cells) + cells[-1][0])
    return "\n".join(lines)
