"""Check that an installed example plugin is found: ``vrooli plugins --json`` must list it as loaded
and providing the ``flow`` navigator and its tools. Used by the ``examples`` tox env and nox session.

    python contrib/examples/check_example_plugin.py [ENTRY_POINT_NAME]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys


def main(name: str = "example-flow") -> int:
    vrooli = shutil.which("vrooli")
    if vrooli is None:
        print("FAIL: the vrooli command is not installed", file=sys.stderr)
        return 1
    done = subprocess.run([vrooli, "plugins", "--json"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"FAIL: vrooli plugins --json exited {done.returncode}\n{done.stderr}", file=sys.stderr)
        return 1
    listed = {p["name"]: p for p in json.loads(done.stdout)}
    plugin = listed.get(name)
    problems = []
    if plugin is None:
        problems.append(f"{name!r} is not listed (listed: {', '.join(listed) or 'none'})")
    else:
        provides = plugin.get("provides", {})
        if plugin.get("status") != "loaded":
            problems.append(f"{name!r} is {plugin.get('status')}: {plugin.get('error')}")
        if "flow" not in provides.get("navigators", provides.get("navigator", [])):
            problems.append(f"{name!r} does not provide the 'flow' navigator (provides: {provides})")
        if "greet" not in provides.get("tools", provides.get("tool", [])):
            problems.append(f"{name!r} does not provide the 'greet' tool (provides: {provides})")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"ok: {name} {plugin['version']} is loaded and provides {json.dumps(plugin['provides'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
