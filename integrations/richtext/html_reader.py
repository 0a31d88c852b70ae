"""HTML -> Atlassian Document Format, for descriptions and comments from Azure DevOps.

HTML is only read, never passed on: tags become structure and marks, everything else
becomes text, and the content of scripts and styles is dropped. Tag soup is tolerated
(unclosed and stray tags), as browsers tolerate it.
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from . import adf

_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "wbr", "col", "area", "base", "source", "embed"})
_DROPPED = frozenset({"script", "style", "template", "head", "title", "noscript", "iframe", "object", "svg"})
_BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "main", "nav", "aside", "figure", "figcaption",
        "address", "details", "summary", "center", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
        "ul", "ol", "li", "blockquote", "pre", "table", "caption", "thead", "tbody", "tfoot", "tr", "td",
        "th", "hr",
    }
)  # fmt: skip
_MARKS = {
    "b": {"type": "strong"},
    "strong": {"type": "strong"},
    "i": {"type": "em"},
    "em": {"type": "em"},
    "cite": {"type": "em"},
    "s": {"type": "strike"},
    "strike": {"type": "strike"},
    "del": {"type": "strike"},
    "u": {"type": "underline"},
    "ins": {"type": "underline"},
    "sub": {"type": "subsup", "attrs": {"type": "sub"}},
    "sup": {"type": "subsup", "attrs": {"type": "sup"}},
}
_CODE = frozenset({"code", "tt", "kbd", "samp"})
# An opening tag closes these still-open elements first, as in browsers.
_CLOSED_BY = {
    "li": {"li"},
    "p": {"p"},
    "tr": {"tr", "td", "th"},
    "td": {"td", "th"},
    "th": {"td", "th"},
    "dt": {"dt", "dd"},
    "dd": {"dt", "dd"},
}
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_LANGUAGE_CLASS = re.compile(r"(?:^|\s)(?:language|lang)-([\w+#.-]+)")


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list["_Element | str"] = field(default_factory=list)


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = _Element("root")
        self.open = [self.root]
        self.dropping = 0

    def handle_starttag(self, tag, attrs):
        if self.dropping or tag in _DROPPED:
            self.dropping += tag in _DROPPED and tag not in _VOID
            return
        while self.open[-1].tag in _CLOSED_BY.get(tag, ()):
            self.open.pop()
        if len(self.open) > adf.MAX_DEPTH:
            # Content nested deeper than any real document stays in the deepest element.
            return
        element = _Element(tag, {name: value or "" for name, value in attrs})
        self.open[-1].children.append(element)
        if tag not in _VOID:
            self.open.append(element)

    def handle_startendtag(self, tag, attrs):
        if tag in _DROPPED:
            return
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and not self.dropping:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if self.dropping:
            self.dropping -= tag in _DROPPED
            return
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data):
        if not self.dropping:
            self.open[-1].children.append(data)


def html_to_adf(markup: str) -> dict:
    builder = _TreeBuilder()
    builder.feed(markup)
    builder.close()
    return adf.doc(_blocks(builder.root.children))


def _is_block(node: "_Element | str") -> bool:
    return isinstance(node, _Element) and node.tag in _BLOCKS


def _trimmed(inline: list[dict]) -> list[dict]:
    """Paragraph content without the whitespace HTML would not show at its edges."""
    inline = adf.merge_text(inline)
    if inline and adf.node_type(inline[0]) == "text":
        inline[0] = {**inline[0], "text": inline[0]["text"].lstrip(" ")}
    if inline and adf.node_type(inline[-1]) == "text":
        inline[-1] = {**inline[-1], "text": inline[-1]["text"].rstrip(" ")}
    return adf.merge_text(inline)


def _blocks(nodes: list["_Element | str"]) -> list[dict]:
    blocks: list[dict] = []
    run: list[dict] = []

    def flush() -> None:
        content = _trimmed(run)
        if content:
            blocks.append(adf.paragraph(content))
        run.clear()

    for node in nodes:
        if _is_block(node):
            flush()
            blocks += _block(node)
        else:
            run += _inline(node, [])
    flush()
    return blocks


def _block(element: _Element) -> list[dict]:
    tag = element.tag
    if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
        return [{"type": "heading", "attrs": {"level": int(tag[1])}, "content": _trimmed(_inline(element, []))}]
    if tag in ("ul", "ol"):
        return _list(element)
    if tag == "blockquote":
        content = adf.fit_blocks(_blocks(element.children), adf.QUOTE_BLOCKS)
        return [{"type": "blockquote", "content": content}] if content else []
    if tag == "pre":
        return [_code_block(element)]
    if tag == "table":
        return _table(element)
    if tag == "hr":
        return [{"type": "rule"}]
    return _blocks(element.children)


def _text_of(node: "_Element | str") -> str:
    if isinstance(node, str):
        return node
    if node.tag == "br":
        return "\n"
    return "".join(_text_of(child) for child in node.children)


def _code_block(pre: _Element) -> dict:
    # HTML ignores a newline right after <pre>; the last one only ends the last line.
    code = _text_of(pre).removeprefix("\n").removesuffix("\n")
    block = {"type": "codeBlock", "content": [adf.text(code)] if code else []}
    classes = " ".join(node.attrs.get("class", "") for node in [pre, *pre.children] if isinstance(node, _Element))
    language = _LANGUAGE_CLASS.search(classes)
    if language:
        block["attrs"] = {"language": language.group(1)}
    return block


def _list(element: _Element) -> list[dict]:
    items = []
    for child in element.children:
        if isinstance(child, _Element) and child.tag == "li":
            items.append(adf.list_item(_blocks(child.children)))
        elif _text_of(child).strip():
            items.append(adf.list_item(_blocks([child])))
    if not items:
        return []
    if element.tag == "ul":
        return [{"type": "bulletList", "content": items}]
    start = element.attrs.get("start", "1").strip()
    return [{"type": "orderedList", "attrs": {"order": int(start) if start.isdigit() else 1}, "content": items}]


def _rows(element: _Element) -> list[_Element]:
    rows = []
    for child in element.children:
        if isinstance(child, _Element) and child.tag == "tr":
            rows.append(child)
        elif isinstance(child, _Element) and child.tag in ("thead", "tbody", "tfoot"):
            rows += _rows(child)
    return rows


def _table(element: _Element) -> list[dict]:
    rows = []
    for row in _rows(element):
        cells = []
        for cell in row.children:
            if isinstance(cell, _Element) and cell.tag in ("td", "th"):
                content = adf.fit_blocks(_blocks(cell.children), adf.CELL_BLOCKS) or [adf.paragraph([])]
                cells.append({"type": "tableHeader" if cell.tag == "th" else "tableCell", "content": content})
        if cells:
            rows.append({"type": "tableRow", "content": cells})
    return [{"type": "table", "content": rows}] if rows else []


def _with_mark(marks: list[dict], mark: dict) -> list[dict]:
    return marks if any(existing["type"] == mark["type"] for existing in marks) else [*marks, mark]


def _inline(node: "_Element | str", marks: list[dict]) -> list[dict]:
    if isinstance(node, str):
        return [adf.text(_HTML_SPACE.sub(" ", node), marks)]
    tag = node.tag
    if tag == "br":
        return [adf.hard_break()]
    if tag == "img":
        src = node.attrs.get("src", "")
        label = node.attrs.get("alt", "") or src
        return [adf.text(label, _with_mark(marks, adf.link_mark(src)) if adf.safe_href(src) else marks)]
    if tag in _CODE:
        # ADF lets a code mark combine with a link only.
        link = [mark for mark in marks if mark["type"] == "link"]
        return [adf.text(_HTML_SPACE.sub(" ", _text_of(node)), [*link, {"type": "code"}])]
    if tag == "a" and adf.safe_href(node.attrs.get("href")):
        href = node.attrs["href"]
        inner_marks = _with_mark(marks, adf.link_mark(href))
        content = adf.merge_text([piece for child in node.children for piece in _inline(child, inner_marks)])
        # A link without text would be invisible: show its address instead.
        return content if adf.text_content(adf.paragraph(content)).strip() else [adf.text(href, inner_marks)]
    if tag in _MARKS:
        marks = _with_mark(marks, _MARKS[tag])
    content = [piece for child in node.children for piece in _inline(child, marks)]
    # A block inside inline markup (<b><p>a</p><p>b</p></b>) still ends a line.
    return [adf.hard_break(), *content, adf.hard_break()] if tag in _BLOCKS else content
