"""The wizard under real use: each test is one thing a new user hit in an hour with it.

Numbers refer to the items of the issue "The wizard under real use"; each of these failed on
the wizard before the build session, the typed engine port and the project document.
"""

from __future__ import annotations

import gc
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Log, OptionList, SelectionList

from plugwiz.adapters.scripted import ScriptedEngine, realistic_build, successful_events
from plugwiz.core.model import DEMO_REPO, Host, PluginSource, Project
from plugwiz.core.project_file import load_project
from plugwiz.core.resolve import demo_project
from plugwiz.core.session import BuildState
from plugwiz.ui.app import PlugwizApp
from plugwiz.ui.dialogs.choice import ChoiceDialog
from plugwiz.ui.dialogs.help import HelpDialog, keys_named
from plugwiz.ui.widgets.message import MessageArea
from plugwiz.ui.widgets.steps import STEP_NAMES

from .conftest import SIZE, SMALL, TAG, AppMaker, project_for, settle, wait_for
from .helpers import screen_text, table_rows, text_of

HAND_WRITTEN = """\
# My host, with the greeting plugin.
version: 1
host: {repo: ../host, ref: main}   # follows main
plugins:
  - plugins/greet.go   # the one we demo
loading: {flag: --prov, extension: .so}
tag: plugwiz-test:latest
"""


def state(app: PlugwizApp) -> BuildState:
    """The session's state now (a call, so type checkers do not narrow it between reads)."""
    return app.session.state


def message(app: PlugwizApp, selector: str) -> str:
    return app.screen.query_one(selector, MessageArea).text


def hand_written(workdir: Path, host_repo: Path) -> Path:
    path = workdir / "plugwiz.yaml"
    path.write_text(HAND_WRITTEN.replace("../host", str(host_repo)))
    return path


# -- 1. Dialogs outlive their subject -------------------------------------------------------------


async def start_held_build(pilot: Pilot[Any], engine: ScriptedEngine) -> None:
    """On the Build step, press b; return once the build is held mid-way."""
    await settle(pilot)
    pilot.app.action_go("build")  # type: ignore[attr-defined]
    await settle(pilot)
    await pilot.press("b")
    assert engine.holding.wait(5)


async def test_cancel_dialog_closes_when_the_build_ends_unanswered(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(events=successful_events(TAG), hold_at=5)
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await start_held_build(pilot, engine)
        await pilot.pause(0.2)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)  # c shows the dialog
        assert "Cancel the build?" in screen_text(app)
        engine.release.set()  # the build finishes while the question is open
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        assert state(app) is BuildState.SUCCEEDED
        assert not isinstance(app.screen, ChoiceDialog)
        assert app.current_mode == "result"
        # Back on Build, b builds again at once: no dialog swallows it.
        app.action_go("build")
        await settle(pilot)
        assert not isinstance(app.screen, ChoiceDialog)
        engine.hold_at = None
        await pilot.press("b")
        await wait_for(pilot, lambda: len(engine.builds) == 2 and not app.session.active)
        assert state(app) is BuildState.SUCCEEDED


async def test_quit_dialog_closes_when_the_build_ends_and_quit_then_needs_no_question(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(events=successful_events(TAG), hold_at=5)
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await start_held_build(pilot, engine)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert "Quit during the build?" in screen_text(app)
        engine.release.set()
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        assert not isinstance(app.screen, ChoiceDialog)
        assert app.is_running
        await pilot.press("ctrl+q")  # nothing runs and nothing changed: quits at once
        await pilot.pause()
    assert app.return_value == 0


async def test_output_that_arrives_before_the_build_step_has_its_widgets_is_shown_once_it_has(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    # A key can start a build on a step shown for the first time before the step is composed
    # (F4 then b at once); the drain timer then found a Build screen without its log.
    engine = ScriptedEngine(events=successful_events(TAG), hold_at=5)
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.start_build() is None
        assert engine.holding.wait(5)  # the build's first lines are queued
        app.action_go("build")
        screen = app.screen
        assert not screen.is_mounted
        app._drain()  # as the timer would: no NoMatches, the lines wait for the screen
        await settle(pilot)
        log = screen.query_one("#build-log", Log)
        assert [line for line in log.lines if "step 1 line" in line] == [
            f"step 1 line {index}" for index in range(4)
        ]
        engine.release.set()
        await wait_for(pilot, lambda: not app.session.active)
        assert state(app) is BuildState.SUCCEEDED


async def test_the_cycle_collector_skips_the_wizards_objects_only_while_a_build_runs(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(events=successful_events(TAG), hold_at=5)
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert gc.get_freeze_count() == 0
        await start_held_build(pilot, engine)
        assert gc.get_freeze_count() > 0  # a flood's full collections stay short
        engine.release.set()
        await wait_for(pilot, lambda: not app.session.active)
        assert gc.get_freeze_count() == 0  # what the build left behind is collected again


async def test_steps_do_not_change_behind_a_dialog(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(events=successful_events(TAG), hold_at=5)
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await start_held_build(pilot, engine)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("f2", "ctrl+n", "ctrl+b")
        await pilot.pause()
        assert app.current_mode == "build" and isinstance(app.screen, ChoiceDialog)
        await pilot.press("escape")
        app.session.cancel()
        await wait_for(pilot, lambda: not app.session.active)


# -- 2. Quit on an untouched project ---------------------------------------------------------------


async def test_quit_on_the_untouched_demo_quits_at_once(app_for: AppMaker, workdir: Path) -> None:
    app = app_for(None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.host.resolved is not None  # resolving is not a change
        assert not app.dirty
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_value == 0
    assert not (workdir / "plugwiz.yaml").exists()


# -- 3. The project file is never rewritten on open -----------------------------------------------


async def test_opening_and_quitting_leaves_a_hand_written_file_byte_identical(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    path = hand_written(workdir, host_repo)
    before = path.read_bytes()
    app = app_for(load_project(path), path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.host.resolved is not None
        for step in ("plugins", "preview", "build", "result", "host"):
            app.action_go(step)
            await settle(pilot)
        assert not app.dirty
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_value == 0
    assert path.read_bytes() == before  # no pin, no header, no style change


async def test_a_one_value_change_changes_one_line_and_pinning_is_an_action(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    path = hand_written(workdir, host_repo)
    before = path.read_text().splitlines()
    app = app_for(load_project(path), path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("plugins")
        await settle(pilot)
        table = app.screen.query_one("#plugins-table", DataTable)
        table.focus()
        await pilot.press("r")
        await pilot.pause()
        app.screen.query_one("#dialog-input", Input).value = "hello"
        await pilot.press("enter")
        await settle(pilot)
        after = path.read_text().splitlines()  # autosaved: the user changed something
        changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert len(changed) == 1, changed
        assert "hello" in changed[0][1] and "greet.go" in changed[0][1]
        assert after[0] == "# My host, with the greeting plugin."
        assert "commit" not in path.read_text()
        # Pinning is the user's choice, on the Host step.
        app.action_go("host")
        await settle(pilot)
        app.screen.query_one("#refs", OptionList).focus()
        await pilot.press("p")
        await settle(pilot)
    sha = app.host.resolved.commit.sha if app.host.resolved else ""
    assert f"commit: {sha}" in path.read_text()


# -- 4. Paths ------------------------------------------------------------------------------------


async def test_paths_are_saved_relative_and_rebased_on_save_as(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    first = workdir / "a" / "plugwiz.yaml"
    first.parent.mkdir()
    shutil.copytree(workdir / "plugins", first.parent / "plugins")
    project = Project(host=Host(repo=str(host_repo), ref="main"), base_dir=first.parent, tag=TAG)
    app = app_for(project, first)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("plugins")
        await settle(pilot)
        field = app.screen.query_one("#plugin-source", Input)
        field.value = str(first.parent / "plugins" / "greet.go")  # typed as an absolute path
        await pilot.press("enter")
        await settle(pilot)
        app.action_save()
        await settle(pilot)
        assert "plugins/greet.go" in first.read_text()
        assert str(workdir) not in first.read_text().replace(str(host_repo), "")
        second = workdir / "b" / "plugwiz.yaml"
        second.parent.mkdir()
        assert app.save_to(second)
        await settle(pilot)
    saved = load_project(second)
    assert saved.base_dir == second.parent.resolve()
    for plugin in saved.plugins:
        assert (
            saved.source_path(plugin.source).resolve()
            == (first.parent / "plugins" / "greet.go").resolve()
        )


async def test_the_demo_is_saved_as_what_it_is(app_for: AppMaker, workdir: Path) -> None:
    app = app_for(None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#repo", Input).value == "embedded demo host"
        app.action_save()
        await settle(pilot)
    text = (workdir / "plugwiz.yaml").read_text()
    assert "repo: demo" in text
    assert "demo:hello.go" in text
    assert "cache" not in text and "site-packages" not in text
    assert load_project(workdir / "plugwiz.yaml").host.repo == DEMO_REPO


# -- 5. Lists and focus -------------------------------------------------------------------------


async def test_tabbing_into_lists_highlights_a_row_and_keys_act_on_it(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(Project(base_dir=workdir, tag=TAG))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#repo", Input).value = str(host_repo)
        await pilot.press("enter")
        await settle(pilot)
        # Focus went on to the filter; tab goes to the refs list with a row highlighted.
        assert app.screen.focused is app.screen.query_one("#ref-filter")
        await pilot.press("tab")
        refs = app.screen.query_one("#refs", OptionList)
        assert app.screen.focused is refs and refs.highlighted is not None
        await pilot.press("down", "enter")  # main
        await settle(pilot)
        assert app.project.host.ref == "main"
        # The next tab stop is the checklist (no invisible stop), highlighted too.
        await pilot.press("tab")
        bundled = app.screen.query_one("#bundled", SelectionList)
        assert app.screen.focused is bundled and bundled.highlighted == 0
        await pilot.press("space")
        await settle(pilot)
        assert bundled.highlighted == 0  # toggling keeps the highlight
        assert [b.path for b in app.project.bundled or ()] == ["plugins/upper"]


async def test_the_ref_filter_moves_into_the_list_and_matches_shas(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        sha = next(r.sha for r in app.host.refs if r.name == "feature/fast")
        field = app.screen.query_one("#ref-filter", Input)
        field.focus()
        field.value = sha[:8]
        await pilot.pause()
        refs = app.screen.query_one("#refs", OptionList)
        assert refs.option_count == 1
        await pilot.press("down")
        assert app.screen.focused is refs and refs.highlighted == 0
        await pilot.press("enter")
        await settle(pilot)
        assert app.project.host.ref == "feature/fast"


async def test_escape_leaves_a_text_field_so_letters_are_keys_again(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("plugins")
        await settle(pilot)
        field = app.screen.query_one("#plugin-source", Input)
        assert field.has_focus
        await pilot.press("x")  # typed, not "remove"
        assert field.value == "x" and len(app.project.plugins) == 1
        await pilot.press("escape")
        assert not field.has_focus
        await pilot.press("x")  # now it removes the selected plugin
        await settle(pilot)
        assert app.project.plugins == ()


# -- 6. State that tells the truth ----------------------------------------------------------------


async def test_a_host_error_clears_the_previous_repositorys_refs(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        refs = app.screen.query_one("#refs", OptionList)
        assert refs.option_count == 3
        field = app.screen.query_one("#repo", Input)
        field.focus()
        field.value = str(workdir / "nowhere")
        await pilot.press("enter")
        await settle(pilot)
        assert "does not exist" in message(app, "#host-message")
        assert refs.option_count == 0
        assert "No ref resolved yet" in text_of(app.screen.query_one("#commit-info"))
        assert app.resolved is None


async def test_entering_the_same_host_again_keeps_the_chosen_ref(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    project = replace(project_for(host_repo, workdir), host=Host(repo=str(host_repo), ref="v1.0.0"))
    app = app_for(project)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        field = app.screen.query_one("#repo", Input)
        field.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert app.project.host.ref == "v1.0.0"
        refs = app.screen.query_one("#refs", OptionList)
        assert refs.highlighted is not None
        assert refs.get_option_at_index(refs.highlighted).id == "v1.0.0"
        assert "v1.0.0" in text_of(app.screen.query_one("#commit-info"))


async def test_result_says_out_of_date_after_a_plugin_is_removed(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    plugins = (PluginSource("plugins/greet.go"), PluginSource("plugins/multi"))
    engine = ScriptedEngine(script=realistic_build)
    app = app_for(project_for(host_repo, workdir, plugins=plugins), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("build")
        await settle(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        assert "every one loaded by the CMD" in message(app, "#result-message")
        app.update_project(replace(app.project, plugins=plugins[:1]))
        await settle(pilot)
        app.action_go("plugins")
        await settle(pilot)
        app.action_go("result")
        await settle(pilot)
        text = message(app, "#result-message")
        assert "Out of date" in text and "plugins removed since: multi.so" in text


async def test_reopening_shows_the_image_the_tag_already_names(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(script=realistic_build)
    project = project_for(host_repo, workdir)
    app = app_for(project, engine=engine)
    async with app.run_test(size=SIZE) as pilot:  # the first session builds it
        await settle(pilot)
        assert app.start_build() is None
        await wait_for(pilot, lambda: not app.session.active)
    again = app_for(project, engine=engine)  # the engine still has the image
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        again.action_go("result")
        await settle(pilot)
        assert "No image" not in message(again, "#result-message")
        rows = table_rows(again.screen.query_one("#result-plugins", DataTable))
        assert [r[1] for r in rows][-1] == "/app/plugins/greet.so"


# -- 7. Bad plugin paths ------------------------------------------------------------------------


async def test_a_missing_plugin_path_is_refused_and_never_saved(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    path = hand_written(workdir, host_repo)
    before = path.read_bytes()
    app = app_for(load_project(path), path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("plugins")
        await settle(pilot)
        field = app.screen.query_one("#plugin-source", Input)
        field.value = "plugins/nope.go"
        await pilot.press("enter")
        await settle(pilot)
        assert "plugins/nope.go does not exist" in message(app, "#plugins-message")
        assert field.value == "plugins/nope.go"  # kept, to be corrected
        assert len(app.project.plugins) == 1
    assert path.read_bytes() == before


async def test_a_plugin_problem_names_the_right_file_in_full(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    nested = workdir / "a" / "b" / "c"
    nested.mkdir(parents=True)
    (nested / "README.md").write_text("not go\n")
    (nested / "plugin.go").write_text("package lib\n")
    app = app_for(project_for(host_repo, workdir, plugins=(PluginSource("a/b/c"),)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("plugins")
        await settle(pilot)
        detail = text_of(app.screen.query_one("#plugin-detail"))
        assert "a/b/c/plugin.go is `package lib`; a Go plugin must be `package main`" in detail


# -- 8. Prebuilt plugins by content ----------------------------------------------------------------


async def test_a_prebuilt_plugin_is_known_by_its_content_and_keeps_its_name(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    shutil.copy("/bin/true", workdir / "plugins" / "drift.prov")  # any ELF will do here
    project = project_for(host_repo, workdir, plugins=())
    project = replace(project, loading=replace(project.loading, extension=".prov"))
    app = app_for(project)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("plugins")
        await settle(pilot)
        app.screen.query_one("#plugin-source", Input).value = "plugins/drift.prov"
        await pilot.press("enter")
        await settle(pilot)
        rows = table_rows(app.screen.query_one("#plugins-table", DataTable))
        assert rows[0][1:4] == ["drift", "plugins/drift.prov", "prebuilt"]
        app.action_go("preview")
        await settle(pilot)
        dockerfile = text_of(app.screen.query_one("#dockerfile"))
        assert "COPY prebuilt/drift.prov /out/plugins/drift.prov" in dockerfile
        assert "drift.prov.prov" not in dockerfile


# -- 9. Files are not overwritten without asking ---------------------------------------------------


async def test_save_dockerfile_asks_before_replacing_a_hand_written_one(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    mine = workdir / "Dockerfile"
    mine.write_text("FROM scratch\n# mine\n")
    app = app_for(project_for(host_repo, workdir), workdir / "plugwiz.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("preview")
        await settle(pilot)
        app.screen.set_focus(None)
        await pilot.press("d")
        await pilot.pause()
        assert app.screen.query_one("#save-path", Input).value == "Dockerfile"
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert "Dockerfile exists (not written by plugwiz" in text
        await pilot.press("enter")  # "Back" has the focus
        await pilot.pause()
        assert mine.read_text() == "FROM scratch\n# mine\n"
        field = app.screen.query_one("#save-path", Input)
        field.value = "plugwiz.Dockerfile"
        await pilot.press("enter")
        await settle(pilot)
    assert (workdir / "plugwiz.Dockerfile").read_text().startswith("# Generated by plugwiz")
    assert mine.read_text() == "FROM scratch\n# mine\n"


# -- 10. The file picker -------------------------------------------------------------------------


async def test_the_file_picker_starts_in_the_project_directory_and_goes_up(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    from textual.widgets import DirectoryTree

    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("plugins")
        await settle(pilot)
        app.screen.set_focus(None)
        await pilot.press("o")
        await wait_for(pilot, lambda: bool(app.screen.query("#picker-tree")))
        tree = app.screen.query_one("#picker-tree", DirectoryTree)
        assert Path(tree.path) == workdir.resolve()
        await pilot.press("backspace")
        await pilot.pause()
        assert Path(tree.path) == workdir.resolve().parent
        await pilot.press("escape")


# -- 12. Keys --------------------------------------------------------------------------------------


async def test_help_lists_the_keys_of_the_current_step(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.action_go("build")
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpDialog)
        text = text_of(app.screen.query_one("#help-keys"))
        for expected in ("build the project", "cancel the running", "F1 … F5", "ctrl+p", "ctrl+q"):
            assert expected in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpDialog)

        # Every step's help names each key once: a note about a key takes its binding's row.
        for step in STEP_NAMES:
            app.action_go(step)
            await settle(pilot)
            table = HelpDialog(app.screen)._table(app.screen)
            rows = [str(cell) for cell in table.columns[0].cells]
            this_step = rows[1 : rows.index("")]  # up to the wizard's own keys
            keys = [key for row in this_step for key in keys_named(row)]
            assert len(keys) == len(set(keys)), (step, sorted(k for k in keys if keys.count(k) > 1))


async def test_the_command_palette_offers_the_wizard_actions(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.set_focus(None)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"save the project as")
        await pilot.pause(0.5)
        assert "Save the project as…" in screen_text(app)
        await pilot.press("escape")


async def test_demo_project_matches_the_saved_demo(workdir: Path) -> None:
    assert demo_project(workdir).host.repo == DEMO_REPO
