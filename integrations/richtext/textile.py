"""Markdown <-> Textile, as Redmine writes it (its default text formatting).

Outbound, Markdown is read into ADF and written as Textile: headings ``h2.``, ``*strong*``, ``_em_``,
``-strike-``, ``+underline+``, ``@code@``, links ``"text":url``, lists ``*``/``#``, ``bq.`` quotes,
``<pre>`` code and ``|`` tables. User text cannot become markup: a character Textile reads as an
effect, where it could open or close one (next to a space, punctuation or the end of the text), is
written as its numeric character reference (``&#42;``), and so is ``<`` (Redmine would read a tag).

Inbound (notes people wrote in Redmine) is a line-by-line reading of the same constructs into
Markdown; character references are decoded. Anything else stays as written, which reads fine.
"""

import html
import re

from . import adf
from .from_markdown import markdown_to_adf
from .inline_writer import MARK_ORDER, flatten_inline, render_inline, strip_breaks

_MARKS = frozenset({*MARK_ORDER, "code"})
_DELIMITERS = {"strong": "*", "em": "_", "strike": "-", "underline": "+"}
_EFFECTS = frozenset('*_-+^~@"!%[]{}|=#')
_LINE_START_SYNTAX = re.compile(r"(?:h[1-6]|bq|p|pre|bc|fn\d+)[(<>={.]|[*#]+ |\|")
_LIST = frozenset({"bulletList", "orderedList", "taskList", "decisionList"})


def markdown_to_textile(markdown: str) -> str:
    """Textile for testmanager's Markdown."""
    document = adf.bounded(markdown_to_adf(markdown))
    return _blocks(adf.children(document))


def _boundary(value: str, index: int) -> bool:
    return index < 0 or index >= len(value) or not value[index].isalnum()


def _escape_text(value: str, line_start: bool) -> str:
    out = []
    for index, char in enumerate(value):
        if (
            char == "<"
            or char == "&"
            or (char in _EFFECTS and (_boundary(value, index - 1) or _boundary(value, index + 1)))
        ):
            out.append(f"&#{ord(char)};")
        else:
            out.append(char)
    escaped = "".join(out)
    if line_start and _LINE_START_SYNTAX.match(escaped.lstrip()):
        escaped = f"&#{ord(escaped.lstrip()[0])};{escaped.lstrip()[1:]}"
    return escaped


class _TextileSyntax:
    def open(self, mark: dict) -> str:
        if mark["type"] == "link":
            return '"'
        if mark["type"] == "subsup":
            return "~" if mark["attrs"]["type"] == "sub" else "^"
        return _DELIMITERS[mark["type"]]

    def close(self, mark: dict) -> str:
        if mark["type"] == "link":
            return '":' + adf.encode_url(mark["attrs"]["href"], ' "<>')
        return self.open(mark)

    def text(self, value: str, line_start: bool) -> str:
        return _escape_text(value, line_start)

    def code(self, value: str) -> str:
        return "@" + _escape_text(value.replace("\n", " "), line_start=False) + "@"

    def hard_break(self) -> str:
        return "\n"

    def mention(self, node: dict) -> str:
        return _escape_text(adf.mention_label(node), line_start=False)


def _inline(nodes: list[dict]) -> str:
    return render_inline(strip_breaks(flatten_inline(nodes, _MARKS, keep_mentions=True)), _TextileSyntax())


def _blocks(nodes: list[dict]) -> str:
    return "\n\n".join(rendered for rendered in (_block(node) for node in nodes) if rendered)


def _block(node: dict) -> str:
    kind = adf.node_type(node)
    if kind == "paragraph":
        return _inline(adf.children(node))
    if kind == "heading":
        return f"h{adf.heading_level(node)}. {_inline(adf.children(node))}".rstrip()
    if kind == "codeBlock":
        return "<pre>" + html.escape(adf.text_content(node), quote=False) + "</pre>"
    if kind in _LIST:
        return "\n".join(_list_lines(node, ""))
    if kind == "blockquote":
        content = adf.fit_blocks(adf.children(node), adf.QUOTE_BLOCKS)
        return "\n\n".join(f"bq. {_on_one_line(block)}".rstrip() for block in content)
    if kind == "rule":
        return "---"
    if kind == "table":
        return _table(node)
    content = adf.children(node)
    if adf.has_blocks(node):
        return _blocks(content)
    return _inline(content or [adf.text(adf.text_content(node))])


def _on_one_line(block: dict) -> str:
    """A block where Textile has room for one line (a list item, a quote, a table cell)."""
    if adf.node_type(block) == "codeBlock":
        return _inline([adf.text(adf.text_content(block).replace("\n", " "), [{"type": "code"}])])
    return _inline(adf.join_blocks_inline([block])).replace("\n", " ")


def _list_lines(node: dict, prefix: str) -> list[str]:
    marker = prefix + ("#" if adf.node_type(node) == "orderedList" else "*")
    lines = []
    for item in adf.children(node):
        content = adf.children(item)
        if adf.node_type(item) == "taskList":
            lines += _list_lines(item, marker)
            continue
        if adf.node_type(item) == "taskItem":
            content = [adf.paragraph([adf.text(adf.CHECKBOXES[adf.task_state(item)]), *content])]
        elif adf.node_type(item) == "decisionItem":
            content = [adf.paragraph(content)]
        parts, nested = [], []
        for block in content:
            if adf.node_type(block) in _LIST:
                nested += _list_lines(block, marker)
            else:
                parts.append(_on_one_line(block))
        lines.append(f"{marker} {' '.join(part for part in parts if part)}".rstrip())
        lines += nested
    return lines


def _table(node: dict) -> str:
    lines = []
    for row in adf.children(node):
        cells = []
        for cell in adf.children(row):
            header = "_. " if adf.node_type(cell) == "tableHeader" else ""
            text = " ".join(part for part in (_on_one_line(block) for block in adf.children(cell)) if part)
            cells.append(header + (text or " "))
        if cells:
            lines.append("|" + "|".join(cells) + "|")
    return "\n".join(lines)


# --- Textile -> Markdown ------------------------------------------------------------------

_HEADING = re.compile(r"h([1-6])\.\s+(.*)")
_QUOTE = re.compile(r"bq\.\s+(.*)")
_LIST_ITEM = re.compile(r"([*#]+)\s+(.*)")
_INLINE_RULES = (
    (re.compile(r'"([^"\n]+)":([^\s&"<>]*[^\s&"<>.,;:!?)])'), r"[\1](\2)"),
    (re.compile(r"(?<![\w*])\*([^*\s](?:[^*\n]*[^*\s])?)\*(?![\w*])"), r"**\1**"),
    (re.compile(r"(?<![\w_])_([^_\s](?:[^_\n]*[^_\s])?)_(?![\w_])"), r"*\1*"),
    (re.compile(r"(?<![\w-])-([^-\s](?:[^-\n]*[^-\s])?)-(?![\w-])"), r"~~\1~~"),
    (re.compile(r"(?<![\w@])@([^@\n]+)@(?![\w@])"), r"`\1`"),
)
_PRE = re.compile(r"<pre>(?:<code[^>]*>)?(.*?)(?:</code>)?</pre>", re.DOTALL)


def textile_to_markdown(textile: str) -> str:
    """Markdown for Textile, such as a note read from Redmine."""
    pieces = []
    position = 0
    for found in _PRE.finditer(textile):
        pieces.append(_lines_to_markdown(textile[position : found.start()]))
        pieces.append("```\n" + html.unescape(found.group(1).strip("\n")) + "\n```")
        position = found.end()
    pieces.append(_lines_to_markdown(textile[position:]))
    return "\n\n".join(piece.strip("\n") for piece in pieces if piece.strip())


def _lines_to_markdown(textile: str) -> str:
    lines = []
    for line in textile.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if found := _HEADING.fullmatch(stripped):
            lines.append("#" * int(found[1]) + " " + _inline_to_markdown(found[2]))
        elif found := _QUOTE.fullmatch(stripped):
            lines.append("> " + _inline_to_markdown(found[1]))
        elif found := _LIST_ITEM.fullmatch(stripped):
            depth, ordered = len(found[1]) - 1, found[1].endswith("#")
            lines.append("   " * depth + ("1. " if ordered else "- ") + _inline_to_markdown(found[2]))
        else:
            lines.append(_inline_to_markdown(line))
    return "\n".join(lines)


def _inline_to_markdown(text: str) -> str:
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    return html.unescape(text)
