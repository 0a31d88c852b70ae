"""Uploaded XML read with entities refused and nesting bounded, for the JUnit and TestRail importers.

defusedxml refuses entities and external references (XML bombs, file theft), but a few megabytes
of plain nested tags still build a tree 200,000 elements deep: code walking it then dies of
RecursionError (a 500) or copies a path per level (quadratic time). Parsing with iterparse counts
the depth as elements open and stops at the first one past the limit, before the rest of the
file is read or a deep tree exists; real reports and exports nest a handful of levels.

`events` hands the elements over as they are read, so an importer can take each test case when
it closes and drop it from its parent: a report of 100,000 cases is then never a tree of 100,000
cases in memory (`parse` keeps the whole tree, for small files and callers that want it).
"""

import io
from collections.abc import Iterator
from typing import BinaryIO
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import iterparse

START, END = "start", "end"


class TooDeep(ValueError):
    """The document nests elements deeper than the importer allows; `limit` says how deep it may."""

    def __init__(self, limit: int):
        super().__init__(f"elements are nested more than {limit} levels deep")
        self.limit = limit


class _TextChunks:
    """A read-only file over a str, without the copy io.StringIO makes (4 bytes per character)."""

    def __init__(self, text: str):
        self.text, self.offset = text, 0

    def read(self, size: int = -1) -> str:
        end = len(self.text) if size < 0 else self.offset + size
        chunk, self.offset = self.text[self.offset : end], min(end, len(self.text))
        return chunk


def _source(data: bytes | str | BinaryIO):
    if isinstance(data, str):
        return _TextChunks(data)
    return io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data


def events(data: bytes | str | BinaryIO, *, max_depth: int) -> Iterator[tuple[str, Element]]:
    """(START or END, element) in document order; raises TooDeep, and what defusedxml raises.

    At START an element has its tag and attributes, at END also its text and children. The
    caller may remove a finished element from its parent (the element below it in the stack of
    open elements it keeps) to free it; defusedxml's checks are the parser's, so they hold either way.
    `str` input is parsed as text (an encoding declaration no longer applies), bytes or a binary
    file as the file.
    """
    depth = 0
    for event, element in iterparse(_source(data), events=(START, END)):
        if event == END:
            depth -= 1
        else:
            depth += 1
            if depth > max_depth:
                raise TooDeep(max_depth)
        yield event, element


def parse(data: bytes | str, *, max_depth: int) -> Element:
    """The root element with the whole tree; raises as `events` does."""
    root = None
    for event, element in events(data, max_depth=max_depth):
        if root is None and event == START:
            root = element
    return root
