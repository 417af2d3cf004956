"""The build explorer against the real Docker daemon: a compile error in the user's plugin,
fixed in the source view, saved, built again with one key; the user's file holds the fix."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from plugwiz.core.model import PluginSource
from plugwiz.core.paths import cache_dir
from plugwiz.core.resolve import demo_project
from plugwiz.core.session import BuildState
from plugwiz.core.timeline import Status
from plugwiz.service import open_repo
from plugwiz.ui.app import PlugwizApp, make_app
from plugwiz.ui.screens.build import BuildScreen
from plugwiz.ui.widgets.source_view import SourceView
from tests.helpers import ImageTracker

from .conftest import SIZE, settle, wait_for
from .helpers import text_of

if TYPE_CHECKING:
    from plugwiz.adapters.docker_engine import DockerEngine

pytestmark = pytest.mark.docker


def state(app: PlugwizApp) -> BuildState:
    """The session's state now (a call: type checkers do not narrow it between reads)."""
    return app.session.state


def stage_statuses(app: object) -> dict[str, Status]:
    session = app.session  # type: ignore[attr-defined]
    timeline = session.timeline
    return {s.key: timeline.stage_status(s, session.clock()).status for s in timeline.stages}


async def test_a_compile_error_fixed_in_the_source_view_builds_with_one_key(
    docker_engine: DockerEngine, workdir: Path
) -> None:
    path = workdir / "plugins" / "broken.go"
    # A line of its own so the fixed file is one no earlier build on this daemon has compiled
    # (the daemon is shared: BuildKit's cache would otherwise answer for the fixed plugin).
    path.write_bytes(path.read_bytes() + f"\n// run {uuid.uuid4().hex}\n".encode())
    original = path.read_bytes()
    tag = f"plugwiz-uiexplorer-{uuid.uuid4().hex[:10]}:latest"
    project = replace(demo_project(workdir), plugins=(PluginSource("plugins/broken.go"),), tag=tag)
    app = make_app(project, None, engine_factory=lambda: docker_engine, repo_opener=open_repo)
    tracker = ImageTracker(docker_engine.client, "plugwiz-uiexplorer")
    tracker.tags.append(tag)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.action_go("build")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, BuildScreen)
            await pilot.press("b")
            await wait_for(pilot, lambda: not app.session.active, timeout=900)
            await settle(pilot)
            tracker.images.extend(docker_engine.last_build_images)
            assert state(app) is BuildState.FAILED, app.session.message
            assert stage_statuses(app)["plugin:broken"] is Status.FAILED
            failure = text_of(screen.query_one("#failure"))
            assert "plugins/broken.go:9:51" in failure and "undefinedHelper" in failure

            # The user's own file, at the compiler's line and column.
            await pilot.press("s")
            await settle(pilot)
            view = screen.query_one(SourceView)
            assert view.source is not None and view.source.path == path
            assert view.area.cursor_location == (8, 50)
            await pilot.press(*["shift+right"] * len("undefinedHelper("), "delete")
            await pilot.press("end", "left", "left", "left", "delete")
            await pilot.press("ctrl+s")
            await settle(pilot)
            fixed = original.replace(b"undefinedHelper(s)", b"s")
            assert path.read_bytes() == fixed

            await pilot.press("ctrl+r")  # one key: build again
            await wait_for(pilot, lambda: not app.session.active, timeout=900)
            await settle(pilot)
            tracker.images.extend(docker_engine.last_build_images)
            assert state(app) is BuildState.SUCCEEDED, str(app.session.failure)
            # The host did not change: Docker's cache answered, and the tree says so.
            statuses = stage_statuses(app)
            assert statuses["host"] is Status.CACHED, statuses
            assert statuses["plugin:broken"] is Status.DONE
            assert path.read_bytes() == fixed
            history = app.session.history
            assert history is not None
            assert [e.outcome for e in history.entries(app.history_key)] == [
                "succeeded",
                "failed",
            ]
    finally:
        for log in (cache_dir() / "logs").glob("*.log"):
            tracker.from_log(log)
        tracker.cleanup()
