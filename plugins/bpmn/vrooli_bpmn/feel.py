"""A FEEL subset: the expressions Camunda 8 (Zeebe) models write as ``=…``.

A tokenizer, a recursive-descent parser with a nesting bound, and a compiler from the syntax tree
to Python closures; nothing is ever handed to Python's ``eval``. :func:`compile_feel` does all the
parsing once (at load time); :meth:`FeelExpression.evaluate` only runs closures.

Supported:

- literals: numbers (``1``, ``2.5``, ``.5``), strings ``"…"`` with ``\\" \\\\ \\n \\r \\t \\uXXXX``
  escapes, ``true``, ``false``, ``null``; temporal literals ``@"2026-01-01"``, ``@"PT1H"``;
  list literals ``[1, 2]`` and context literals ``{a: 1, "b": a + 1}`` (entries see earlier ones);
- variables by name (``[A-Za-z_$][A-Za-z0-9_$]*``; a missing variable is ``null``), paths
  ``a.b.c`` (a path over a list maps over its items; dates and durations have ``year``, ``month``,
  ``day``, ``weekday``, ``hour``, ``minute``, ``second``, ``days``, ``hours``, ``minutes``,
  ``seconds``, ``years``, ``months``), and filters ``list[1]`` (1-based, negative from the end) or
  ``list[item > 2]`` / ``orders[amount > 10]`` (``item`` and each context's entries in scope);
- ``= != < <= > >=``, ``x between a and b``, ``x in [1, 2]``, ``x in (1..3]``, ``x in (1, < 0)``,
  ``x in > 5`` and ranges as values (``[1..3]``, ``(1..3)``, ``]1..3[``);
- ``and``, ``or`` (three-valued), ``not(x)``, ``+ - * / **``, unary minus, parentheses,
  ``if c then a else b``;
- iterations: ``for x in list return e`` and ``for i in 1..n return e`` (integer ends, counting
  down when the first is larger), ``some x in list satisfies c`` and ``every x in list satisfies
  c``, each with several contexts (``for x in a, y in b return …`` walks every combination; a
  later context sees the earlier variables). Like ``if``, an iteration extends as far right as it
  can and needs parentheses inside an operator (``1 + (some x in l satisfies x > 1)``);
- the built-in functions ``not``, ``is defined``, ``string length``, ``upper case``,
  ``lower case``, ``contains``, ``starts with``, ``ends with``, ``substring`` (start, optional
  length), ``substring before``, ``substring after``, ``trim``, ``string join`` (list, optional
  delimiter), ``replace`` (input, pattern, replacement, optional flags), ``matches``, ``split``,
  ``count``, ``sum``, ``product``, ``mean``, ``min``, ``max``, ``append``, ``concatenate``,
  ``distinct values``, ``flatten``, ``index of``, ``list contains``, ``sublist`` (start, optional
  length), ``reverse``, ``abs``, ``floor``, ``ceiling``, ``string``, ``number``, ``date`` (a
  string, a date-time or year, month, day), ``date and time`` (a string or a date) and
  ``duration``; :mod:`vrooli_bpmn.feel_builtins` gives their rules (positions, the regular
  expressions ``replace``/``matches``/``split`` accept, and their limits);
- comments ``// …`` and ``/* … */``.

Semantics follow FEEL: a wrong type or ``null`` operand gives ``null`` (``1 + null``,
``"a" < 1``, ``5 / 0``); ``=``/``!=`` compare ``null`` to ``null`` as equal; ``+`` concatenates two
strings; an ``if`` with a non-true condition takes ``else``. Conditions that give ``null`` count as
false (that is the caller's rule). In a string, a backslash that starts no escape is kept
(``"\\d+"`` is the three characters of a pattern). An iteration over something that is not a list
(or a range whose ends are not integers) gives ``null``; ``some`` is true when the condition is
true for at least one combination and false otherwise (a ``null`` condition is not true), ``every``
is true when it is true for all (so ``every`` over ``[]`` is true, ``some`` over ``[]`` false);
``for`` gives the list of its results (``[]`` over ``[]``). ``string join`` skips ``null`` items.

Not supported (a load-time :class:`~vrooli_core.errors.ExpressionError`): names with spaces or
other characters, ``instance of``, user functions and function definitions, named arguments,
built-ins not listed above, ``time`` values, and ``now()``/``today()`` (a run's clock is the
engine's, never the wall clock). Not supported either, without an error: ``partial`` inside a
``for`` is an ordinary variable, not the results so far. Numbers are Python ``int``/``float``, not
decimal128.

Limits: nesting (parentheses, lists, calls, ``if``, iterations, their sources and conditions) is
limited to :data:`MAX_NESTING` levels so hostile text cannot exhaust the stack. One evaluation may
bind iteration variables at most :data:`~vrooli_bpmn.feel_compiler.MAX_ITERATIONS` times in all,
however its iterations nest (``for i in 1..1000, j in 1..1000 …`` reaches it); beyond that, and
beyond the input length a regular expression may safely run on, evaluation fails with an
:class:`~vrooli_core.errors.ExpressionError` rather than running unbounded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from vrooli_bpmn import feel_builtins as fb
from vrooli_bpmn.feel_compiler import Fn, Node, compile_tree
from vrooli_core.errors import ExpressionError

__all__ = ["MAX_NESTING", "FeelExpression", "compile_feel"]

MAX_NESTING = 24
MAX_LENGTH = 100_000

_TOKEN = re.compile(
    r"""(?P<skip>\s+|//[^\n]*|/\*.*?\*/)
      |(?P<num>\d+(?:\.\d+)?|\.\d+)
      |(?P<str>"(?:[^"\\]|\\.)*")
      |(?P<name>(?:[^\W\d]|\$)[\w$]*)
      |(?P<op>\*\*|\.\.|!=|<=|>=|[-+*/=<>()\[\]{},.:@])""",
    re.VERBOSE | re.DOTALL,
)
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "'": "'", "/": "/"}
_LITERALS = {"true": True, "false": False, "null": None}
_RESERVED = {"and", "or", "then", "else", "between", "in", "satisfies", "return", "of"}
_ITERATIONS = {"for": "return", "some": "satisfies", "every": "satisfies"}  # keyword -> body keyword
_KEYWORDS = {*_RESERVED, *_ITERATIONS, *_LITERALS, "if", "not"}  # never a variable an iteration binds
_UNSUPPORTED = {"function", "instance"}
_COMPARISON = {"=", "!=", "<", "<=", ">", ">="}

Token = tuple[str, Any, int]  # kind ("num" "str" "name" "op" "end"), value, offset


@attrs.frozen
class FeelExpression:
    """A compiled FEEL expression; :meth:`evaluate` runs it against a variables mapping."""

    text: str
    _fn: Fn = attrs.field(repr=False, eq=False, alias="fn")
    element: str | None = None
    line: int | None = None

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        try:
            return self._fn(variables)
        except (TypeError, ValueError, ArithmeticError, RecursionError) as exc:
            # Built-ins are total; this is a last guard so a surprise in user data (an object with a
            # failing __eq__, say) is reported as this expression's error, not a crash elsewhere.
            raise ExpressionError(
                f"evaluating FEEL {self.text!r} failed: {type(exc).__name__}: {exc}",
                element=self.element,
                line=self.line,
            ) from None


def compile_feel(text: str, *, element: str | None = None, line: int | None = None) -> FeelExpression:
    """Parse ``text`` (without the leading ``=``) and return it compiled; raise ExpressionError
    with the column (and the line, offset from ``line``) of the first problem."""
    parser = _Parser(text, element, line)
    tree = parser.parse()
    return FeelExpression(text, compile_tree(tree), element, line)


def _tokenize(text: str, fail: Callable[[str, int], ExpressionError]) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise fail(f"expression longer than {MAX_LENGTH} characters", 0)
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            what = "unterminated string" if text[pos] == '"' else f"unexpected character {text[pos]!r}"
            raise fail(what, pos)
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "num":
            try:
                tokens.append((kind, float(raw) if "." in raw else int(raw), pos))
            except ValueError:  # more digits than Python converts
                raise fail("number too long", pos) from None
        elif kind == "str":
            tokens.append((kind, _ESCAPE.sub(_unescape, raw[1:-1]), pos))
        elif kind != "skip":
            tokens.append((kind, raw, pos))
        pos = match.end()
    tokens.append(("end", None, len(text)))
    return tokens


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code.startswith("u") and len(code) == 5:
        return chr(int(code[1:], 16))
    # Not an escape sequence: FEEL keeps the backslash, so patterns such as "\s+" reach replace().
    return _ESCAPES.get(code, "\\" + code)


# Built-in names with spaces as word tuples, by first word, longest first so ``date and time``
# beats ``date``.
_MULTIWORD: dict[str, list[tuple[str, ...]]] = {}
for _words in sorted(
    (tuple(name.split()) for name in [*fb.BUILTINS, *fb.SPECIAL] if " " in name), key=len, reverse=True
):
    _MULTIWORD.setdefault(_words[0], []).append(_words)


class _Parser:
    def __init__(self, text: str, element: str | None, line: int | None) -> None:
        self.text, self.element, self.line = text, element, line
        self.tokens = _tokenize(text, self.error)
        self.pos = 0
        self.depth = 0
        self.range_end_depth = -1  # at this depth a '[' closes a range (``[1..5[``), not a filter
        self.iterates = False  # a for/some/every was parsed: the compiled tree needs a budget

    def error(self, message: str, offset: int) -> ExpressionError:
        row = self.text.count("\n", 0, offset)
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        line = None if self.line is None else self.line + row
        where = f"line {row + 1}, column {column}" if row else f"column {column}"
        return ExpressionError(
            f"FEEL syntax error at {where} of {self.text!r}: {message}", element=self.element, line=line
        )

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def at(self, *values: str) -> bool:
        kind, value, _ = self.peek()
        return kind in ("op", "name") and value in values

    def take(self) -> Token:
        token = self.peek()
        self.pos += 1
        return token

    def expect(self, value: str) -> Token:
        if not self.at(value):
            raise self.unexpected(f"expected {value!r}")
        return self.take()

    def unexpected(self, hint: str = "") -> ExpressionError:
        kind, value, offset = self.peek()
        found = "end of expression" if kind == "end" else repr(value)
        return self.error(f"unexpected {found}" + (f" ({hint})" if hint else ""), offset)

    def parse(self) -> Node:
        if self.peek()[0] == "end":
            raise self.error("empty expression", 0)
        tree = self.expression()
        if self.peek()[0] != "end":
            raise self.unexpected("expected an operator or the end")
        return ("budget", tree) if self.iterates else tree

    def expression(self) -> Node:
        # Every nested construct comes back through here, so this one counter bounds the parser's,
        # the compiler's and the evaluator's recursion.
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"nested deeper than {MAX_NESTING} levels", self.peek()[2])
        try:
            if self.at("if") and self.peek()[0] == "name":
                self.take()
                condition = self.expression()
                self.expect("then")
                then = self.expression()
                self.expect("else")
                return ("if", condition, then, self.expression())
            if self.peek()[0] == "name" and self.peek()[1] in _ITERATIONS:
                return self.iteration()
            return self.chain("or", self.conjunction)
        finally:
            self.depth -= 1

    def iteration(self) -> Node:
        # ``for n in e[..e], … return e`` and ``some|every n in e, … satisfies e``; the sources and
        # the body are expression()s, so they count towards the nesting bound.
        keyword = self.take()[1]
        contexts: list[tuple[str, Node, Node | None]] = []
        while True:
            kind, name, offset = self.take()
            if kind != "name" or name in _KEYWORDS:
                found = "end of expression" if kind == "end" else repr(name)
                after = f"'{keyword}'" if not contexts else "','"
                raise self.error(f"expected a variable name after {after}, found {found}", offset)
            self.expect("in")
            source = self.expression()
            high = None
            if self.at("..") and keyword == "for":
                self.take()
                high = self.expression()
            contexts.append((name, source, high))
            if not self.at(","):
                break
            self.take()
        self.expect(_ITERATIONS[keyword])
        self.iterates = True
        return (keyword, contexts, self.expression())

    def chain(self, op: str, operand: Callable[[], Node]) -> Node:
        items = [operand()]
        while self.at(op) and self.peek()[0] == "name":
            self.take()
            items.append(operand())
        return items[0] if len(items) == 1 else (op, items)

    def conjunction(self) -> Node:
        return self.chain("and", self.comparison)

    def comparison(self) -> Node:
        left = self.additive()
        kind, value, _ = self.peek()
        if kind == "op" and value in _COMPARISON:
            self.take()
            node: Node = ("cmp", value, left, self.additive())
        elif kind == "name" and value == "between":
            self.take()
            low = self.additive()
            self.expect("and")
            node = ("between", left, low, self.additive())
        elif kind == "name" and value == "in":
            self.take()
            node = ("in", left, self.unary_tests())
        else:
            return left
        if self.at(*_COMPARISON, "between", "in"):
            raise self.unexpected("comparisons do not chain; use parentheses and 'and'")
        return node

    def unary_tests(self) -> list[Node]:
        if not self.at("("):
            return [self.unary_test()]
        self.take()
        first = self.unary_test(inner=True)  # (each test is an expression(), which counts nesting)
        if self.at("..") and first[0] == "expr":
            self.take()
            return [("expr", self.range_end(first[1], low_closed=False))]
        tests = [first]
        while self.at(","):
            self.take()
            tests.append(self.unary_test(inner=True))
        self.expect(")")
        return tests

    def unary_test(self, inner: bool = False) -> Node:
        if self.at("<", "<=", ">", ">=") and self.peek()[0] == "op":
            op = self.take()[1]
            return ("test", op, self.additive())
        return ("expr", self.expression() if inner else self.additive())

    def additive(self) -> Node:
        return self.operators(("+", "-"), self.multiplicative)

    def multiplicative(self) -> Node:
        return self.operators(("*", "/"), self.power)

    def power(self) -> Node:
        return self.operators(("**",), self.unary)

    def operators(self, ops: tuple[str, ...], operand: Callable[[], Node]) -> Node:
        # A left-associative chain is one node, evaluated in a loop: ``1+1+…+1`` stays shallow.
        first = operand()
        rest: list[tuple[str, Node]] = []
        while self.peek()[0] == "op" and self.peek()[1] in ops:
            rest.append((self.take()[1], operand()))
        return ("arith", first, rest) if rest else first

    def unary(self) -> Node:
        minus = 0
        while self.at("-") and self.peek()[0] == "op":
            self.take()
            minus += 1
        node = self.postfix()
        return ("neg", node) if minus % 2 else node

    def postfix(self) -> Node:
        base = self.primary()
        steps: list[tuple[str, Any]] = []
        while self.at(".", "[") and not (self.at("[") and self.depth == self.range_end_depth):
            if self.take()[1] == ".":
                kind, value, offset = self.take()
                if kind != "name":
                    raise self.error("expected a name after '.'", offset)
                steps.append(("get", value))
            else:
                steps.append(("filter", self.expression()))
                self.expect("]")
        return ("path", base, steps) if steps else base

    def primary(self) -> Node:
        kind, value, offset = self.peek()
        if kind in ("num", "str"):
            self.take()
            return ("lit", value)
        if kind == "op":
            return self.bracketed(value, offset)
        if kind != "name":
            raise self.unexpected("expected a value")
        if value in _LITERALS:
            self.take()
            return ("lit", _LITERALS[value])
        call = self.call_name()
        if call is not None:
            return call
        if value in _UNSUPPORTED:
            raise self.error(f"'{value}' expressions are not supported", offset)
        if value in _ITERATIONS:
            raise self.error(f"a '{value}' expression inside another one needs parentheses", offset)
        if value in _RESERVED or value in ("if", "not"):
            raise self.unexpected("expected a value")
        self.take()
        return ("name", value)

    def call_name(self) -> Node | None:
        first = self.peek()
        for candidate in [*_MULTIWORD.get(first[1], ()), (first[1],)]:
            size = len(candidate)
            if all(self.peek(i)[0] == "name" and self.peek(i)[1] == word for i, word in enumerate(candidate)):
                after = self.peek(size)
                if after[0] == "op" and after[1] == "(":
                    self.pos += size
                    return self.call(" ".join(candidate), first[2])
        return None

    def call(self, name: str, offset: int) -> Node:
        if name not in fb.BUILTINS and name not in fb.SPECIAL:
            raise self.error(f"unknown function {name!r}", offset)
        self.expect("(")
        args: list[Node] = []
        offsets: list[int] = []
        if not self.at(")"):
            offsets.append(self.peek()[2])
            args.append(self.expression())
            while self.at(","):
                self.take()
                offsets.append(self.peek()[2])
                args.append(self.expression())
        self.expect(")")
        low, high, _ = fb.BUILTINS.get(name, (1, 1, None))
        if len(args) < low or (high is not None and len(args) > high):
            count = f"{low}+" if high is None else f"{low}" if high == low else f"{low} to {high}"
            raise self.error(f"{name}() takes {count} argument(s)", offset)
        if name in fb.PATTERN_ARGUMENTS:
            self.check_pattern(name, args, offsets)
        return ("call", name, args)

    def check_pattern(self, name: str, args: list[Node], offsets: list[int]) -> None:
        # A pattern written as a literal is checked now, so a bad one fails the load, not a run.
        at, flags_at = fb.PATTERN_ARGUMENTS[name]
        pattern = args[at]
        flags = args[flags_at] if flags_at is not None and flags_at < len(args) else ("lit", "")
        if pattern[0] == "lit" and isinstance(pattern[1], str) and flags[0] == "lit" and isinstance(flags[1], str):
            problem = fb.pattern_problem(pattern[1], flags[1])
            if problem is not None:
                raise self.error(f"{name}(): {problem}", offsets[at])

    def bracketed(self, value: str, offset: int) -> Node:
        if value == "@":
            self.take()
            kind, text, _ = self.take()
            literal = _temporal(text) if kind == "str" else None
            if literal is None:
                raise self.error("expected a date, date-time or duration string after '@'", offset)
            return ("lit", literal)
        if value not in ("(", "[", "]", "{"):
            raise self.unexpected("expected a value")
        self.take()
        if value == "{":
            return self.context()
        if value == "[" and self.at("]"):
            self.take()
            return ("list", [])
        first = self.expression()  # every nested construct parses through expression(): the bound
        if self.at(".."):
            self.take()
            return self.range_end(first, low_closed=value == "[")
        if value == "(":
            self.expect(")")
            return first
        if value == "]":
            raise self.unexpected("expected '..'")
        items = [first]
        while self.at(","):
            self.take()
            items.append(self.expression())
        self.expect("]")
        return ("list", items)

    def range_end(self, low: Node, *, low_closed: bool) -> Node:
        saved, self.range_end_depth = self.range_end_depth, self.depth + 1
        try:
            high = self.expression()
        finally:
            self.range_end_depth = saved
        if not self.at("]", ")", "["):
            raise self.unexpected("expected ']', ')' or '[' to close the range")
        return ("range", low, high, low_closed, self.take()[1] == "]")

    def context(self) -> Node:
        entries: list[tuple[str, Node]] = []
        while not self.at("}"):
            if entries:
                self.expect(",")
            kind, key, offset = self.take()
            if kind not in ("name", "str"):
                raise self.error("expected a context key", offset)
            self.expect(":")
            entries.append((key, self.expression()))
        self.take()
        return ("context", entries)


def _temporal(text: str) -> Any:
    if text.lstrip("-").startswith("P"):
        return fb.BUILTINS["duration"][2](text)
    return fb.BUILTINS["date and time" if "T" in text else "date"][2](text)
