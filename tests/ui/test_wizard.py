"""Pilot tests: what a user does on each step and what they then see."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from textual.widgets import DataTable, Input, Log, OptionList, ProgressBar, SelectionList

from plugwiz.adapters.scripted import (
    ScriptedEngine,
    realistic_build,
    successful_events,
    unavailable,
)
from plugwiz.core.engine import RunResult
from plugwiz.core.events import BuildEvent, OutputLines, StepStarted
from plugwiz.core.model import BundledPlugin, Host, PluginSource, Project
from plugwiz.core.project_file import load_project
from plugwiz.core.session import BuildState
from plugwiz.ui.app import PlugwizApp
from plugwiz.ui.screens.build import MAX_LOG_LINES, BuildScreen
from plugwiz.ui.widgets.message import MessageArea

from .conftest import SIZE, TAG, AppMaker, git, project_for, settle, wait_for
from .helpers import log_text, table_rows, text_of


def state(app: PlugwizApp) -> BuildState:
    """The session's state now (a call, so type checkers do not narrow it between reads)."""
    return app.session.state


def message(app: PlugwizApp, selector: str) -> str:
    return app.screen.query_one(selector, MessageArea).text


# -- Host --------------------------------------------------------------------------------------


async def test_typing_a_host_path_lists_refs_and_picking_one_shows_the_commit(
    app_for: AppMaker, host_repo: Path, workdir: Path, cache_dir: Path
) -> None:
    app = app_for(Project(base_dir=workdir))
    async with app.run_test(size=SIZE) as pilot:
        repo_input = app.screen.query_one("#repo", Input)
        assert repo_input.has_focus
        repo_input.value = str(host_repo)
        await pilot.press("enter")
        await settle(pilot)
        refs = app.screen.query_one("#refs", OptionList)
        names = [refs.get_option_at_index(i).id for i in range(refs.option_count)]
        assert names == ["feature/fast", "main", "v1.0.0"]
        # The filter narrows the list; enter with one match picks it.
        app.screen.query_one("#ref-filter", Input).value = "v1"
        await pilot.pause()
        assert refs.option_count == 1
        app.screen.query_one("#ref-filter", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        info = text_of(app.screen.query_one("#commit-info"))
        assert "v1.0.0" in info
        assert "Initial demo host" in info
        assert "2024-03-01" in info
        assert "example.com/plugwiz-demo" in info
        assert "1.19" in info
        assert "./cmd/demo-host" in info
        bundled = app.screen.query_one("#bundled", SelectionList)
        assert sorted(bundled.selected) == ["plugins/reverse", "plugins/upper"]
        assert app.project.host.ref == "v1.0.0"
        assert app.project.host.commit == ""  # resolved, not pinned
        assert app.host.resolved is not None and len(app.host.resolved.commit.sha) == 40
    # The repository is remembered for next time.
    recent = json.loads((cache_dir / "recent.json").read_text())
    assert recent == [str(host_repo)]


async def test_unchecking_a_bundled_plugin_lists_the_others_explicitly(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        bundled = app.screen.query_one("#bundled", SelectionList)
        bundled.deselect("plugins/upper")
        await pilot.pause()
        assert app.project.bundled == (BundledPlugin("plugins/reverse"),)


async def test_missing_host_path_is_explained(app_for: AppMaker, workdir: Path) -> None:
    app = app_for(Project(base_dir=workdir))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#repo", Input).value = str(workdir / "nowhere")
        await pilot.press("enter")
        await settle(pilot)
        text = message(app, "#host-message")
        assert "Cannot open the host repository" in text
        assert "does not exist" in text


async def test_a_directory_that_is_not_a_repo_is_explained(
    app_for: AppMaker, workdir: Path
) -> None:
    app = app_for(Project(base_dir=workdir))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#repo", Input).value = str(workdir / "plugins")
        await pilot.press("enter")
        await settle(pilot)
        assert "is not a git repository" in message(app, "#host-message")


async def test_unknown_ref_offers_close_matches(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.query_one("#ref-filter", Input).focus()
        app.screen.query_one("#ref-filter", Input).value = "mian"
        await pilot.press("enter")
        await settle(pilot)
        text = message(app, "#host-message")
        assert "Ref not found" in text
        assert "'mian' does not exist" in text
        assert "Close matches: main" in text


async def test_repo_without_go_mod_is_explained(
    app_for: AppMaker, tmp_path: Path, workdir: Path
) -> None:
    repo = tmp_path / "notgo"
    repo.mkdir()
    (repo / "README.md").write_text("not go\n")
    git(repo, "init", "--quiet", "--template=")
    git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--no-gpg-sign", "-m", "readme")
    app = app_for(Project(host=Host(repo=str(repo), ref="main"), base_dir=workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = message(app, "#host-message")
        assert "Not a Go module" in text
        assert "no go.mod" in text


# -- Plugins -----------------------------------------------------------------------------------


async def open_plugins(pilot, app) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot)
    app.action_go("plugins")
    await settle(pilot)
    assert app.current_mode == "plugins"


async def test_adding_renaming_reordering_and_removing_plugins(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    (workdir / "plugins" / "extra").mkdir()
    (workdir / "plugins" / "extra" / "extra.go").write_text("package main\n\nfunc Extra() {}\n")
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await open_plugins(pilot, app)
        source = app.screen.query_one("#plugin-source", Input)
        source.focus()
        source.value = "plugins/extra"
        await pilot.press("enter")
        await settle(pilot)
        table = app.screen.query_one("#plugins-table", DataTable)
        rows = table_rows(table)
        assert [r[1:4] for r in rows] == [
            ["greet", "plugins/greet.go", "file"],
            ["extra", "plugins/extra", "directory"],
        ]
        assert rows[1][4] == "looks right"
        assert source.value == ""
        # Rename the second one.
        table.focus()
        table.move_cursor(row=1)
        await pilot.press("r")
        await pilot.pause()
        dialog_input = app.screen.query_one("#dialog-input", Input)
        dialog_input.value = "bad name!"
        await pilot.press("enter")
        await pilot.pause()
        assert "is not allowed" in app.screen.query_one("#dialog-error", MessageArea).text
        dialog_input.value = "shout"
        await pilot.press("enter")
        await settle(pilot)
        assert [p.output_name for p in app.project.plugins] == ["greet", "shout"]
        # Move it up (the load order).
        await pilot.press("ctrl+up")
        await settle(pilot)
        assert [p.output_name for p in app.project.plugins] == ["shout", "greet"]
        assert table_rows(table)[0][1] == "shout"
        await pilot.press("ctrl+down")
        await settle(pilot)
        assert [p.output_name for p in app.project.plugins] == ["greet", "shout"]
        # Remove it, and put it back.
        await pilot.press("x")
        await settle(pilot)
        assert [p.output_name for p in app.project.plugins] == ["greet"]
        assert len(table_rows(table)) == 1
        await pilot.press("u")
        await settle(pilot)
        assert [p.output_name for p in app.project.plugins] == ["greet", "shout"]


async def test_a_bad_plugin_source_shows_its_problem(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    (workdir / "plugins" / "lib.go").write_text("package lib\n")
    app = app_for(
        project_for(
            host_repo,
            workdir,
            plugins=(PluginSource("plugins/lib.go"), PluginSource("plugins/gone.go")),
        )
    )
    async with app.run_test(size=SIZE) as pilot:
        await open_plugins(pilot, app)
        rows = table_rows(app.screen.query_one("#plugins-table", DataTable))
        assert "a Go plugin must be `package main`" in rows[0][4]
        assert "plugins/gone.go does not exist" in rows[1][4]
        assert rows[1][3] == "?"  # a missing path has no kind


async def test_a_name_that_collides_with_a_bundled_plugin_is_flagged(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(
        project_for(host_repo, workdir, plugins=(PluginSource("plugins/greet.go", name="upper"),))
    )
    async with app.run_test(size=SIZE) as pilot:
        await open_plugins(pilot, app)
        rows = table_rows(app.screen.query_one("#plugins-table", DataTable))
        expected = (
            "two plugins would be written to upper.so: 'upper' collides with a bundled plugin; "
            "rename one (plugins: name: ...)"
        )
        # The status, its detail line and the message say what `plugwiz render` says.
        assert rows[0][4] == expected
        assert expected in text_of(app.screen.query_one("#plugin-detail"))
        assert message(app, "#plugins-message") == expected


async def test_two_plugins_with_the_same_name_flag_the_second(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    (workdir / "other").mkdir()
    (workdir / "other" / "greet.go").write_text("package main\n\nfunc Greet() {}\n")
    plugins = (PluginSource("plugins/greet.go"), PluginSource("other/greet.go"))
    app = app_for(project_for(host_repo, workdir, plugins=plugins))
    async with app.run_test(size=SIZE) as pilot:
        await open_plugins(pilot, app)
        rows = table_rows(app.screen.query_one("#plugins-table", DataTable))
        expected = (
            "two plugins would be written to greet.so: 'greet' collides with another plugin; "
            "rename one (plugins: name: ...)"
        )
        assert [r[4] for r in rows] == ["looks right", expected]
        assert message(app, "#plugins-message") == expected
        # Renaming the second one clears both the column and the message.
        app.update_project(
            replace(app.project, plugins=(plugins[0], replace(plugins[1], name="greet2")))
        )
        await settle(pilot)
        rows = table_rows(app.screen.query_one("#plugins-table", DataTable))
        assert [r[4] for r in rows] == ["looks right", "looks right"]
        assert message(app, "#plugins-message") == ""


# -- Preview -----------------------------------------------------------------------------------


async def test_preview_shows_the_dockerfile_and_follows_changes(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("preview")
        await settle(pilot)
        text = text_of(app.screen.query_one("#dockerfile"))
        assert "FROM golang:1.19-bookworm AS toolchain" in text
        assert "/out/plugins/greet.so" in text
        listing = text_of(app.screen.query_one("#context-list"))
        assert "plugins/greet/greet.go" in listing
        builder = app.screen.query_one("#builder-image", Input)
        builder.value = "golang:1.19-bullseye"
        await pilot.press("tab")
        await pilot.pause(0.5)
        await settle(pilot)
        assert app.project.images.builder == "golang:1.19-bullseye"
        text = text_of(app.screen.query_one("#dockerfile"))
        assert "FROM golang:1.19-bullseye AS toolchain" in text
        assert "FROM debian:bullseye-slim" in text


# -- Build and Result --------------------------------------------------------------------------


async def open_build(pilot, app) -> BuildScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    app.action_go("build")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, BuildScreen)
    return screen


async def test_a_successful_build_streams_output_and_shows_the_result(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(
        events=successful_events(TAG, lines=3000),
        run_result=RunResult(0, "loaded plugin greet\ndemo-host: 3 plugins loaded\n", False),
    )
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_build(pilot, app)
        await pilot.press("b")
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        assert engine.builds and engine.builds[0].project.plugins == (
            PluginSource("plugins/greet.go"),
        )
        assert app.current_mode == "result"
        log = screen.query_one("#build-log", Log)
        assert log.lines[-1] == "step 3 line 2999"
        assert log.line_count <= MAX_LOG_LINES  # the rest is in the log file
        assert screen.query_one("#build-progress", ProgressBar).percentage == 1.0
        # Result: the plugins in load order (bundled first, then custom), all loaded.
        rows = table_rows(app.screen.query_one("#result-plugins", DataTable))
        assert [r[1] for r in rows] == [
            "/app/plugins/reverse.so",
            "/app/plugins/upper.so",
            "/app/plugins/greet.so",
        ]
        assert [r[0] for r in rows] == ["1", "2", "3"]
        assert all(r[4] == "✓" for r in rows)
        assert '"/app/demo-host", "--prov"' in text_of(app.screen.query_one("#cmd"))
        assert text_of(app.screen.query_one("#run-line")).strip() == f"docker run --rm {TAG}"
        await pilot.press("y")
        assert app.clipboard == f"docker run --rm {TAG}"
        await pilot.press("o")
        await wait_for(pilot, lambda: not app.run_session.active)
        await settle(pilot)
        assert "exit code 0" in text_of(app.screen.query_one("#run-status"))
        assert "demo-host: 3 plugins loaded" in log_text(app.screen.query_one("#run-output"))


async def test_a_failed_build_explains_where_and_can_be_rebuilt(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(script=realistic_build)
    project = project_for(host_repo, workdir, plugins=(PluginSource("plugins/broken.go"),))
    app = app_for(project, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_build(pilot, app)
        await pilot.press("b")
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        assert app.current_mode == "build"
        assert screen.state == "failed"
        panel = text_of(screen.query_one("#failure"))
        assert "Plugin: broken" in panel
        assert "plugins/broken.go:9:51  undefined: undefinedHelper" in panel
        assert "./plugwiz_plugins/broken" in panel
        assert screen.query_one("#failure-panel").display
        # The Plugins step says where it failed.
        app.action_go("plugins")
        await settle(pilot)
        rows = table_rows(app.screen.query_one("#plugins-table", DataTable))
        assert rows[0][4] == "failed at line 9"
        # Swap the plugin, build again: nothing else is lost.
        app.update_project(replace(app.project, plugins=(PluginSource("plugins/greet.go"),)))
        await settle(pilot)
        app.action_go("build")
        await settle(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        assert engine.builds[-1].project.plugins == (PluginSource("plugins/greet.go"),)
        assert engine.builds[-1].host == engine.builds[0].host
        assert app.current_mode == "result"
        app.action_go("plugins")
        await settle(pilot)
        rows = table_rows(app.screen.query_one("#plugins-table", DataTable))
        assert rows[0][4] == "loads"


async def test_cancelling_a_build_asks_first(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(events=successful_events(TAG), hold_at=5)
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_build(pilot, app)
        await pilot.press("b")
        assert engine.holding.wait(5)
        await pilot.pause(0.3)
        assert state(app) is BuildState.RUNNING
        assert "Step 1 of 3" in text_of(screen.query_one("#step-title"))
        await pilot.press("c")
        await pilot.pause()
        await pilot.click("#no")  # keep building
        await pilot.pause()
        assert state(app) is BuildState.RUNNING
        await pilot.press("c")
        await pilot.pause()
        await pilot.click("#yes")
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        assert state(app) is BuildState.CANCELLED
        assert screen.state == "cancelled"
        assert "Build cancelled" in text_of(screen.query_one("#build-state"))


async def test_quitting_during_a_build_asks_and_cancels(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(events=successful_events(TAG), hold_at=5)
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await open_build(pilot, app)
        await pilot.press("b")
        assert engine.holding.wait(5)
        await pilot.press("ctrl+q")
        await pilot.pause()
        title = app.screen.query_one(".dialog-title").render()
        assert "Quit during the build?" in str(title)
        await pilot.click("#yes")
        await wait_for(pilot, lambda: not app.is_running or not app.session.active)
        await pilot.pause(0.3)
    assert state(app) is BuildState.CANCELLED
    assert app.return_value == 0


async def test_docker_unreachable_is_explained_and_other_steps_still_work(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(
        ping_error=unavailable("Docker is not running: start it with `sudo systemctl start docker`")
    )
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_build(pilot, app)
        assert screen.state == "unavailable"
        assert "sudo systemctl start docker" in message(app, "#build-message")
        await pilot.press("b")
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        assert screen.state == "unavailable"
        assert app.session.state is BuildState.UNAVAILABLE
        assert not engine.builds
        app.action_go("preview")
        await settle(pilot)
        assert "FROM golang:1.19-bookworm AS toolchain" in text_of(
            app.screen.query_one("#dockerfile")
        )


async def test_result_before_any_build_says_so(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("result")
        await settle(pilot)
        assert f"No image {TAG} yet" in message(app, "#result-message")
        assert not app.screen.query_one("#result-plugins").display


async def test_quit_after_a_change_offers_to_save(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.update_project(replace(app.project, tag="changed:latest"))
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.click("#save")
        await pilot.pause()
    saved = load_project(workdir / "plugwiz.yaml")
    assert saved.host.ref == "main" and saved.tag == "changed:latest"


async def test_the_file_picker_adds_the_chosen_file(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    from textual.widgets import DirectoryTree

    app = app_for(project_for(host_repo, workdir, plugins=()))
    async with app.run_test(size=SIZE) as pilot:
        await open_plugins(pilot, app)
        await pilot.click("#browse")
        await wait_for(pilot, lambda: bool(app.screen.query("#picker-tree")))
        tree = app.screen.query_one("#picker-tree", DirectoryTree)
        await wait_for(pilot, lambda: any(str(n.label) == "plugins" for n in tree.root.children))
        plugins_node = next(n for n in tree.root.children if str(n.label) == "plugins")
        plugins_node.expand()
        await wait_for(pilot, lambda: len(plugins_node.children) == 3)
        names = sorted(str(n.label) for n in plugins_node.children)
        assert names == ["broken.go", "greet.go", "multi"]
        greet = next(n for n in plugins_node.children if str(n.label) == "greet.go")
        tree.select_node(greet)
        await wait_for(pilot, lambda: bool(app.project.plugins))
        assert app.project.plugins == (PluginSource("plugins/greet.go"),)


async def test_the_screen_stays_responsive_while_a_flood_of_output_arrives(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    import time

    flood: list[BuildEvent] = [StepStarted(1, 2, "RUN go build ./...")]
    flood += [OutputLines((f"line {i}",), 1) for i in range(100_000)]
    flood.append(StepStarted(2, 2, "CMD"))
    engine = ScriptedEngine(events=flood, hold_at=len(flood) - 1)
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_build(pilot, app)
        await pilot.press("b")
        started = time.monotonic()
        await pilot.press("ctrl+b")  # navigating away while the lines pour in
        await pilot.pause()
        assert app.current_mode == "preview"
        assert time.monotonic() - started < 2.0
        assert engine.holding.wait(10)
        await pilot.pause(0.5)
        app.action_go("build")
        await pilot.pause(0.3)
        log = screen.query_one("#build-log", Log)
        assert log.lines[-1] == "line 99999"
        assert log.line_count <= MAX_LOG_LINES
        app.session.cancel()
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        assert screen.state == "cancelled"


async def test_a_flood_keeps_exactly_the_last_lines_and_counts_every_one(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    # Lines the cap would drop at once are never written to the Log (the speed-up), yet the
    # Log ends with the same lines, in order, as if every one had been written.
    flood: list[BuildEvent] = [StepStarted(1, 1, "RUN go build ./...")]
    flood += [OutputLines((f"line {i}",), 1) for i in range(30_000)]
    flood.append(StepStarted(1, 1, "the build waits here"))
    engine = ScriptedEngine(events=flood, hold_at=len(flood) - 1)
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_build(pilot, app)
        await pilot.press("b")
        assert engine.holding.wait(10)
        await pilot.pause(0.5)
        log = screen.query_one("#build-log", Log)
        assert screen.lines_shown == 30_000
        assert list(log.lines) == [f"line {i}" for i in range(30_000 - MAX_LOG_LINES, 30_000)]
        app.session.cancel()
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
