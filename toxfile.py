"""tox inline plugin (loaded automatically from next to ``tox.ini``): one environment per plugin.

Every folder ``plugins/<name>/`` with a ``pyproject.toml`` becomes an environment ``plugin-<name>``
that installs vrooli-core (the package tox builds from the root) and the plugin with its ``test``
extra, then runs pytest in the plugin's folder. The environments join the default ``env_list``, so a
plain ``tox`` runs them; there is no hand-kept list to forget. ``noxfile.py`` discovers the same way.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tox.config.loader.memory import MemoryLoader
from tox.config.types import Command, EnvList
from tox.plugin import impl

if TYPE_CHECKING:
    from tox.config.sets import ConfigSet, EnvConfigSet
    from tox.session.state import State

ROOT = Path(__file__).resolve().parent
PREFIX = "plugin-"
# An env name is split into factors at "-"; a plain lower-case word keeps "plugin-<name>" unambiguous.
_SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def discover_plugins(root: Path = ROOT) -> dict[str, Path]:
    """``{name: folder}`` for every ``plugins/<name>/pyproject.toml``, sorted by name."""
    found: dict[str, Path] = {}
    for project in sorted(root.glob("plugins/*/pyproject.toml")):
        name = project.parent.name
        if not _SAFE_NAME.match(name):
            print(f"toxfile: ignoring plugins/{name}: folder names must match {_SAFE_NAME.pattern}", file=sys.stderr)
            continue
        found[name] = project.parent
    return found


def install_targets(folder: Path, plugins: dict[str, Path]) -> list[str]:
    """What to ``pip install`` for a plugin: itself with its ``test`` extra, plus every plugin of this
    checkout it depends on, directly or not (so they come from here, not from a package index)."""
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


@impl
def tox_extend_envs() -> Iterable[str]:
    return [PREFIX + name for name in discover_plugins()]


@impl
def tox_add_core_config(core_conf: ConfigSet, state: State) -> None:
    # Extend the env_list of tox.ini in place, so "tox" with no -e runs every plugin's tests too.
    env_list = cast(EnvList, core_conf["env_list"])
    env_list.envs.extend(e for e in tox_extend_envs() if e not in env_list.envs)


@impl
def tox_add_env_config(env_conf: EnvConfigSet, state: State) -> None:
    if not env_conf.name.startswith(PREFIX):
        return
    plugins = discover_plugins()
    folder = plugins.get(env_conf.name.removeprefix(PREFIX))
    if folder is None:
        return
    # In front of the [testenv] defaults: these keys come from here, everything else from tox.ini.
    env_conf.loaders.insert(
        0,
        MemoryLoader(
            description=f"tests of plugins/{folder.name} (generated from its pyproject.toml by toxfile.py)",
            change_dir=folder,
            commands_pre=[Command(["python", "-m", "pip", "install", "--quiet", *install_targets(folder, plugins)])],
            commands=[Command(["pytest", *(state.conf.pos_args(folder) or ())])],
        ),
    )
