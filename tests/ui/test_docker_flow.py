"""The whole wizard on the demo host against the real Docker daemon (never pulls)."""

from __future__ import annotations

import contextlib
import io
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Log

from plugwiz.core.model import PluginSource, Project
from plugwiz.core.paths import cache_dir
from plugwiz.core.resolve import demo_project
from plugwiz.core.session import BuildState
from plugwiz.service import open_repo
from plugwiz.ui.app import make_app
from plugwiz.ui.screens.build import BuildScreen
from tests.helpers import ImageTracker

from .conftest import SIZE, SMALL, settle, wait_for
from .helpers import log_text, screen_text, table_rows, text_of

if TYPE_CHECKING:
    from plugwiz.adapters.docker_engine import DockerEngine

pytestmark = pytest.mark.docker


def _engine_or_skip() -> DockerEngine:
    try:
        from plugwiz.adapters.docker_engine import DockerEngine

        engine = DockerEngine()
        engine.ping()
    except Exception as exc:  # noqa: BLE001 - any reason means: no daemon here
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but Docker is not usable: {exc}")
        pytest.skip(f"no Docker daemon reachable: {exc}")
    return engine


async def test_demo_host_builds_loads_every_plugin_and_runs(workdir: Path) -> None:
    engine = _engine_or_skip()
    tag = f"plugwiz-uitest-{uuid.uuid4().hex[:10]}:latest"
    app = make_app(
        None,
        None,
        engine_factory=lambda: engine,
        repo_opener=open_repo,
    )
    app.project = replace(app.project, tag=tag)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert app.host.resolved is not None
            await pilot.press("ctrl+n", "ctrl+n", "ctrl+n")
            await settle(pilot)
            assert app.current_mode == "build"
            await pilot.press("b")
            await wait_for(pilot, lambda: not app.session.active, timeout=600)
            await settle(pilot)
            assert app.session.state is BuildState.SUCCEEDED, app.session.message or str(
                app.session.failure
            )
            assert app.current_mode == "result"
            rows = table_rows(app.screen.query_one("#result-plugins", DataTable))
            assert [r[1] for r in rows] == [
                "/app/plugins/reverse.so",
                "/app/plugins/upper.so",
                "/app/plugins/hello.so",
            ]
            assert all(r[4] == "✓" for r in rows)
            cmd = text_of(app.screen.query_one("#cmd"))
            assert cmd.count('"--prov"') == 3
            assert text_of(app.screen.query_one("#run-line")).strip() == f"docker run --rm {tag}"
            await pilot.press("o")
            await wait_for(pilot, lambda: not app.run_session.active, timeout=60)
            await settle(pilot)
            assert "exit code 0" in text_of(app.screen.query_one("#run-status"))
            output = log_text(app.screen.query_one("#run-output"))
            assert "loaded plugin hello" in output
            assert "demo-host: 3 plugins loaded" in output
    finally:
        # The tag and the stage images the build left (named in its log), base images never.
        tracker = ImageTracker(engine.client, "plugwiz-uitest")
        tracker.tags.append(tag)
        for log in (cache_dir() / "logs").glob("*.log"):
            tracker.from_log(log)
        tracker.cleanup()


def _tmp_tags(client: Any) -> set[str]:
    # One list call: images that other builds remove meanwhile cannot make it fail.
    return {
        tag
        for image in client.api.images()
        for tag in image.get("RepoTags") or []
        if tag.startswith("plugwiz-tmp-")
    }


def _containers_running(client: Any, token: str) -> list[str]:
    """IDs of containers (any state) whose command mentions `token`."""
    return [c["Id"] for c in client.api.containers(all=True) if token in str(c.get("Command"))]


async def _until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await pilot.pause(0.2)
    return condition()


async def test_cancel_and_quit_during_a_real_build_leave_nothing_behind(
    docker_engine: DockerEngine, workdir: Path
) -> None:
    client = docker_engine.client
    token = f"go-slow-{uuid.uuid4().hex}"
    tag = f"plugwiz-uicancel-{uuid.uuid4().hex[:10]}:latest"
    made: list[str] = []  # image IDs to remove at the end
    # "The previous image" with tag T: a tiny build of our own, so its ID is ours alone.
    previous, _ = client.images.build(
        fileobj=io.BytesIO(f"FROM debian:bookworm-slim\nLABEL plugwiz.test={token}\n".encode()),
        tag=tag,
        rm=True,
        pull=False,
    )
    made.append(previous.id)
    tmp_before = _tmp_tags(client)
    containers_before = {c.id for c in client.containers.list(all=True)}

    def slow(project: Project) -> Project:
        # A host stage the cache cannot hold (it never finishes), busy long enough to cancel.
        command = ("sh", "-c", f"echo {token} && sleep 120")
        host = replace(project.host, build_command=command, binary="host")
        return replace(project, host=host, tag=tag)

    def assert_nothing_left() -> None:
        new = {c.id for c in client.containers.list(all=True)} - containers_before
        assert not [c for c in new if c in _containers_running(client, token)]
        assert _containers_running(client, token) == []
        assert client.images.get(tag).id == previous.id  # T untouched
        assert _tmp_tags(client) - tmp_before == set()  # no half-tagged image

    app = make_app(
        None, workdir / "plugwiz.yaml", engine_factory=lambda: docker_engine, repo_opener=open_repo
    )
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.update_project(slow(app.project))
            app.action_go("build")
            await settle(pilot)
            build = app.screen
            assert isinstance(build, BuildScreen)
            await pilot.press("b")
            log = build.query_one("#build-log", Log)
            running = await _until(pilot, lambda: token in log.lines, 300)
            assert running, "the build never reached the slow step: " + "\n".join(log.lines[-20:])
            await pilot.pause(1.0)  # the RUN's container is up and sleeping
            await pilot.press("c")
            await pilot.pause()
            assert "Cancel the build?" in screen_text(app)
            await pilot.click("#yes")
            started = time.monotonic()
            assert await _until(pilot, lambda: not app.session.active, 30)
            took = time.monotonic() - started
            assert build.state == "cancelled"
            assert "Build cancelled; nothing was tagged" in text_of(build.query_one("#build-state"))
            print(f"[timing] wizard cancel against the real daemon: {took:.1f}s")
            assert took < 10
            made.extend(docker_engine.last_build_images)
            assert_nothing_left()

            # Quitting during a build asks first, then cancels cleanly before exiting.
            await pilot.press("b")
            assert await _until(pilot, lambda: token in log.lines, 120)
            await pilot.pause(1.0)
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert "Quit during the build?" in screen_text(app)
            await pilot.click("#yes")
            await _until(pilot, lambda: app.return_value is not None, 30)
        assert app.return_value == 0
        assert app.session.state is BuildState.CANCELLED
        made.extend(docker_engine.last_build_images)
        assert_nothing_left()
    finally:
        with contextlib.suppress(Exception):
            client.api.remove_image(tag)
        for _ in range(2):  # children first; shared layers with tags (base images) stay
            for image in reversed(list(dict.fromkeys(made))):
                with contextlib.suppress(Exception):
                    if not client.api.inspect_image(image).get("RepoTags"):
                        client.api.remove_image(image)


def _untagged(client: Any, ours: set[str]) -> set[str]:
    """Which of the images in `ours` exist now without a tag (`docker images -a` shows them
    as <none>): other builds on the same daemon do not count."""
    return {
        image["Id"]
        for image in client.api.images(all=True)
        if image.get("RepoTags") in (None, [], ["<none>:<none>"])
        and image["Id"].removeprefix("sha256:")[:12] in ours
    }


async def test_ten_wizard_builds_leave_no_more_untagged_images_than_one(
    docker_engine: DockerEngine, workdir: Path
) -> None:
    """Each build after a one-line plugin edit supersedes the last one's stage images and
    result; plugwiz removes them (the cache the next build needs stays)."""
    client = docker_engine.client
    tag = f"plugwiz-uilitter-{uuid.uuid4().hex[:10]}:latest"
    plugin = workdir / "plugins" / "greet.go"
    original = plugin.read_text()
    app = make_app(
        replace(demo_project(workdir), plugins=(PluginSource(str(plugin)),), tag=tag),
        None,
        engine_factory=lambda: docker_engine,
        repo_opener=open_repo,
    )
    tmp_before = _tmp_tags(client)
    counts: list[int] = []
    made: list[str] = []
    ours: set[str] = set()  # every image any of these builds made or used (12-char IDs)
    try:
        async with app.run_test(size=SMALL) as pilot:
            await settle(pilot)
            for build in range(10):
                plugin.write_text(original.replace("Hello", f"Hello #{build}"))
                app.check_plugins()  # the wizard looks again (a save, or a watcher, does this)
                await settle(pilot)
                assert app.start_build() is None
                await wait_for(pilot, lambda: not app.session.active, timeout=600)
                assert app.session.state is BuildState.SUCCEEDED, app.session.message or str(
                    app.session.failure
                )
                made.extend(docker_engine.last_build_images)
                ours.update(i.removeprefix("sha256:")[:12] for i in docker_engine.last_build_images)
                ours.add(client.api.inspect_image(tag)["Id"].removeprefix("sha256:")[:12])
                counts.append(len(_untagged(client, ours)))
        print(f"[litter] untagged images after each build: {counts}")
        assert max(counts[1:]) <= counts[0], counts
        # `plugwiz prune` says what it did in numbers.
        result = docker_engine.prune()
        assert result.images >= 0 and result.freed_bytes >= 0
        # No temporary tag of these builds is left (other builds on the daemon may have theirs).
        leftover = [
            t
            for t in _tmp_tags(client) - tmp_before
            if client.api.inspect_image(t)["Id"].removeprefix("sha256:")[:12] in ours
        ]
        assert not leftover
    finally:
        plugin.write_text(original)
        with contextlib.suppress(Exception):
            client.api.remove_image(tag)
        for _ in range(2):
            for image in reversed(list(dict.fromkeys(made))):
                with contextlib.suppress(Exception):
                    if not client.api.inspect_image(image).get("RepoTags"):
                        client.api.remove_image(image)
