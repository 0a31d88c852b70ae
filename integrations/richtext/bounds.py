"""Bounds on the work one Markdown text may cause, each leaving a notice where it cut.

markdown-it is pure Python and its cost grows with the cells of a table: a 0.8 MB table took
12 s to render, on every view of the page that showed it. Tables therefore share a budget of
cells per text; the rows past it, and tables wider than any screen shows, are left out with a
notice saying so. Containers (lists, quotes) nested deeper than the parser's `maxNesting` are
already skipped by markdown-it, silently; the notice says that too. Both rules live in the
one parser, so our pages and every tracker format cut the same text the same way.
"""

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_block.table import table as markdown_it_table
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

# Cells of all the tables of one text (rows times columns, headers included): a few thousand
# rows of a narrow table, far more than anyone reads on a page, and well under a second to render.
MAX_TABLE_CELLS = 10_000
MAX_TABLE_COLUMNS = 64
_CELLS_LEFT = "table_cells_left"
# Containers whose contents markdown-it parses as blocks; at the nesting limit those are skipped.
_CONTAINERS = frozenset({"blockquote_open", "list_item_open"})


def bounds_plugin(md: MarkdownIt) -> None:
    md.block.ruler.at("table", _bounded_table, {"alt": ["paragraph", "reference"]})
    md.core.ruler.after("block", "nesting_notice", _nesting_notice)


def _columns(state: StateBlock, delimiter_line: int) -> int:
    """The columns of a table by its delimiter row (`|---|:--:|`), which the table rule has accepted."""
    row = state.src[state.bMarks[delimiter_line] + state.tShift[delimiter_line] : state.eMarks[delimiter_line]]
    return sum(1 for cell in row.split("|") if cell.strip())


def _bounded_table(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    if not markdown_it_table(state, start_line, end_line, True):
        return False
    if silent:
        return True
    columns = _columns(state, start_line + 1)
    cells_left = state.env.setdefault(_CELLS_LEFT, MAX_TABLE_CELLS)
    if columns > MAX_TABLE_COLUMNS:
        _skip_rows(state, start_line + 2, end_line)
        _push_notice(state, f"A table of {columns:,} columns is not shown: tables show at most {MAX_TABLE_COLUMNS}.")
        return True
    if cells_left < 2 * columns:
        rows = _skip_rows(state, start_line + 2, end_line) + 1
        _push_notice(state, f"A table of {_rows(rows)} is not shown: {_CELLS_RULE}.")
        return True
    body_rows = cells_left // columns - 1
    markdown_it_table(state, start_line, min(end_line, start_line + 2 + body_rows), False)
    shown_rows = state.line - start_line - 2
    state.env[_CELLS_LEFT] = cells_left - columns * (shown_rows + 1)
    if shown_rows == body_rows and state.line < end_line:
        rows = _skip_rows(state, state.line, end_line)
        if rows:
            _push_notice(state, f"The table goes on for {_rows(rows)} more, not shown: {_CELLS_RULE}.")
    return True


_CELLS_RULE = f"a text shows at most {MAX_TABLE_CELLS:,} table cells"


def _rows(count: int) -> str:
    return f"{count:,} row{'s' * (count != 1)}"


def _skip_rows(state: StateBlock, line: int, end_line: int) -> int:
    """Move past the rows of a table from `line`, ending where the table rule ends one; how many there were."""
    terminators = state.md.block.ruler.getRules("blockquote")
    first = line
    while line < end_line and state.sCount[line] >= state.blkIndent and not state.isEmpty(line):
        if state.is_code_block(line) or any(rule(state, line, end_line, True) for rule in terminators):
            break
        line += 1
    state.line = line
    return line - first


def _push_notice(state: StateBlock, text: str) -> None:
    state.push("paragraph_open", "p", 1).map = [state.line, state.line]
    notice = state.push("inline", "", 0)
    notice.content, notice.map, notice.children = f"*{text}*", [state.line, state.line], []
    state.push("paragraph_close", "p", -1)


def _nesting_notice(state: StateCore) -> None:
    limit = state.md.options["maxNesting"]
    if not any(token.type in _CONTAINERS and token.level + 1 >= limit for token in state.tokens):
        return
    opening, closing = Token("paragraph_open", "p", 1, block=True), Token("paragraph_close", "p", -1, block=True)
    notice = Token("inline", "", 0, level=1, block=True, children=[])
    notice.content = f"*Text nested more than {limit} levels deep (lists, quotes) is not shown.*"
    state.tokens.extend([opening, notice, closing])
