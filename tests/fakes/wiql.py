"""A parser for the subset of WIQL the fake Azure DevOps understands.

Grammar (Microsoft Learn, "Work Item Query Language (WIQL) syntax reference"):
`SELECT field, ... FROM WorkItems [WHERE condition] [ORDER BY field [ASC|DESC], ...]`, fields
written as `[Reference.Name]`, `[Friendly Name]` or a bare reference name; conditions
`field operator value` joined by AND / OR with parentheses and an optional leading NOT;
string literals in single or double quotes (a doubled quote escapes itself), numbers, and the
macros `@project` and `@me`. Operators: `=`, `<>`, `<`, `<=`, `>`, `>=`, `CONTAINS`,
`NOT CONTAINS`, `CONTAINS WORDS`, `NOT CONTAINS WORDS`, `IN (...)`, `NOT IN (...)`, `UNDER`,
`NOT UNDER`. Only flat queries `FROM WorkItems` are supported (no `WorkItemLinks`, no `ASOF`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<field>\[[^\]]*\])
      | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<macro>@\w+)
      | (?P<op><>|<=|>=|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][\w.]*)
    )""",
    re.VERBOSE,
)
_WORD_OPERATORS = (
    ("not", "contains", "words"),
    ("contains", "words"),
    ("not", "contains"),
    ("contains",),
    ("not", "under"),
    ("under",),
    ("not", "in"),
    ("in",),
)


class WiqlError(Exception):
    """A query Azure DevOps would refuse with HTTP 400; the message is what it says."""


@dataclass(frozen=True)
class Token:
    kind: str  # field, string, number, macro, op, punct, word, end
    text: str

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


@dataclass(frozen=True)
class Macro:
    name: str  # lower-cased, without the @


@dataclass(frozen=True)
class Condition:
    field: str  # as written, without brackets
    operator: str  # lower-cased, words joined by one space
    value: str | float | Macro | tuple[str | float | Macro, ...]


@dataclass(frozen=True)
class BoolOp:
    kind: str  # "and" or "or"
    parts: tuple[Expression, ...]


@dataclass(frozen=True)
class Not:
    part: Expression


Expression = Condition | BoolOp | Not


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    where: Expression | None
    order_by: tuple[SortKey, ...]


def tokenize(text: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise WiqlError(
                f"Expecting a field, an operator or a value. The error is caused by «{text[position:].strip()[:20]}»."
            )
        kind = match.lastgroup
        tokens.append(Token(kind, match.group(kind)))
        position = match.end()
    return [*tokens, Token("end", "")]


def parse(text: str) -> Query:
    return _Parser(tokenize(text)).query()


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.position = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.position]

    def advance(self) -> Token:
        token = self.current
        self.position += 1
        return token

    def expect_word(self, *words: str) -> None:
        if not self.current.is_word(*words):
            raise WiqlError(
                f"Expecting '{words[0].upper()}'. The error is caused by «{self.current.text or 'end of query'}»."
            )
        self.advance()

    def query(self) -> Query:
        self.expect_word("select")
        fields = [self.field()]
        while self.current.text == ",":
            self.advance()
            fields.append(self.field())
        if not self.current.is_word("from"):
            raise WiqlError(
                "TF51006: The query statement is missing a FROM clause. "
                f"The error is caused by «{self.current.text or 'end of query'}»."
            )
        self.advance()
        if not self.current.is_word("workitems"):
            raise WiqlError(
                f"Only flat queries FROM WorkItems are supported. The error is caused by «{self.current.text}»."
            )
        self.advance()
        where = None
        if self.current.is_word("where"):
            self.advance()
            where = self.expression()
        order_by = []
        if self.current.is_word("order"):
            self.advance()
            self.expect_word("by")
            order_by.append(self.sort_key())
            while self.current.text == ",":
                self.advance()
                order_by.append(self.sort_key())
        if self.current.kind != "end":
            raise WiqlError(f"Expecting end of string. The error is caused by «{self.current.text}».")
        return Query(tuple(fields), where, tuple(order_by))

    def field(self) -> str:
        token = self.advance()
        if token.kind == "field":
            return token.text[1:-1].strip()
        if token.kind == "word":
            return token.text
        raise WiqlError(f"Expecting a field name. The error is caused by «{token.text or 'end of query'}».")

    def sort_key(self) -> SortKey:
        field = self.field()
        descending = False
        if self.current.is_word("asc", "desc"):
            descending = self.advance().text.lower() == "desc"
        return SortKey(field, descending)

    def expression(self) -> Expression:
        parts = [self.conjunction()]
        while self.current.is_word("or"):
            self.advance()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def conjunction(self) -> Expression:
        parts = [self.negation()]
        while self.current.is_word("and"):
            self.advance()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def negation(self) -> Expression:
        if self.current.is_word("not") and self.tokens[self.position + 1].text == "(":
            self.advance()
            return Not(self.atom())
        return self.atom()

    def atom(self) -> Expression:
        if self.current.text == "(":
            self.advance()
            inner = self.expression()
            if self.current.text != ")":
                raise WiqlError(f"Expecting ')'. The error is caused by «{self.current.text or 'end of query'}».")
            self.advance()
            return inner
        field = self.field()
        operator = self.operator()
        if operator in ("in", "not in"):
            return Condition(field, operator, self.value_list())
        return Condition(field, operator, self.value())

    def operator(self) -> str:
        if self.current.kind == "op":
            return self.advance().text
        for words in _WORD_OPERATORS:
            candidates = self.tokens[self.position : self.position + len(words)]
            if len(candidates) == len(words) and all(
                token.is_word(word) for token, word in zip(candidates, words, strict=True)
            ):
                self.position += len(words)
                return " ".join(words)
        raise WiqlError(
            f"Expecting a comparison operator. The error is caused by «{self.current.text or 'end of query'}»."
        )

    def value_list(self) -> tuple:
        if self.current.text != "(":
            raise WiqlError(f"Expecting '('. The error is caused by «{self.current.text or 'end of query'}».")
        self.advance()
        values = [self.value()]
        while self.current.text == ",":
            self.advance()
            values.append(self.value())
        if self.current.text != ")":
            raise WiqlError(f"Expecting ')'. The error is caused by «{self.current.text or 'end of query'}».")
        self.advance()
        return tuple(values)

    def value(self) -> str | float | Macro:
        token = self.advance()
        if token.kind == "string":
            quote = token.text[0]
            return token.text[1:-1].replace(quote * 2, quote)
        if token.kind == "number":
            return float(token.text)
        if token.kind == "macro":
            return Macro(token.text[1:].lower())
        raise WiqlError(f"Expecting a value. The error is caused by «{token.text or 'end of query'}».")
