"""Python script tasks, run in-process by asteval (an AST interpreter; never ``exec`` of the text).

:func:`compile_script` parses the script once, at load time, and checks every syntax node against
an allow-list, so a script that cannot run is an :class:`~vrooli_core.errors.ExpressionError`
naming the element and the line before any run starts. :meth:`CompiledScript.run` then interprets
the parsed tree with a per-thread asteval interpreter whose symbol table is rebuilt for every run:
the script sees only the process variables it names, a short list of built-ins and the functions
the caller registers, and has no access to files, modules, the OS or dunder attributes.

Supported: assignments (also tuple targets, ``x[i] = …``, ``x += 1``), expressions and calls,
``if``/``elif``/``else``, ``for`` (with ``break``/``continue``/``else``), ``pass``, ``assert``,
conditional expressions, list/dict/set comprehensions, f-strings, literals, slicing, and the
built-ins ``abs all any bool chr dict divmod enumerate filter float frozenset int isinstance len
list map max min ord range reversed round set sorted str sum tuple zip`` (``range`` is capped at
:data:`MAX_RANGE` items).

Not supported (refused at load time): ``import``, ``while`` (no unbounded loops), ``def``,
``lambda``, ``class``, ``try``, ``with``, ``raise``, ``del``, ``global``/``nonlocal``,
``return``/``yield``/``await``, generator expressions (use a list comprehension), ``*args``
unpacking, the walrus operator, ``match``, and any attribute starting with ``_``. There is no
``print``. Script formats other than Python (JavaScript, Groovy, …) are refused; scripts that
need more belong in the sandboxed code step.

``run`` returns the variables the script created or changed, with their new values. Mutable
inputs (lists, dicts, sets) are copied before the run, so a script that mutates one in place
(``items.append(4)``) reports it as changed and never alters the caller's data.
"""

from __future__ import annotations

import ast
import copy
import textwrap
import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import attrs
from asteval import Interpreter  # type: ignore[import-untyped]
from asteval.astutils import RESERVED_WORDS  # type: ignore[import-untyped]

from vrooli_core.errors import ExpressionError

__all__ = ["MAX_RANGE", "CompiledScript", "compile_script"]

MAX_LENGTH = 100_000
MAX_RANGE = 1_000_000
_FORMATS = {"", "python", "py", "python3", "text/x-python", "text/python", "application/x-python"}
_NO_FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType({})
_ALLOWED = {
    *"Module Expr Assign AugAssign If For Break Continue Pass Assert Name Constant BinOp UnaryOp".split(),
    *"BoolOp Compare IfExp Call keyword Attribute Subscript Slice List Tuple Dict Set ListComp".split(),
    *"SetComp DictComp comprehension JoinedStr FormattedValue Load Store".split(),
}
_HINTS = {
    "GeneratorExp": "generator expressions are not supported; use a list comprehension",
    "While": "'while' loops are not supported; use 'for' over a bounded range",
    "Import": "imports are not allowed in script tasks",
    "ImportFrom": "imports are not allowed in script tasks",
    "FunctionDef": "function definitions are not supported; register functions with the engine",
    "Lambda": "lambda is not supported; register functions with the engine",
}


def _range(*args: int) -> range:
    # ``for i in range(10**12)`` would run for days; scripts that need that are not script tasks.
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise ValueError(f"range of {len(result)} items exceeds the limit of {MAX_RANGE}")
    return result


_BUILTINS: dict[str, Any] = {
    name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for name in (
        "abs all any bool chr dict divmod enumerate filter float frozenset int isinstance len list map max"
        " min ord reversed round set sorted str sum tuple zip"
    ).split()
}
_BUILTINS["range"] = _range
_MUTABLE = (list, dict, set)


@attrs.frozen
class CompiledScript:
    """A parsed, checked Python script; :meth:`run` interprets it against process variables."""

    text: str
    element: str | None
    line: int | None
    _body: tuple[ast.stmt, ...] = attrs.field(repr=False, eq=False, alias="body")
    _names: frozenset[str] = attrs.field(repr=False, alias="names")  # every name the script uses
    _writes: frozenset[str] = attrs.field(repr=False, alias="writes")  # names it assigns

    def run(
        self, variables: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]] = _NO_FUNCTIONS
    ) -> dict[str, Any]:
        """Run the script; return ``{name: new value}`` for each variable it created or changed.

        ``functions`` are callables the script may call by name. Raises ExpressionError naming the
        element and the line (the element's line plus the line inside the script) when it fails.
        """
        symbols = dict(_BUILTINS)
        symbols.update(functions)
        copied: dict[str, Any] = {}
        for name in self._names:
            if name in variables:
                value = variables[name]
                if isinstance(value, _MUTABLE):
                    value = copied[name] = _copy(value)
                symbols[name] = value
        interpreter = _interpreter(symbols, self.text)
        for statement in self._body:
            try:
                interpreter.run(statement, with_raise=True)
            except Exception:
                raise self._failure(interpreter, statement) from None
            if interpreter.error:
                raise self._failure(interpreter, statement)
        missing = object()
        changed: dict[str, Any] = {}
        for name in self._writes | copied.keys():
            new = symbols.get(name, missing)
            if new is missing or (name in functions and new is functions[name]):
                continue
            old = variables.get(name, missing)
            if old is missing or type(new) is not type(old) or _differs(new, old):
                changed[name] = new
        return changed

    def _failure(self, interpreter: Any, statement: ast.stmt) -> ExpressionError:
        errors = interpreter.error
        first = errors[0] if errors else None
        kind = getattr(getattr(first, "exc", None), "__name__", None) or "Error"
        message = (getattr(first, "msg", "") or interpreter.error_msg or "failed").strip()
        script_line = getattr(first, "lineno", None) or statement.lineno
        return ExpressionError(
            f"script failed at script line {script_line}: {kind}: {message}",
            element=self.element,
            line=_line(self.line, script_line),
        )


def compile_script(
    text: str, format: str | None, *, element: str | None = None, line: int | None = None
) -> CompiledScript:
    """Parse and check a script task's Python ``text``; ``line`` is where the script starts.

    Raise ExpressionError naming ``element`` (and the line) for another script format, a syntax
    error or an unsupported construct.
    """
    fmt = (format or "").strip().lower()
    if fmt not in _FORMATS:
        raise ExpressionError(
            f"script format {format!r} is not supported; script tasks run Python (scriptFormat "
            "'python'), anything else belongs in a code step",
            element=element,
            line=line,
        )
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"script longer than {MAX_LENGTH} characters", element=element, line=line)
    source = textwrap.dedent(text)
    try:
        tree = ast.parse(source, mode="exec")  # parsing only: the tree is interpreted by asteval
    except SyntaxError as exc:
        raise ExpressionError(
            f"script syntax error at script line {exc.lineno}: {exc.msg}",
            element=element,
            line=_line(line, exc.lineno),
        ) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, hostile nesting
        raise ExpressionError(f"script cannot be parsed: {type(exc).__name__}", element=element, line=line) from None
    names: set[str] = set()
    writes: set[str] = set()
    for node in ast.walk(tree):
        kind = type(node).__name__
        if kind not in _ALLOWED and not isinstance(node, (ast.operator, ast.unaryop, ast.cmpop, ast.boolop)):
            where = getattr(node, "lineno", None)
            hint = _HINTS.get(kind, f"'{kind}' is not supported in script tasks")
            raise ExpressionError(
                f"script line {where}: {hint}" if where else hint, element=element, line=_line(line, where)
            )
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ExpressionError(
                f"script line {node.lineno}: attribute {node.attr!r} is not accessible",
                element=element,
                line=_line(line, node.lineno),
            )
        if isinstance(node, ast.Name):
            names.add(node.id)
            if isinstance(node.ctx, ast.Store):
                writes.add(node.id)
    return CompiledScript(text, element, line, body=tuple(tree.body), names=frozenset(names), writes=frozenset(writes))


def _line(base: int | None, script_line: int | None) -> int | None:
    if script_line is None:
        return base
    return script_line if base is None else base + script_line - 1


class _Interpreter(Interpreter):  # type: ignore[misc]
    def node_assign(self, node: Any, val: Any) -> None:
        # asteval re-tokenizes every assigned name to check it is an identifier, which is ~40% of
        # running ``x = x + 1``; our names come from Python's parser, so only the reserved-word
        # rule (asteval's own list) still needs checking.
        if type(node) is ast.Name and node.id not in RESERVED_WORDS and node.id not in self.readonly_symbols:
            self.symtable[node.id] = val
            return
        super().node_assign(node, val)


_local = threading.local()


def _interpreter(symbols: dict[str, Any], text: str) -> Any:
    """This thread's interpreter, reset for a run with ``symbols`` as its whole symbol table.

    Building an asteval Interpreter costs about twice as much as running ``x = x + 1``, so one is
    kept per thread and its per-run state (errors, interrupts, the symbol table) is reset here.
    """
    interpreter = getattr(_local, "interpreter", None)
    if interpreter is None:
        interpreter = _Interpreter(
            symtable={},
            use_numpy=False,
            minimal=True,  # then re-enable exactly what the allow-list above admits
            with_if=True,
            with_ifexp=True,
            with_for=True,
            with_augassign=True,
            with_listcomp=True,
            with_dictcomp=True,
            with_setcomp=True,
            with_formattedvalue=True,
            with_assert=True,
        )
        _local.interpreter = interpreter
    interpreter.symtable = symbols
    interpreter.error = []
    interpreter.error_msg = None
    interpreter.retval = None
    interpreter._interrupt = None
    interpreter._calldepth = 0
    interpreter.code_text = []
    interpreter.expr = text
    return interpreter


def _copy(value: Any) -> Any:
    # Process variables are JSON-like; copying lists and dicts by hand is several times faster than
    # deepcopy, which remains the fallback for anything else.
    if isinstance(value, list):
        return [_copy(item) for item in value]
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, (str, int, float, bool, type(None), tuple, frozenset)):
        return value
    return copy.deepcopy(value)


def _differs(new: Any, old: Any) -> bool:
    try:
        return bool(new != old)
    except Exception:
        return True
