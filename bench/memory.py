"""What a worker holds before its first request, and which packages it comes from.

    .venv/bin/python bench/memory.py [--top 25]

Runs after ``make bench`` has loaded ``dvc_bench``, with the served API's settings. A fresh
interpreter imports ``backend.wsgi`` (as a gunicorn worker does) and lists the top-level
packages that came with it, in the order they came; a second fresh interpreter imports those
packages one at a time, then ``backend.wsgi``, reading its RSS from /proc after each. A
package's figure is what it added after the ones before it (what two packages share counts
for the first), so the order matters and the sum is the whole; a package's submodules that
only our modules import count under ``backend``. ``make bench`` gives the RSS
after the run, which adds each scenario's working set to this.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import api  # bench/, next to this script

# Run by each fresh interpreter: ``list`` prints the packages, ``sizes`` the RSS after each.
_CHILD = """
import json, sys

def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

if sys.argv[1] == "list":
    before = set(sys.modules)
    import backend.wsgi
    names = []
    for name in sys.modules:
        top = name.split(".")[0]
        if name not in before and top not in names and top != "backend":
            names.append(top)
    print(json.dumps(names))
else:
    sizes = [["(interpreter)", rss()]]
    for name in json.loads(sys.argv[2]):
        try:
            __import__(name)
        except ImportError:  # a private extension module: its package loads it
            continue
        sizes.append([name, rss()])
    import backend.wsgi
    sizes.append(["backend: our modules, the app, what they import below those", rss()])
    print(json.dumps(sizes))
"""


def _child(env: dict[str, str], *args: str):
    done = subprocess.run(
        [api.BIN / "python", "-c", _CHILD, *args],
        env=env,
        cwd=api.ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=25, help="packages to list")
    args = parser.parse_args(argv)
    instance = Path(tempfile.mkdtemp(prefix="dvc-bench-memory-"))
    env = api._env(api.LARGE[0], instance)
    subprocess.run([api.BIN / "flask", "keys", "rotate"], env=env, check=True, capture_output=True)
    names = _child(env, "list")
    sizes = _child(env, "sizes", json.dumps(names))
    added = sorted(
        ((name, kib - sizes[n][1]) for n, (name, kib) in enumerate(sizes[1:])),
        key=lambda item: -item[1],
    )
    print(f"RSS after importing backend.wsgi: {sizes[-1][1] / 1024:.1f} MiB")
    print(f"  {sizes[0][1] / 1024:6.1f}  the interpreter")
    for name, kib in added[: args.top]:
        print(f"  {kib / 1024:6.1f}  {name}")
    rest = added[args.top :]
    print(f"  {sum(kib for _, kib in rest) / 1024:6.1f}  the {len(rest)} others")
    return 0


if __name__ == "__main__":
    sys.exit(main())
