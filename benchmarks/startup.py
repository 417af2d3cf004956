"""Start-up: wall time of `plugwiz --help` and `plugwiz render`, and the wizard's first paint.

Every figure is a fresh process (`python -m plugwiz.cli ...`, what the `plugwiz` script runs),
median of N runs (default 10), after one untimed warm-up run (so the OS file cache and
`__pycache__` are warm, as for a user's second command):

- `plugwiz --help`;
- `plugwiz render` on the embedded demo host;
- `plugwiz render plugwiz.yaml`: a project file whose host is an ordinary local git repository
  (a copy of the demo host), so yaml and GitPython are on its path;
- the wizard's first screen painted headless: a process that makes the app on the demo host and
  runs it under `App.run_test` until the Host screen is mounted and painted, then exits.

It measures the checkout it is in, through PYTHONPATH (the processes run in a temporary
directory, where `plugwiz` would otherwise be the virtualenv's editable install: from a git
worktree, another checkout). `--tree DIR` measures another checkout of plugwiz (e.g.
`git archive HEAD | tar -x -C DIR`) instead, for before/after figures.

Usage: python benchmarks/startup.py [--runs N] [--quick] [--tree DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import ROOT, make_git_repo, median, say  # noqa: E402

TARGET_CLI_S = 0.3
TARGET_WIZARD_S = 1.0

_WIZARD_SCRIPT = """
import asyncio, sys
from plugwiz.commands import default_engine
from plugwiz.core.resolve import demo_project
from plugwiz.service import open_repo
from plugwiz.ui.app import make_app

async def main() -> None:
    app = make_app(demo_project(), None, engine_factory=default_engine, repo_opener=open_repo)
    async with app.run_test(size=(120, 40)) as pilot:
        while type(app.screen).__name__ != "HostScreen":
            await asyncio.sleep(0.005)
        await pilot.pause()
        app.screen._compositor.render_update(full=True)
        app.exit(0)

asyncio.run(main())
"""


def timed_run(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Wall seconds of one fresh process; raises if it fails."""
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-1500:]}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; 0 when every target is met."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="CI smoke: 2 runs each")
    parser.add_argument("--tree", type=Path, help="measure this plugwiz tree instead")
    args = parser.parse_args(argv)
    runs = 2 if args.quick else max(1, args.runs)

    work = Path(tempfile.mkdtemp(prefix="plugwiz-bench-startup-"))
    env = {**os.environ, "PLUGWIZ_CACHE_DIR": str(work / "cache")}
    env["PYTHONPATH"] = str((args.tree or ROOT).resolve())
    python = [sys.executable, "-m", "plugwiz.cli"]
    # A project file on an ordinary git repository (not the cached demo).
    make_git_repo(ROOT / "plugwiz" / "demo" / "host", work / "host")
    demo_plugin = ROOT / "plugwiz" / "demo" / "plugins" / "hello.go"
    timed_run(
        [
            *python,
            "init",
            "--host",
            str(work / "host"),
            "--plugin",
            str(demo_plugin),
            "-o",
            str(work / "plugwiz.yaml"),
        ],
        env,
        work,
    )
    cases = {
        "plugwiz --help": [*python, "--help"],
        "plugwiz render (demo)": [*python, "render"],
        "plugwiz render plugwiz.yaml": [*python, "render", "plugwiz.yaml"],
        "wizard first screen (headless)": [sys.executable, "-c", _WIZARD_SCRIPT],
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    try:
        for command in cases.values():
            timed_run(command, env, work)  # warm-up: demo repo made, caches warm
        for _ in range(runs):
            for name, command in cases.items():  # interleaved: a busy moment hits all alike
                times[name].append(timed_run(command, env, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    where = f" ({args.tree})" if args.tree else ""
    say(f"start-up{where}: fresh processes, median of {runs} run(s)")
    ok = True
    for name, values in times.items():
        target = TARGET_WIZARD_S if name.startswith("wizard") else TARGET_CLI_S
        met = median(values) <= target
        ok &= met
        say(
            f"  {name:<32}{median(values):6.3f} s  (min {min(values):.3f})  target <= "
            f"{target} s: {'met' if met else 'NOT met'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
