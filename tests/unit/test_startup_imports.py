"""Start-up stays lean: each path imports only what it uses (checked in fresh interpreters).

benchmarks/startup.py measures the time; these tests pin down the causes it found, so that an
import added at the top of a module cannot quietly bring them back: `--help` builds the parser
without the project model, `render` decides the Dockerfile's layout without the BuildKit
progress parser, the build events or the module fetcher, and the wizard paints its Host step
without the explainer, the image report, watch mode or the module fetcher.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from plugwiz.adapters.demo import ensure_demo_repo
from plugwiz.cli import BACKEND_CHOICES
from plugwiz.core.model import BACKENDS

ROOT = Path(__file__).resolve().parents[2]

# Needed only once a build ran, an image is inspected or a prebuilt plugin explained.
AFTER_A_BUILD = (
    "plugwiz.core.buildinfo",
    "plugwiz.core.buildkit_events",
    "plugwiz.core.elf",
    "plugwiz.core.explain",
    "plugwiz.core.modfetch",
    "plugwiz.core.modzip",
    "plugwiz.core.report",
)


def _modules_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules loaded once `code` ran in a fresh interpreter (in this checkout)."""
    code += "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_parser_offers_the_models_backends() -> None:
    assert BACKEND_CHOICES == BACKENDS


def test_help_needs_no_project_model() -> None:
    code = (
        "import contextlib, io\n"
        "from plugwiz.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit as done:\n"
        "        assert done.code == 0\n"
        "assert '--backend {auto,classic,buildkit}' in out.getvalue()\n"
    )
    loaded = _modules_after(code)
    assert "plugwiz.cli" in loaded
    assert "plugwiz.core.model" not in loaded


def test_demo_render_imports_no_build_machinery(fresh_cache: Path) -> None:
    ensure_demo_repo()  # made once with git; from then on the demo is read without it
    # Backend `auto`: the layout is decided by looking for BuildKit, through its adapter.
    env = {k: v for k, v in os.environ.items() if k != "PLUGWIZ_BACKEND"}
    code = (
        "import contextlib, io\n"
        "from plugwiz.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    assert main(['render']) == 0\n"
        "assert ' AS plugin-1' in out.getvalue()\n"
    )
    loaded = _modules_after(code, env)
    assert "plugwiz.adapters.buildkit" in loaded
    unwanted = ("textual", "docker", "git", "yaml", "plugwiz.core.events", *AFTER_A_BUILD)
    assert sorted(loaded.intersection(unwanted)) == []


def test_wizard_host_step_imports_nothing_a_later_step_needs(fresh_cache: Path) -> None:
    # As `plugwiz` starts it, on the demo host, until the Host step is painted and its
    # workers (open the host, resolve it, check the plugins) are done.
    ensure_demo_repo()
    code = (
        "import asyncio\n"
        "from plugwiz.commands import default_engine\n"
        "from plugwiz.core.resolve import demo_project\n"
        "from plugwiz.service import open_repo\n"
        "from plugwiz.ui.app import make_app\n"
        "async def run() -> None:\n"
        "    app = make_app(demo_project(), None, engine_factory=default_engine,\n"
        "                   repo_opener=open_repo)\n"
        "    async with app.run_test(size=(80, 24)) as pilot:\n"
        "        while type(app.screen).__name__ != 'HostScreen':\n"
        "            await pilot.pause(0.01)\n"
        "        while app.host.resolved is None or app.plugin_checks is None:\n"
        "            await app.workers.wait_for_complete()\n"
        "            await pilot.pause(0.01)\n"
        "        app.exit(0)\n"
        "asyncio.run(run())\n"
    )
    loaded = _modules_after(code)
    assert "plugwiz.ui.screens.host" in loaded
    unwanted = ("docker", "git", "plugwiz.core.watch", "plugwiz.ui.screens.build", *AFTER_A_BUILD)
    assert sorted(loaded.intersection(unwanted)) == []
