"""Atlassian Document Format: node builders, tolerant readers and the nesting rules.

Readers (`node_type`, `children`, `attrs`, `text_content`) accept anything a remote
server may send, including malformed nodes, and never raise. Builders produce nodes
that validate against Atlassian's published ADF JSON schema.
"""

import re
from datetime import UTC, datetime

from markdown_it.common.utils import isWhiteSpace

# Where a block may live. Atlassian's schema allows fewer block types inside list
# items, quotes and table cells than at the top of a document.
LIST_ITEM_BLOCKS = frozenset({"paragraph", "bulletList", "orderedList", "taskList", "codeBlock"})
QUOTE_BLOCKS = frozenset({"paragraph", "bulletList", "orderedList", "codeBlock"})
CELL_BLOCKS = frozenset({"paragraph", "bulletList", "orderedList", "codeBlock", "blockquote", "heading", "rule"})

# Inline nodes that carry their visible text in attributes rather than in content.
INLINE_ATOMS = frozenset(
    {"hardBreak", "mention", "emoji", "status", "date", "inlineCard", "mediaInline", "placeholder"}
)
_TEXTBLOCKS = frozenset({"paragraph", "heading", "codeBlock", "taskItem", "decisionItem"})

# How a task's state reads where a format (Jira wiki markup, a quote in ADF) has no task list.
CHECKBOXES = {"TODO": "☐ ", "DONE": "☑ "}

# Deeper than any editor produces; the converters recurse, and input may be hostile.
MAX_DEPTH = 64

_LANGUAGE = re.compile(r"[\w+#.-]+")
_SAFE_SCHEMES = frozenset({"http", "https", "mailto", "ftp"})
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
# Browsers drop ASCII controls and spaces inside a URL before they read its scheme.
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")


def is_space(char: str) -> bool:
    """Whitespace as CommonMark's emphasis rules see it (Unicode Zs, tab, line breaks)."""
    return isWhiteSpace(ord(char))


def safe_href(href: object) -> bool:
    """Whether a link target may be handed to a browser: web, mail, ftp or relative."""
    if not isinstance(href, str) or not href.strip():
        return False
    scheme = _SCHEME.match(_URL_NOISE.sub("", href))
    return scheme is None or scheme.group(1).lower() in _SAFE_SCHEMES


def has_scheme(href: str) -> bool:
    return _SCHEME.match(_URL_NOISE.sub("", href)) is not None


def encode_url(href: str, reserved: str) -> str:
    """Percent-encodes the characters a syntax reserves, plus controls and spaces."""
    unsafe = set(reserved)
    return "".join(
        f"%{ord(char):02X}" if char in unsafe or ord(char) <= 0x20 or ord(char) == 0x7F else char for char in href
    )


def doc(content: list[dict]) -> dict:
    return {"type": "doc", "version": 1, "content": content}


def paragraph(content: list[dict]) -> dict:
    return {"type": "paragraph", "content": content}


def text(value: str, marks: list[dict] | tuple = ()) -> dict:
    node = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


def hard_break() -> dict:
    return {"type": "hardBreak"}


def mention(user_id: str, label: str) -> dict:
    return {"type": "mention", "attrs": {"id": user_id, "text": label}}


def link_mark(href: str, title: str = "") -> dict:
    link_attrs = {"href": href}
    if title:
        link_attrs["title"] = title
    return {"type": "link", "attrs": link_attrs}


def node_type(node: object) -> str:
    kind = node.get("type") if isinstance(node, dict) else None
    return kind if isinstance(kind, str) else ""


def children(node: object) -> list[dict]:
    content = node.get("content") if isinstance(node, dict) else None
    if not isinstance(content, list):
        return []
    return [child for child in content if isinstance(child, dict)]


def attrs(node: object) -> dict:
    found = node.get("attrs") if isinstance(node, dict) else None
    return found if isinstance(found, dict) else {}


def has_blocks(node: object) -> bool:
    """Whether a node (of any type, known or not) holds blocks rather than inline content."""
    inline = INLINE_ATOMS | {"text"}
    return any(node_type(child) not in inline for child in children(node))


def heading_level(node: dict) -> int:
    level = attrs(node).get("level")
    return min(max(level, 1), 6) if isinstance(level, int) else 1


def code_language(node: dict) -> str:
    """A code block's language if it is a plain word such as `python` or `c++`."""
    language = attrs(node).get("language")
    return language if isinstance(language, str) and _LANGUAGE.fullmatch(language) else ""


def _attr_text(node: dict, *names: str) -> str:
    for name in names:
        value = attrs(node).get(name)
        if isinstance(value, str) and value:
            return value
    return ""


def mention_label(node: dict) -> str:
    """What a reader sees for a mention: its display text, else '@' and the user id."""
    label = _attr_text(node, "text")
    if label:
        return label
    user_id = _attr_text(node, "id")
    return f"@{user_id}" if user_id else ""


def _date_label(node: dict) -> str:
    try:
        moment = datetime.fromtimestamp(int(attrs(node).get("timestamp")) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return ""
    return moment.date().isoformat()


def atom_text(node: dict) -> str:
    """Visible text of an inline node that keeps its text in attributes."""
    kind = node_type(node)
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        return mention_label(node)
    if kind == "date":
        return _date_label(node)
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return _attr_text(node, "url")
    return _attr_text(node, "text", "shortName", "alt")


def text_content(node: object) -> str:
    """Plain text of any node: blocks on separate lines, unknown nodes by their content."""
    kind = node_type(node)
    if kind == "text":
        value = node.get("text")
        return value if isinstance(value, str) else ""
    if kind in INLINE_ATOMS or not children(node):
        return atom_text(node)
    parts = [text_content(child) for child in children(node)]
    inline = kind in _TEXTBLOCKS or not has_blocks(node)
    return ("" if inline else "\n").join(part for part in parts if part or inline)


def _flat_text(node: object) -> str:
    """Text of a subtree of any depth, without recursion."""
    parts, pending = [], [node]
    while pending:
        current = pending.pop()
        if node_type(current) == "text" or node_type(current) in INLINE_ATOMS or not children(current):
            parts.append(text_content(current))
        pending.extend(reversed(children(current)))
    return " ".join(part for part in parts if part.strip())


def bounded(node: object, depth: int = MAX_DEPTH) -> object:
    """`node` with anything nested deeper than `depth` levels replaced by its text."""
    if not children(node):
        return node
    if depth == 0:
        return paragraph([text(_flat_text(node))])
    return {**node, "content": [bounded(child, depth - 1) for child in children(node)]}


def merge_text(nodes: list[dict]) -> list[dict]:
    """Joins neighbouring text nodes that carry the same marks; drops empty ones."""
    merged: list[dict] = []
    for node in nodes:
        if node_type(node) == "text":
            if not node["text"]:
                continue
            previous = merged[-1] if merged else None
            if node_type(previous) == "text" and previous.get("marks", []) == node.get("marks", []):
                merged[-1] = {**previous, "text": previous["text"] + node["text"]}
                continue
        merged.append(node)
    return merged


def join_blocks_inline(blocks: list[dict]) -> list[dict]:
    """Inline content of several blocks on one line (a table cell or a table row)."""
    joined: list[dict] = []
    for block in blocks:
        if node_type(block) in ("paragraph", "heading"):
            inline = children(block)
        else:
            block_text = " ".join(text_content(block).split())
            inline = [text(block_text)] if block_text else []
        if joined and inline:
            joined.append(text(" "))
        joined.extend(inline)
    return joined


def _strong(inline: list[dict]) -> list[dict]:
    strong = {"type": "strong"}
    result = []
    for node in inline:
        marks = node.get("marks", [])
        if node_type(node) == "text" and strong not in marks and {"type": "code"} not in marks:
            node = text(node["text"], [*marks, strong])
        result.append(node)
    return result


def _table_rows_as_paragraphs(table: dict) -> list[dict]:
    rows = []
    for row in children(table):
        cells = [join_blocks_inline(children(cell)) for cell in children(row)]
        line: list[dict] = []
        for cell in (cell for cell in cells if cell):
            if line:
                line.append(text(" | "))
            line.extend(cell)
        if line:
            rows.append(paragraph(merge_text(line)))
    return rows


def fit_blocks(blocks: list[dict], allowed: frozenset[str]) -> list[dict]:
    """Reshapes blocks a container may not hold, keeping their text.

    A heading becomes a bold paragraph, a quote gives up its contents, a table becomes
    one paragraph per row, a task list a bullet list whose items start with a checkbox
    character and a rule (it has no text) is dropped.
    """
    fitted: list[dict] = []
    for block in blocks:
        kind = node_type(block)
        if kind in allowed:
            fitted.append(block)
        elif kind == "heading":
            fitted.append(paragraph(_strong(children(block))))
        elif kind == "blockquote":
            fitted.extend(fit_blocks(children(block), allowed))
        elif kind == "table":
            fitted.extend(_table_rows_as_paragraphs(block))
        elif kind == "taskList":
            fitted.append(_task_list_as_bullets(block))
        elif kind != "rule":
            block_text = text_content(block)
            fitted.append(paragraph([text(block_text)] if block_text else []))
    return fitted


def task_item(local_id: str, state: str, content: list[dict]) -> dict:
    return {"type": "taskItem", "attrs": {"localId": local_id, "state": state}, "content": content}


def task_list(local_id: str, content: list[dict]) -> dict:
    return {"type": "taskList", "attrs": {"localId": local_id}, "content": content}


def task_state(node: dict) -> str:
    return "DONE" if attrs(node).get("state") == "DONE" else "TODO"


def _task_list_as_bullets(task_list: dict) -> dict:
    """A bullet list whose items start with a checkbox character, for containers without task lists."""
    items: list[dict] = []
    for node in children(task_list):
        if node_type(node) == "taskList" and items:
            items[-1]["content"].append(_task_list_as_bullets(node))
        elif node_type(node) == "taskList":
            items.append({"type": "listItem", "content": [paragraph([]), _task_list_as_bullets(node)]})
        else:
            checkbox = text(CHECKBOXES[task_state(node)])
            items.append({"type": "listItem", "content": [paragraph(merge_text([checkbox, *children(node)]))]})
    return {"type": "bulletList", "content": items}


def list_item(blocks: list[dict]) -> dict:
    """A list item whose content starts with a paragraph, as Jira's editor requires."""
    content = fit_blocks(blocks, LIST_ITEM_BLOCKS)
    if not content or node_type(content[0]) != "paragraph":
        content.insert(0, paragraph([]))
    return {"type": "listItem", "content": content}
