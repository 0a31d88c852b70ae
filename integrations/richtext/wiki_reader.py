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
from bisect import bisect_left, bisect_right

from . import adf

_HEADING = re.compile(r"h([1-6])\.(?:\s(.*))?")
_QUOTE_LINE = re.compile(r"bq\.(?:\s(.*))?")
_LIST_LINE = re.compile(r"([*#]+|-)(?:\s(.*))?")
_MACRO = re.compile(r"\{(code|noformat|quote|panel)(?::([^}]*))?\}", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_COLOR_TAG = re.compile(r"\{color(?::[^{}]*)?\}", re.IGNORECASE)
_IMAGE = re.compile(r"!([^\s!|]+)(?:\|[^!]*)?!")
_URL = re.compile(r"(?:https?|ftp|mailto):|/", re.IGNORECASE)
# Lists and quotes nest at most this deep; deeper markers count as the deepest level.
_MAX_NESTING = 16
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


class _Scanner:
    """Where the tokens of one piece of markup are, found up front so parsing stays linear.

    A backslash makes itself and the next character inert; `[link]` and `{{code}}`
    spans hide their inside from effects and table cells (a '*' in a URL closes nothing).
    """

    def __init__(self, source: str):
        self.source = source
        self.inert = [False] * (len(source) + 1)
        index = source.find("\\")
        while index != -1:
            self.inert[index] = self.inert[index + 1] = True
            index = source.find("\\", index + 2)
        self._positions: dict[str, list[int]] = {}
        self.top_level = [True] * len(source)
        index = 0
        while index < len(source):
            end = self.span_end(index)
            if end == index:
                index += 1
                continue
            self.top_level[index + 1 : end] = [False] * (end - index - 1)
            index = end

    def positions(self, token: str) -> list[int]:
        if token not in self._positions:
            found, index = [], self.source.find(token)
            while index != -1:
                if not self.inert[index]:
                    found.append(index)
                index = self.source.find(token, index + 1)
            self._positions[token] = found
        return self._positions[token]

    def find(self, token: str, start: int) -> int:
        """First position of `token` at or after `start` that is not escaped, or -1."""
        positions = self.positions(token)
        at = bisect_left(positions, start)
        return positions[at] if at < len(positions) else -1

    def span_end(self, index: int) -> int:
        """End of a `[...]` or `{{...}}` span starting at `index`, or `index` when none does."""
        if self.inert[index]:
            return index
        if self.source[index] == "[":
            end = self.find("]", index + 1)
            return end + 1 if end != -1 else index
        if self.source.startswith("{{", index):
            end = self.find("}}", index + 2)
            return end + 2 if end != -1 else index
        return index

    def closing(self, index: int, delimiter: str) -> int:
        """Where the effect opened by `delimiter` at `index` closes, or -1.

        An effect opens after a non-word character and before a non-space, and closes
        after a non-space and before a non-word character, as Jira reads them.
        """
        source = self.source
        start = index + len(delimiter)
        if (index and source[index - 1].isalnum()) or start >= len(source) or adf.is_space(source[start]):
            return -1
        key = "close " + delimiter
        if key not in self._positions:
            self._positions[key] = [
                position
                for position in self.positions(delimiter)
                if position
                and self.top_level[position]
                and not adf.is_space(source[position - 1])
                and not source[position + len(delimiter) : position + len(delimiter) + 1].isalnum()
            ]
        closers = self._positions[key]
        at = bisect_right(closers, start)
        return closers[at] if at < len(closers) else -1


class _BlockParser:
    def __init__(self, lines: list[str]):
        self.lines = lines
        self.index = 0
        self.depth = 0

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
        macro = self._macro(line)
        if macro:
            self._resume_after(line, macro.end())
            name = macro.group(1).lower()
            if name in ("code", "noformat"):
                return [self._code(name, macro.group(2) or "")]
            self.depth += 1
            inner = self.blocks(closing=re.compile(rf"\{{{name}\}}", re.IGNORECASE))
            self.depth -= 1
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

    def _macro(self, line: str) -> re.Match | None:
        """An opening macro tag; a quote or panel nested too deep is just text."""
        macro = _MACRO.match(line)
        if macro and macro.group(1).lower() in ("quote", "panel") and self.depth >= _MAX_NESTING:
            return None
        return macro

    def _starts_block(self, line: str) -> bool:
        line = line.lstrip()
        return bool(
            self._macro(line)
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
            entries.append((found.group(1)[:_MAX_NESTING], found.group(2) or ""))
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
                {
                    "type": "tableHeader" if header else "tableCell",
                    "content": [adf.paragraph(_inline(cell, []))],
                }
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
    scanner = _Scanner(line)
    separators = []
    index = 0
    while index < len(line):
        if line[index] == "|" and scanner.top_level[index] and not scanner.inert[index]:
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


def _bracket(scanner: _Scanner, start: int, end: int, marks: list[dict]) -> list[dict] | None:
    """Nodes for the `[...]` whose inside runs from `start` to `end`: a mention, a link,
    or None when it is literal text."""
    inner = scanner.source[start:end]
    if inner.startswith("~"):
        user = inner[1:].strip()
        return [adf.mention(user, "@" + user.removeprefix("accountid:"))] if user else None
    bar = scanner.find("|", start)
    if bar == -1 or bar > end:
        label, target = "", inner.strip()
    else:
        label, target = scanner.source[start:bar], scanner.source[bar + 1 : end].strip()
    is_link = bool(_URL.match(target)) and adf.safe_href(target)
    if not label:
        return [adf.text(target, _with_mark(marks, adf.link_mark(target)))] if is_link else None
    # A label pointing at an anchor, attachment or unsafe address keeps only its text.
    return _inline(label, _with_mark(marks, adf.link_mark(target)) if is_link else marks)


def _inline(source: str, marks: list[dict]) -> list[dict]:
    scanner = _Scanner(source)
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
        end = scanner.span_end(index)
        if end != index and char == "{" and end - index > 4:
            code = adf.text_content(adf.paragraph(_inline(source[index + 2 : end - 2], [])))
            link = [mark for mark in marks if mark["type"] == "link"]
            emit(adf.text(code.replace("\n", " "), [*link, {"type": "code"}]))
            index = end
            continue
        if end != index and char == "[":
            bracket = _bracket(scanner, index + 1, end - 1, marks)
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
        # An effect inside the same effect stays literal, which also bounds the nesting.
        nested = delimiter and _EFFECTS[delimiter]["type"] in {mark["type"] for mark in marks}
        close = scanner.closing(index, delimiter) if delimiter and not nested else -1
        if close != -1:
            emit(*_inline(source[index + len(delimiter) : close], [*marks, _EFFECTS[delimiter]]))
            index = close + len(delimiter)
            continue
        buffer.append(char)
        index += 1
    emit()
    return adf.merge_text(nodes)
