"""One SVG snapshot per screen and per state a user should recognise (120x40, fake engine).

The host is a real git repository with fixed dates, opened under the stable name
`example/host`, so commit SHAs and paths in the SVGs are the same on every machine.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from plugwiz.adapters.git import open_host_repo
from plugwiz.core.events import BuildFailed, OutputLine, SourceLocation, StepStarted
from plugwiz.core.model import Host, PluginSource, Project
from plugwiz.ui.app import PlugwizApp, make_app

from .conftest import (
    SIZE,
    FakeEngine,
    RunResult,
    make_host_repo,
    sample_report,
    settle,
    successful_events,
)

SnapCompare = Callable[..., bool]
SNAPSHOT_LOG = Path("/tmp/plugwiz-snapshots/build.log")  # shown on screen: must not vary


@pytest.fixture
def stable(
    workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., PlugwizApp]:
    """An app factory whose host repo is shown as `example/host` and whose log path is fixed."""
    real = make_host_repo(tmp_path / "host")
    monkeypatch.setattr("plugwiz.ui.screens.build.new_log_path", lambda: SNAPSHOT_LOG)

    def make(engine: FakeEngine | None = None, **changes: Any) -> PlugwizApp:
        project = Project(
            host=Host(repo="example/host", ref="main"),
            plugins=(PluginSource("plugins/greet.go"),),
            tag="plugwiz-test:latest",
            base_dir=workdir,
        )
        for key, value in changes.items():
            project = __import__("dataclasses").replace(project, **{key: value})
        fake = engine or FakeEngine(
            events=successful_events(),
            report=sample_report(),
            run_result=RunResult(0, "loaded plugin greet\ndemo-host: 3 plugins loaded\n"),
        )
        return make_app(
            project,
            None,
            engine_factory=lambda: fake,
            repo_opener=lambda _project: open_host_repo(str(real)),
        )

    return make


def steps(
    *actions: Callable[[Pilot[Any]], Awaitable[None]],
) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for action in actions:
            await action(pilot)
            await settle(pilot)

    return run


def go(step: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def action(pilot: Pilot[Any]) -> None:
        pilot.app.action_go(step)  # type: ignore[attr-defined]
        await pilot.pause()

    return action


def press(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def action(pilot: Pilot[Any]) -> None:
        await pilot.press(*keys)
        await pilot.pause(0.2)

    return action


def test_host_screen(snap_compare: SnapCompare, stable: Callable[..., PlugwizApp]) -> None:
    assert snap_compare(stable(), terminal_size=SIZE, run_before=steps())


def test_host_screen_ref_not_found(
    snap_compare: SnapCompare, stable: Callable[..., PlugwizApp]
) -> None:
    async def typo(pilot: Pilot[Any]) -> None:
        field = pilot.app.screen.query_one("#ref-filter", Input)
        field.focus()
        field.value = "mian"
        await pilot.press("enter")

    assert snap_compare(stable(), terminal_size=SIZE, run_before=steps(typo))


def test_plugins_screen_with_problems(
    snap_compare: SnapCompare, stable: Callable[..., PlugwizApp]
) -> None:
    plugins = (
        PluginSource("plugins/greet.go"),
        PluginSource("plugins/multi"),
        PluginSource("plugins/broken.go", name="upper"),
        PluginSource("plugins/missing.go"),
    )

    async def focus_table(pilot: Pilot[Any]) -> None:
        pilot.app.screen.query_one("#plugins-table", DataTable).focus()

    assert snap_compare(
        stable(plugins=plugins), terminal_size=SIZE, run_before=steps(go("plugins"), focus_table)
    )


def test_rename_dialog(snap_compare: SnapCompare, stable: Callable[..., PlugwizApp]) -> None:
    async def focus_table(pilot: Pilot[Any]) -> None:
        pilot.app.screen.query_one("#plugins-table", DataTable).focus()

    assert snap_compare(
        stable(), terminal_size=SIZE, run_before=steps(go("plugins"), focus_table, press("r"))
    )


def test_preview_screen(snap_compare: SnapCompare, stable: Callable[..., PlugwizApp]) -> None:
    assert snap_compare(stable(), terminal_size=SIZE, run_before=steps(go("preview")))


def test_build_screen_failed(snap_compare: SnapCompare, stable: Callable[..., PlugwizApp]) -> None:
    title = "RUN go build -buildmode=plugin -o /out/plugins/broken.so ./plugwiz_plugins/broken"
    failed = BuildFailed(
        message="The command returned a non-zero code: 1",
        step=9,
        title=title,
        last_lines=(
            "# example.com/plugwiz-demo/plugwiz_plugins/broken",
            "plugwiz_plugins/broken/broken.go:9:51: undefined: undefinedHelper",
        ),
        locations=(SourceLocation("plugins/broken.go", 9, 51, "undefined: undefinedHelper"),),
        plugin="broken",
    )
    events = [
        StepStarted(9, 14, title),
        OutputLine("# example.com/plugwiz-demo/plugwiz_plugins/broken", 9),
        OutputLine("plugwiz_plugins/broken/broken.go:9:51: undefined: undefinedHelper", 9),
        failed,
    ]
    app = stable(FakeEngine(events=events), plugins=(PluginSource("plugins/broken.go"),))
    assert snap_compare(app, terminal_size=SIZE, run_before=steps(go("build"), press("b")))


def test_build_screen_docker_unreachable(
    snap_compare: SnapCompare, stable: Callable[..., PlugwizApp]
) -> None:
    error = RuntimeError(
        "cannot reach the Docker daemon at unix:///var/run/docker.sock: start it "
        "(`sudo systemctl start docker`) or set DOCKER_HOST"
    )
    app = stable(FakeEngine(ping_error=error))
    assert snap_compare(app, terminal_size=SIZE, run_before=steps(go("build")))


def test_result_screen_after_run_once(
    snap_compare: SnapCompare, stable: Callable[..., PlugwizApp]
) -> None:
    assert snap_compare(
        stable(), terminal_size=SIZE, run_before=steps(go("build"), press("b"), press("o"))
    )


def test_host_screen_main_package_choice(
    snap_compare: SnapCompare, workdir: Path, tmp_path: Path
) -> None:
    from .test_faults import MAIN, make_repo

    real = make_repo(
        tmp_path / "multi",
        {
            "go.mod": "module example.com/h\n\ngo 1.19\n",
            "cmd/server/main.go": MAIN,
            "cmd/tool/main.go": MAIN,
        },
    )
    app = make_app(
        Project(host=Host(repo="example/multi", ref="main"), base_dir=workdir),
        None,
        engine_factory=lambda: FakeEngine(),
        repo_opener=lambda _project: open_host_repo(str(real)),
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=steps())
