"""Pilot tests for shipping in the wizard: the engine in the header, the base images' pins on
the Preview step, the runtime user and the push on the Result step."""

from __future__ import annotations

import re
from pathlib import Path

from textual.widgets import Label

from plugwiz.adapters.scripted import SAMPLE_PUSH_DIGEST, ScriptedEngine, successful_events
from plugwiz.core.image_refs import OFFLINE_MAP, parse_image_map
from plugwiz.core.model import BaseImages
from plugwiz.core.push import RegistryAuthError
from plugwiz.ui.app import PlugwizApp
from plugwiz.ui.widgets.message import MessageArea

from .conftest import SIZE, SMALL, AppMaker, project_for, settle, wait_for
from .helpers import screen_text, text_of

REGISTRY_TAG = "registry.example/team/host:1"
DIGEST = "sha256:" + "5e" * 32


async def build_and_show_result(pilot: object, app: PlugwizApp) -> None:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    app.action_go("build")
    await settle(pilot)
    await pilot.press("b")
    await wait_for(pilot, lambda: not app.session.active)
    await settle(pilot)
    assert app.current_mode == "result"


async def test_the_result_step_pushes_and_shows_the_pushed_reference(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(events=successful_events(REGISTRY_TAG))
    app = app_for(project_for(host_repo, workdir, tag=REGISTRY_TAG), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await build_and_show_result(pilot, app)
        info = text_of(app.screen.query_one("#image-info"))
        assert re.search(r"^User +65532:65532 \(not root\)", info, re.MULTILINE), info
        assert "Pushed" not in info
        await pilot.press("u")
        await settle(pilot)
        assert engine.pushes == [REGISTRY_TAG]
        reference = f"registry.example/team/host@{SAMPLE_PUSH_DIGEST}"
        push = text_of(app.screen.query_one("#push-output"))
        assert push.splitlines()[0] == f"Pushed {reference}"
        assert "4f1c2a9e0b7d  Pushed" in push
        assert "9a0e3c5d1f2b  Layer already exists" in push
        info = text_of(app.screen.query_one("#image-info"))
        assert re.search(rf"^Pushed +{re.escape(reference)}", info, re.MULTILINE), info


async def test_a_failed_push_says_why(app_for: AppMaker, host_repo: Path, workdir: Path) -> None:
    error = RegistryAuthError(
        "pushing registry.example/team/host:1: registry.example refused the credentials in your "
        "Docker config (wrong user or password, or no right to push to this repository): run "
        "`docker login registry.example` again"
    )
    engine = ScriptedEngine(events=successful_events(REGISTRY_TAG), push_error=error)
    app = app_for(project_for(host_repo, workdir, tag=REGISTRY_TAG), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await build_and_show_result(pilot, app)
        await pilot.press("u")
        await settle(pilot)
        push = text_of(app.screen.query_one("#push-output"))
        assert push.startswith("Push failed\n")
        assert "refused the credentials in your Docker config" in push
        assert "Pushed " not in text_of(app.screen.query_one("#image-info"))


async def test_a_tag_without_a_registry_is_not_pushed(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(events=successful_events("plugwiz-test:latest"))
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await build_and_show_result(pilot, app)
        await pilot.press("u")
        await settle(pilot)
        assert engine.pushes == []
        assert "names no registry" in screen_text(app) or any(
            "names no registry" in str(n.message) for n in app._notifications
        )
        assert not app.screen.query_one("#push-output").display


async def test_the_header_shows_a_remote_engine_and_not_the_local_one(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    label = "engine tcp://build.example:2376 (TLS, context build)"
    app = app_for(project_for(host_repo, workdir), engine_label=label)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        engine = app.screen.query_one("#engine", Label)
        assert engine.display and str(engine.content) == "engine build.example:2376"
        assert engine.tooltip == label
    small = app_for(project_for(host_repo, workdir), engine_label=label)
    async with small.run_test(size=SMALL) as pilot:
        await settle(pilot)
        engine = small.screen.query_one("#engine", Label)
        assert str(engine.content) == "@build.example"
        assert "plugwiz" not in text_of(small.screen.query_one("#steps"))
    local = app_for(project_for(host_repo, workdir))
    async with local.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not local.screen.query_one("#engine", Label).display


async def test_the_preview_shows_the_map_and_the_pins(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(
        events=successful_events("plugwiz-test:latest"),
        digests={
            "plugwiz-offline/golang:1.19-bookworm": "",
            "plugwiz-offline/debian:bookworm-slim": DIGEST,
        },
    )
    machine = BaseImages(local=parse_image_map(OFFLINE_MAP))
    app = app_for(project_for(host_repo, workdir), engine=engine, base_images=machine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("preview")
        await settle(pilot)
        notes = app.screen.query_one("#image-warning", MessageArea).text
        assert notes.splitlines() == [
            "Builder image: golang:1.19-bookworm mapped to plugwiz-offline/golang:1.19-bookworm; "
            "not pinned: the engine knows no registry digest for it (made locally)",
            "Runtime image: debian:bookworm-slim mapped to plugwiz-offline/debian:bookworm-slim; "
            f"pinned to {DIGEST}",
        ]
        dockerfile = text_of(app.screen.query_one("#dockerfile"))
        assert "FROM plugwiz-offline/golang:1.19-bookworm AS toolchain" in dockerfile
        assert f"FROM plugwiz-offline/debian:bookworm-slim@{DIGEST}" in dockerfile
        # The build gets the same pins: the image's context label will match the Result's.
        resolved = app.resolved
        assert resolved is not None and resolved.base.digest(
            "plugwiz-offline/debian:bookworm-slim"
        ) == (DIGEST)
