"""Loading a team (its agents and people) from a TOML or YAML file, or from a mapping.

The file's top level is the team itself: ``id``, ``name``, ``goals``, ``budget``, ``knowledge``,
and the lists ``agents`` and ``people``. Every problem is reported (unknown keys, wrong types,
missing fields, duplicate names) with its item path, e.g. ``agents[2].model``, and its line: YAML
nodes carry exact positions; for TOML (``tomllib`` keeps none) the line is a best-effort search for
the key below its ``[[table]]`` header, and is left out when not found.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

import cattrs
import cattrs.v
from cattrs.cols import homogenous_tuple_structure_factory

from vrooli_core.coordination.errors import CoordinationError, Problem, TeamConfigError
from vrooli_core.coordination.model import Team
from vrooli_core.errors import ConfigError
from vrooli_core.jsonable import unstorable
from vrooli_core.serialization import make_converter

__all__ = ["load_team", "team_from_mapping"]

Locate = Callable[[tuple[str | int, ...]], int | None]
_INVARIANT = "invariant: "
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def load_team(path: str | Path) -> Team:
    """The team defined in ``path`` (``.toml``, ``.yaml`` or ``.yml``); ``TeamConfigError`` lists
    what is wrong, ``ConfigError`` when the file cannot be read or parsed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read team file: {exc}") from exc
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
        return team_from_mapping(data, source=str(path), locate=_toml_locator(text))
    if suffix in (".yaml", ".yml"):
        data, locate = _read_yaml(text, path)
        return team_from_mapping(data, source=str(path), locate=locate)
    raise ConfigError(f"{path}: a team file ends in .toml, .yaml or .yml")


def team_from_mapping(data: Any, *, source: str | None = None, locate: Locate | None = None) -> Team:
    """The team ``data`` defines (the form of a team file). Types are strict: a number is not a
    string, a string is not a list. ``TeamConfigError`` lists every problem found."""
    if not isinstance(data, Mapping):
        raise TeamConfigError([Problem("", f"a team is a mapping, got {type(data).__name__}")], source=source)
    where = locate or (lambda _: None)
    try:
        team: Team = _converter().structure(dict(data), Team)
    except cattrs.BaseValidationError as exc:
        messages = cattrs.transform_error(exc, path="$", format_exception=_format)
        invariants = _invariants(data, where)
        # an invariant the model refused is reported by _invariants, with its item
        problems = [_problem(m, where) for m in messages if not (invariants and _INVARIANT in m)]
        raise TeamConfigError([*problems, *invariants], source=source) from None
    except (CoordinationError, ValueError) as exc:
        # the team's own invariants (attrs validators), found again here to name the item
        raise TeamConfigError(_invariants(data, where) or [Problem("", str(exc))], source=source) from None
    return team


def _invariants(data: Mapping[str, Any], where: Locate) -> list[Problem]:
    """What the attrs validators refuse, with the item that breaks it."""
    problems = []
    for field, key in (("agents", "name"), ("people", "id")):
        seen: dict[str, int] = {}
        items = data.get(field)
        for i, item in enumerate(items if isinstance(items, list | tuple) else ()):
            name = item.get(key) if isinstance(item, Mapping) else None
            if not isinstance(name, str):
                continue
            if name in seen:
                path = (field, i, key)
                problems.append(
                    Problem(_render(path), f"duplicate {key} {name!r} (also {field}[{seen[name]}])", where(path))
                )
            else:
                seen[name] = i
    if isinstance(data.get("budget"), (int, float)) and data["budget"] < 0:
        problems.append(Problem("budget", "must not be negative", where(("budget",))))
    knowledge = data.get("knowledge")
    if isinstance(knowledge, Mapping):
        problem = unstorable(dict(knowledge))
        if problem is not None:
            item, _, what = problem.partition(": ")
            where_in: tuple[str | int, ...] = ("knowledge", *item.split("."))
            problems.append(Problem(_render(where_in), f"not JSON-compatible: {what}", where(where_in)))
    return problems


def _format(exc: BaseException, type_: Any) -> str:
    # our strict hooks and the model's validators say precisely what is wrong; keep their words
    if isinstance(exc, CoordinationError):
        return _INVARIANT + str(exc)
    if isinstance(exc, AttributeError):  # a scalar where a table belongs: cattrs calls .keys()
        return "expected a table (mapping)"
    if isinstance(exc, (TypeError, ValueError)) and not isinstance(exc, cattrs.BaseValidationError) and str(exc):
        return str(exc)
    return cattrs.v.format_exception(exc, type_)


def _problem(message: str, where: Locate) -> Problem:
    text, _, at = message.rpartition(" @ ")
    path: tuple[str | int, ...] = tuple(
        name if name is not None and name != "" else int(index) for name, index in _PATH_PART.findall(at[1:])
    )
    extra = re.match(r"extra fields found \((.*)\)", text)
    if extra:
        # one problem per unknown key, each pointing at the key itself
        keys = [k.strip() for k in extra.group(1).split(",")]
        return Problem(
            _render(path) if path else "",
            f"unknown key{'s' if len(keys) > 1 else ''} {', '.join(repr(k) for k in keys)}",
            where((*path, keys[0])) or where(path),
        )
    return Problem(_render(path), text, where(path))


def _render(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# -- a strict converter: the kernel's, refusing extra keys and coercions ------------------------


def _converter() -> cattrs.Converter:
    conv = make_converter().copy(forbid_extra_keys=True)
    for cls in (str, int, float, bool):
        conv.register_structure_hook(cls, _strict(cls))

    def tuple_factory(t: Any) -> Any:
        inner = homogenous_tuple_structure_factory(t, conv)

        def structure(value: Any, cls: Any) -> Any:
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"expected a list, got {type(value).__name__}")
            return inner(value, cls)

        return structure

    conv.register_structure_hook_factory(_is_homogenous_tuple, tuple_factory)
    conv.register_structure_hook_factory(_is_mapping, lambda _: _mapping)
    return conv


def _is_homogenous_tuple(t: Any) -> bool:
    origin: Any = get_origin(t)
    return origin is tuple and len(get_args(t)) == 2 and get_args(t)[1] is Ellipsis


def _is_mapping(t: Any) -> bool:
    origin: Any = get_origin(t)
    return origin is Mapping


def _strict(cls: type) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        if isinstance(value, bool) and cls is not bool:
            raise TypeError(f"expected {cls.__name__}, got bool")
        if cls is float and isinstance(value, int):
            return float(value)
        if not isinstance(value, cls):
            raise TypeError(f"expected {cls.__name__}, got {type(value).__name__}")
        return value

    return structure


def _mapping(value: Any, _: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a table/mapping, got {type(value).__name__}")
    return dict(value)


# -- lines ---------------------------------------------------------------------------------------


def _toml_locator(text: str) -> Locate:
    """Best effort: follow ``[[name]]`` headers for list items, then look for ``key =``."""
    lines = text.splitlines()

    def locate(path: tuple[str | int, ...]) -> int | None:
        start, found = 0, None
        parts = list(path)
        for i, part in enumerate(parts):
            if isinstance(part, int):
                continue
            nxt = parts[i + 1] if i + 1 < len(parts) else None
            if isinstance(nxt, int):
                header = re.compile(rf"^\s*\[\[\s*{re.escape(part)}\s*\]\]")
                hits = [n for n in range(start, len(lines)) if header.match(lines[n])]
                if len(hits) <= nxt:
                    return found
                start = hits[nxt]
                found = start + 1
            else:
                pattern = re.compile(rf"^\s*(\[\s*)?[\"']?{re.escape(part)}[\"']?\s*(=|\])")
                hit = None
                for n in range(start + 1 if found else 0, len(lines)):
                    if pattern.match(lines[n]):
                        hit = n
                        break
                    if lines[n].lstrip().startswith("["):
                        break  # the key is not in this table
                if hit is None:
                    return found
                start = hit
                found = hit + 1
        return found

    return locate


def _read_yaml(text: str, path: Path) -> tuple[Any, Locate]:
    try:
        import yaml  # type: ignore[import-untyped,unused-ignore]  # lazy: PyYAML is optional, only YAML team files need it
    except ImportError:
        raise ConfigError(f"{path}: reading YAML team files needs PyYAML: pip install 'vrooli-core[yaml]' (or pyyaml)") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc

    def locate(parts: tuple[str | int, ...]) -> int | None:
        node, line = root, None
        for part in parts:
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                hit = next(((k, v) for k, v in node.value if k.value == part), None)
                if hit is None:
                    return line
                line, node = hit[0].start_mark.line + 1, hit[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line

    return data, locate
