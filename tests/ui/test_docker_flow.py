"""The whole wizard on the demo host against the real Docker daemon (never pulls)."""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import DataTable

from plugwiz.ui.app import make_app

from .conftest import SIZE, settle
from .helpers import table_rows, text_of

pytestmark = pytest.mark.docker


def _engine_or_skip() -> object:
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
    app = make_app(None, None, engine_factory=lambda: engine)  # type: ignore[arg-type,return-value]
    app.project = replace(app.project, tag=tag)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert app.project.facts is not None
            await pilot.press("ctrl+n", "ctrl+n", "ctrl+n")
            await settle(pilot)
            assert app.current_mode == "build"
            await pilot.press("b")
            await settle(pilot)
            await pilot.pause(0.5)
            build = app.build_screen
            assert build is not None
            assert app.current_mode == "result", (
                text_of(build.query_one("#build-state")) + build.query_one("#build-message").text
            )  # type: ignore[attr-defined]
            rows = table_rows(app.screen.query_one("#result-plugins", DataTable))
            assert sorted(r[0] for r in rows) == [
                "/app/plugins/hello.so",
                "/app/plugins/reverse.so",
                "/app/plugins/upper.so",
            ]
            assert all(r[3] == "✓" for r in rows)
            cmd = text_of(app.screen.query_one("#cmd"))
            assert cmd.count('"--prov"') == 3
            assert text_of(app.screen.query_one("#run-line")).strip() == f"docker run --rm {tag}"
            await pilot.press("o")
            await settle(pilot)
            output = text_of(app.screen.query_one("#run-output"))
            assert "exit code 0" in output
            assert "loaded plugin hello" in output
            assert "demo-host: 3 plugins loaded" in output
    finally:
        import docker

        with contextlib.suppress(docker.errors.ImageNotFound):
            docker.from_env().images.remove(tag, force=True)
