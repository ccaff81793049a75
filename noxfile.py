"""nox sessions, the same as tox's environments: ``core``, ``triage``, ``examples``, ``template`` and one
``plugin-<name>`` per ``plugins/<name>/pyproject.toml`` (discovered, never listed by hand).

    python -m pip install nox && python -m nox          # every session
    python -m nox -s plugin-bpmn -- -k gateway          # one session, arguments for pytest
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import nox

ROOT = Path(__file__).resolve().parent
PREFIX = "plugin-"
# Same rule as toxfile.py, so both tools name the same sessions.
_SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

nox.options.error_on_missing_interpreters = True
nox.options.error_on_external_run = True


def discover_plugins(root: Path = ROOT) -> dict[str, Path]:
    """``{name: folder}`` for every ``plugins/<name>/pyproject.toml``, sorted by name."""
    found: dict[str, Path] = {}
    for project in sorted(root.glob("plugins/*/pyproject.toml")):
        name = project.parent.name
        if not _SAFE_NAME.match(name):
            print(f"noxfile: ignoring plugins/{name}: folder names must match {_SAFE_NAME.pattern}", file=sys.stderr)
            continue
        found[name] = project.parent
    return found


def install_targets(folder: Path, plugins: dict[str, Path]) -> list[str]:
    """A plugin with its ``test`` extra, plus every plugin of this checkout it depends on."""
    projects = {f: _project(f) for f in [*plugins.values(), folder]}
    by_dist = {_normalise(p.get("name", "")): f for f, p in projects.items()}
    targets: list[str] = []
    pending, seen = [folder], {folder}
    while pending:  # a worklist: local plugins may depend on each other
        current = pending.pop()
        extras = projects[current].get("optional-dependencies", {})
        targets.append(f"{current}[test]" if current == folder and "test" in extras else str(current))
        # The plugin's own test extra may name other plugins of this checkout (tests across plugins).
        tests = extras.get("test", []) if current == folder else []
        for requirement in [*projects[current].get("dependencies", []), *tests]:
            local = by_dist.get(_normalise(re.split(r"[\s<>=!~;\[(@]", requirement, maxsplit=1)[0]))
            if local is not None and local not in seen:
                seen.add(local)
                pending.append(local)
    return targets


def _project(folder: Path) -> dict[str, Any]:
    return tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})


def _normalise(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def _pip(session: nox.Session, *args: str) -> None:
    session.run("python", "-m", "pip", "install", "--quiet", *args)


@nox.session
def core(session: nox.Session) -> None:
    """The kernel's test suite."""
    _pip(session, f"{ROOT}[test]")
    session.run("pytest", *(session.posargs or ["tests"]))


@nox.session
def examples(session: nox.Session) -> None:
    """The README's main job: vrooli-sqlalchemy and the example plugin (built as a wheel), check
    ``vrooli plugins --json``, run hello in the default store and read it back from another command."""
    _pip(session, str(ROOT), str(ROOT / "plugins/sqlalchemy"))
    session.env["VROOLI_HOME"] = str(Path(session.create_tmp()) / "home")
    dist = str(Path(session.create_tmp()) / "dist")
    example = str(ROOT / "contrib/examples/vrooli-example-flow")
    session.run("python", "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", dist, example)
    _pip(session, "--no-index", "--find-links", dist, "--force-reinstall", "--no-deps", "vrooli-example-flow")
    session.run("python", "-m", "pip", "check")
    session.run("vrooli", "plugins", "--json")
    hello = str(ROOT / "contrib/examples/routines/hello.flow.toml")
    check = str(ROOT / "contrib/examples/check_example_plugin.py")
    session.run("python", check, "--plugin", "example-flow", "--routine", hello, "--input", "name=Ada", "--persisted")
    session.run("vrooli", "run", hello, "--input", "name=Ada")


@nox.session
def triage(session: nox.Session) -> None:
    """The README's main job: the triage example routine in the default store (it stops at the
    approval task), then the example's end-to-end tests."""
    plugins = [str(ROOT / "plugins" / name) for name in ("sqlalchemy", "bpmn", "litellm", "http")]
    example = ROOT / "contrib/examples/vrooli-example-triage"
    _pip(session, str(ROOT), *plugins, f"{example}[test]")
    session.env["VROOLI_HOME"] = str(Path(session.create_tmp()) / "home")
    session.run("python", "-m", "pip", "check")
    triage_bpmn = str(ROOT / "contrib/examples/routines/triage.bpmn")
    session.run("vrooli", "run", triage_bpmn, "--input", "ticket=I was charged twice for my March invoice.", "--input", "customer_id=c-1")
    session.run("pytest", str(example), *session.posargs)


@nox.session
def template(session: nox.Session) -> None:
    """The plugin template's tests (they run the navigator conformance suite)."""
    folder = ROOT / "contrib/plugin-template"
    _pip(session, str(ROOT), f"{folder}[test]")
    session.chdir(folder)
    session.run("pytest", *session.posargs)


def _plugin_session(folder: Path, plugins: dict[str, Path]) -> Any:
    def run(session: nox.Session) -> None:
        _pip(session, str(ROOT), *install_targets(folder, plugins))
        session.chdir(folder)
        session.run("pytest", *session.posargs)

    run.__doc__ = f"Tests of plugins/{folder.name}."
    return run


def _register_plugin_sessions() -> None:
    plugins = discover_plugins()
    for name, folder in plugins.items():
        nox.session(name=PREFIX + name)(_plugin_session(folder, plugins))


_register_plugin_sessions()
