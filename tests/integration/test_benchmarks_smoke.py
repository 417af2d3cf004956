"""Each benchmark script runs in --quick mode and prints its figures (not their targets).

The figures themselves are for people (README, Performance); CI only checks the scripts work.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from plugwiz.adapters.docker_engine import DockerEngine

ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(script: str, tmp_path: Path, timeout: float) -> str:
    """Run `benchmarks/<script> --quick` and return its output (any exit code: targets)."""
    env = {**os.environ, "PLUGWIZ_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    # 0 = every target met, 1 = some not met (a figure, not a failure); anything else broke.
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.stdout


def test_startup_prints_each_command_time(tmp_path: Path) -> None:
    out = run_benchmark("startup.py", tmp_path, timeout=120)
    for name in ("plugwiz --help", "plugwiz render (demo)", "plugwiz render plugwiz.yaml"):
        assert re.search(rf"{re.escape(name)}\s+\d+\.\d+ s", out), out
    assert re.search(r"wizard first screen \(headless\)\s+\d+\.\d+ s", out), out


def test_log_throughput_shows_every_line(tmp_path: Path) -> None:
    out = run_benchmark("log_throughput.py", tmp_path, timeout=120)
    assert re.search(r"all shown after\s+\d+\.\d+ s", out), out
    assert "lines shown            20,000" in out
    assert "last line correct" in out
    assert re.search(r"memory growth \(RSS\)\s+\d+\.\d+ MB", out), out
    assert re.search(
        r"stage filter\s+\d+ ms median, \d+ ms worst to show the host stage's 10,00", out
    ), out


@pytest.mark.docker
def test_edit_rebuild_prints_rebuild_and_floor(docker_engine: DockerEngine, tmp_path: Path) -> None:
    out = run_benchmark("edit_rebuild.py", tmp_path, timeout=600)
    assert re.search(r"rebuild after 1-line edit\s+\d+\.\d+s", out), out
    assert re.search(r"floor: warm go build of the plugin\s+\d+\.\d+s", out), out


@pytest.mark.docker
def test_image_size_finds_no_toolchain_in_the_runtime_image(
    docker_engine: DockerEngine, tmp_path: Path
) -> None:
    out = run_benchmark("image_size.py", tmp_path, timeout=600)
    assert re.search(r"plugwiz runtime image\s+\d+\.\d+ MiB", out), out
    assert "toolchain in the runtime image: none" in out
