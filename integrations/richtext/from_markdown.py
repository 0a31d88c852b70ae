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
    def __init__(self, resolve: Resolver | None):
        self.resolve = resolve

    def blocks(self, nodes: list[SyntaxTreeNode]) -> list[dict]:
        converted = []
        for node in nodes:
            block = getattr(self, f"_{node.type}", self._container)(node)
            converted += block if isinstance(block, list) else [block] if block else []
        return converted

    def _container(self, node: SyntaxTreeNode) -> list[dict]:
        return self.blocks(node.children)

    def _paragraph(self, node: SyntaxTreeNode) -> dict | None:
        content = self.inline(node)
        return adf.paragraph(content) if content else None

    def _heading(self, node: SyntaxTreeNode) -> dict:
        return {"type": "heading", "attrs": {"level": int(node.tag[1])}, "content": self.inline(node)}

    def _fence(self, node: SyntaxTreeNode) -> dict:
        language = unescapeAll(node.info).strip().split(maxsplit=1)
        return self._code(node.content, language[0] if language else "")

    def _code_block(self, node: SyntaxTreeNode) -> dict:
        return self._code(node.content, "")

    def _code(self, content: str, language: str) -> dict:
        code = content.removesuffix("\n")
        block = {"type": "codeBlock", "content": [adf.text(code)] if code else []}
        if language:
            block["attrs"] = {"language": language}
        return block

    def _bullet_list(self, node: SyntaxTreeNode) -> dict:
        return {"type": "bulletList", "content": self._items(node)}

    def _ordered_list(self, node: SyntaxTreeNode) -> dict:
        order = int(node.attrs.get("start", 1))
        return {"type": "orderedList", "attrs": {"order": order}, "content": self._items(node)}

    def _items(self, node: SyntaxTreeNode) -> list[dict]:
        return [adf.list_item(self.blocks(item.children)) for item in node.children]

    def _blockquote(self, node: SyntaxTreeNode) -> dict | None:
        content = adf.fit_blocks(self.blocks(node.children), adf.QUOTE_BLOCKS)
        return {"type": "blockquote", "content": content} if content else None

    def _hr(self, node: SyntaxTreeNode) -> dict:
        return {"type": "rule"}

    def _table(self, node: SyntaxTreeNode) -> dict:
        rows = [row for section in node.children for row in section.children]
        return {"type": "table", "content": [self._row(row) for row in rows]}

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
        result: list[dict] = []
        for node in nodes:
            if node.type == "text":
                result += split_mentions(node.content, marks, None if _has_link(marks) else self.resolve)
            elif node.type == "softbreak":
                result.append(adf.text(" ", marks))
            elif node.type == "hardbreak":
                result.append(adf.hard_break())
            elif node.type == "code_inline":
                # ADF lets a code mark combine with a link only.
                link = [mark for mark in marks if mark["type"] == "link"]
                result.append(adf.text(node.content, [*link, {"type": "code"}]))
            elif node.type in _MARKS:
                mark = _MARKS[node.type]
                result += self._inline(node.children, marks if mark in marks else [*marks, mark])
            elif node.type == "link":
                result += self._link(node, marks)
            elif node.type == "image":
                result += self._image(node, marks)
            else:
                result += self._inline(node.children, marks)
        return result

    def _link_marks(self, href: str, title: str, marks: list[dict]) -> list[dict]:
        # A link inside a link keeps the outer target, the one a reader clicks.
        if _has_link(marks) or not adf.safe_href(href):
            return marks
        return [*marks, adf.link_mark(href, title)]

    def _link(self, node: SyntaxTreeNode, marks: list[dict]) -> list[dict]:
        href = node.attrs["href"]
        inner_marks = self._link_marks(href, node.attrs.get("title", ""), marks)
        content = adf.merge_text(self._inline(node.children, inner_marks))
        # A link without text would be invisible: show its address instead.
        return content or [adf.text(href, inner_marks)]

    def _image(self, node: SyntaxTreeNode, marks: list[dict]) -> list[dict]:
        # Jira needs an uploaded attachment for an embedded image; a link keeps it reachable.
        src = node.attrs["src"]
        label = _plain(node.children) or src
        return [adf.text(label, self._link_marks(src, node.attrs.get("title", ""), marks))]
