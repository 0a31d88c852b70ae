"""Markdown -> Atlassian Document Format (Jira Cloud REST v3).

Works on markdown-it's flat token stream: block nesting is capped by the parser, but
inline emphasis is not (`***...***` nests as deep as the input), so inline tokens are
converted with an explicit stack rather than by recursion.
"""

from dataclasses import dataclass, field

from markdown_it.common.utils import unescapeAll
from markdown_it.token import Token

from . import adf
from .markdown_parser import markdown_parser
from .mentions import Mentions, Resolver, mention_resolver, split_mentions

_MARKS = {"strong_open": {"type": "strong"}, "em_open": {"type": "em"}, "s_open": {"type": "strike"}}


def markdown_to_adf(markdown: str, mentions: Mentions | None = None) -> dict:
    """An ADF document for a Markdown text; '@handle's found in `mentions` become mentions."""
    tree = _block_tree(markdown_parser.parse(markdown))
    return adf.doc(_Converter(mention_resolver(mentions)).blocks(tree))


@dataclass
class _Block:
    """A block token with the blocks between its open and close tokens."""

    token: Token
    children: list["_Block"] = field(default_factory=list)

    @property
    def type(self) -> str:
        return self.token.type.removesuffix("_open")


def _block_tree(tokens: list[Token]) -> list[_Block]:
    root: list[_Block] = []
    open_blocks = [root]
    for token in tokens:
        if token.nesting == -1:
            open_blocks.pop()
            continue
        block = _Block(token)
        open_blocks[-1].append(block)
        if token.nesting == 1:
            open_blocks.append(block.children)
    return root


def _has_link(marks: list[dict]) -> bool:
    return any(mark["type"] == "link" for mark in marks)


def _plain(tokens: list[Token]) -> str:
    """Text of inline tokens without their formatting, as an image's alternative text."""
    parts = []
    pending = list(reversed(tokens))
    while pending:
        token = pending.pop()
        if token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif token.type in ("text", "code_inline"):
            parts.append(token.content)
        pending.extend(reversed(token.children or []))
    return "".join(parts)


class _Converter:
    """One method per block type of our Markdown dialect, each returning a list of blocks."""

    def __init__(self, resolve: Resolver | None):
        self.resolve = resolve

    def blocks(self, nodes: list[_Block]) -> list[dict]:
        return [block for node in nodes for block in getattr(self, f"_block_{node.type}")(node)]

    def _block_paragraph(self, node: _Block) -> list[dict]:
        content = self.inline(node)
        return [adf.paragraph(content)] if content else []

    def _block_heading(self, node: _Block) -> list[dict]:
        return [{"type": "heading", "attrs": {"level": int(node.token.tag[1])}, "content": self.inline(node)}]

    def _block_fence(self, node: _Block) -> list[dict]:
        language = unescapeAll(node.token.info).strip().split(maxsplit=1)
        return self._code(node.token.content, language[0] if language else "")

    def _block_code_block(self, node: _Block) -> list[dict]:
        return self._code(node.token.content, "")

    def _code(self, content: str, language: str) -> list[dict]:
        code = content.removesuffix("\n")
        block = {"type": "codeBlock", "content": [adf.text(code)] if code else []}
        if language:
            block["attrs"] = {"language": language}
        return [block]

    def _block_bullet_list(self, node: _Block) -> list[dict]:
        return [{"type": "bulletList", "content": self._items(node)}]

    def _block_ordered_list(self, node: _Block) -> list[dict]:
        order = int(node.token.attrs.get("start", 1))
        return [{"type": "orderedList", "attrs": {"order": order}, "content": self._items(node)}]

    def _items(self, node: _Block) -> list[dict]:
        return [adf.list_item(self.blocks(item.children)) for item in node.children]

    def _block_blockquote(self, node: _Block) -> list[dict]:
        content = adf.fit_blocks(self.blocks(node.children), adf.QUOTE_BLOCKS)
        return [{"type": "blockquote", "content": content}] if content else []

    def _block_hr(self, node: _Block) -> list[dict]:
        return [{"type": "rule"}]

    def _block_table(self, node: _Block) -> list[dict]:
        rows = [row for section in node.children for row in section.children]
        return [{"type": "table", "content": [self._row(row) for row in rows]}]

    def _row(self, row: _Block) -> dict:
        cells = []
        for cell in row.children:
            kind = "tableHeader" if cell.type == "th" else "tableCell"
            cells.append({"type": kind, "content": [adf.paragraph(self.inline(cell))]})
        return {"type": "tableRow", "content": cells}

    def inline(self, block: _Block) -> list[dict]:
        (inline,) = block.children
        return adf.merge_text(_InlineConverter(self.resolve).convert(inline.token.children or []))


@dataclass
class _Open:
    """An open emphasis or link token: whether it added a mark, where its content starts
    and, for a link, its target and the marks its text carries."""

    added: bool
    start: int
    marks: list[dict]
    href: str = ""


class _InlineConverter:
    def __init__(self, resolve: Resolver | None):
        self.resolve = resolve
        self.result: list[dict] = []
        self.marks: list[dict] = []
        self.open: list[_Open] = []

    def convert(self, tokens: list[Token]) -> list[dict]:
        for token in tokens:
            getattr(self, f"_{token.type}")(token)
        return self.result

    def _text(self, token: Token) -> None:
        resolve = None if _has_link(self.marks) else self.resolve
        self.result += split_mentions(token.content, self.marks, resolve)

    def _softbreak(self, token: Token) -> None:
        self.result.append(adf.text(" ", self.marks))

    def _hardbreak(self, token: Token) -> None:
        self.result.append(adf.hard_break())

    def _code_inline(self, token: Token) -> None:
        # ADF lets a code mark combine with a link only.
        link = [mark for mark in self.marks if mark["type"] == "link"]
        self.result.append(adf.text(token.content, [*link, {"type": "code"}]))

    def _push(self, mark: dict | None, href: str = "") -> None:
        added = mark is not None and mark not in self.marks
        if added:
            self.marks.append(mark)
        self.open.append(_Open(added, len(self.result), list(self.marks), href))

    def _pop(self) -> _Open:
        closed = self.open.pop()
        if closed.added:
            self.marks.pop()
        return closed

    def _strong_open(self, token: Token) -> None:
        self._push(_MARKS[token.type])

    def _strong_close(self, token: Token) -> None:
        self._pop()

    _em_open = _s_open = _strong_open
    _em_close = _s_close = _strong_close

    def _link_mark(self, href: str, title: str) -> dict | None:
        # A link inside a link keeps the outer target, the one a reader clicks.
        if _has_link(self.marks) or not adf.safe_href(href):
            return None
        return adf.link_mark(href, title)

    def _link_open(self, token: Token) -> None:
        href = token.attrs["href"]
        self._push(self._link_mark(href, token.attrs.get("title", "")), href)

    def _link_close(self, token: Token) -> None:
        link = self._pop()
        if not adf.merge_text(self.result[link.start :]):
            # A link without text would be invisible: show its address instead.
            self.result.append(adf.text(link.href, link.marks))

    def _image(self, token: Token) -> None:
        # Jira needs an uploaded attachment for an embedded image; a link keeps it reachable.
        src = token.attrs["src"]
        mark = self._link_mark(src, token.attrs.get("title", ""))
        label = _plain(token.children or []) or src
        self.result.append(adf.text(label, [*self.marks, mark] if mark else self.marks))
