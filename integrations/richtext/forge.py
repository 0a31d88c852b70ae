"""Markdown for GitHub, GitLab and Markdown Redmines, made inert: text we send must not act on the tracker.

Both forges render Markdown themselves, so descriptions and comments go out as Markdown.
Two things in rendered text act beyond it: an ``@mention`` notifies someone (GitLab's ``@all``
a whole project), and a closing keyword before an issue reference ("Fixes #12",
"closes acme/shop#12") closes that issue once the text reaches a commit or merge request, and
links it everywhere. Text testmanager sends (test names, failure output, steps written for
testmanager, lists of linked tests) must do neither, so both are broken with an invisible
WORD JOINER (U+2060) after the ``@`` or ``#``. Code spans, code blocks and URLs are left
exactly as they are: neither forge acts inside code, and a URL must keep working.
"""

import re
from collections.abc import Iterator

from markdown_it import MarkdownIt

from .mentions import MENTION_PATTERN

WORD_JOINER = "\u2060"

# GitHub's and GitLab's closing keywords (GitLab adds the -ing forms and "implement"), an
# optional colon, then a reference: #12 or owner/repo#12 / group/subgroup/project#12.
_CLOSING_REFERENCE = re.compile(
    r"\b(?:clos(?:e[sd]?|ing)|fix(?:e[sd]|ing)?|resolv(?:e[sd]?|ing)|implement(?:s|ed|ing)?):?[ \t]+"
    r"(?:[\w.-]+(?:/[\w.-]+)+)?#(?=\d)",
    re.IGNORECASE,
)
# Link destinations, autolinks and bare URLs: kept verbatim.
_URL = re.compile(r"\]\([^)\s]*\)|<[A-Za-z][A-Za-z0-9+.-]*:[^<>\s]*>|\bhttps?://[^\s<>]+")
_BACKTICKS = re.compile(r"`+")

_parser = MarkdownIt("commonmark")


def inert_markdown(markdown: str) -> str:
    """``markdown`` with mentions and closing references neutralized outside code and URLs."""
    return "".join(piece if verbatim else _neutralize(piece) for piece, verbatim in _pieces(markdown))


def _neutralize(text: str) -> str:
    text = _CLOSING_REFERENCE.sub(lambda found: found.group() + WORD_JOINER, text)
    return MENTION_PATTERN.sub(lambda found: "@" + WORD_JOINER + found.group()[1:], text)


def _pieces(markdown: str) -> Iterator[tuple[str, bool]]:
    """(piece, verbatim) in order: code blocks, code spans and URLs verbatim, prose not."""
    lines = markdown.splitlines(keepends=True)
    code_lines = set()
    for token in _parser.parse(markdown):
        if token.type in ("fence", "code_block") and token.map:
            code_lines.update(range(*token.map))
    prose: list[str] = []
    for number, line in enumerate(lines):
        if number in code_lines:
            yield from _inline_pieces("".join(prose))
            prose = []
            yield line, True
        else:
            prose.append(line)
    yield from _inline_pieces("".join(prose))


def _inline_pieces(text: str) -> Iterator[tuple[str, bool]]:
    """Code spans (a backtick run closed by a run of the same length) verbatim, and URLs."""
    runs = list(_BACKTICKS.finditer(text))
    # For each run, the index of the next run of the same length (linear, however many runs).
    following: list[int | None] = [None] * len(runs)
    last_of_length: dict[int, int] = {}
    for index in range(len(runs) - 1, -1, -1):
        length = len(runs[index].group())
        following[index] = last_of_length.get(length)
        last_of_length[length] = index
    position = 0
    index = 0
    while index < len(runs):
        closing = following[index]
        if closing is None:
            index += 1
            continue
        yield from _url_pieces(text[position : runs[index].start()])
        yield text[runs[index].start() : runs[closing].end()], True
        position = runs[closing].end()
        index = closing + 1
    yield from _url_pieces(text[position:])


def _url_pieces(text: str) -> Iterator[tuple[str, bool]]:
    position = 0
    for found in _URL.finditer(text):
        yield text[position : found.start()], False
        yield found.group(), True
        position = found.end()
    yield text[position:], False
