"""Fixtures for the wizard's pilot and snapshot tests: real git repos, the scripted engine."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import WorkerCancelled

from plugwiz.adapters.scripted import ScriptedEngine, successful_events
from plugwiz.core.engine import RunResult
from plugwiz.core.model import Host, PluginSource, Project
from plugwiz.core.ports import HostRepository
from plugwiz.service import open_repo
from plugwiz.ui.app import PlugwizApp, make_app

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_HOST = REPO_ROOT / "plugwiz" / "demo" / "host"
FIXTURE_PLUGINS = REPO_ROOT / "tests" / "fixtures" / "plugins"
SIZE = (120, 40)
SMALL = (80, 24)  # a default terminal
TAG = "plugwiz-test:latest"

__all__ = [
    "SIZE",
    "SMALL",
    "TAG",
    "AppMaker",
    "RunResult",
    "ScriptedEngine",
    "git",
    "make_host_repo",
    "project_for",
    "settle",
    "successful_events",
]


def git(cwd: Path, *args: str, date: str = "2024-03-01T12:00:00+00:00") -> str:
    """Run git with a fixed identity and date and no user or system config."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test Author",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def make_host_repo(path: Path) -> Path:
    """The demo host as a repo: main (tagged v1.0.0) and feature/fast one commit ahead."""
    shutil.copytree(DEMO_HOST, path)
    git(path, "init", "--quiet", "--template=")
    git(path, "symbolic-ref", "HEAD", "refs/heads/main")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "--no-gpg-sign", "-m", "Initial demo host")
    git(path, "tag", "v1.0.0")
    git(path, "checkout", "--quiet", "-b", "feature/fast")
    (path / "NOTES.md").write_text("faster\n")
    git(path, "add", "--all")
    git(
        path,
        "commit",
        "--quiet",
        "--no-gpg-sign",
        "-m",
        "Make it faster",
        date="2024-03-02T12:00:00+00:00",
    )
    git(path, "checkout", "--quiet", "main")
    return path


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep recent.json, logs and repo clones out of the user's cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("PLUGWIZ_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Text cursors do not blink in tests: what a test sees must not depend on the clock."""
    monkeypatch.setattr(Input.__dict__["cursor_blink"], "_default", False)
    yield


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project directory (also the cwd), with the fixture plugins under plugins/."""
    work = tmp_path / "work"
    shutil.copytree(FIXTURE_PLUGINS, work / "plugins")
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def host_repo(tmp_path: Path) -> Path:
    return make_host_repo(tmp_path / "host")


def project_for(host: Path, workdir: Path, **changes: Any) -> Project:
    project = Project(
        host=Host(repo=str(host), ref="main"),
        plugins=(PluginSource("plugins/greet.go"),),
        tag=TAG,
        base_dir=workdir,
    )
    return replace(project, **changes)


AppMaker = Callable[..., PlugwizApp]


@pytest.fixture
def app_for(workdir: Path) -> AppMaker:
    """make_app with the scripted engine (a small successful build) by default."""

    def make(
        project: Project | None,
        project_path: Path | None = None,
        engine: ScriptedEngine | None = None,
        repo_opener: Callable[[Project], HostRepository] = open_repo,
        **kwargs: Any,
    ) -> PlugwizApp:
        tag = project.tag if project is not None else TAG
        fake = engine or ScriptedEngine(events=successful_events(tag))
        return make_app(
            project,
            project_path,
            engine_factory=lambda: fake,
            repo_opener=repo_opener,
            **kwargs,
        )

    return make


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until workers are done and their messages handled (workers may start workers),
    and the build session's output has been polled."""
    app = pilot.app
    for _ in range(6):
        for worker in list(app.workers):
            # A worker superseded by a newer one (an exclusive group) is not a failure.
            with contextlib.suppress(WorkerCancelled):
                await worker.wait()
        await pilot.pause()
        session = getattr(app, "session", None)
        if session is not None and session.active:
            await pilot.pause(0.15)


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 10) -> None:
    """Pause until `condition()` holds (at most `timeout` seconds)."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the condition")
        await pilot.pause(0.05)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests in a fresh event loop (no pytest-asyncio among the dev pins)."""
    import asyncio
    import inspect

    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True
