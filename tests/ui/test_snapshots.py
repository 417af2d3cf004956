"""SVG snapshots: every step at 120x40 and at 80x24 (a default terminal), and every dialog.

The host is a real git repository with fixed dates, opened under the stable name
`example/host`, so commit SHAs and paths in the SVGs are the same on every machine; the
build log path is shown the same too, build times come from a made-up clock (FakeClock) and
are shown in UTC.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from plugwiz.adapters.git import open_host_repo
from plugwiz.adapters.scripted import FakeClock, ScriptedEngine, realistic_build, unavailable
from plugwiz.core.engine import RunResult
from plugwiz.core.model import Host, PluginSource, Project
from plugwiz.ui.app import PlugwizApp, make_app

from .conftest import SIZE, SMALL, TAG, make_host_repo, settle

SnapCompare = Callable[..., bool]
SNAPSHOT_LOG = Path("/tmp/plugwiz-snapshots/build.log")  # shown on screen: must not vary
SIZES = {"large": SIZE, "small": SMALL}


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC (the history shows when builds started)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def stable(
    workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, utc: None
) -> Callable[..., PlugwizApp]:
    """An app factory whose host repo is shown as `example/host`, whose log path is shown as
    a fixed one (each test writes its own: the explorer reads it back) and whose builds take
    made-up, fixed times."""
    real = make_host_repo(tmp_path / "host")
    logs = tmp_path / "logs"
    monkeypatch.setattr("plugwiz.ui.app.new_log_path", lambda: logs / SNAPSHOT_LOG.name)
    monkeypatch.setattr(
        "plugwiz.ui.screens.build._home_short", lambda path: str(SNAPSHOT_LOG.parent / path.name)
    )
    # The clock shows elapsed seconds: a loaded machine must not change a snapshot.
    monkeypatch.setattr("plugwiz.core.session.BuildSession.elapsed", lambda self, now=None: 0.0)

    def make(
        engine: ScriptedEngine | None = None, engine_label: str = "", **changes: Any
    ) -> PlugwizApp:
        project = Project(
            host=Host(repo="example/host", ref="main"),
            plugins=(PluginSource("plugins/greet.go"),),
            tag=TAG,
            base_dir=workdir,
        )
        project = replace(project, **changes)
        fake = engine or ScriptedEngine(
            script=lambda resolved, tag: realistic_build(resolved, tag, lines_per_step=6),
            run_result=RunResult(0, "loaded plugin greet\ndemo-host: 3 plugins loaded\n", False),
        )
        clock = fake.clock = fake.clock or FakeClock()
        app = make_app(
            project,
            None,
            engine_factory=lambda: fake,
            repo_opener=lambda _project: open_host_repo(str(real)),
            engine_label=engine_label,
        )
        app.session.clock = clock
        return app

    return make


Action = Callable[[Pilot[Any]], Awaitable[None]]


def realistic_build_small(resolved: Any, tag: str) -> Any:
    """The realistic build with 6 lines per step."""
    return realistic_build(resolved, tag, lines_per_step=6)


def steps(*actions: Action) -> Action:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for action in actions:
            await action(pilot)
            await settle(pilot)

    return run


def go(step: str) -> Action:
    async def action(pilot: Pilot[Any]) -> None:
        pilot.app.action_go(step)  # type: ignore[attr-defined]
        await pilot.pause()

    return action


def press(*keys: str) -> Action:
    async def action(pilot: Pilot[Any]) -> None:
        await pilot.press(*keys)
        await pilot.pause(0.3)

    return action


def built() -> Action:
    """Wait until the build has ended and the Build step has drawn its last poll."""

    async def action(pilot: Pilot[Any]) -> None:
        app: Any = pilot.app
        for _ in range(200):
            if not app.session.active:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)

    return action


def log_at_end() -> Action:
    """The Build step's log at its last lines, as End puts it (after a build that ended while
    another step was shown, the log may keep its place)."""

    async def action(pilot: Pilot[Any]) -> None:
        log: Any = pilot.app.screen.query_one("#build-log")
        log.scroll_end(animate=False, immediate=True)
        await pilot.pause(0.2)

    return action


def unfocus() -> Action:
    async def action(pilot: Pilot[Any]) -> None:
        pilot.app.screen.set_focus(None)

    return action


def focus(selector: str) -> Action:
    async def action(pilot: Pilot[Any]) -> None:
        pilot.app.screen.query_one(selector).focus()

    return action


# -- every step, at both sizes ------------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES))
def test_host_step(snap_compare: SnapCompare, stable: Any, size: str) -> None:
    assert snap_compare(stable(), terminal_size=SIZES[size], run_before=steps())


@pytest.mark.parametrize("size", list(SIZES))
def test_host_step_ref_not_found(snap_compare: SnapCompare, stable: Any, size: str) -> None:
    async def typo(pilot: Pilot[Any]) -> None:
        field = pilot.app.screen.query_one("#ref-filter", Input)
        field.focus()
        field.value = "mian"
        await pilot.press("enter")

    assert snap_compare(stable(), terminal_size=SIZES[size], run_before=steps(typo))


@pytest.mark.parametrize("size", list(SIZES))
def test_plugins_step_with_problems(snap_compare: SnapCompare, stable: Any, size: str) -> None:
    plugins = (
        PluginSource("plugins/greet.go"),
        PluginSource("plugins/multi"),
        PluginSource("plugins/broken.go", name="upper"),
        PluginSource("plugins/missing.go"),
    )
    assert snap_compare(
        stable(plugins=plugins),
        terminal_size=SIZES[size],
        run_before=steps(go("plugins"), focus("#plugins-table"), press("down", "down")),
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_preview_step(snap_compare: SnapCompare, stable: Any, size: str) -> None:
    assert snap_compare(
        stable(), terminal_size=SIZES[size], run_before=steps(go("preview"), unfocus())
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_build_step_ready(snap_compare: SnapCompare, stable: Any, size: str) -> None:
    assert snap_compare(stable(), terminal_size=SIZES[size], run_before=steps(go("build")))


@pytest.mark.parametrize("size", list(SIZES))
def test_build_step_failed(snap_compare: SnapCompare, stable: Any, size: str) -> None:
    app = stable(plugins=(PluginSource("plugins/broken.go"),))
    assert snap_compare(app, terminal_size=SIZES[size], run_before=steps(go("build"), press("b")))


@pytest.mark.parametrize("size", list(SIZES))
def test_build_step_docker_unreachable(snap_compare: SnapCompare, stable: Any, size: str) -> None:
    error = unavailable(
        "the Docker daemon is not reachable at unix:///var/run/docker.sock: start it (`sudo "
        "systemctl start docker`, or run `dockerd`), or point DOCKER_HOST at a running daemon"
    )
    app = stable(ScriptedEngine(ping_error=error))
    assert snap_compare(app, terminal_size=SIZES[size], run_before=steps(go("build")))


@pytest.mark.parametrize("size", list(SIZES))
def test_result_step_after_run_once(snap_compare: SnapCompare, stable: Any, size: str) -> None:
    assert snap_compare(
        stable(), terminal_size=SIZES[size], run_before=steps(go("build"), press("b"), press("o"))
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_result_step_pushed_from_a_remote_engine(
    snap_compare: SnapCompare, stable: Any, size: str
) -> None:
    """The header names the remote engine; the Result step shows the user and the pushed
    reference with its digest, and each layer of the push."""
    tag = "registry.example/team/host:1"
    app = stable(
        ScriptedEngine(
            script=lambda resolved, t: realistic_build(resolved, t, lines_per_step=6),
        ),
        engine_label="engine tcp://build.example:2376 (TLS, context build)",
        tag=tag,
    )
    assert snap_compare(
        app, terminal_size=SIZES[size], run_before=steps(go("build"), press("b"), press("u"))
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_result_step_out_of_date(snap_compare: SnapCompare, stable: Any, size: str) -> None:
    async def remove_plugin(pilot: Pilot[Any]) -> None:
        app: Any = pilot.app
        app.update_project(replace(app.project, plugins=()))

    assert snap_compare(
        stable(),
        terminal_size=SIZES[size],
        run_before=steps(go("build"), press("b"), remove_plugin, go("plugins"), go("result")),
    )


def test_host_step_main_package_choice(
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
        engine_factory=lambda: ScriptedEngine(),
        repo_opener=lambda _project: open_host_repo(str(real)),
    )
    assert snap_compare(app, terminal_size=SMALL, run_before=steps())


# -- every dialog (at 80x24, where they are tightest) -------------------------------------------


def test_dialog_rename(snap_compare: SnapCompare, stable: Any) -> None:
    assert snap_compare(
        stable(),
        terminal_size=SMALL,
        run_before=steps(go("plugins"), focus("#plugins-table"), press("r")),
    )


def test_dialog_loading_settings(snap_compare: SnapCompare, stable: Any) -> None:
    assert snap_compare(
        stable(), terminal_size=SMALL, run_before=steps(go("plugins"), unfocus(), press("s"))
    )


def test_dialog_file_picker(snap_compare: SnapCompare, stable: Any) -> None:
    async def wait_tree(pilot: Pilot[Any]) -> None:
        for _ in range(50):
            if pilot.app.screen.query("#picker-tree"):
                tree: Any = pilot.app.screen.query_one("#picker-tree")
                if tree.root.children:
                    return
            await pilot.pause(0.05)

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        pilot.app.action_go("plugins")  # type: ignore[attr-defined]
        await settle(pilot)
        pilot.app.screen.set_focus(None)
        await pilot.press("o")
        await wait_tree(pilot)
        await pilot.pause(0.3)

    # Not `settle`: the directory tree's loader worker runs as long as the tree exists.
    assert snap_compare(stable(), terminal_size=SMALL, run_before=run)


def test_dialog_help(snap_compare: SnapCompare, stable: Any) -> None:
    assert snap_compare(
        stable(), terminal_size=SMALL, run_before=steps(go("plugins"), unfocus(), press("f10"))
    )


def held(lines: int) -> Action:
    """Wait until the session has shown every event before the engine's hold (`lines`
    output lines): a loaded machine must not change what the snapshot shows."""

    async def action(pilot: Pilot[Any]) -> None:
        app: Any = pilot.app
        for _ in range(400):
            if app.session.lines_seen >= lines:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)

    return action


def test_dialog_cancel_build(snap_compare: SnapCompare, stable: Any) -> None:
    # Held before event 20: three steps started, 6 + 6 + 5 output lines shown.
    engine = ScriptedEngine(script=realistic_build_small, hold_at=20)
    assert snap_compare(
        stable(engine),
        terminal_size=SMALL,
        run_before=steps(go("build"), press("b"), held(17), press("c")),
    )
    engine.release.set()


def test_dialog_quit_during_build(snap_compare: SnapCompare, stable: Any) -> None:
    engine = ScriptedEngine(script=realistic_build_small, hold_at=20)
    assert snap_compare(
        stable(engine),
        terminal_size=SMALL,
        run_before=steps(go("build"), press("b"), held(17), press("ctrl+q")),
    )
    engine.release.set()


def test_dialog_save_before_quit(snap_compare: SnapCompare, stable: Any) -> None:
    async def change(pilot: Pilot[Any]) -> None:
        app: Any = pilot.app
        app.update_project(replace(app.project, tag="changed:latest"))

    assert snap_compare(stable(), terminal_size=SMALL, run_before=steps(change, press("ctrl+q")))


def test_dialog_save_dockerfile(snap_compare: SnapCompare, stable: Any) -> None:
    assert snap_compare(
        stable(), terminal_size=SMALL, run_before=steps(go("preview"), unfocus(), press("d"))
    )


def test_dialog_replace_a_hand_written_dockerfile(
    snap_compare: SnapCompare, stable: Any, workdir: Path
) -> None:
    (workdir / "Dockerfile").write_text("FROM scratch\n")
    assert snap_compare(
        stable(),
        terminal_size=SMALL,
        run_before=steps(go("preview"), unfocus(), press("d"), press("enter")),
    )


def test_dialog_command_palette(snap_compare: SnapCompare, stable: Any) -> None:
    assert snap_compare(
        stable(),
        terminal_size=SMALL,
        run_before=steps(unfocus(), press("ctrl+p"), press(*"pin")),
    )


def test_plugins_step_table_focused_small(snap_compare: SnapCompare, stable: Any) -> None:
    # The footer at 80 columns with the table focused: the step's own keys come first.
    assert snap_compare(
        stable(),
        terminal_size=SMALL,
        run_before=steps(go("plugins"), focus("#plugins-table")),
    )


# -- the build explorer: each state at both sizes ------------------------------------------------


def run_plugin_step(event: object) -> bool:
    """Holds a build as the first custom plugin starts compiling."""
    from plugwiz.core.events import StepStarted

    return isinstance(event, StepStarted) and event.stage == "plugin-1" and "RUN" in event.title


@pytest.mark.parametrize("size", list(SIZES))
def test_explorer_running_build(snap_compare: SnapCompare, stable: Any, size: str) -> None:
    engine = ScriptedEngine(
        script=lambda r, t: realistic_build(r, t, lines_per_step=6),
        hold_when=run_plugin_step,
    )
    assert snap_compare(
        stable(engine), terminal_size=SIZES[size], run_before=steps(go("build"), press("b"))
    )
    engine.release.set()


@pytest.mark.parametrize("size", list(SIZES))
def test_explorer_cached_rebuild(snap_compare: SnapCompare, stable: Any, size: str) -> None:
    builds: list[int] = []

    def script(resolved: Any, tag: str) -> Any:
        # The second build finds every step in the cache, as Docker's would.
        builds.append(1)
        cached = ("toolchain", "host", "plugin-1", "check", "") if len(builds) > 1 else ()
        return realistic_build(resolved, tag, lines_per_step=6, cached_stages=cached)

    engine = ScriptedEngine(script=script)
    assert snap_compare(
        stable(engine),
        terminal_size=SIZES[size],
        run_before=steps(
            go("build"),
            press("b"),
            built(),
            go("build"),
            press("b"),
            built(),
            go("build"),
            log_at_end(),
        ),
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_explorer_compile_error_in_the_source_view(
    snap_compare: SnapCompare, stable: Any, size: str
) -> None:
    app = stable(plugins=(PluginSource("plugins/broken.go"),))
    assert snap_compare(
        app, terminal_size=SIZES[size], run_before=steps(go("build"), press("b"), press("s"))
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_explorer_load_check_failure(snap_compare: SnapCompare, stable: Any, size: str) -> None:
    engine = ScriptedEngine(
        script=lambda r, t: realistic_build(r, t, lines_per_step=6, refuse_plugin="greet")
    )
    assert snap_compare(
        stable(engine), terminal_size=SIZES[size], run_before=steps(go("build"), press("b"))
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_explorer_history(snap_compare: SnapCompare, stable: Any, size: str) -> None:
    async def fix(pilot: Pilot[Any]) -> None:
        app: Any = pilot.app
        app.update_project(replace(app.project, plugins=(PluginSource("plugins/greet.go"),)))

    app = stable(plugins=(PluginSource("plugins/broken.go"),))
    assert snap_compare(
        app,
        terminal_size=SIZES[size],
        run_before=steps(go("build"), press("b"), fix, press("b"), go("build"), press("h")),
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_explorer_search_finds_lines_no_longer_shown(
    snap_compare: SnapCompare, stable: Any, size: str
) -> None:
    # 2,000 lines per RUN step (four of them): the toolchain's are gone from the 5,000 kept.
    engine = ScriptedEngine(script=lambda r, t: realistic_build(r, t, lines_per_step=2000))
    assert snap_compare(
        stable(engine),
        terminal_size=SIZES[size],
        run_before=steps(
            go("build"),
            press("b"),
            go("build"),  # back from the Result step, where a build that worked goes
            press("slash"),
            press(*"for step 3"),
            press("enter"),
        ),
    )


def test_explorer_small_terminal_shows_the_tree_on_t(
    snap_compare: SnapCompare, stable: Any
) -> None:
    app = stable(plugins=(PluginSource("plugins/broken.go"),))
    assert snap_compare(
        app, terminal_size=SMALL, run_before=steps(go("build"), press("b"), press("t"))
    )


def test_build_step_load_check_failure_explained(snap_compare: SnapCompare, stable: Any) -> None:
    from plugwiz.core.buildinfo import read_binary_facts
    from plugwiz.core.events import BuildFailed, StepStarted
    from plugwiz.core.explain import HostContext, explain

    from .test_explain_in_wizard import host_binary, plugin_so

    explanation = explain(
        read_binary_facts(plugin_so("go1.22.5")),
        read_binary_facts(host_binary("go1.19.8")),
        HostContext(label="the host (example.com/plugwiz-demo)"),
        plugin_label="drift",
    )
    title = "RUN PLUGWIZ_LOADCHECK=/out/plugins/drift.so /plugwiz/loadcheck"
    failed = BuildFailed(
        message='plugin.Open("/out/plugins/drift"): plugin was built with a different version '
        "of package internal/goarch",
        step=12,
        title=title,
        last_lines=(),
        locations=(),
        plugin="drift",
        explanation=explanation,
    )
    engine = ScriptedEngine(events=[StepStarted(12, 14, title, "check"), failed])
    assert snap_compare(
        stable(engine), terminal_size=SIZE, run_before=steps(go("build"), press("b"))
    )
