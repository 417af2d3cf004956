"""Fixtures for the wizard's pilot and snapshot tests: real git repos, fake engines."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from plugwiz.core.events import BuildCancelled, BuildFinished, OutputLine, StepStarted
from plugwiz.core.model import Host, PluginSource, Project
from plugwiz.core.ports import HostRepository
from plugwiz.core.report import ImageReport, PluginFile
from plugwiz.ui.app import PlugwizApp, make_app

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_HOST = REPO_ROOT / "plugwiz" / "demo" / "host"
FIXTURE_PLUGINS = REPO_ROOT / "tests" / "fixtures" / "plugins"
SIZE = (120, 40)


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


@dataclass
class RunResult:
    exit_code: int
    output: str
    timed_out: bool = False


def sample_report(tag: str = "plugwiz-test:latest") -> ImageReport:
    return ImageReport(
        tag=tag,
        image_id="sha256:" + "ab" * 32,
        size=84_500_000,
        cmd=[
            "/app/demo-host",
            "--prov",
            "/app/plugins/reverse.so",
            "--prov",
            "/app/plugins/upper.so",
            "--prov",
            "/app/plugins/greet.so",
        ],
        entrypoint=[],
        workdir="/app",
        host_repo="example/host",
        host_commit="0" * 40,
        host_module="example.com/plugwiz-demo",
        go_version="1.19",
        plugins=[
            PluginFile("/app/plugins/greet.so", 2_100_000, "c" * 64, True),
            PluginFile("/app/plugins/reverse.so", 2_000_000, "a" * 64, True),
            PluginFile("/app/plugins/upper.so", 2_050_000, "b" * 64, True),
        ],
    )


@dataclass
class FakeEngine:
    """Yields `events`; with `block_after`, waits for cancel after that many events."""

    events: list[Any] = field(default_factory=list)
    ping_error: Exception | None = None
    report: ImageReport | None = None
    run_result: RunResult | None = None
    block_after: int | None = None
    builds: list[Project] = field(default_factory=list)
    blocked: threading.Event = field(default_factory=threading.Event)

    def ping(self) -> None:
        if self.ping_error is not None:
            raise self.ping_error

    def build(
        self,
        project: Project,
        repo: HostRepository,
        *,
        tag: str,
        log_path: Path,
        cancel: threading.Event,
    ) -> Iterator[Any]:
        self.builds.append(project)
        for index, event in enumerate(self.events):
            if self.block_after is not None and index == self.block_after:
                self.blocked.set()
                cancel.wait(10)
            if cancel.is_set():
                yield BuildCancelled()
                return
            yield event

    def inspect(self, image: str) -> ImageReport:
        assert self.report is not None
        return self.report

    def run_once(self, image: str, timeout: float = 30.0) -> RunResult:
        assert self.run_result is not None
        return self.run_result


def successful_events(tag: str = "plugwiz-test:latest", lines: int = 20) -> list[Any]:
    events: list[Any] = []
    for step in range(1, 4):
        events.append(StepStarted(step, 3, f"RUN step {step}"))
        events.extend(OutputLine(f"step {step} line {i}", step) for i in range(lines))
    events.append(BuildFinished("sha256:" + "ab" * 32, tag))
    return events


def project_for(host: Path, workdir: Path, **changes: Any) -> Project:
    project = Project(
        host=Host(repo=str(host), ref="main"),
        plugins=(PluginSource("plugins/greet.go"),),
        tag="plugwiz-test:latest",
        base_dir=workdir,
    )
    return replace(project, **changes)


AppMaker = Callable[..., PlugwizApp]


@pytest.fixture
def app_for(workdir: Path) -> AppMaker:
    """make_app with a fake engine by default."""

    def make(
        project: Project | None,
        project_path: Path | None = None,
        engine: FakeEngine | None = None,
        **kwargs: Any,
    ) -> PlugwizApp:
        fake = engine or FakeEngine(events=successful_events(), report=sample_report())
        return make_app(project, project_path, engine_factory=lambda: fake, **kwargs)

    return make


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until workers are done and their messages handled (workers may start workers)."""
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


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
