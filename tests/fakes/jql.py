"""A parser for the subset of JQL the fake Jira understands.

Grammar (Atlassian, "Advanced search reference - JQL"): clauses `field operator operand`
joined by AND / OR / NOT with parentheses, an optional `ORDER BY field [ASC|DESC], ...`.
Values are unquoted words or strings in double or single quotes with backslash escapes.
Syntax errors carry the sentences Jira itself answers with, position included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

OPERATORS_SENTENCE = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'."
)
RESERVED_WORDS = {"and", "or", "not", "in", "is", "order", "by", "asc", "desc", "empty", "null"}
_SYMBOL_OPERATORS = ("!=", "!~", "<=", ">=", "=", "~", "<", ">")
_WORD_BREAKS = set(" \t\r\n()=!~<>,\"'")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\", " ": " "}


class JqlError(Exception):
    """A query Jira would refuse; `messages` are the `errorMessages` of the 400 answer."""

    def __init__(self, *messages: str):
        super().__init__(*messages)
        self.messages = list(messages)


@dataclass(frozen=True)
class Token:
    kind: str  # "word", "string", "op", "(", ")", ",", "end"
    text: str
    position: int  # 1-based character, as Jira reports it

    def is_keyword(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


@dataclass(frozen=True)
class FunctionCall:
    name: str
    arguments: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name}({', '.join(self.arguments)})"


@dataclass(frozen=True)
class Clause:
    field: str  # lower-cased
    operator: str  # "=", "!=", "~", "!~", "<", "<=", ">", ">=", "in", "not in", "is", "is not"
    values: tuple[str | FunctionCall, ...]  # one value, a list's values, or empty for EMPTY
    position: int


@dataclass(frozen=True)
class And:
    parts: tuple


@dataclass(frozen=True)
class Or:
    parts: tuple


@dataclass(frozen=True)
class Not:
    part: object


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool


@dataclass(frozen=True)
class Query:
    where: Clause | And | Or | Not | None
    order_by: tuple[SortKey, ...]

    @property
    def is_bounded(self) -> bool:
        return self.where is not None


def parse(text: str) -> Query:
    return _Parser(tokenize(text)).query()


def tokenize(text: str) -> list[Token]:
    tokens = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
        elif char in "(),":
            tokens.append(Token(char, char, index + 1))
            index += 1
        elif char in "\"'":
            value, index_after = _quoted(text, index)
            tokens.append(Token("string", value, index + 1))
            index = index_after
        elif operator := next((op for op in _SYMBOL_OPERATORS if text.startswith(op, index)), None):
            tokens.append(Token("op", operator, index + 1))
            index += len(operator)
        elif char == "!":
            raise JqlError(_reserved_character(char, index + 1))
        else:
            start = index
            while index < len(text) and text[index] not in _WORD_BREAKS:
                index += 1
            word = text[start:index]
            if reserved := next((c for c in word if c in "%&|^{}#;$`"), None):
                raise JqlError(_reserved_character(reserved, start + word.index(reserved) + 1))
            tokens.append(Token("word", word, start + 1))
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


def _quoted(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    chars = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            if following == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[index + 2 : index + 6]):
                chars.append(chr(int(text[index + 2 : index + 6], 16)))
                index += 6
                continue
            if following not in _ESCAPES:
                raise JqlError(
                    f"Error in the JQL Query: '\\{following}' is an illegal JQL escape sequence. "
                    f"The valid escape sequences are \\', \\\", \\t, \\n, \\r, \\\\, '\\ ' and "
                    f"\\uXXXX. (line 1, character {index + 1})"
                )
            chars.append(_ESCAPES[following])
            index += 2
        elif char == quote:
            return "".join(chars), index + 1
        else:
            chars.append(char)
            index += 1
    raise JqlError(
        f"Error in the JQL Query: The quoted string '{text[start + 1 :]}' has not been completed. "
        f"(line 1, character {start + 1})"
    )


def _reserved_character(char: str, position: int) -> str:
    return (
        f"Error in the JQL Query: The character '{char}' is a reserved JQL character. You must "
        f"enclose it in a string or use the escape '\\u{ord(char):04x}' instead. "
        f"(line 1, character {position})"
    )


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def query(self) -> Query:
        where = None
        if not self.current.is_keyword("order") and self.current.kind != "end":
            where = self.or_expression()
        order_by = self.order_by() if self.current.is_keyword("order") else ()
        if self.current.kind != "end":
            self.fail_expecting("either 'OR' or 'AND'")
        return Query(where, order_by)

    def or_expression(self):
        parts = [self.and_expression()]
        while self.current.is_keyword("or"):
            self.advance()
            parts.append(self.and_expression())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expression(self):
        parts = [self.not_expression()]
        while self.current.is_keyword("and"):
            self.advance()
            parts.append(self.not_expression())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def not_expression(self):
        if self.current.is_keyword("not"):
            self.advance()
            return Not(self.not_expression())
        if self.current.kind == "(":
            self.advance()
            inner = self.or_expression()
            if self.current.kind != ")":
                self.fail_expecting("')'")
            self.advance()
            return inner
        return self.clause()

    def clause(self) -> Clause:
        field_token = self.current
        if field_token.kind not in ("word", "string") or (
            field_token.kind == "word" and field_token.text.lower() in RESERVED_WORDS
        ):
            self.fail_expecting("a field name")
        self.advance()
        operator = self.operator()
        values = self.operand(operator)
        return Clause(field_token.text.lower(), operator, values, field_token.position)

    def operator(self) -> str:
        token = self.current
        if token.kind == "op":
            self.advance()
            return token.text
        if token.is_keyword("in"):
            self.advance()
            return "in"
        if token.is_keyword("not") and self.tokens[self.index + 1].is_keyword("in"):
            self.index += 2
            return "not in"
        if token.is_keyword("is"):
            self.advance()
            if self.current.is_keyword("not"):
                self.advance()
                return "is not"
            return "is"
        self.fail_expecting("operator", suffix=" " + OPERATORS_SENTENCE)

    def operand(self, operator: str) -> tuple[str | FunctionCall, ...]:
        token = self.current
        if token.is_keyword("empty", "null"):
            self.advance()
            return ()
        if operator in ("in", "not in"):
            if token.kind != "(":
                self.fail_expecting("a list of values")
            self.advance()
            values = [self.value()]
            while self.current.kind == ",":
                self.advance()
                values.append(self.value())
            if self.current.kind != ")":
                self.fail_expecting("')'")
            self.advance()
            return tuple(values)
        return (self.value(),)

    def value(self) -> str | FunctionCall:
        token = self.current
        if token.kind == "word" and self.tokens[self.index + 1].kind == "(":
            return self.function_call()
        if token.kind == "string" or (token.kind == "word" and token.text.lower() not in RESERVED_WORDS):
            self.advance()
            return token.text
        if token.kind == "end":
            self.fail_expecting("either a value, list or function")
        raise JqlError(
            f"Error in the JQL Query: Expecting either a value, list or function but got "
            f"'{token.text}'. You must surround '{token.text}' in quotation marks to use it as a "
            f"value. (line 1, character {token.position})"
        )

    def function_call(self) -> FunctionCall:
        name = self.advance().text
        self.advance()
        arguments = []
        while self.current.kind in ("word", "string"):
            arguments.append(self.advance().text)
            if self.current.kind != ",":
                break
            self.advance()
        if self.current.kind != ")":
            self.fail_expecting("')'")
        self.advance()
        return FunctionCall(name, tuple(arguments))

    def order_by(self) -> tuple[SortKey, ...]:
        self.advance()
        if not self.current.is_keyword("by"):
            self.fail_expecting("'by'")
        self.advance()
        keys = [self.sort_key()]
        while self.current.kind == ",":
            self.advance()
            keys.append(self.sort_key())
        return tuple(keys)

    def sort_key(self) -> SortKey:
        token = self.current
        if token.kind not in ("word", "string"):
            self.fail_expecting("a field name")
        self.advance()
        descending = False
        if self.current.is_keyword("asc", "desc"):
            descending = self.advance().text.lower() == "desc"
        return SortKey(token.text.lower(), descending)

    def fail_expecting(self, what: str, suffix: str = "") -> None:
        token = self.current
        if token.kind == "end":
            raise JqlError(f"Error in the JQL Query: Expecting {what} before the end of the query.{suffix}")
        raise JqlError(
            f"Error in the JQL Query: Expecting {what} but got '{token.text}'.{suffix} "
            f"(line 1, character {token.position})"
        )


# -- text search ---------------------------------------------------------------------------------

_WORD = re.compile(r"[\w']+", re.UNICODE)


def words(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text)]


def text_matches(query: str, text: str) -> bool:
    """Jira's `~`: every term must occur as a word of the text (case-insensitive).

    Terms may end in `*` (prefix) or hold `?` (one character); a query wrapped in double quotes
    is a phrase whose words must appear consecutively. Jira also stems English words; the fake
    does not, so tests should search for words as they are written.
    """
    haystack = words(text)
    stripped = query.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        phrase = words(stripped[1:-1])
        return any(haystack[i : i + len(phrase)] == phrase for i in range(len(haystack)))
    terms = [term.lower() for term in re.findall(r"[\w'*?]+", stripped)]
    return bool(terms) and all(any(re.fullmatch(_term_pattern(term), word) for word in haystack) for term in terms)


def _term_pattern(term: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in term)


# -- dates ---------------------------------------------------------------------------------------

_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_PERIOD = re.compile(r"([-+]?)((?:\s*\d+[wdhm])+)")
_PERIOD_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}


def parse_date(value: str, field_name: str, now: datetime) -> datetime:
    """A JQL date value: an absolute date (server time zone) or a period relative to now."""
    for date_format in _DATE_FORMATS:
        try:
            return datetime.strptime(value, date_format).replace(tzinfo=now.tzinfo)
        except ValueError:
            continue
    period = _PERIOD.fullmatch(value.strip())
    if period:
        delta = timedelta()
        for amount, unit in re.findall(r"(\d+)([wdhm])", period.group(2)):
            delta += timedelta(**{_PERIOD_UNITS[unit]: int(amount)})
        return now - delta if period.group(1) == "-" else now + delta
    raise JqlError(
        f"Date value '{value}' for field '{field_name}' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format "
        "e.g. '-5d', '4w 2d'."
    )
