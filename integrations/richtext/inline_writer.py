"""Writes ADF inline content in a delimiter syntax (Markdown, Jira wiki markup).

Both writers share the hard part: turning per-node mark sets into properly nested
open/close delimiters, keeping whitespace outside delimiters (both syntaxes refuse
`** bold**`), and falling back to plain text where a syntax cannot express a mark
boundary, so delimiter characters never leak into what the reader sees.
"""

import re
from collections.abc import Callable, Iterable
from typing import Protocol

from . import adf

# An '&' here would be read as the start of a character reference.
ENTITY_LIKE = re.compile(r"&#?[A-Za-z0-9]+;")
# Outermost first: a link wraps emphasis, emphasis wraps strike and so on.
MARK_ORDER = ("link", "strong", "em", "strike", "underline", "subsup")
_EMPHASIS = frozenset(MARK_ORDER) - {"link"}


class InlineSyntax(Protocol):
    def open(self, mark: dict) -> str: ...

    def close(self, mark: dict) -> str: ...

    def text(self, value: str, line_start: bool) -> str: ...

    def code(self, value: str) -> str: ...

    def hard_break(self) -> str: ...

    def mention(self, node: dict) -> str: ...


def _clean_mark(mark: object) -> dict | None:
    kind = adf.node_type(mark)
    if kind == "link":
        href = adf.attrs(mark).get("href")
        title = adf.attrs(mark).get("title")
        return adf.link_mark(href, title if isinstance(title, str) else "") if adf.safe_href(href) else None
    if kind == "subsup":
        return {"type": "subsup", "attrs": {"type": "sub" if adf.attrs(mark).get("type") == "sub" else "sup"}}
    if kind in _EMPHASIS or kind == "code":
        return {"type": kind}
    return None


def _clean_marks(node: dict, supported: frozenset[str]) -> list[dict]:
    marks = node.get("marks")
    cleaned: dict[str, dict] = {}
    for mark in marks if isinstance(marks, list) else []:
        mark = _clean_mark(mark)
        if mark and mark["type"] in supported and mark["type"] not in cleaned:
            cleaned[mark["type"]] = mark
    return list(cleaned.values())


def _lines_as_nodes(value: str, marks: list[dict]) -> list[dict]:
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    nodes = [adf.text(lines[0], marks)]
    for line in lines[1:]:
        nodes += [adf.hard_break(), adf.text(line, marks)]
    return nodes


def _split_space(value: str) -> tuple[str, str, str]:
    start = 0
    while start < len(value) and adf.is_space(value[start]):
        start += 1
    end = len(value)
    while end > start and adf.is_space(value[end - 1]):
        end -= 1
    return value[:start], value[start:end], value[end:]


def _marks_of(node: dict | None) -> list[dict]:
    return node.get("marks", []) if adf.node_type(node) == "text" else []


def _shared(marks: list[dict], *others: list[dict]) -> list[dict]:
    return [mark for mark in marks if all(mark in other for other in others)]


def _space_outside_marks(nodes: list[dict]) -> list[dict]:
    """Moves leading/trailing whitespace of marked text out of marks its neighbour lacks."""
    result = []
    for index, node in enumerate(nodes):
        marks = _marks_of(node)
        if adf.node_type(node) != "text" or not marks or {"type": "code"} in marks:
            result.append(node)
            continue
        before = _marks_of(nodes[index - 1]) if index else []
        after = _marks_of(nodes[index + 1]) if index + 1 < len(nodes) else []
        lead, core, trail = _split_space(node["text"])
        if not core:
            result.append(adf.text(node["text"], _shared(marks, before, after)))
            continue
        result += [
            adf.text(lead, _shared(marks, before)),
            adf.text(core, marks),
            adf.text(trail, _shared(marks, after)),
        ]
    return adf.merge_text(result)


def flatten_inline(nodes: Iterable[dict], supported_marks: frozenset[str], keep_mentions: bool) -> list[dict]:
    """Reduces any inline ADF to text, hard breaks and (optionally) mentions.

    Unknown inline nodes become their text, line breaks inside text become hard breaks,
    marks the target syntax cannot express or that are unsafe (a `javascript:` link) go.
    """
    flat: list[dict] = []
    for node in nodes:
        kind = adf.node_type(node)
        if kind == "text":
            value = node.get("text")
            if isinstance(value, str):
                flat += _lines_as_nodes(value, _clean_marks(node, supported_marks))
        elif kind == "hardBreak":
            flat.append(adf.hard_break())
        elif kind == "mention" and keep_mentions and adf.attrs(node).get("id"):
            flat.append(adf.mention(str(adf.attrs(node)["id"]), adf.mention_label(node)))
        elif kind == "inlineCard" and "link" in supported_marks and adf.safe_href(adf.atom_text(node)):
            flat.append(adf.text(adf.atom_text(node), [adf.link_mark(adf.atom_text(node))]))
        else:
            flat += _lines_as_nodes(adf.text_content(node), [])
    return _space_outside_marks(adf.merge_text(flat))


def strip_breaks(nodes: list[dict]) -> list[dict]:
    """Drops hard breaks and blank text at both ends of a line of inline content."""

    def blank(node: dict) -> bool:
        if adf.node_type(node) == "hardBreak":
            return True
        is_text = adf.node_type(node) == "text"
        return is_text and not node["text"].strip() and {"type": "code"} not in _marks_of(node)

    start, end = 0, len(nodes)
    while start < end and blank(nodes[start]):
        start += 1
    while end > start and blank(nodes[end - 1]):
        end -= 1
    return nodes[start:end]


def _rank(mark: dict) -> int:
    return MARK_ORDER.index(mark["type"])


def render_inline(nodes: list[dict], syntax: InlineSyntax, emphasis: bool = True) -> str:
    """Renders flattened inline nodes; with `emphasis` off only links and code remain."""
    out: list[str] = []
    stack: list[dict] = []

    def close_to(depth: int) -> None:
        while len(stack) > depth:
            out.append(syntax.close(stack.pop()))

    line_begin = 0
    for node in nodes:
        marks = [mark for mark in _marks_of(node) if mark["type"] != "code"]
        wanted = [mark for mark in marks if emphasis or mark["type"] == "link"]
        keep = 0
        while keep < len(stack) and stack[keep] in wanted:
            keep += 1
        close_to(keep)
        for mark in sorted((mark for mark in wanted if mark not in stack), key=_rank):
            out.append(syntax.open(mark))
            stack.append(mark)
        kind = adf.node_type(node)
        if kind == "hardBreak":
            spelled = syntax.hard_break()
            out.append(spelled)
            # A break written as a space (in a heading or table cell) keeps the line going.
            if "\n" in spelled:
                line_begin = len(out)
        elif kind == "mention":
            out.append(syntax.mention(node))
        elif {"type": "code"} in _marks_of(node):
            out.append(syntax.code(node["text"]))
        else:
            # Block syntax (`# `, `1. `, `h1. `) only matters where a line begins with text.
            out.append(syntax.text(node["text"], line_start=not "".join(out[line_begin:])))
    close_to(0)
    return "".join(out)


def signature(nodes: Iterable[dict]) -> str:
    """Whitespace-normalized visible text, mentions by user id: what must survive writing."""
    parts = []
    for node in nodes:
        if adf.node_type(node) == "mention":
            parts.append(f"\ufffc{adf.attrs(node).get('id')}\ufffc")
        elif adf.node_type(node) in ("text", "hardBreak") or adf.node_type(node) in adf.INLINE_ATOMS:
            parts.append(adf.text_content(node))
        else:
            parts.append(" " + signature(adf.children(node)) + " ")
    return " ".join("".join(parts).split())


def render_checked(nodes: list[dict], syntax: InlineSyntax, read_back: Callable[[str], list[dict]]) -> str:
    """Renders, then reads the result back; if the text changed, renders without emphasis.

    Some mark boundaries have no spelling: CommonMark will not close `**Note:**text`
    and Jira needs a word boundary around `*bold*`. Losing the emphasis there is better
    than showing the reader stray asterisks.
    """
    rendered = render_inline(nodes, syntax)
    if signature(read_back(rendered)) == signature(nodes):
        return rendered
    return render_inline(nodes, syntax, emphasis=False)
