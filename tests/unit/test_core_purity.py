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
