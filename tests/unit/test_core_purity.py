"""plugwiz.core imports none of textual, docker or git (checked in a fresh interpreter)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import plugwiz.core


def test_core_imports_no_ui_docker_or_git() -> None:
    modules = [f"plugwiz.core.{m.name}" for m in pkgutil.iter_modules(plugwiz.core.__path__)]
    assert "plugwiz.core.render" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'docker', 'git'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_wizard_start_imports_only_the_first_step() -> None:
    # The first paint waits for what plugwiz.ui.app imports: the other steps' screens, yaml
    # (until a project file is saved), docker and git come later.
    code = (
        "import sys\n"
        "import plugwiz.ui.app\n"
        "later = ('yaml', 'docker', 'git', 'plugwiz.ui.screens.build',\n"
        "         'plugwiz.ui.screens.plugins', 'plugwiz.ui.screens.preview',\n"
        "         'plugwiz.ui.screens.result')\n"
        "print(','.join(sorted(m for m in later if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
