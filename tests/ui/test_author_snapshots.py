"""SVG snapshots of the plugin author's loop: the New plugin dialog, the run settings, a live
server run with its published port, and watch mode's failed build beside the host's output."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from plugwiz.adapters.scripted import ScriptedEngine, realistic_build
from plugwiz.core.engine import PublishedPort, RunResult
from plugwiz.core.model import PluginSource, RunSettings
from plugwiz.ui.app import PlugwizApp

from .test_snapshots import SIZES, SnapCompare, go, press, steps
from .test_snapshots import stable as _stable
from .test_snapshots import utc as _utc


@pytest.fixture
def app_factory(stable: Callable[..., PlugwizApp]) -> Callable[..., PlugwizApp]:
    """The snapshot tests' app factory (`stable`: `example/host`, a fixed log path)."""
    return stable


stable = _stable  # the fixture itself, found by pytest under its name
utc = _utc  # the fixture `stable` asks for

SERVER_OUTPUT = (
    "serverhost: loaded plugin greeter\n"
    "serverhost: loaded plugin greet\n"
    "serverhost: 2 plugins loaded, listening on :8080\n"
    "never printed: the server runs until it is stopped\n"
)


class IdleWatcher:
    """A file watcher that reports nothing until it is stopped."""

    def watch(self, roots: Sequence[Path], stop: threading.Event) -> Iterator[set[Path]]:
        stop.wait()
        yield from ()


@pytest.mark.parametrize("size", list(SIZES))
def test_new_plugin_dialog(snap_compare: SnapCompare, app_factory: Any, size: str) -> None:
    assert snap_compare(
        app_factory(),
        terminal_size=SIZES[size],
        run_before=steps(go("plugins"), press("escape", "n")),
    )


def test_run_settings_dialog(snap_compare: SnapCompare, app_factory: Any) -> None:
    app = app_factory(run=RunSettings(("--addr", ":8080"), (("LOG_LEVEL", "debug"),), (8080,)))
    assert snap_compare(
        app, terminal_size=SIZES["small"], run_before=steps(go("build"), press("b"), press("e"))
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_result_step_live_server_run(
    snap_compare: SnapCompare, app_factory: Any, size: str
) -> None:
    engine = ScriptedEngine(
        script=lambda resolved, tag: realistic_build(resolved, tag, lines_per_step=6),
        run_result=RunResult(None, SERVER_OUTPUT, False),
        hold_run=3,
        run_ports=(PublishedPort(8080, "tcp", "127.0.0.1", 49153),),
    )

    async def running(pilot: Pilot[Any]) -> None:
        app: Any = pilot.app
        while len(app.run_session.tail) < 3:
            await pilot.pause(0.05)
        await pilot.pause(0.3)

    assert snap_compare(
        app_factory(engine, run=RunSettings(ports=(8080,))),
        terminal_size=SIZES[size],
        run_before=steps(go("build"), press("b"), press("o"), running),
    )


def test_build_step_watch_mode_failed(snap_compare: SnapCompare, app_factory: Any) -> None:
    def make() -> PlugwizApp:
        app: PlugwizApp = app_factory(
            plugins=(PluginSource("plugins/greet.go"), PluginSource("plugins/broken.go"))
        )
        factory: Callable[[], Any] = IdleWatcher
        app.watcher_factory = factory
        return app

    async def failed(pilot: Pilot[Any]) -> None:
        app: Any = pilot.app
        while app.session.active or app.session.generation == 0:
            await pilot.pause(0.05)
        await pilot.pause(0.3)

    assert snap_compare(
        make(), terminal_size=SIZES["large"], run_before=steps(go("build"), press("w"), failed)
    )
