"""The List Filter language (Temporal's visibility query): grammar and syntax tree.

`parse` turns a query string into a `Query` or raises `QueryError` naming the offending token
and its 1-based position. It knows nothing of attributes or types: `engine.visibility.bind`
checks names, operators and values against the namespace's search attributes.

The language is the SQL-like subset Temporal accepts: comparisons (`=`, `!=`, `>`, `>=`, `<`,
`<=`), `[NOT] IN (…)`, `[NOT] BETWEEN … AND …`, `[NOT] STARTS_WITH`, `IS [NOT] NULL`, `AND`,
`OR`, parentheses, `ORDER BY name [ASC|DESC], …` and `GROUP BY name` (for counts). Keywords are
case-insensitive; names are case-sensitive and may be back-quoted (`` `My Attr` ``); strings take
single or double quotes (a quote is escaped by doubling it or with a backslash).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

Value = str | int | float | bool

_GRAMMAR = r"""
    start: where? order_by? group_by?
    where: or_expr
    ?or_expr: and_expr (_OR and_expr)*
    ?and_expr: atom (_AND atom)*
    ?atom: "(" or_expr ")"
         | comparison
         | in_list
         | between
         | starts_with
         | is_null
    comparison: name COMPARATOR value
    in_list: name NOT? _IN "(" value ("," value)* ")"
    between: name NOT? _BETWEEN value _AND value
    starts_with: name NOT? _STARTS_WITH value
    is_null: name _IS NOT? _NULL
    order_by: _ORDER _BY sort_key ("," sort_key)*
    sort_key: name DIRECTION?
    group_by: _GROUP _BY name ("," name)*
    name: NAME | QUOTED_NAME
    value: STRING | NUMBER | TRUE | FALSE

    COMPARATOR: "!=" | "<>" | ">=" | "<=" | "=" | ">" | "<"
    _OR.2: /or\b/i
    _AND.2: /and\b/i
    NOT.2: /not\b/i
    _IN.2: /in\b/i
    _BETWEEN.2: /between\b/i
    _STARTS_WITH.2: /starts_with\b/i
    _IS.2: /is\b/i
    _NULL.2: /null\b/i
    _ORDER.2: /order\b/i
    _GROUP.2: /group\b/i
    _BY.2: /by\b/i
    DIRECTION.2: /(asc|desc)\b/i
    TRUE.2: /true\b/i
    FALSE.2: /false\b/i
    NAME: /[A-Za-z_][A-Za-z0-9_]*/
    QUOTED_NAME: /`[^`]+`/
    STRING: /'(?:[^'\\]|\\.|'')*'/ | /"(?:[^"\\]|\\.|"")*"/
    NUMBER: /[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/

    %ignore /\s+/
"""

_KEYWORD_TERMINALS = {
    "_OR",
    "_AND",
    "NOT",
    "_IN",
    "_BETWEEN",
    "_STARTS_WITH",
    "_IS",
    "_NULL",
    "_ORDER",
    "_GROUP",
    "_BY",
}

# What a user should read instead of lark's terminal names in "expected …".
_EXPECTED_NAMES = {
    "NAME": "a search attribute name",
    "QUOTED_NAME": "a search attribute name",
    "COMPARATOR": "an operator",
    "STRING": "a value",
    "NUMBER": "a value",
    "TRUE": "a value",
    "FALSE": "a value",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "DIRECTION": "ASC or DESC",
}


class QueryError(ValueError):
    """A query that cannot be parsed or bound; the message names the token and its position."""


@dataclass(frozen=True)
class Name:
    text: str
    position: int  # 1-based character position in the query


@dataclass(frozen=True)
class Literal:
    value: Value
    position: int


@dataclass(frozen=True)
class Comparison:
    name: Name
    operator: str  # one of = != > >= < <=
    value: Literal


@dataclass(frozen=True)
class InList:
    name: Name
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class Between:
    name: Name
    low: Literal
    high: Literal
    negated: bool


@dataclass(frozen=True)
class StartsWith:
    name: Name
    prefix: Literal
    negated: bool


@dataclass(frozen=True)
class IsNull:
    name: Name
    negated: bool  # IS NOT NULL


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Predicate = Comparison | InList | Between | StartsWith | IsNull
Node = Predicate | And | Or


@dataclass(frozen=True)
class SortKey:
    name: Name
    descending: bool


@dataclass(frozen=True)
class Query:
    where: Node | None
    order_by: tuple[SortKey, ...] = ()
    group_by: tuple[Name, ...] = ()


@cache
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def parse(text: str) -> Query:
    """The syntax tree of `text` (an empty or blank query matches everything)."""
    if not text.strip():
        return Query(where=None)
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as error:
        raise QueryError(_describe(error, text)) from None
    query = _ToAst().transform(tree)
    assert isinstance(query, Query)
    return query


def _describe(error: UnexpectedInput, text: str) -> str:
    if isinstance(error, UnexpectedEOF):
        names = [getattr(t, "type", None) or str(t) for t in error.expected]
        return f"invalid query: unexpected end of query at position {len(text) + 1}{_expected(names)}"
    if isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream + 1 if error.pos_in_stream is not None else error.column
        char = text[position - 1] if 0 < position <= len(text) else ""
        if char in "'\"`":
            return f"invalid query: unterminated quote {char} at position {position}"
        return f"invalid query: unexpected character {char!r} at position {position}"
    if isinstance(error, UnexpectedToken):
        token = error.token
        if token.type == "$END":
            expected = error.accepts or error.expected
            return f"invalid query: unexpected end of query at position {len(text) + 1}{_expected(expected)}"
        position = (token.start_pos or 0) + 1
        expected = error.accepts or error.expected
        return f"invalid query: unexpected {str(token)!r} at position {position}{_expected(expected)}"
    return f"invalid query: {error}"


def _expected(terminals: set[str] | frozenset[str] | list[str]) -> str:
    names: list[str] = []
    for terminal in sorted(terminals):
        if terminal in _KEYWORD_TERMINALS:
            label = terminal.lstrip("_").replace("_", " ") if terminal != "_STARTS_WITH" else "STARTS_WITH"
        else:
            label = _EXPECTED_NAMES.get(terminal, "")
        if label and label not in names:
            names.append(label)
    return f" (expected {', '.join(names)})" if names else ""


def _unquote(token: Token) -> str:
    quote, body = token[0], token[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(nxt, nxt))
            i += 2
        elif char == quote and i + 1 < len(body) and body[i + 1] == quote:
            out.append(quote)
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _number(token: Token) -> int | float:
    text = str(token)
    if any(c in text for c in ".eE"):
        return float(text)
    return int(text)


def _position(token: Token) -> int:
    return (token.start_pos or 0) + 1


@v_args(inline=True)
class _ToAst(Transformer[Token, object]):
    def start(self, *parts: object) -> Query:
        where: Node | None = None
        order: tuple[SortKey, ...] = ()
        group: tuple[Name, ...] = ()
        for part in parts:
            if isinstance(part, _Where):
                where = part.node
            elif isinstance(part, _OrderBy):
                order = part.keys
            elif isinstance(part, _GroupBy):
                group = part.names
        return Query(where, order, group)

    def where(self, node: Node) -> _Where:
        return _Where(node)

    def or_expr(self, *items: Node) -> Or:
        return Or(tuple(items))

    def and_expr(self, *items: Node) -> And:
        return And(tuple(items))

    def name(self, token: Token) -> Name:
        text = str(token)
        if token.type == "QUOTED_NAME":
            text = text[1:-1]
        return Name(text, _position(token))

    def value(self, token: Token) -> Literal:
        kind = token.type
        if kind == "STRING":
            return Literal(_unquote(token), _position(token))
        if kind == "NUMBER":
            return Literal(_number(token), _position(token))
        return Literal(kind == "TRUE", _position(token))

    def comparison(self, name: Name, operator: Token, value: Literal) -> Comparison:
        op = str(operator)
        return Comparison(name, "!=" if op == "<>" else op, value)

    def in_list(self, name: Name, *rest: Token | Literal) -> InList:
        negated = bool(rest) and isinstance(rest[0], Token)
        values = tuple(v for v in rest if isinstance(v, Literal))
        return InList(name, values, negated)

    def between(self, name: Name, *rest: Token | Literal) -> Between:
        negated = isinstance(rest[0], Token)
        low, high = (v for v in rest if isinstance(v, Literal))
        return Between(name, low, high, negated)

    def starts_with(self, name: Name, *rest: Token | Literal) -> StartsWith:
        negated = isinstance(rest[0], Token)
        prefix = rest[-1]
        assert isinstance(prefix, Literal)
        return StartsWith(name, prefix, negated)

    def is_null(self, name: Name, *rest: Token) -> IsNull:
        return IsNull(name, negated=bool(rest))

    def order_by(self, *keys: SortKey) -> _OrderBy:
        return _OrderBy(tuple(keys))

    def sort_key(self, name: Name, direction: Token | None = None) -> SortKey:
        return SortKey(name, direction is not None and str(direction).lower() == "desc")

    def group_by(self, *names: Name) -> _GroupBy:
        return _GroupBy(tuple(names))


@dataclass(frozen=True)
class _Where:
    node: Node


@dataclass(frozen=True)
class _OrderBy:
    keys: tuple[SortKey, ...]


@dataclass(frozen=True)
class _GroupBy:
    names: tuple[Name, ...]
