"""Conditions and mappings in a BPMN model, compiled once at load time and evaluated per run.

:func:`compile_expression` picks the language and returns a :class:`CompiledExpression`; every
syntax problem and every unsupported language is an :class:`~vrooli_core.errors.ExpressionError`
naming the element and line at load time. Nothing is ever handed to Python's ``eval``/``exec``.

Languages (``CompiledExpression.language``):

- ``"feel"`` — text starting with ``=`` (Camunda 8), or ``language`` naming FEEL
  (``feel``, ``http://www.omg.org/spec/FEEL/20140401``, any ``…omg.org/spec/…/FEEL/`` URI). The
  subset and its semantics are described in :mod:`vrooli_bpmn.feel`.
- ``"juel"`` — text containing ``${…}`` or ``#{…}`` (Camunda 7, bpmn-elements) or ``language``
  ``juel``/``el``. The common EL subset is translated to the kernel's sandboxed evaluator
  (:func:`vrooli_core.expressions.evaluate`): literals (numbers, ``'…'``/``"…"`` strings, ``true``,
  ``false``, ``null``), variables, property paths ``a.b`` and ``a['b']``/``list[0]`` (a missing
  property or a null base gives null, as in EL), ``&& || ! and or not``, ``== != < > <= >= eq ne lt
  gt le ge`` (null is never ordered; a number and a numeric string compare as numbers), ``+ - * /
  % div mod``, unary minus, ``empty x``, ``c ? a : b`` and composite text ``"Hi ${name}"`` (a
  string). bpmn-elements forms: ``environment.variables.X``, ``environment.output.X`` and
  ``variables.X`` read variable ``X`` (null when absent, as in JavaScript), and
  ``environment.services.NAME(args)`` calls ``variables["__services__"][NAME]``; Camunda 7's
  ``execution.getVariable('X')`` reads ``X`` (null when absent). A plain unknown variable is an
  error, as in Camunda 7. Logic uses Python truthiness (``0``, ``""``, empty collections and null
  are false) because bpmn-elements conditions such as ``${environment.output.count}`` rely on it.
  Not supported: other method calls, EL functions (``fn:…``), lambdas, collection literals,
  ``instanceof``, ``+=``; the names ``environment`` and ``__juel__`` are reserved.
- ``"bpmn-elements-js"`` — ``language`` ``javascript``/``js``: only bpmn-elements' condition form
  ``next(null, EXPR);`` where ``EXPR`` is written as a JUEL body (``===``/``!==``/``undefined``
  allowed). Any other JavaScript is refused at load time.
- ``"sandbox"`` — ``language`` ``python`` (or none, for text with neither ``=`` nor ``${``): a
  Python expression evaluated by the kernel's sandbox as is.
- ``"xpath"`` — ``language`` ``http://www.w3.org/1999/XPath``, or no language and a body calling
  BPMN's XPath data functions: the subset modellers export — ``bpmn:getDataObject('x')``
  (also ``getDataInput``/``getDataOutput``) reads variable ``x``, ``'…'``/``"…"`` strings, numbers,
  ``true()``/``false()``/``true``/``false``, ``= != < <= > >=``, ``and``, ``or``, ``not(…)``,
  evaluated with FEEL's semantics. Paths, axes and other XPath functions are refused at load time.
  A ``${…}`` body under an XPath language (a modeller's default) is read as JUEL.

Any other language (groovy, …) is an ExpressionError at load time.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from vrooli_bpmn.feel import compile_feel
from vrooli_bpmn.juel import RUNTIME_NAME, Runtime, excerpt, translate
from vrooli_core import expressions as sandbox
from vrooli_core.errors import ExpressionError

__all__ = ["CompiledExpression", "compile_expression"]

Evaluator = Callable[[Mapping[str, Any]], Any]


@attrs.frozen
class CompiledExpression:
    """An expression ready to run; ``language`` is the normalised language actually used."""

    text: str
    language: str
    element: str | None = None
    line: int | None = None
    _evaluator: Evaluator = attrs.field(kw_only=True, repr=False, eq=False, alias="evaluator")

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        """Evaluate against ``variables``; raise ExpressionError naming the element and line."""
        return self._evaluator(variables)


def compile_expression(
    text: str, language: str | None = None, *, element: str | None = None, line: int | None = None
) -> CompiledExpression:
    """Compile ``text`` (see the module docstring for the rules); raise ExpressionError now for
    any syntax error or unsupported language."""
    body = text.strip()
    lang = (language or "").strip().lower()
    if not body:
        raise ExpressionError("empty expression", element=element, line=line)
    if _is_feel(lang) or (not lang and body.startswith("=")):
        feel = compile_feel(body[1:] if body.startswith("=") else body, element=element, line=line)
        return CompiledExpression(text, "feel", element, line, evaluator=feel.evaluate)
    if lang in ("javascript", "js", "ecmascript", "text/javascript", "application/javascript"):
        match = re.fullmatch(r"next\s*\(\s*null\s*,(.*)\)\s*;?", body, re.DOTALL)
        if match is None:
            raise ExpressionError(
                f"unsupported JavaScript expression {excerpt(body)}: only the bpmn-elements form "
                "'next(null, EXPR);' is supported",
                element=element,
                line=line,
            )
        source = translate(match.group(1), element=element, line=line, js=True)
        return _juel_expression(text, "bpmn-elements-js", source, element, line)
    is_xpath = lang in ("http://www.w3.org/1999/xpath", "xpath") or (not lang and _XPATH_CALL.search(body))
    if is_xpath and "${" not in body and "#{" not in body:
        return _xpath_expression(text, body, element, line)
    if lang in ("juel", "el", "uel", "http://www.w3.org/1999/xpath", "xpath") or (
        not lang and ("${" in body or "#{" in body)
    ):
        return _juel_expression(text, "juel", translate(body, element=element, line=line), element, line)
    if lang in ("", "python", "text/x-python", "py", "sandbox"):
        return _sandbox_expression(text, body, element, line)
    raise ExpressionError(f"unsupported expression language {language!r}", element=element, line=line)


# BPMN's XPath data-access functions (BPMN 2.0, section 10.3.1) and the literals modellers export.
_XPATH_CALL = re.compile(r"\bbpmn:get(?:DataObject|DataInput|DataOutput)\s*\(")
_XPATH_TOKEN = re.compile(
    r"""(?P<call>\bbpmn:get(?:DataObject|DataInput|DataOutput)\s*\(\s*(?:'(?P<a>[^']*)'|"(?P<b>[^"]*)")\s*\))
      |(?P<str>'[^']*'|"[^"]*")
      |\b(?P<const>true|false)\s*\(\s*\)""",
    re.VERBOSE,
)


def _xpath_expression(text: str, body: str, element: str | None, line: int | None) -> CompiledExpression:
    # The XPath that BPMN models carry (``bpmn:getDataObject('x') = 'yes'``, ``not(…)``, ``and``,
    # comparisons) is, once its data functions become variable names and its strings get double
    # quotes, valid FEEL with the same meaning; anything else (paths, axes, XPath functions) is not.
    def rewrite(match: re.Match[str]) -> str:
        if match["call"]:
            name = match["a"] if match["a"] is not None else match["b"]
            return name if re.fullmatch(r"[A-Za-z_$][\w$]*", name) else f"@{name!r}"  # '@' fails in FEEL
        if match["str"]:
            return json.dumps(match["str"][1:-1], ensure_ascii=False)
        return str(match["const"])

    try:
        feel = compile_feel(_XPATH_TOKEN.sub(rewrite, body), element=element, line=line)
    except ExpressionError as exc:
        raise ExpressionError(
            f"unsupported XPath expression {excerpt(body)}: only BPMN's data functions "
            f"(bpmn:getDataObject('name') …), comparisons, and/or/not(), literals and true()/false() are "
            f"supported ({exc.message})",
            element=element,
            line=line,
        ) from None
    return CompiledExpression(text, "xpath", element, line, evaluator=feel.evaluate)


def _is_feel(lang: str) -> bool:
    return lang == "feel" or ("omg.org/spec" in lang and "feel" in lang)


def _sandbox_expression(text: str, body: str, element: str | None, line: int | None) -> CompiledExpression:
    try:
        sandbox.check(body, element=element)
    except ExpressionError as exc:
        raise ExpressionError(exc.message, element=element, line=line) from None
    except (RecursionError, ValueError, MemoryError) as exc:  # Python's parser on hostile text
        raise ExpressionError(
            f"invalid expression {excerpt(body)}: {type(exc).__name__}", element=element, line=line
        ) from None

    names = _names_in(body)

    def evaluate(variables: Mapping[str, Any]) -> Any:
        try:
            return sandbox.evaluate(body, _pick(variables, names), element=element)
        except ExpressionError as exc:
            raise ExpressionError(exc.message, element=element, line=line) from None

    return CompiledExpression(text, "sandbox", element, line, evaluator=evaluate)


def _names_in(source: str) -> frozenset[str]:
    """The names ``source`` (already checked to parse) refers to."""
    return frozenset(node.id for node in ast.walk(ast.parse(source.strip(), mode="eval")) if isinstance(node, ast.Name))


def _pick(variables: Mapping[str, Any], names: frozenset[str]) -> dict[str, Any]:
    # The kernel copies the mapping it is given; handing it only the names the expression uses keeps
    # a condition's cost independent of how many variables the run holds.
    return {name: variables[name] for name in names if name in variables}


def _juel_expression(
    text: str, language: str, source: str, element: str | None, line: int | None
) -> CompiledExpression:
    try:  # our translation always parses; this guards that promise
        sandbox.check(source, element=element)
    except ExpressionError:
        raise ExpressionError(f"cannot translate {excerpt(text.strip())}", element=element, line=line) from None

    used = _names_in(source) - {RUNTIME_NAME}

    def evaluate(variables: Mapping[str, Any]) -> Any:
        names = _pick(variables, used)
        names[RUNTIME_NAME] = Runtime(variables)
        try:
            return sandbox.evaluate(source, names, element=element)
        except ExpressionError as exc:
            # The kernel's message quotes the translated source; report the model's text instead.
            cause = exc.__context__
            name = getattr(cause, "name", None)
            if cause is not None and type(cause).__name__ == "NameNotDefined" and name:
                detail = f"unknown variable {name!r}"
            elif cause is not None:
                detail = f"{type(cause).__name__}: {cause}"
            else:
                detail = exc.message
            raise ExpressionError(
                f"cannot evaluate {excerpt(text.strip())}: {detail}", element=element, line=line
            ) from None

    return CompiledExpression(text, language, element, line, evaluator=evaluate)
