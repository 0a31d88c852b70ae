"""Uploaded XML read with entities refused and nesting bounded, for the JUnit and TestRail importers.

defusedxml refuses entities and external references (XML bombs, file theft), but a few megabytes
of plain nested tags still build a tree 200,000 elements deep: code walking it then dies of
RecursionError (a 500) or copies a path per level (quadratic time). Parsing with iterparse counts
the depth as elements open and stops at the first one past the limit, before the rest of the
file is read or a deep tree exists; real reports and exports nest a handful of levels.
"""

import io
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import iterparse


class TooDeep(ValueError):
    """The document nests elements deeper than the importer allows; `limit` says how deep it may."""

    def __init__(self, limit: int):
        super().__init__(f"elements are nested more than {limit} levels deep")
        self.limit = limit


def parse(data: bytes | str, *, max_depth: int) -> Element:
    """The root element; raises TooDeep, and what defusedxml raises (DefusedXmlException, ParseError).

    `str` input is parsed as text (an encoding declaration no longer applies), bytes as the file.
    """
    source = io.StringIO(data) if isinstance(data, str) else io.BytesIO(data)
    events = iterparse(source, events=("start", "end"))
    depth = 0
    for event, _element in events:
        if event == "end":
            depth -= 1
            continue
        depth += 1
        if depth > max_depth:
            raise TooDeep(max_depth)
    return events.root
