"""Markdown -> Atlassian Document Format (Jira Cloud REST v3)."""

from markdown_it.common.utils import unescapeAll
from markdown_it.tree import SyntaxTreeNode

from . import adf
from .markdown_parser import parse_markdown
from .mentions import Mentions, Resolver, mention_resolver, split_mentions

_MARKS = {"strong": {"type": "strong"}, "em": {"type": "em"}, "s": {"type": "strike"}}


def markdown_to_adf(markdown: str, mentions: Mentions | None = None) -> dict:
    """An ADF document for a Markdown text; '@handle's found in `mentions` become mentions."""
    return adf.doc(_Converter(mention_resolver(mentions)).blocks(parse_markdown(markdown).children))


def _has_link(marks: list[dict]) -> bool:
    return any(mark["type"] == "link" for mark in marks)


def _plain(nodes: list[SyntaxTreeNode]) -> str:
    """Text of inline nodes without their formatting, as an image's alternative text."""
    parts = []
    for node in nodes:
        if node.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        else:
            parts.append(_plain(node.children) if node.children else node.content)
    return "".join(parts)


class _Converter:
    """One method per node type of our Markdown dialect; blocks and inlines return lists."""

    def __init__(self, resolve: Resolver | None):
        self.resolve = resolve

    def blocks(self, nodes: list[SyntaxTreeNode]) -> list[dict]:
        return [block for node in nodes for block in getattr(self, f"_block_{node.type}")(node)]

    def _block_paragraph(self, node: SyntaxTreeNode) -> list[dict]:
        content = self.inline(node)
        return [adf.paragraph(content)] if content else []

    def _block_heading(self, node: SyntaxTreeNode) -> list[dict]:
        return [{"type": "heading", "attrs": {"level": int(node.tag[1])}, "content": self.inline(node)}]

    def _block_fence(self, node: SyntaxTreeNode) -> list[dict]:
        language = unescapeAll(node.info).strip().split(maxsplit=1)
        return self._code(node.content, language[0] if language else "")

    def _block_code_block(self, node: SyntaxTreeNode) -> list[dict]:
        return self._code(node.content, "")

    def _code(self, content: str, language: str) -> list[dict]:
        code = content.removesuffix("\n")
        block = {"type": "codeBlock", "content": [adf.text(code)] if code else []}
        if language:
            block["attrs"] = {"language": language}
        return [block]

    def _block_bullet_list(self, node: SyntaxTreeNode) -> list[dict]:
        return [{"type": "bulletList", "content": self._items(node)}]

    def _block_ordered_list(self, node: SyntaxTreeNode) -> list[dict]:
        order = int(node.attrs.get("start", 1))
        return [{"type": "orderedList", "attrs": {"order": order}, "content": self._items(node)}]

    def _items(self, node: SyntaxTreeNode) -> list[dict]:
        return [adf.list_item(self.blocks(item.children)) for item in node.children]

    def _block_blockquote(self, node: SyntaxTreeNode) -> list[dict]:
        content = adf.fit_blocks(self.blocks(node.children), adf.QUOTE_BLOCKS)
        return [{"type": "blockquote", "content": content}] if content else []

    def _block_hr(self, node: SyntaxTreeNode) -> list[dict]:
        return [{"type": "rule"}]

    def _block_table(self, node: SyntaxTreeNode) -> list[dict]:
        rows = [row for section in node.children for row in section.children]
        return [{"type": "table", "content": [self._row(row) for row in rows]}]

    def _row(self, row: SyntaxTreeNode) -> dict:
        cells = []
        for cell in row.children:
            kind = "tableHeader" if cell.type == "th" else "tableCell"
            cells.append({"type": kind, "content": [adf.paragraph(self.inline(cell))]})
        return {"type": "tableRow", "content": cells}

    def inline(self, block: SyntaxTreeNode) -> list[dict]:
        inline = block.children[0].children if block.children else []
        return adf.merge_text(self._inline(inline, []))

    def _inline(self, nodes: list[SyntaxTreeNode], marks: list[dict]) -> list[dict]:
        return [piece for node in nodes for piece in getattr(self, f"_inline_{node.type}")(node, marks)]

    def _inline_text(self, node: SyntaxTreeNode, marks: list[dict]) -> list[dict]:
        return split_mentions(node.content, marks, None if _has_link(marks) else self.resolve)

    def _inline_softbreak(self, node: SyntaxTreeNode, marks: list[dict]) -> list[dict]:
        return [adf.text(" ", marks)]

    def _inline_hardbreak(self, node: SyntaxTreeNode, marks: list[dict]) -> list[dict]:
        return [adf.hard_break()]

    def _inline_code_inline(self, node: SyntaxTreeNode, marks: list[dict]) -> list[dict]:
        # ADF lets a code mark combine with a link only.
        link = [mark for mark in marks if mark["type"] == "link"]
        return [adf.text(node.content, [*link, {"type": "code"}])]

    def _emphasis(self, node: SyntaxTreeNode, marks: list[dict]) -> list[dict]:
        mark = _MARKS[node.type]
        return self._inline(node.children, marks if mark in marks else [*marks, mark])

    _inline_strong = _inline_em = _inline_s = _emphasis

    def _link_marks(self, href: str, title: str, marks: list[dict]) -> list[dict]:
        # A link inside a link keeps the outer target, the one a reader clicks.
        if _has_link(marks) or not adf.safe_href(href):
            return marks
        return [*marks, adf.link_mark(href, title)]

    def _inline_link(self, node: SyntaxTreeNode, marks: list[dict]) -> list[dict]:
        href = node.attrs["href"]
        inner_marks = self._link_marks(href, node.attrs.get("title", ""), marks)
        content = adf.merge_text(self._inline(node.children, inner_marks))
        # A link without text would be invisible: show its address instead.
        return content or [adf.text(href, inner_marks)]

    def _inline_image(self, node: SyntaxTreeNode, marks: list[dict]) -> list[dict]:
        # Jira needs an uploaded attachment for an embedded image; a link keeps it reachable.
        src = node.attrs["src"]
        label = _plain(node.children) or src
        return [adf.text(label, self._link_marks(src, node.attrs.get("title", ""), marks))]
