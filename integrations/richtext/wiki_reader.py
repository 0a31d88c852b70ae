"""Jira wiki markup -> Atlassian Document Format.

Covers what Jira Server comments use: `h1.`-`h6.`, `bq.`, `{quote}`, `{code}`,
`{noformat}`, `{panel}`, `*`/`#` lists (nested and mixed), `||header||` and `|cell|`
tables, `----`, the text effects `*strong*` `_emphasis_` `??citation??` `-deleted-`
`+inserted+` `^sup^` `~sub~` `{{monospace}}`, `[text|url]`, `[url]`, `[~user]`,
`!image!`, `\\\\` line breaks, backslash escapes and HTML entities. Anything else is
text. A line break inside a paragraph is a hard break, as Jira renders it.
"""

import html
import re

from . import adf

_HEADING = re.compile(r"h([1-6])\.(?:\s(.*))?")
_QUOTE_LINE = re.compile(r"bq\.(?:\s(.*))?")
_LIST_LINE = re.compile(r"([*#]+|-)(?:\s(.*))?")
_MACRO = re.compile(r"\{(code|noformat|quote|panel)(?::([^}]*))?\}", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_COLOR_TAG = re.compile(r"\{color(?::[^}]*)?\}", re.IGNORECASE)
_IMAGE = re.compile(r"!([^\s!|]+)(?:\|[^!]*)?!")
_URL = re.compile(r"(?:https?|ftp|mailto):|/", re.IGNORECASE)
_EFFECTS = {
    "*": {"type": "strong"},
    "_": {"type": "em"},
    "??": {"type": "em"},
    "-": {"type": "strike"},
    "+": {"type": "underline"},
    "^": {"type": "subsup", "attrs": {"type": "sup"}},
    "~": {"type": "subsup", "attrs": {"type": "sub"}},
}


def wiki_to_adf(markup: str) -> dict:
    """An ADF document for Jira wiki markup."""
    lines = markup.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return adf.doc(_BlockParser(lines).blocks(closing=None))


def _find_unescaped(token: str, source: str, start: int) -> int:
    """Index of `token` in `source` from `start`, skipping backslash-escaped characters."""
    index = start
    while index < len(source):
        if source[index] == "\\":
            index += 2
        elif source.startswith(token, index):
            return index
        else:
            index += 1
    return -1


def _skip_span(source: str, index: int) -> int:
    """End of a `[link]` or `{{code}}` starting at `index`, or `index` when there is none.

    Delimiters inside those spans (a '*' in a URL) never close an effect or a cell.
    """
    if source[index] == "[":
        end = _find_unescaped("]", source, index + 1)
        return end + 1 if end != -1 else index
    if source.startswith("{{", index):
        end = _find_unescaped("}}", source, index + 2)
        return end + 2 if end != -1 else index
    return index


class _BlockParser:
    def __init__(self, lines: list[str]):
        self.lines = lines
        self.index = 0

    def blocks(self, closing: re.Pattern | None) -> list[dict]:
        """Blocks up to the end, or up to the `closing` tag of an enclosing macro."""
        blocks: list[dict] = []
        while self.index < len(self.lines):
            line = self.lines[self.index].lstrip()
            closed = closing.match(line) if closing else None
            if closed:
                self._resume_after(line, closed.end())
                return blocks
            if not line.strip():
                self.index += 1
                continue
            blocks += self._block(line)
        return blocks

    def _resume_after(self, line: str, end: int) -> None:
        """Continues on what follows a tag on its line, or on the next line."""
        if line[end:].strip():
            self.lines[self.index] = line[end:]
        else:
            self.index += 1

    def _block(self, line: str) -> list[dict]:
        macro = _MACRO.match(line)
        if macro:
            self._resume_after(line, macro.end())
            name = macro.group(1).lower()
            if name in ("code", "noformat"):
                return [self._code(name, macro.group(2) or "")]
            inner = self.blocks(closing=re.compile(rf"\{{{name}\}}", re.IGNORECASE))
            if name == "panel":
                return inner
            inner = adf.fit_blocks(inner, adf.QUOTE_BLOCKS)
            return [{"type": "blockquote", "content": inner}] if inner else []
        heading = _HEADING.fullmatch(line)
        if heading:
            self.index += 1
            content = _inline(heading.group(2) or "", [])
            return [{"type": "heading", "attrs": {"level": int(heading.group(1))}, "content": content}]
        quote = _QUOTE_LINE.fullmatch(line)
        if quote:
            self.index += 1
            content = _inline(quote.group(1) or "", [])
            return [{"type": "blockquote", "content": [adf.paragraph(content)]}] if content else []
        if line.rstrip() == "----":
            self.index += 1
            return [{"type": "rule"}]
        if _LIST_LINE.fullmatch(line):
            return self._lists()
        if line.startswith("|"):
            return self._table()
        return self._paragraph()

    def _starts_block(self, line: str) -> bool:
        line = line.lstrip()
        return bool(
            _MACRO.match(line)
            or _HEADING.fullmatch(line)
            or _QUOTE_LINE.fullmatch(line)
            or _LIST_LINE.fullmatch(line)
            or line.startswith("|")
            or line.rstrip() == "----"
        )

    def _code(self, name: str, parameters: str) -> dict:
        closing = re.compile(rf"\{{{name}\}}", re.IGNORECASE)
        segments = []
        while self.index < len(self.lines):
            line = self.lines[self.index]
            closed = closing.search(line)
            if closed:
                segments.append(line[: closed.start()])
                self._resume_after(line, closed.end())
                break
            segments.append(line)
            self.index += 1
        # The tags usually sit on their own lines; those line ends are not code.
        if segments and not segments[0]:
            segments.pop(0)
        if segments and not segments[-1]:
            segments.pop()
        code = "\n".join(segments)
        block = {"type": "codeBlock", "content": [adf.text(code)] if code else []}
        language = _code_language(parameters) if name == "code" else ""
        if language:
            block["attrs"] = {"language": language}
        return block

    def _lists(self) -> list[dict]:
        entries = []
        while self.index < len(self.lines):
            found = _LIST_LINE.fullmatch(self.lines[self.index].lstrip())
            if not found:
                break
            entries.append((found.group(1), found.group(2) or ""))
            self.index += 1
        return _build_lists(entries, 0)

    def _table(self) -> list[dict]:
        rows = []
        while self.index < len(self.lines) and self.lines[self.index].lstrip().startswith("|"):
            cells = _row_cells(self.lines[self.index].strip())
            if cells:
                rows.append(cells)
            self.index += 1
        if not rows:
            return []
        width = max(len(row) for row in rows)
        table_rows = []
        for row in rows:
            row += [(False, "")] * (width - len(row))
            cells = [
                {"type": "tableHeader" if header else "tableCell", "content": [adf.paragraph(_inline(cell, []))]}
                for header, cell in row
            ]
            table_rows.append({"type": "tableRow", "content": cells})
        return [{"type": "table", "content": table_rows}]

    def _paragraph(self) -> list[dict]:
        content: list[dict] = []
        first = True
        while self.index < len(self.lines):
            line = self.lines[self.index]
            if not line.strip() or (not first and self._starts_block(line)):
                break
            if content:
                content.append(adf.hard_break())
            content += _inline(line, [])
            self.index += 1
            first = False
        content = adf.merge_text(content)
        return [adf.paragraph(content)] if content else []


def _code_language(parameters: str) -> str:
    for parameter in parameters.split("|"):
        key, equals, value = parameter.partition("=")
        if not equals:
            return key.strip()
        if key.strip().lower() in ("language", "lang"):
            return value.strip()
    return ""


def _build_lists(entries: list[tuple[str, str]], depth: int) -> list[dict]:
    """Lists from (markers, text) lines; '#*' is a bullet item inside a numbered item."""
    lists: list[dict] = []
    index = 0
    while index < len(entries):
        markers, content = entries[index]
        kind = "orderedList" if markers[depth] == "#" else "bulletList"
        if not lists or lists[-1]["type"] != kind:
            lists.append({"type": kind, "content": []})
            if kind == "orderedList":
                lists[-1]["attrs"] = {"order": 1}
        items = lists[-1]["content"]
        if len(markers) == depth + 1:
            items.append(adf.list_item([adf.paragraph(_inline(content, []))]))
            index += 1
            continue
        deeper = index
        while deeper < len(entries) and len(entries[deeper][0]) > depth + 1:
            deeper += 1
        if not items:
            items.append(adf.list_item([]))
        items[-1]["content"] += _build_lists(entries[index:deeper], depth + 1)
        index = deeper
    return lists


def _row_cells(line: str) -> list[tuple[bool, str]]:
    """(is header, markup) per cell of a table row such as `||a||b||` or `|a|[x|url]|`."""
    separators = []
    index = 0
    while index < len(line):
        skipped = _skip_span(line, index)
        if skipped != index:
            index = skipped
        elif line[index] == "\\":
            index += 2
        elif line[index] == "|":
            width = 2 if line.startswith("||", index) else 1
            separators.append((index, index + width))
            index += width
        else:
            index += 1
    cells = []
    for number, (start, end) in enumerate(separators):
        stop = separators[number + 1][0] if number + 1 < len(separators) else len(line)
        cells.append((end - start == 2, line[end:stop]))
    # The separator closing the row leaves an empty cell behind it.
    if cells and not cells[-1][1].strip():
        cells.pop()
    return cells


def _with_mark(marks: list[dict], mark: dict) -> list[dict]:
    return marks if any(existing["type"] == mark["type"] for existing in marks) else [*marks, mark]


def _closing(source: str, index: int, delimiter: str) -> int:
    """Where the effect opened by `delimiter` at `index` closes, or -1.

    An effect opens after a non-word character and before a non-space, and closes
    after a non-space and before a non-word character, as Jira reads them.
    """
    start = index + len(delimiter)
    if (index and source[index - 1].isalnum()) or start >= len(source) or adf.is_space(source[start]):
        return -1
    position = start
    while position < len(source):
        skipped = _skip_span(source, position)
        if skipped != position:
            position = skipped
            continue
        if source[position] == "\\":
            position += 2
            continue
        closes = source.startswith(delimiter, position) and position > start
        if closes and not adf.is_space(source[position - 1]):
            after = position + len(delimiter)
            if after >= len(source) or not source[after].isalnum():
                return position
        position += 1
    return -1


def _bracket(inner: str, marks: list[dict]) -> list[dict] | None:
    """Nodes for `[inner]`: a mention, a link, or None when it is literal text."""
    if inner.startswith("~"):
        user = inner[1:].strip()
        return [adf.mention(user, "@" + user.removeprefix("accountid:"))] if user else None
    bar = _find_unescaped("|", inner, 0)
    label, target = (inner[:bar], inner[bar + 1 :].strip()) if bar != -1 else ("", inner.strip())
    is_link = bool(_URL.match(target)) and adf.safe_href(target)
    if not label:
        return [adf.text(target, _with_mark(marks, adf.link_mark(target)))] if is_link else None
    # A label pointing at an anchor, attachment or unsafe address keeps only its text.
    return _inline(label, _with_mark(marks, adf.link_mark(target)) if is_link else marks)


def _inline(source: str, marks: list[dict]) -> list[dict]:
    nodes: list[dict] = []
    buffer: list[str] = []

    def emit(*new_nodes: dict) -> None:
        if buffer:
            nodes.append(adf.text("".join(buffer), marks))
            buffer.clear()
        nodes.extend(new_nodes)

    index = 0
    while index < len(source):
        char = source[index]
        if source.startswith("\\\\", index):
            emit(adf.hard_break())
            index += 2
            continue
        if char == "\\" and index + 1 < len(source) and not source[index + 1].isalnum():
            buffer.append(source[index + 1])
            index += 2
            continue
        entity = _ENTITY.match(source, index) if char == "&" else None
        if entity:
            buffer.append(html.unescape(entity.group()))
            index = entity.end()
            continue
        color = _COLOR_TAG.match(source, index) if char == "{" else None
        if color:
            index = color.end()
            continue
        end = _skip_span(source, index)
        if end != index and char == "{" and end - index > 4:
            code = adf.text_content(adf.paragraph(_inline(source[index + 2 : end - 2], [])))
            link = [mark for mark in marks if mark["type"] == "link"]
            emit(adf.text(code.replace("\n", " "), [*link, {"type": "code"}]))
            index = end
            continue
        if end != index and char == "[":
            bracket = _bracket(source[index + 1 : end - 1], marks)
            if bracket is not None:
                emit(*bracket)
                index = end
                continue
        image = _IMAGE.match(source, index) if char == "!" else None
        if image:
            target = image.group(1)
            is_link = bool(_URL.match(target)) and adf.safe_href(target)
            emit(adf.text(target, _with_mark(marks, adf.link_mark(target)) if is_link else marks))
            index = image.end()
            continue
        delimiter = "??" if source.startswith("??", index) else char if char in _EFFECTS else ""
        close = _closing(source, index, delimiter) if delimiter else -1
        if close != -1:
            emit(*_inline(source[index + len(delimiter) : close], _with_mark(marks, _EFFECTS[delimiter])))
            index = close + len(delimiter)
            continue
        buffer.append(char)
        index += 1
    emit()
    return adf.merge_text(nodes)
