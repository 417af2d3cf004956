"""Pilot tests: what a user does on each step and what they then see."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from textual.widgets import DataTable, Input, Log, OptionList, ProgressBar, SelectionList

from plugwiz.core.events import BuildFailed, OutputLine, SourceLocation, StepStarted
from plugwiz.core.model import BundledPlugin, Host, PluginSource, Project
from plugwiz.core.project_file import load_project
from plugwiz.ui.screens.build import MAX_LOG_LINES, BuildScreen
from plugwiz.ui.widgets.message import MessageArea

from .conftest import (
    SIZE,
    AppMaker,
    FakeEngine,
    RunResult,
    git,
    project_for,
    sample_report,
    settle,
    successful_events,
)
from .helpers import table_rows, text_of


def message(app, selector: str) -> str:  # type: ignore[no-untyped-def]
    area = app.screen.query_one(selector, MessageArea)
    return area.text


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
        # The filter narrows the list.
        app.screen.query_one("#ref-filter", Input).value = "v1"
        await pilot.pause()
        assert refs.option_count == 1
        refs.focus()
        refs.highlighted = 0
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
        assert len(app.project.host.commit) == 40
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
    await pilot.press("ctrl+n")
    await pilot.pause()
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
        await pilot.pause()
        table = app.screen.query_one("#plugins-table", DataTable)
        rows = table_rows(table)
        assert [r[1:5] for r in rows] == [
            ["greet", "plugins/greet.go", "file", "greet.so"],
            ["extra", "plugins/extra", "directory", "extra.so"],
        ]
        assert rows[1][5] == "✓"
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
        await pilot.pause()
        assert [p.output_name for p in app.project.plugins] == ["greet", "shout"]
        # Move it up.
        await pilot.press("ctrl+up")
        await pilot.pause()
        assert [p.output_name for p in app.project.plugins] == ["shout", "greet"]
        assert table_rows(table)[0][1] == "shout"
        await pilot.press("ctrl+down")
        await pilot.pause()
        assert [p.output_name for p in app.project.plugins] == ["greet", "shout"]
        # Remove it.
        await pilot.press("x")
        await pilot.pause()
        assert [p.output_name for p in app.project.plugins] == ["greet"]
        assert len(table_rows(table)) == 1


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
        assert "a Go plugin must be `package main`" in rows[0][5]
        assert "does not exist" in rows[1][5]


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
        # The status column and the message say what `plugwiz render` says, word for word.
        assert rows[0][5] == expected
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
        assert [r[5] for r in rows] == ["✓", expected]
        assert message(app, "#plugins-message") == expected
        # Renaming the second one clears both the column and the message.
        app.update_project(
            replace(app.project, plugins=(plugins[0], replace(plugins[1], name="greet2")))
        )
        await pilot.pause()
        rows = table_rows(app.screen.query_one("#plugins-table", DataTable))
        assert [r[5] for r in rows] == ["✓", "✓"]
        assert message(app, "#plugins-message") == ""


async def test_loading_settings_dialog_changes_the_flag(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await open_plugins(pilot, app)
        app.screen.query_one("#plugins-table", DataTable).focus()
        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one("#flag", Input).value = "--plugin"
        app.screen.query_one("#args", Input).value = "--text 'hi there'"
        await pilot.click("#ok")
        await pilot.pause()
        assert app.project.loading.flag == "--plugin"
        assert app.project.loading.extra_args == ("--text", "hi there")
        assert "--plugin PATH.so" in text_of(app.screen.query_one("#loading-summary"))


async def test_path_completion_suggests_files(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await open_plugins(pilot, app)
        source = app.screen.query_one("#plugin-source", Input)
        source.focus()
        await pilot.press(*"plugins/gr")
        await pilot.pause(0.2)
        await pilot.press("right")
        await pilot.pause()
        assert source.value == "plugins/greet.go"


# -- Preview -----------------------------------------------------------------------------------


async def test_preview_shows_the_dockerfile_and_follows_changes(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("preview")
        await settle(pilot)
        dockerfile = text_of(app.screen.query_one("#dockerfile"))
        assert "FROM golang:1.19-bookworm AS host" in dockerfile
        assert "/app/plugins/greet.so" in dockerfile
        context = text_of(app.screen.query_one("#context-list"))
        assert "plugins/greet/greet.go" in context
        assert "host/go.mod" in context
        # Add a plugin on the Plugins step: the preview follows.
        app.action_go("plugins")
        await pilot.pause()
        app.screen.add_source("plugins/multi")  # type: ignore[attr-defined]
        app.action_go("preview")
        await settle(pilot)
        assert "/app/plugins/multi.so" in text_of(app.screen.query_one("#dockerfile"))


async def test_preview_warns_about_a_libc_mismatch_and_shows_project_errors(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("preview")
        await settle(pilot)
        app.screen.query_one("#runtime-image", Input).value = "alpine:3.20"
        await pilot.pause(0.5)
        assert app.project.images.runtime == "alpine:3.20"
        assert "the host will not start" in message(app, "#image-warning")
        app.screen.query_one("#runtime-image", Input).value = "bad image"
        await pilot.pause(0.5)
        assert "is not a valid image reference" in message(app, "#preview-message")
        assert app.screen.dockerfile is None  # type: ignore[attr-defined]


async def test_saving_the_project_and_the_dockerfile(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("preview")
        await settle(pilot)
        await pilot.click("#save-dockerfile")
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = load_project(workdir / "plugwiz.yaml")
    assert saved.host.repo == str(host_repo)
    assert saved.plugins == (PluginSource("plugins/greet.go"),)
    assert len(saved.host.commit) == 40
    assert (workdir / "Dockerfile").read_text().startswith("# Generated by plugwiz")


async def test_changes_are_saved_as_the_user_goes_and_resume_continues(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    path = workdir / "plugwiz.yaml"
    app = app_for(Project(base_dir=workdir), path)
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#repo", Input).value = str(host_repo)
        await pilot.press("enter")
        await settle(pilot)
        refs = app.screen.query_one("#refs", OptionList)
        refs.focus()
        refs.highlighted = 0  # feature/fast
        await pilot.press("enter")
        await settle(pilot)
        app.action_go("plugins")
        await pilot.pause()
        app.screen.add_source("plugins/greet.go")  # type: ignore[attr-defined]
        await pilot.pause()
    # Quit mid-way: everything is on disk already.
    saved = load_project(path)
    assert saved.host.ref == "feature/fast"
    assert saved.plugins == (PluginSource("plugins/greet.go"),)
    resumed = app_for(saved, path)
    async with resumed.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert resumed.current_mode == "host"
        assert resumed.screen.query_one("#repo", Input).value == str(host_repo)
        assert "Make it faster" in text_of(resumed.screen.query_one("#commit-info"))
        assert resumed.project.host.commit == saved.host.commit
        resumed.action_go("plugins")
        await pilot.pause()
        assert table_rows(resumed.screen.query_one("#plugins-table", DataTable))[0][1] == "greet"


async def test_back_and_next_navigation(app_for: AppMaker, host_repo: Path, workdir: Path) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        visited = []
        for _ in range(5):
            visited.append(app.current_mode)
            await pilot.press("ctrl+n")
            await pilot.pause()
        assert visited == ["host", "plugins", "preview", "build", "result"]
        assert app.current_mode == "result"
        await pilot.press("ctrl+p")
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert app.current_mode == "preview"
        assert "-current" in app.screen.query_one("#step-preview").classes


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
    engine = FakeEngine(
        events=successful_events(lines=3000),
        report=sample_report(),
        run_result=RunResult(0, "loaded plugin greet\ndemo-host: 3 plugins loaded\n"),
    )
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_build(pilot, app)
        await pilot.press("b")
        await settle(pilot)
        await pilot.pause(0.2)
        assert engine.builds and engine.builds[0].plugins == (PluginSource("plugins/greet.go"),)
        assert app.current_mode == "result"
        log = screen.query_one("#build-log", Log)
        assert log.lines[-1] == "step 3 line 2999"
        assert log.line_count <= MAX_LOG_LINES  # the rest is in the log file
        assert screen.query_one("#build-progress", ProgressBar).percentage == 1.0
        # Result.
        rows = table_rows(app.screen.query_one("#result-plugins", DataTable))
        assert [r[0] for r in rows] == [
            "/app/plugins/greet.so",
            "/app/plugins/reverse.so",
            "/app/plugins/upper.so",
        ]
        assert all(r[3] == "✓" for r in rows)
        assert rows[0][2] == "c" * 12
        assert '"/app/demo-host", "--prov"' in text_of(app.screen.query_one("#cmd"))
        assert (
            text_of(app.screen.query_one("#run-line")).strip()
            == "docker run --rm plugwiz-test:latest"
        )
        await pilot.press("y")
        assert app.clipboard == "docker run --rm plugwiz-test:latest"
        await pilot.press("o")
        await settle(pilot)
        output = text_of(app.screen.query_one("#run-output"))
        assert "exit code 0" in output
        assert "demo-host: 3 plugins loaded" in output


async def test_a_failed_build_explains_where_and_can_be_rebuilt(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    failed = BuildFailed(
        message="the command returned a non-zero code: 1",
        step=9,
        title="RUN go build -buildmode=plugin -o /out/plugins/broken.so ./plugwiz_plugins/broken",
        last_lines=(
            "# example.com/plugwiz-demo/plugwiz_plugins/broken",
            "broken.go:9:51: undefined: undefinedHelper",
        ),
        locations=(SourceLocation("plugins/broken.go", 9, 51, "undefined: undefinedHelper"),),
        plugin="broken",
    )
    engine = FakeEngine(
        events=[StepStarted(9, 14, failed.title), OutputLine("compiling", 9), failed],
        report=sample_report(),
    )
    project = project_for(host_repo, workdir, plugins=(PluginSource("plugins/broken.go"),))
    app = app_for(project, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_build(pilot, app)
        await pilot.press("b")
        await settle(pilot)
        await pilot.pause(0.2)
        assert app.current_mode == "build"
        assert screen.state == "failed"
        panel = text_of(screen.query_one("#failure"))
        assert "Plugin: broken" in panel
        assert "plugins/broken.go:9:51  undefined: undefinedHelper" in panel
        assert "./plugwiz_plugins/broken" in panel
        assert screen.query_one("#failure-panel").display
        # Go back, swap the plugin, build again: nothing else is lost.
        await pilot.press("ctrl+p")
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert app.current_mode == "plugins"
        app.update_project(replace(app.project, plugins=(PluginSource("plugins/greet.go"),)))
        engine.events = successful_events()
        app.action_go("build")
        await pilot.pause()
        await pilot.press("b")
        await settle(pilot)
        await pilot.pause(0.2)
        assert engine.builds[-1].plugins == (PluginSource("plugins/greet.go"),)
        assert engine.builds[-1].host == engine.builds[0].host
        assert app.current_mode == "result"


async def test_cancelling_a_build_asks_first(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = FakeEngine(events=successful_events(), block_after=5)
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_build(pilot, app)
        await pilot.press("b")
        assert engine.blocked.wait(5)
        await pilot.pause(0.2)
        assert screen.running
        assert "Step 1 of 3" in text_of(screen.query_one("#step-title"))
        await pilot.press("c")
        await pilot.pause()
        await pilot.click("#no")  # keep building
        await pilot.pause()
        assert screen.running and not screen.cancel_event.is_set()
        await pilot.press("c")
        await pilot.pause()
        await pilot.click("#yes")
        await settle(pilot)
        await pilot.pause(0.2)
        assert not screen.running
        assert screen.state == "cancelled"
        assert "Build cancelled" in text_of(screen.query_one("#build-state"))


async def test_quitting_during_a_build_asks_and_cancels(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = FakeEngine(events=successful_events(), block_after=5)
    path = workdir / "plugwiz.yaml"
    app = app_for(project_for(host_repo, workdir), path, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_build(pilot, app)
        await pilot.press("b")
        assert engine.blocked.wait(5)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert "Quit during the build?" in app.screen.query_one(".dialog-title").render().plain  # type: ignore[attr-defined]
        await pilot.click("#yes")
        await pilot.pause(0.5)
        assert screen.cancel_event.is_set()
    assert app.return_value == 0


async def test_docker_unreachable_is_explained_and_other_steps_still_work(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = FakeEngine(
        ping_error=RuntimeError(
            "Docker is not running: start it with `sudo systemctl start docker`"
        )
    )
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_build(pilot, app)
        assert screen.state == "unavailable"
        text = message(app, "#build-message")
        assert "sudo systemctl start docker" in text
        await pilot.press("b")
        await settle(pilot)
        assert screen.state == "unavailable"
        assert not engine.builds
        app.action_go("preview")
        await settle(pilot)
        assert "FROM golang:1.19-bookworm AS host" in text_of(app.screen.query_one("#dockerfile"))


async def test_result_before_any_build_says_so(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("result")
        await pilot.pause()
        assert "No image built yet" in message(app, "#result-message")
        assert not app.screen.query_one("#result-plugins").display


async def test_quit_without_a_project_file_offers_to_save(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.click("#save")
        await pilot.pause()
    assert load_project(workdir / "plugwiz.yaml").host.ref == "main"


async def test_the_file_picker_adds_the_chosen_file(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    from textual.widgets import DirectoryTree

    async def until(condition: Callable[[], bool]) -> None:
        # Not settle(): DirectoryTree's loader worker never completes while the tree exists.
        for _ in range(100):
            if condition():
                return
            await pilot.pause(0.02)
        raise AssertionError("timed out")

    app = app_for(project_for(host_repo, workdir, plugins=()))
    async with app.run_test(size=SIZE) as pilot:
        await open_plugins(pilot, app)
        await pilot.click("#browse")
        await until(lambda: bool(app.screen.query("#picker-tree")))
        tree = app.screen.query_one("#picker-tree", DirectoryTree)
        await until(lambda: any(n.label.plain == "plugins" for n in tree.root.children))
        plugins_node = next(n for n in tree.root.children if n.label.plain == "plugins")
        plugins_node.expand()
        await until(lambda: len(plugins_node.children) == 3)
        # Only Go files, shared objects and directories are offered.
        names = sorted(n.label.plain for n in plugins_node.children)
        assert names == ["broken.go", "greet.go", "multi"]
        greet = next(n for n in plugins_node.children if n.label.plain == "greet.go")
        tree.select_node(greet)
        await until(lambda: bool(app.project.plugins))
        assert app.project.plugins == (PluginSource("plugins/greet.go"),)


async def test_the_screen_stays_responsive_while_a_flood_of_output_arrives(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    import time

    flood = [StepStarted(1, 2, "RUN go build ./...")]
    flood += [OutputLine(f"line {i}", 1) for i in range(100_000)]
    flood.append(StepStarted(2, 2, "CMD"))
    engine = FakeEngine(events=flood, block_after=len(flood) - 1)
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_build(pilot, app)
        await pilot.press("b")
        started = time.monotonic()
        await pilot.press("ctrl+p")  # navigating away while the lines pour in
        await pilot.pause()
        assert app.current_mode == "preview"
        assert time.monotonic() - started < 2.0
        assert engine.blocked.wait(10)
        await pilot.pause(0.5)
        log = screen.query_one("#build-log", Log)
        assert log.lines[-1] == "line 99999"
        assert log.line_count <= MAX_LOG_LINES
        screen.cancel_event.set()
        await settle(pilot)
        await pilot.pause(0.2)
        assert screen.state == "cancelled"


async def test_a_flood_keeps_exactly_the_last_lines_and_counts_every_one(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    # Lines the cap would drop at once are never written to the Log (the speed-up), yet the
    # Log ends with the same lines, in order, as if every one had been written.
    flood = [StepStarted(1, 1, "RUN go build ./...")]
    flood += [OutputLine(f"line {i}", 1) for i in range(30_000)]
    flood.append(StepStarted(1, 1, "the build waits here"))
    engine = FakeEngine(events=flood, block_after=len(flood) - 1)
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_build(pilot, app)
        await pilot.press("b")
        assert engine.blocked.wait(10)
        await pilot.pause(0.5)
        log = screen.query_one("#build-log", Log)
        assert screen.lines_shown == 30_000
        assert list(log.lines) == [f"line {i}" for i in range(30_000 - MAX_LOG_LINES, 30_000)]
        screen.cancel_event.set()
        await settle(pilot)
