"""The smoke run in the wizard: the Build step shows it as the build's last stage."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.widgets import Label, Log, ProgressBar

from plugwiz.adapters.scripted import ScriptedEngine, successful_events
from plugwiz.core.engine import RunResult
from plugwiz.core.model import SmokeTest
from plugwiz.ui.screens.build import BuildScreen

from .conftest import SIZE, TAG, AppMaker, project_for, settle, wait_for


async def test_the_smoke_run_is_the_last_stage_of_the_build_step(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(
        events=successful_events(TAG, steps=3, lines=2),
        run_result=RunResult(
            4, 'demo-host: refusing hello.so: plugin ID "x" does not match\n', False
        ),
    )
    project = replace(
        project_for(host_repo, workdir), smoke=SmokeTest(expect_output="plugins loaded")
    )
    app = app_for(project, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("build")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BuildScreen)
        await pilot.press("b")
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        assert screen.state == "failed"
        assert app.current_mode == "build"  # not moved on to a Result that was not tagged
        title = str(screen.query_one("#step-title", Label).render())
        assert title.startswith("Smoke run failed  /app/demo-host")
        assert screen.query_one("#build-progress", ProgressBar).percentage == 1.0
        lines = list(screen.query_one("#build-log", Log).lines)
        assert any(
            line.startswith("── Smoke run (the last stage): /app/demo-host") for line in lines
        )
        assert 'demo-host: refusing hello.so: plugin ID "x" does not match' in lines
        assert any("Smoke run failed" in line and "no line matched" in line for line in lines)
        failure = app.session.failure
        assert failure is not None and "the smoke run failed" in failure.message

        # It passes once the host is happy: the build finishes and the Result step follows.
        engine.run_result = RunResult(0, "demo-host: 3 plugins loaded\n", False)
        await pilot.press("b")
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        assert app.current_mode == "result"
        assert app.session.smoke_finished is not None and app.session.smoke_finished.passed
