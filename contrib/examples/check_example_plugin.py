"""Check that an installed example plugin works end to end. Used by the ``examples`` tox env and
nox session.

    python contrib/examples/check_example_plugin.py [--plugin NAME] [--routine FILE --input K=V ... [--persisted]]

``vrooli plugins --json`` must list the plugin as loaded, providing the ``flow`` navigator and the
``greet`` tool; with ``--routine``, ``vrooli run FILE --json`` must complete (not fail, not wait);
with ``--persisted``, a later ``vrooli runs show RUN --json`` (another process) must find that run in
the default store.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugin", default="example-flow", help="entry-point name (default: example-flow)")
    parser.add_argument("--routine", help="a routine file that must run to completion")
    parser.add_argument("--input", action="append", default=[], metavar="K=V", help="an input for --routine")
    parser.add_argument("--persisted", action="store_true", help="the run must be found again by another command")
    args = parser.parse_args(argv)
    if shutil.which("vrooli") is None:
        return _fail("the vrooli command is not installed")
    problems = check_plugin(args.plugin)
    if not problems and args.routine:
        problems, run_id = check_run(args.routine, args.input)
        if not problems and args.persisted:
            problems = check_persisted(run_id)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


def check_plugin(name: str) -> list[str]:
    listed = {p["name"]: p for p in _vrooli_json("plugins", "--json")}
    plugin = listed.get(name)
    if plugin is None:
        return [f"{name!r} is not listed by vrooli plugins (listed: {', '.join(listed) or 'none'})"]
    provides = plugin.get("provides", {})
    problems = []
    if plugin.get("status") != "loaded":
        problems.append(f"{name!r} is {plugin.get('status')}: {plugin.get('error')}")
    if "flow" not in provides.get("navigators", []):
        problems.append(f"{name!r} does not provide the 'flow' navigator (provides: {provides})")
    if "greet" not in provides.get("tools", []):
        problems.append(f"{name!r} does not provide the 'greet' tool (provides: {provides})")
    if not problems:
        print(f"ok: plugin {name} {plugin['version']} is loaded and provides {json.dumps(provides)}")
    return problems


def check_run(routine: str, inputs: list[str]) -> tuple[list[str], str]:
    flags = [part for pair in inputs for part in ("--input", pair)]
    report = _vrooli_json("run", routine, *flags, "--json", ok_codes=(0, 1))
    run = report["run"]
    if run["status"] != "completed":
        return [f"{routine} ended {run['status']}: {run.get('error')} (open tasks: {len(report.get('tasks', []))})"], run["id"]
    print(f"ok: {routine} completed in {run['steps']} steps with outputs {json.dumps(run['outputs'])}")
    return [], run["id"]


def check_persisted(run_id: str) -> list[str]:
    shown = _vrooli_json("runs", "show", run_id, "--json")
    run = shown.get("run", shown)
    if run.get("id") != run_id or run.get("status") != "completed":
        return [f"another command does not find run {run_id} completed in the default store: {shown}"]
    print(f"ok: run {run_id} is kept in the default store (another command reads it back)")
    return []


def _vrooli_json(*args: str, ok_codes: tuple[int, ...] = (0,)) -> Any:
    done = subprocess.run(["vrooli", *args], capture_output=True, text=True, check=False)
    if done.returncode not in ok_codes:
        sys.exit(_fail(f"vrooli {' '.join(args)} exited {done.returncode}:\n{done.stderr}"))
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        sys.exit(_fail(f"vrooli {' '.join(args)} did not print JSON:\n{done.stdout}\n{done.stderr}"))


def _fail(message: str) -> int:
    print(f"FAIL: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
