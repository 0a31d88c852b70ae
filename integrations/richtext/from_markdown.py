"""Markdown -> Atlassian Document Format (Jira Cloud REST v3).

Works on markdown-it's flat token stream: block nesting is capped by the parser, but
inline emphasis is not (`***...***` nests as deep as the input), so inline tokens are
converted with an explicit stack rather than by recursion.
"""

from dataclasses import dataclass, field

from markdown_it.common.utils import unescapeAll
from markdown_it.token import Token

from . import adf
from .markdown_parser import TASK_ITEM_CLASS, is_checkbox, is_checked, markdown_parser
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


def _is_task_list(node: _Block) -> bool:
    """Every item starts with `[ ]` or `[x]`: ADF's task list holds nothing but tasks."""
    return all(TASK_ITEM_CLASS in str(item.token.attrs.get("class", "")) for item in node.children)


def _joined_lines(lines: list[list[dict]]) -> list[list[dict]]:
    """Lines of inline content with a hard break between non-empty ones."""
    kept = [line for line in lines if line]
    return [part for index, line in enumerate(kept) for part in ([line] if index == 0 else [[adf.hard_break()], line])]


def _relative(href: str) -> bool:
    """Neither a scheme nor a fragment: `./target.md`, `train.jpg`, `/path`.

    Atlassian's validator refuses targets without a scheme, '/' or '#'; a path from the
    root would point into the Jira site, not at the page the author meant. The address of
    this installation is known only where a request is served (issues/filing), not here
    where every provider converts Markdown, so such targets stay visible as text.
    """
    return not adf.has_scheme(href) and not href.startswith("#")


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
        self.local_ids = 0

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
        if _is_task_list(node):
            return [self._task_list(node)]
        return [{"type": "bulletList", "content": self._items(node)}]

    def _block_ordered_list(self, node: _Block) -> list[dict]:
        if _is_task_list(node):
            return [self._task_list(node)]
        order = int(node.token.attrs.get("start", 1))
        return [{"type": "orderedList", "attrs": {"order": order}, "content": self._items(node)}]

    def _local_id(self) -> str:
        # Unique within the document, as ADF asks, and the same for the same Markdown.
        self.local_ids += 1
        return f"task-{self.local_ids}"

    def _task_list(self, node: _Block) -> dict:
        """A GFM task list; a task's nested task lists follow it in the list, as ADF nests them."""
        list_id = self._local_id()
        content: list[dict] = []
        for item in node.children:
            first, *rest = item.children
            (inline,) = first.children
            checkbox, *tokens = inline.token.children or []
            if tokens and tokens[0].type == "text":
                # The checkbox's marker is gone; the space after it is not.
                tokens[0].content = tokens[0].content.lstrip()
            lines = [adf.merge_text(_InlineConverter(self.resolve).convert(tokens))]
            nested = []
            for block in self.blocks(rest):
                if block["type"] == "taskList":
                    nested.append(block)
                else:
                    lines.append(adf.join_blocks_inline(adf.fit_blocks([block], adf.QUOTE_BLOCKS)))
            state = "DONE" if is_checked(checkbox) else "TODO"
            inline_content = [node for line in _joined_lines(lines) for node in line]
            content.append(adf.task_item(self._local_id(), state, inline_content))
            content.extend(nested)
        return adf.task_list(list_id, content)

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
    relative: bool = False


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

    def _html_inline(self, token: Token) -> None:
        # Raw HTML is disabled: the only HTML token is a task's checkbox, here in a list that
        # also has items without one (ADF's task list holds tasks only), so it shows as a character.
        if is_checkbox(token):
            # The space after the checkbox is still in the text that follows.
            checkbox = adf.CHECKBOXES["DONE" if is_checked(token) else "TODO"].rstrip()
            self.result.append(adf.text(checkbox, self.marks))

    def _code_inline(self, token: Token) -> None:
        # ADF lets a code mark combine with a link only.
        link = [mark for mark in self.marks if mark["type"] == "link"]
        self.result.append(adf.text(token.content, [*link, {"type": "code"}]))

    def _push(self, mark: dict | None, href: str = "", relative: bool = False) -> None:
        added = mark is not None and mark not in self.marks
        if added:
            self.marks.append(mark)
        self.open.append(_Open(added, len(self.result), list(self.marks), href, relative))

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
        if _has_link(self.marks) or not adf.safe_href(href) or _relative(href):
            return None
        return adf.link_mark(href, title)

    def _shown_relative(self, href: str) -> bool:
        """A relative target is shown as text: Jira rejects it as a link and has no base to resolve it against."""
        return not _has_link(self.marks) and adf.safe_href(href) and _relative(href)

    def _link_open(self, token: Token) -> None:
        href = token.attrs["href"]
        self._push(self._link_mark(href, token.attrs.get("title", "")), href, self._shown_relative(href))

    def _link_close(self, token: Token) -> None:
        link = self._pop()
        label = adf.text_content(adf.paragraph(adf.merge_text(self.result[link.start :])))
        if not label:
            # A link without text would be invisible: show its address instead.
            self.result.append(adf.text(link.href, link.marks))
        elif link.relative and label != link.href:
            self.result.append(adf.text(f" ({link.href})", link.marks))

    def _image(self, token: Token) -> None:
        # Jira needs an uploaded attachment for an embedded image; a link keeps it reachable.
        src = token.attrs["src"]
        mark = self._link_mark(src, token.attrs.get("title", ""))
        label = _plain(token.children or []) or src
        if self._shown_relative(src) and label != src:
            label = f"{label} ({src})"
        self.result.append(adf.text(label, [*self.marks, mark] if mark else self.marks))
