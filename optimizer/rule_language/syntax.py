"""The rule language's syntax: a tokenizer, a recursive-descent parser and a printer.

Grammar (keywords case-insensitive; ``=`` is read as ``==``)::

    rule       := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | comparison
    comparison := sum ((op sum)+ | ["NOT"] "IN" "(" literal ("," literal)* ")")?
    op         := "==" | "!=" | ">" | ">=" | "<" | "<="
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | primary
    primary    := literal | NAME | FUNCTION "(" rule ("," rule)* ")" | "(" rule ")"
    literal    := number | 'text' | "text" | TRUE | FALSE | "-" number
    NAME       := identifier | `any text but a backtick`

A chain ``10 <= tenure < 24`` means ``10 <= tenure AND tenure < 24``. Functions:
``abs(x)``, ``min(a, b, ...)``, ``max(a, b, ...)``, ``round(x)`` or ``round(x, digits)``,
``where(condition, a, b)`` and ``missing(x)``.

Why a hand-written parser and not Python's ``ast``: a rule is data from a scenario file, and
this grammar admits nothing but the constructs above, so no allow-list has to anticipate what
Python may add; errors say the position and what was expected. The tree is made of frozen
dataclasses, and :func:`to_text` prints it back so that ``parse(to_text(r)) == r``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "FUNCTIONS",
    "And",
    "Arithmetic",
    "Call",
    "Compare",
    "Expression",
    "Literal",
    "Member",
    "Name",
    "Negate",
    "Not",
    "Or",
    "RuleError",
    "parse",
    "to_text",
    "walk",
]


class RuleError(ValueError):
    """A rule that cannot be parsed or evaluated; the message says where and what to write instead."""


Scalar = bool | int | float | str


@dataclass(frozen=True)
class Literal:
    value: Scalar


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Expression, ...]


@dataclass(frozen=True)
class Negate:
    operand: Expression


@dataclass(frozen=True)
class Arithmetic:
    op: str  # + - * /
    left: Expression
    right: Expression


@dataclass(frozen=True)
class Compare:
    op: str  # == != > >= < <=
    left: Expression
    right: Expression


@dataclass(frozen=True)
class Member:
    operand: Expression
    values: tuple[Literal, ...]
    negated: bool = False


@dataclass(frozen=True)
class Not:
    operand: Expression


@dataclass(frozen=True)
class And:
    operands: tuple[Expression, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Expression, ...]


Expression = Literal | Name | Call | Negate | Arithmetic | Compare | Member | Not | And | Or

#: Function name -> (fewest, most) arguments.
FUNCTIONS: dict[str, tuple[int, int]] = {
    "abs": (1, 1), "min": (2, 64), "max": (2, 64), "round": (1, 2), "where": (3, 3), "missing": (1, 1),
}
COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")
_KEYWORDS = {"and", "or", "not", "in", "true", "false"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<quoted>`[^`]+`)
  | (?P<op>==|!=|>=|<=|>|<|=)
  | (?P<punct>[-+*/(),\[\]])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
""",
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise RuleError(f"rule {text!r}: unexpected character {text[pos]!r} at position {pos}")
        kind, val = m.lastgroup or "", m.group()
        if kind == "name" and val.lower() in _KEYWORDS:
            kind, val = "kw", val.lower()
        elif kind == "quoted":
            val = val[1:-1]
        elif kind == "op" and val == "=":
            val = "=="
        if kind != "ws":
            tokens.append((kind, val, pos))
        pos = m.end()
    tokens.append(("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.i = text, _tokenize(text), 0

    def peek(self, ahead: int = 0) -> tuple[str, str, int]:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def fail(self, what: str) -> RuleError:
        kind, val, pos = self.peek()
        got = "the end of the rule" if kind == "end" else repr(val)
        return RuleError(f"rule {self.text!r}: expected {what} at position {pos}, got {got}")

    def at(self, kind: str, *values: str) -> bool:
        k, v, _ = self.peek()
        return k == kind and (not values or v in values)

    def take(self, kind: str, value: str) -> None:
        if not self.at(kind, value):
            raise self.fail(repr(value))
        self.i += 1

    def rule(self) -> Expression:
        parts = [self.and_()]
        while self.at("kw", "or"):
            self.i += 1
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_(self) -> Expression:
        parts = [self.not_()]
        while self.at("kw", "and"):
            self.i += 1
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def not_(self) -> Expression:
        if self.at("kw", "not"):
            self.i += 1
            return Not(self.not_())
        return self.comparison()

    def comparison(self) -> Expression:
        left = self.sum()
        if self.at("kw", "in") or (self.at("kw", "not") and self.peek(1)[:2] == ("kw", "in")):
            negated = self.at("kw", "not")
            self.i += 2 if negated else 1
            return Member(left, self.literal_list(), negated)
        links: list[Expression] = []
        while self.at("op"):
            op = self.peek()[1]
            self.i += 1
            right = self.sum()
            links.append(Compare(op, left, right))
            left = right
        if not links:
            return left
        return links[0] if len(links) == 1 else And(tuple(links))

    def literal_list(self) -> tuple[Literal, ...]:
        close = {"(": ")", "[": "]"}.get(self.peek()[1]) if self.at("punct") else None
        if close is None:
            raise self.fail("'(' and a list of values")
        self.i += 1
        values = [self.literal()]
        while self.at("punct", ","):
            self.i += 1
            values.append(self.literal())
        self.take("punct", close)
        return tuple(values)

    def literal(self) -> Literal:
        sign = 1
        if self.at("punct", "-") and self.peek(1)[0] == "num":
            sign, self.i = -1, self.i + 1
        kind, val, _ = self.peek()
        if kind == "num":
            self.i += 1
            number = float(val) if any(c in val for c in ".eE") else int(val)
            if not math.isfinite(number):
                raise RuleError(f"rule {self.text!r}: the number {val} is too large")
            return Literal(sign * number)
        if sign == 1 and kind == "str":
            self.i += 1
            return Literal(val[1:-1])
        if sign == 1 and self.at("kw", "true", "false"):
            self.i += 1
            return Literal(val == "true")
        raise self.fail("a number, 'text', true or false")

    def sum(self) -> Expression:
        left = self.product()
        while self.at("punct", "+", "-"):
            op = self.peek()[1]
            self.i += 1
            left = Arithmetic(op, left, self.product())
        return left

    def product(self) -> Expression:
        left = self.unary()
        while self.at("punct", "*", "/"):
            op = self.peek()[1]
            self.i += 1
            left = Arithmetic(op, left, self.unary())
        return left

    def unary(self) -> Expression:
        if self.at("punct", "-"):
            if self.peek(1)[0] == "num":
                return self.literal()  # -3 is a number, not the negation of one
            self.i += 1
            return Negate(self.unary())
        return self.primary()

    def primary(self) -> Expression:
        if self.at("punct", "("):
            self.i += 1
            inner = self.rule()
            self.take("punct", ")")
            return inner
        if self.at("num") or self.at("str") or self.at("kw", "true", "false"):
            return self.literal()
        if not (self.at("name") or self.at("quoted")):
            raise self.fail("a column name, a value, NOT or '('")
        kind, name, _ = self.peek()
        self.i += 1
        if kind == "name" and self.at("punct", "("):
            if name not in FUNCTIONS:
                raise RuleError(f"rule {self.text!r}: unknown function {name}(); the functions are {', '.join(FUNCTIONS)}")
            return self.call(name)
        return Name(name)

    def call(self, function: str) -> Expression:
        self.i += 1
        args = [self.rule()]
        while self.at("punct", ","):
            self.i += 1
            args.append(self.rule())
        self.take("punct", ")")
        fewest, most = FUNCTIONS[function]
        if not fewest <= len(args) <= most:
            count = str(fewest) if fewest == most else f"{fewest} to {most}"
            raise RuleError(f"rule {self.text!r}: {function}() takes {count} arguments, got {len(args)}")
        return Call(function, tuple(args))


def walk(node: Expression) -> Iterator[Expression]:
    """Every node of a tree, the root first."""
    yield node
    children: tuple[Expression, ...] = ()
    if isinstance(node, (And, Or)):
        children = node.operands
    elif isinstance(node, (Not, Negate, Member)):
        children = (node.operand, *(node.values if isinstance(node, Member) else ()))
    elif isinstance(node, (Compare, Arithmetic)):
        children = (node.left, node.right)
    elif isinstance(node, Call):
        children = node.args
    for child in children:
        yield from walk(child)


def parse(text: str) -> Expression:
    """Parse ``text`` into an immutable tree; a syntax error gives the position and what was expected."""
    if not isinstance(text, str) or not text.strip():
        raise RuleError(f"a rule must be a non-empty text, got {text!r}")
    parser = _Parser(text)
    tree = parser.rule()
    if not parser.at("end"):
        raise parser.fail("AND, OR, a comparison or the end of the rule")
    return tree


# ---------------------------------------------------------------- printing
# Binding strength, loosest first; a child printed inside a tighter parent gets parentheses.
_OR, _AND, _NOT, _COMPARE, _SUM, _PRODUCT, _UNARY, _ATOM = range(8)


def _precedence(node: Expression) -> int:
    if isinstance(node, Or):
        return _OR
    if isinstance(node, And):
        return _AND
    if isinstance(node, Not):
        return _NOT
    if isinstance(node, (Compare, Member)):
        return _COMPARE
    if isinstance(node, Arithmetic):
        return _SUM if node.op in "+-" else _PRODUCT
    if isinstance(node, Negate) or (isinstance(node, Literal) and _negative(node.value)):
        return _UNARY
    return _ATOM


def _negative(value: Scalar) -> bool:
    return not isinstance(value, (bool, str)) and (value < 0 or math.copysign(1, value) < 0)


def _literal(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if "'" in value and '"' in value:
            raise RuleError(f"the text {value!r} holds both kinds of quote; a rule cannot say it")
        return f'"{value}"' if "'" in value else f"'{value}'"
    return repr(value)


def _name(name: str) -> str:
    if _IDENTIFIER.match(name) and name.lower() not in _KEYWORDS:
        return name
    if "`" in name:
        raise RuleError(f"the column name {name!r} holds a backtick; a rule cannot name it")
    return f"`{name}`"


def _wrap(child: Expression, level: int, strict: bool) -> str:
    """``child`` as text, in parentheses when it binds looser than ``level`` (or as loose, if ``strict``)."""
    text, inner = to_text(child), _precedence(child)
    return f"({text})" if inner < level or (strict and inner == level) else text


def to_text(node: Expression) -> str:
    """The rule as text, with only the parentheses its structure needs."""
    if isinstance(node, Literal):
        return _literal(node.value)
    if isinstance(node, Name):
        return _name(node.name)
    if isinstance(node, Call):
        return f"{node.function}({', '.join(to_text(a) for a in node.args)})"
    if isinstance(node, Negate):
        # -(3), not -3: the parser reads -3 as a number, and the tree must print back as itself
        bare = isinstance(node.operand, Literal) and not isinstance(node.operand.value, (bool, str))
        return f"-({to_text(node.operand)})" if bare else f"-{_wrap(node.operand, _UNARY, False)}"
    if isinstance(node, Arithmetic):
        level = _precedence(node)
        return f"{_wrap(node.left, level, False)} {node.op} {_wrap(node.right, level, True)}"
    if isinstance(node, Compare):
        return f"{_wrap(node.left, _SUM, False)} {node.op} {_wrap(node.right, _SUM, False)}"
    if isinstance(node, Member):
        values = ", ".join(_literal(v.value) for v in node.values)
        return f"{_wrap(node.operand, _SUM, False)} {'NOT IN' if node.negated else 'IN'} ({values})"
    if isinstance(node, Not):
        return f"NOT {_wrap(node.operand, _NOT, False)}"
    if isinstance(node, (And, Or)):
        level, word = (_AND, " AND ") if isinstance(node, And) else (_OR, " OR ")
        return word.join(_wrap(child, level, True) for child in node.operands)
    raise TypeError(f"not a rule node: {node!r}")
