"""The live run in the Result step on the real daemon, with a server-style host (it listens
on a port and prints the plugins it loaded): the test reaches its port through the address
the step shows, stops it, and finds no container left; leaving the step and quitting stop it
too."""

from __future__ import annotations

import re
import time
import urllib.request
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from plugwiz.core.model import Host, PluginLoading, Project, RunSettings
from plugwiz.core.paths import cache_dir
from plugwiz.core.run_session import RunState
from plugwiz.core.session import BuildState
from plugwiz.service import open_repo
from plugwiz.ui.app import make_app
from tests.helpers import FIXTURES, ImageTracker, make_git_repo

from .conftest import SIZE, settle, wait_for
from .helpers import log_text, text_of

if TYPE_CHECKING:
    from plugwiz.adapters.docker_engine import DockerEngine

pytestmark = pytest.mark.docker


def _containers(engine: DockerEngine, tag: str) -> list[object]:
    return list(engine.client.api.containers(all=True, filters={"ancestor": tag}))


def _get(url: str) -> str:
    for _ in range(50):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


async def test_a_server_host_runs_live_its_port_answers_and_stop_leaves_nothing(
    docker_engine: DockerEngine, tmp_path: Path
) -> None:
    host = tmp_path / "serverhost"
    make_git_repo(FIXTURES / "hosts" / "server", host)
    tag = f"plugwiz-liverun-{uuid.uuid4().hex[:10]}:latest"
    project = Project(
        host=Host(repo=str(host), ref="main"),
        loading=PluginLoading(flag="--plugin", symbol="Plugin"),
        tag=tag,
        run=RunSettings(env=(("SERVERHOST_BANNER", "live from plugwiz"),), ports=(8080,)),
        base_dir=tmp_path,
    )
    app = make_app(project, None, engine_factory=lambda: docker_engine, repo_opener=open_repo)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.action_go("build")
            await settle(pilot)
            await pilot.press("b")
            await wait_for(pilot, lambda: not app.session.active, timeout=900)
            assert app.session.state is BuildState.SUCCEEDED, app.session.message
            await settle(pilot)
            assert app.current_mode == "result"

            # Run: the output streams, the published port shows as an address.
            await pilot.press("o")
            await wait_for(
                pilot, lambda: any("listening" in line for line in app.run_session.tail), 120
            )
            await pilot.pause(0.3)
            status = text_of(app.screen.query_one("#run-status"))
            match = re.search(r"http://(127\.0\.0\.1:\d+) \(port 8080/tcp\)", status)
            assert match, status
            assert "serverhost: loaded plugin greeter" in log_text(
                app.screen.query_one("#run-output")
            )
            answer = _get(f"http://{match.group(1)}/?who=world")
            assert answer == "live from plugwiz\ngreeter: [greeter] greeter says welcome, world\n"
            assert len(_containers(docker_engine, tag)) == 1

            # Stop: the container is stopped and removed.
            await pilot.press("s")
            await wait_for(pilot, lambda: not app.run_session.active, timeout=30)
            assert app.run_session.state is RunState.STOPPED
            assert _containers(docker_engine, tag) == []
            await settle(pilot)
            assert "Stopped; the container was removed." in text_of(
                app.screen.query_one("#run-status")
            )

            # Leaving the step stops it too.
            await pilot.press("o")
            await wait_for(pilot, lambda: app.run_session.state is RunState.RUNNING, 60)
            await pilot.press("ctrl+left")
            await wait_for(pilot, lambda: not app.run_session.active, timeout=30)
            assert app.current_mode == "build"
            assert _containers(docker_engine, tag) == []

            # And quitting (the app closing) with the host running.
            app.action_go("result")
            await settle(pilot)
            await pilot.press("o")
            await wait_for(pilot, lambda: app.run_session.state is RunState.RUNNING, 60)
        assert _containers(docker_engine, tag) == []
    finally:
        tracker = ImageTracker(docker_engine.client, "plugwiz-liverun")
        tracker.tags.append(tag)
        for log in (cache_dir() / "logs").glob("*.log"):
            tracker.from_log(log)
        tracker.cleanup()
