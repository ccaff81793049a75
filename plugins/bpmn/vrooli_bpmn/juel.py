"""JUEL (Java Unified EL) for Camunda 7 and bpmn-elements models, run on the kernel's sandbox.

:func:`translate` parses EL text once, at load time, with an explicit token stream and a nesting
bound, and returns equivalent source for :func:`vrooli_core.expressions.evaluate` (simpleeval,
never Python ``eval``). EL semantics that simpleeval lacks — null-safe property access, EL
equality and ordering, ``empty``, services, lenient bpmn-elements variables — are methods of
:class:`Runtime`, bound as ``__juel__`` when the translation runs. What is supported is listed in
:mod:`vrooli_bpmn.expressions`.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Mapping
from typing import Any

from vrooli_core.errors import ExpressionError

__all__ = ["MAX_NESTING", "RUNTIME_NAME", "Runtime", "excerpt", "translate"]

MAX_NESTING = 24
#: The name the translated source uses for :class:`Runtime`; reserved in JUEL models.
RUNTIME_NAME = "__juel__"


def translate(text: str, *, element: str | None = None, line: int | None = None, js: bool = False) -> str:
    """Return kernel-sandbox source for EL ``text`` (composite text with ``${…}``/``#{…}``, or with
    ``js`` a bare expression body); raise ExpressionError with the column for bad syntax."""
    return _Juel(text, element, line, js=js).translate()


def excerpt(text: str, limit: int = 120) -> str:
    """``text`` quoted for an error message, cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


class Runtime:
    """EL semantics the kernel's evaluator lacks, reached as ``__juel__.…`` from translated text."""

    __slots__ = ("variables",)

    def __init__(self, variables: Mapping[str, Any]) -> None:
        self.variables = variables

    def var(self, name: str) -> Any:
        if name not in self.variables:
            raise NameError(f"unknown variable {name!r}")
        return self.variables[name]

    def opt(self, name: Any) -> Any:
        return self.variables.get(name) if isinstance(name, str) else None

    def prop(self, base: Any, key: Any) -> Any:
        if base is None:
            return None
        if isinstance(base, Mapping):
            return base.get(key)
        if isinstance(base, (list, tuple)):
            index = int(key)
            return base[index] if 0 <= index < len(base) else None
        raise TypeError(f"cannot read property {key!r} of a {type(base).__name__}")

    def call(self, name: str, *args: Any) -> Any:
        services = self.variables.get("__services__")
        function = services.get(name) if isinstance(services, Mapping) else None
        if not callable(function):
            raise LookupError(f"service {name!r} is not available")
        return function(*args)

    def empty(self, value: Any) -> bool:
        return value is None or (isinstance(value, (str, list, tuple, set, Mapping)) and not value)

    def text(self, value: Any) -> str:
        if value is None:
            return ""
        return ("true" if value else "false") if isinstance(value, bool) else str(value)

    def eq(self, left: Any, right: Any) -> bool:
        if left is None or right is None:
            return left is None and right is None
        if isinstance(left, bool) or isinstance(right, bool):  # EL coerces "true"/"false" here
            left, right = (v.strip().lower() == "true" if isinstance(v, str) else v for v in (left, right))
        return bool(_comparable(left, right, strict=False))

    def ne(self, left: Any, right: Any) -> bool:
        return not self.eq(left, right)

    def rel(self, op: str, left: Any, right: Any) -> bool:
        """``<``, ``>``, ``<=``, ``>=``: never true with a null operand, as in EL."""
        if left is None or right is None:
            return False
        return bool(_ORDER[op](*_comparable(left, right, strict=True)))


_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "lt": lambda a, b: a < b,
    "gt": lambda a, b: a > b,
    "le": lambda a, b: a <= b,
    "ge": lambda a, b: a >= b,
}


def _comparable(left: Any, right: Any, *, strict: bool) -> Any:
    # EL compares a number with a numeric string as numbers ("10" == 10, "9" < 10).
    numbers = (int, float)
    if (isinstance(left, str) and isinstance(right, numbers)) or (isinstance(right, str) and isinstance(left, numbers)):
        try:
            left, right = float(left), float(right)
        except ValueError:
            if strict:
                raise TypeError(f"cannot compare {left!r} with {right!r}") from None
            return False
    return (left, right) if strict else left == right


_TOKEN = re.compile(
    r"""(?P<skip>\s+)
      |(?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
      |(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      |(?P<name>[A-Za-z_$][\w$]*)
      |(?P<op>===|!==|==|!=|<=|>=|&&|\|\||[-+*/%!<>()\[\].,?:])""",
    re.VERBOSE | re.DOTALL,
)
_LITERALS = {"true": "True", "false": "False", "null": "None"}
_RELATIONS = {
    **dict.fromkeys(("==", "eq", "==="), "eq"),
    **dict.fromkeys(("!=", "ne", "!=="), "ne"),
    **{"<": "lt", "lt": "lt", ">": "gt", "gt": "gt", "<=": "le", "le": "le", ">=": "ge", "ge": "ge"},
}
_KEYWORDS = {"and", "or", "not", "div", "mod", "empty", "instanceof", *_LITERALS, *_RELATIONS}
_SCOPES = {"variables", "output"}
Token = tuple[str, Any, int]


class _Juel:
    """Parses EL text and returns equivalent source for the kernel's expression evaluator."""

    def __init__(self, text: str, element: str | None, line: int | None, *, js: bool = False) -> None:
        self.text, self.element, self.line, self.js = text, element, line, js
        self.tokens: list[Token] = []
        self.pos = 0
        self.depth = 0

    def error(self, message: str, offset: int) -> ExpressionError:
        row = self.text.count("\n", 0, offset)
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return ExpressionError(
            f"expression syntax error at column {column} of {excerpt(self.text)}: {message}",
            element=self.element,
            line=None if self.line is None else self.line + row,
        )

    def translate(self) -> str:
        if self.js:
            return self.body(0, len(self.text))
        parts: list[tuple[bool, str]] = []  # (is an expression, python source)
        pos = 0
        for match in re.finditer(r"(?<!\\)[$#]\{", self.text):
            if match.start() < pos:
                continue
            end = self.closing(match.end())
            if match.start() > pos:
                parts.append((False, repr(_unescape_text(self.text[pos : match.start()]))))
            parts.append((True, self.body(match.end(), end)))
            pos = end + 1
        if pos < len(self.text) or not parts:
            parts.append((False, repr(_unescape_text(self.text[pos:]))))
        if len(parts) == 1 and parts[0][0]:
            return parts[0][1]  # one ${…}: its value keeps its type
        return " + ".join(f"__juel__.text({source})" if is_expr else source for is_expr, source in parts)

    def closing(self, start: int) -> int:
        quote = None
        i = start
        while i < len(self.text):
            char = self.text[i]
            if quote:
                if char == "\\":
                    i += 1
                elif char == quote:
                    quote = None
            elif char in "'\"":
                quote = char
            elif char == "}":
                return i
            i += 1
        raise self.error("'${' without a closing '}'", start - 2)

    def body(self, start: int, end: int) -> str:
        self.tokens, self.pos = [], 0
        pos = start
        while pos < end:
            match = _TOKEN.match(self.text, pos, end)
            if match is None:
                raise self.error(f"unexpected character {self.text[pos]!r}", pos)
            kind, raw = match.lastgroup or "", match.group()
            if kind == "num":
                try:
                    value: Any = float(raw) if any(c in raw for c in ".eE") else int(raw)
                except ValueError:  # more digits than Python converts
                    raise self.error("number too long", pos) from None
                self.tokens.append((kind, value, pos))
            elif kind == "str":
                self.tokens.append((kind, re.sub(r"\\(['\"\\])", r"\1", raw[1:-1]), pos))
            elif kind != "skip":
                self.tokens.append((kind, raw, pos))
            pos = match.end()
        self.tokens.append(("end", None, end))
        if self.tokens[0][0] == "end":
            raise self.error("empty expression", start)
        tree = self.expression()
        if self.peek()[0] != "end":
            raise self.unexpected("expected an operator or the end")
        return _emit(tree, 0, self)

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def at(self, *values: str) -> bool:
        kind, value, _ = self.peek()
        return kind in ("op", "name") and value in values

    def take(self) -> Token:
        self.pos += 1
        return self.tokens[self.pos - 1]

    def expect(self, value: str) -> None:
        if not self.at(value):
            raise self.unexpected(f"expected {value!r}")
        self.take()

    def unexpected(self, hint: str) -> ExpressionError:
        kind, value, offset = self.peek()
        return self.error(f"unexpected {'end' if kind == 'end' else repr(value)} ({hint})", offset)

    def expression(self) -> tuple[Any, ...]:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"nested deeper than {MAX_NESTING} levels", self.peek()[2])
        try:
            condition = self.binary(0)
            if not self.at("?"):
                return condition
            self.take()
            then = self.expression()
            self.expect(":")
            return ("if", condition, then, self.expression())
        finally:
            self.depth -= 1

    # Binary operators by precedence, lowest first; each level is a left-associative loop.
    _LEVELS: tuple[dict[str, str], ...] = (
        {"||": "or", "or": "or"},
        {"&&": "and", "and": "and"},
        {k: v for k, v in _RELATIONS.items() if v in ("eq", "ne")},
        {k: v for k, v in _RELATIONS.items() if v not in ("eq", "ne")},
        {"+": "+", "-": "-"},
        {"*": "*", "/": "/", "div": "/", "%": "%", "mod": "%"},
    )

    def binary(self, level: int) -> tuple[Any, ...]:
        if level == len(self._LEVELS):
            return self.unary()
        ops = self._LEVELS[level]
        node = self.binary(level + 1)
        while self.peek()[0] in ("op", "name") and self.peek()[1] in ops:
            if self.peek()[1] in ("===", "!==") and not self.js:
                raise self.unexpected("'===' and '!==' are JavaScript; use '==' or '!='")
            node = ("bin", ops[self.take()[1]], node, self.binary(level + 1))
        return node

    def unary(self) -> tuple[Any, ...]:
        if self.at("-", "!", "not", "empty"):
            op = self.take()[1]
            self.depth += 1  # a prefix chain nests like parentheses
            if self.depth > MAX_NESTING:
                raise self.error(f"nested deeper than {MAX_NESTING} levels", self.peek()[2])
            try:
                return ({"-": "neg", "empty": "empty"}.get(op, "not"), self.unary())
            finally:
                self.depth -= 1
        return self.value()

    def value(self) -> tuple[Any, ...]:
        node = self.primary()
        while self.at(".", "[", "("):
            _, op, offset = self.take()
            if op == "(":
                if node[0] != "services":
                    raise self.error(
                        "method calls are not supported (only environment.services.NAME(…) "
                        "and execution.getVariable(…))",
                        offset,
                    )
                node = ("call", node[1], self.arguments())
                continue
            key = self.member() if op == "." else self.bracket()
            node = self.step(node, key, offset)
        if node[0] in ("scope", "services") or (node[0] == "var" and node[1] == "environment"):
            raise self.error(
                "incomplete reference: environment.variables/output need a variable name, "
                "services and getVariable need a call",
                self.peek()[2],
            )
        return node

    def member(self) -> tuple[Any, ...]:
        kind, name, offset = self.take()
        if kind != "name":
            raise self.error("expected a property name after '.'", offset)
        return ("lit", name)

    def bracket(self) -> tuple[Any, ...]:
        key = self.expression()
        self.expect("]")
        return key

    def step(self, node: tuple[Any, ...], key: tuple[Any, ...], offset: int) -> tuple[Any, ...]:
        name = key[1] if key[0] == "lit" else None
        if node == ("var", "environment"):
            if name in _SCOPES:
                return ("scope",)
            if name == "services":
                return ("services", None)
            raise self.error(f"unsupported reference environment.{name}", offset)
        if node == ("var", "variables") or node[0] == "scope":
            return ("opt", key)
        if node == ("services", None) and isinstance(name, str):
            return ("services", name)
        if node == ("var", "execution") and name == "getVariable" and self.at("("):
            self.take()
            args = self.arguments()
            if len(args) != 1:
                raise self.error("execution.getVariable takes one argument", offset)
            return ("opt", args[0])
        if node[0] == "services":
            raise self.error("expected a service call", offset)
        return ("prop", node, key)

    def arguments(self) -> list[tuple[Any, ...]]:
        args: list[tuple[Any, ...]] = []
        while not self.at(")"):
            if args:
                self.expect(",")
            args.append(self.expression())
        self.take()
        return args

    def primary(self) -> tuple[Any, ...]:
        kind, value, _ = self.take()
        if kind in ("num", "str"):
            return ("lit", value)
        if kind == "name" and value in _LITERALS:
            return ("lit", {"true": True, "false": False, "null": None}[value])
        if kind == "name" and value == "undefined" and self.js:
            return ("lit", None)
        if kind == "name" and value not in _KEYWORDS:
            return ("var", value)
        if kind == "op" and value == "(":
            node = self.expression()
            self.expect(")")
            return node
        self.pos -= 1
        raise self.unexpected("expected a value")


def _unescape_text(text: str) -> str:
    return text.replace("\\${", "${").replace("\\#{", "#{")


def _emit(node: tuple[Any, ...], depth: int, parser: _Juel) -> str:
    # Bounded so a long operator chain cannot exhaust the stack here or in the kernel's evaluator.
    if depth > 2 * MAX_NESTING:
        raise parser.error(f"expression too deeply nested (more than {2 * MAX_NESTING} operations)", 0)
    tag = node[0]

    def sub(child: tuple[Any, ...]) -> str:
        return _emit(child, depth + 1, parser)

    if tag == "lit":
        return repr(node[1])
    if tag == "var":
        name = node[1]
        if name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("__"):
            return str(name)
        return f"__juel__.var({name!r})"
    if tag == "opt":
        return f"__juel__.opt({sub(node[1])})"
    if tag == "prop":
        return f"__juel__.prop({sub(node[1])}, {sub(node[2])})"
    if tag == "call":
        return f"__juel__.call({', '.join([repr(node[1]), *map(sub, node[2])])})"
    if tag == "neg":
        return f"(-({sub(node[1])}))"
    if tag == "not":
        return f"(not ({sub(node[1])}))"
    if tag == "empty":
        return f"__juel__.empty({sub(node[1])})"
    if tag == "if":
        return f"(({sub(node[2])}) if ({sub(node[1])}) else ({sub(node[3])}))"
    op, left, right = node[1], sub(node[2]), sub(node[3])
    if op in ("and", "or"):
        return f"bool(({left}) {op} ({right}))"
    if op in ("eq", "ne"):
        return f"__juel__.{op}({left}, {right})"
    if op.isalpha():
        return f"__juel__.rel({op!r}, {left}, {right})"
    return f"(({left}) {op} ({right}))"
