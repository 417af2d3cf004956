"""The build explorer under a pilot: stages, the stage filter, search over the whole log, error
jumps, the user's file at a compile error, the load-check explanation, history, small screens.

Builds are the shared scripted engine's (the real daemon: test_explorer_docker.py).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import ContentSwitcher, DataTable

from plugwiz.adapters.scripted import FakeClock, ScriptedEngine, realistic_build
from plugwiz.core.events import BuildEvent, SourceLocation, StepStarted
from plugwiz.core.logindex import LogText
from plugwiz.core.model import PluginSource, ResolvedProject
from plugwiz.core.session import BuildState
from plugwiz.core.timeline import Status
from plugwiz.ui.app import PlugwizApp
from plugwiz.ui.dialogs.history import CompareDialog, HistoryDialog
from plugwiz.ui.screens.build import SOURCE, BuildScreen
from plugwiz.ui.widgets.build_log import BuildLog
from plugwiz.ui.widgets.log_explorer import Mode
from plugwiz.ui.widgets.source_view import SourceView
from plugwiz.ui.widgets.stage_tree import StageRef, StageTree

from .conftest import SIZE, SMALL, AppMaker, project_for, settle, wait_for
from .helpers import screen_text, table_rows, text_of

BROKEN = (PluginSource("plugins/broken.go"),)


def fixable(resolved: ResolvedProject, tag: str) -> Iterable[BuildEvent]:
    """A build that fails while broken.go still calls undefinedHelper, like Go's would."""
    source = resolved.project.base_dir / "plugins" / "broken.go"
    broken = source.exists() and "undefinedHelper(" in source.read_text()
    return realistic_build(resolved, tag, lines_per_step=5, fail_plugin="broken" if broken else "")


def engine_with(script: Any = None, **options: Any) -> ScriptedEngine:
    options.setdefault("lines_per_step", 5)
    return ScriptedEngine(
        script=script or (lambda r, t: realistic_build(r, t, **options)),
        clock=FakeClock(),
    )


async def build(pilot: Pilot[Any], app: PlugwizApp, key: str = "b") -> BuildScreen:
    """Go to the Build step, press `key`, wait for the build to end, come back to the step."""
    await settle(pilot)
    app.action_go("build")
    await settle(pilot)
    await pilot.press(key)
    await wait_for(pilot, lambda: not app.session.active)
    await settle(pilot)
    app.action_go("build")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, BuildScreen)
    return screen


def node(screen: BuildScreen, key: str) -> Any:
    tree = screen.query_one("#stage-tree", StageTree)
    found = [n for n in tree.root.children if n.data is not None and n.data.key == key]
    assert found, [n.data for n in tree.root.children]
    return found[0]


def plain(label: object) -> str:
    return " ".join(getattr(label, "plain", str(label)).split())


def label(screen: BuildScreen, key: str) -> str:
    return plain(node(screen, key).label)


def state(app: PlugwizApp) -> BuildState:
    """The session's state now (a call: type checkers do not narrow it between reads)."""
    return app.session.state


def mode(screen: BuildScreen) -> Mode:
    return screen.explorer.mode


def log_lines(screen: BuildScreen) -> list[str]:
    return list(screen.query_one("#build-log", BuildLog).lines)


def current_line(screen: BuildScreen) -> str:
    log = screen.query_one("#build-log", BuildLog)
    assert log.current_line is not None
    return log.lines[log.current_line]


def status(screen: BuildScreen) -> str:
    return " ".join(text_of(screen.query_one("#log-status")).split())


# -- stages --------------------------------------------------------------------------------------


async def test_the_tree_shows_each_stage_its_state_time_and_the_users_file(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(
        project_for(host_repo, workdir), engine=engine_with(cached_stages=("toolchain", "host"))
    )
    async with app.run_test(size=SIZE) as pilot:
        app.session.clock = app.engine.clock  # type: ignore[attr-defined]
        screen = await build(pilot, app)
        assert label(screen, "host").startswith("✓ host cached")
        assert label(screen, "plugin:greet").startswith("✓ plugin greet")
        assert label(screen, "check").startswith("✓ load check")
        greet = node(screen, "plugin:greet")
        rows = [plain(child.label) for child in greet.children]
        assert rows[1].startswith("✓ copy plugins/greet.go")  # the user's own file
        root = plain(screen.query_one("#stage-tree", StageTree).root.label)
        # The toolchain's ENV and RUN, and the host's four steps after its FROM.
        assert root.endswith("6 of 15 cached")


async def test_a_running_build_shows_waiting_running_and_done_stages(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    def plugin_runs(event: BuildEvent) -> bool:
        return isinstance(event, StepStarted) and event.stage == "plugin-1"

    engine = engine_with()
    engine.hold_when = plugin_runs
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("build")
        await settle(pilot)
        await pilot.press("b")
        await wait_for(pilot, engine.holding.is_set)
        await pilot.pause(0.3)
        screen = app.screen
        assert isinstance(screen, BuildScreen)
        timeline = app.session.timeline
        found = {
            s.key: timeline.stage_status(s, app.session.clock()).status for s in timeline.stages
        }
        assert found == {
            "host": Status.DONE,
            "plugin:greet": Status.WAITING,
            "check": Status.WAITING,
            "runtime": Status.WAITING,
        }
        assert "waiting" in label(screen, "check")
        engine.release.set()
        await wait_for(pilot, lambda: not app.session.active)


async def test_selecting_a_stage_shows_only_its_lines_and_the_root_shows_all(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir), engine=engine_with())
    async with app.run_test(size=SIZE) as pilot:
        screen = await build(pilot, app)
        everything = log_lines(screen)
        tree = screen.query_one("#stage-tree", StageTree)
        tree.select_node(node(screen, "plugin:greet"))
        await wait_for(
            pilot, lambda: screen.explorer.mode is Mode.FILTER and not screen.explorer.searching
        )
        lines = log_lines(screen)
        headers = [line for line in lines if line.startswith("──")]
        assert headers == [
            line
            for line in everything
            if line.startswith("── Step ") and line.split("/")[0].split()[-1] in ("9", "10", "11")
        ]
        assert len(lines) == 3 + 5  # three headers, the RUN's five lines
        assert "plugin greet: 8 of" in status(screen)
        tree.select_node(tree.root)
        await settle(pilot)
        assert mode(screen) is Mode.LIVE and log_lines(screen) == everything
        # Escape leaves a filter too.
        tree.select_node(node(screen, "check"))
        await wait_for(pilot, lambda: screen.explorer.mode is Mode.FILTER)
        screen.query_one("#build-log").focus()
        await pilot.press("escape")
        await settle(pilot)
        assert mode(screen) is Mode.LIVE


# -- search and errors ---------------------------------------------------------------------------


async def test_search_finds_matches_older_than_the_lines_kept_and_steps_through_them(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir), engine=engine_with(lines_per_step=2000))
    async with app.run_test(size=SIZE) as pilot:
        screen = await build(pilot, app)
        assert state(app) is BuildState.SUCCEEDED, (app.session.state, screen_text(app))
        assert app.session.view_lines > 5000 and len(log_lines(screen)) == 5000
        assert "package 07 for step 3" not in "\n".join(log_lines(screen))
        await pilot.press("slash", *"package 07 for step", "enter")
        await wait_for(pilot, lambda: bool(screen.explorer.matches))
        await settle(pilot)
        assert len(screen.explorer.matches) == 4  # the four RUN steps
        assert current_line(screen) == "go: compiling package 07 for step 3"  # the toolchain's
        assert mode(screen) is Mode.WINDOW
        assert "1 of 4" in status(screen) and "lines 1–2,000 of 8,020" in status(screen)
        await pilot.press("n")
        await settle(pilot)
        assert current_line(screen) == "go: compiling package 07 for step 8"
        assert "2 of 4" in status(screen)
        await pilot.press("N", "N")
        await settle(pilot)
        assert current_line(screen).endswith("for step 13")  # wrapped around backwards
        await pilot.press("escape")  # the search field is closed; escape leaves the window
        await settle(pilot)
        assert mode(screen) is Mode.LIVE
        assert log_lines(screen)[-1] == "── Step 20/20: " + app.session.timeline.records[20].title


async def test_errors_are_jumped_to_one_by_one(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir, plugins=BROKEN), engine=engine_with())
    async with app.run_test(size=SIZE) as pilot:
        screen = await build(pilot, app)
        await pilot.press("e")
        await wait_for(pilot, lambda: screen.explorer.problem is not None)
        await settle(pilot)
        assert current_line(screen).endswith("broken.go:9:51: undefined: undefinedHelper")
        assert "error 1 of 1" in status(screen)


# -- the user's file -----------------------------------------------------------------------------


async def test_a_compile_error_is_fixed_in_the_users_file_saved_and_rebuilt_with_one_key(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    path = workdir / "plugins" / "broken.go"
    original = path.read_bytes()
    app = app_for(project_for(host_repo, workdir, plugins=BROKEN), engine=engine_with(fixable))
    async with app.run_test(size=SIZE) as pilot:
        screen = await build(pilot, app)
        assert state(app) is BuildState.FAILED
        assert "s opens plugins/broken.go at line 9" in text_of(screen.query_one("#failure"))
        await pilot.press("s")
        await settle(pilot)
        view = screen.query_one(SourceView)
        assert screen.query_one("#explorer-right", ContentSwitcher).current == "source-view"
        area = view.area
        assert area.text == original.decode()
        assert area.cursor_location == (8, 50)  # line 9, column 51: the compiler's
        assert area.language == "go"  # tree-sitter's Go grammar is installed
        assert area.marks == {8: "undefined: undefinedHelper"}
        # The fix, typed where the cursor is: the call becomes its argument.
        await pilot.press(*["shift+right"] * len("undefinedHelper("), "delete")
        await pilot.press("end", "left", "left", "left", "delete")  # the call's ")"
        assert view.modified
        await pilot.press("ctrl+s")
        await settle(pilot)
        fixed = original.replace(b"undefinedHelper(s)", b"s")
        assert path.read_bytes() == fixed  # byte for byte, but for the edit
        await pilot.press("ctrl+r")  # build again, one key
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        assert state(app) is BuildState.SUCCEEDED
        assert path.read_bytes() == fixed


async def test_an_error_further_right_than_the_view_is_wide_is_scrolled_into_view(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    """At 80x24 a long line's error column is past the view's right edge: the view scrolls
    there (with what surrounds it), not to the line's start."""
    path = workdir / "plugins" / "broken.go"
    long_line = "\t" + "x := " * 30 + "undefinedHelper(s)"
    path.write_text(path.read_text() + "\nfunc more(s string) {\n" + long_line + "\n}\n")
    row = path.read_text().splitlines().index(long_line)
    column = long_line.index("undefinedHelper") + 1
    app = app_for(project_for(host_repo, workdir, plugins=BROKEN), engine=engine_with())
    async with app.run_test(size=SMALL) as pilot:
        screen = await build(pilot, app)
        view = screen.query_one(SourceView)
        location = SourceLocation(str(path), row + 1, column, "undefined: undefinedHelper")
        screen._show_panel(SOURCE)
        view.open(path, "plugins/broken.go", row + 1, [location])
        await settle(pilot)
        area = view.area
        assert area.cursor_location == (row, column - 1)
        assert area.scroll_x > 0
        # The cursor is on screen, not at its edge, and the row is in view.
        cursor_x = area.cursor_screen_offset.x - area.region.x
        assert 0 < cursor_x < area.region.width - 10, (cursor_x, area.region.width)
        assert area.scroll_y <= row < area.scroll_y + area.scrollable_content_region.height


async def test_ctrl_r_saves_what_is_typed_before_building(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    path = workdir / "plugins" / "broken.go"
    app = app_for(project_for(host_repo, workdir, plugins=BROKEN), engine=engine_with(fixable))
    async with app.run_test(size=SIZE) as pilot:
        screen = await build(pilot, app)
        await pilot.press("s")
        await settle(pilot)
        area = screen.query_one(SourceView).area
        area.replace("s", (8, 50), (8, 68))
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        assert "return s }" in path.read_text()
        assert state(app) is BuildState.SUCCEEDED


async def test_editor_opens_the_file_at_the_line_and_the_view_reads_it_back(
    app_for: AppMaker,
    host_repo: Path,
    workdir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = workdir / "plugins" / "broken.go"
    args_file = tmp_path / "editor-args"
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, pathlib\n"
        f"pathlib.Path({str(args_file)!r}).write_text(' '.join(sys.argv[1:]))\n"
        "p = pathlib.Path(sys.argv[-1])\n"
        "p.write_text(p.read_text().replace('undefinedHelper(s)', 's'))\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    monkeypatch.delenv("VISUAL", raising=False)

    @contextlib.contextmanager
    def suspend(self: App[Any]) -> Iterator[None]:
        yield  # a headless test has no terminal to hand over

    monkeypatch.setattr(App, "suspend", suspend)
    app = app_for(project_for(host_repo, workdir, plugins=BROKEN), engine=engine_with(fixable))
    async with app.run_test(size=SIZE) as pilot:
        screen = await build(pilot, app)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert args_file.read_text() == f"+9 {path}"
        assert "return s }" in screen.query_one(SourceView).area.text


async def test_a_file_the_editor_would_change_is_read_only(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    path = workdir / "plugins" / "broken.go"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n", 3))  # mixed line endings
    app = app_for(project_for(host_repo, workdir, plugins=BROKEN), engine=engine_with())
    async with app.run_test(size=SIZE) as pilot:
        screen = await build(pilot, app)
        await pilot.press("s")
        await settle(pilot)
        view = screen.query_one(SourceView)
        assert view.area.read_only
        assert "Read-only here: it mixes" in text_of(screen.query_one("#source-note"))


# -- load check, history, smoke run --------------------------------------------------------------


async def test_a_load_check_failure_opens_why_the_plugin_would_not_load(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir), engine=engine_with(refuse_plugin="greet"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await build(pilot, app)
        assert screen.query_one("#explorer-right", ContentSwitcher).current == "explain-view"
        text = text_of(screen.query_one("#explanation"))
        assert "Fix: rebuild the plugin with Go 1.19.8." in text
        assert label(screen, "check").startswith("✗ load check failed")
        await pilot.press("escape")
        assert screen.query_one("#explorer-right", ContentSwitcher).current == "log-explorer"
        await pilot.press("x")
        assert screen.query_one("#explorer-right", ContentSwitcher).current == "explain-view"


async def test_history_keeps_each_build_opens_an_old_one_and_compares_two(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    path = workdir / "plugins" / "broken.go"
    engine = engine_with(fixable)
    app = app_for(project_for(host_repo, workdir, plugins=BROKEN), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        app.session.clock = clock = engine.clock or FakeClock()
        await build(pilot, app)
        path.write_text(path.read_text().replace("undefinedHelper(s)", "s"))
        clock.line_seconds = 1.0  # the second build's output comes slower
        screen = await build(pilot, app)
        assert state(app) is BuildState.SUCCEEDED
        await pilot.press("h")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, HistoryDialog)
        rows = table_rows(dialog.query_one("#history-table", DataTable))
        assert [r[2] for r in rows] == ["succeeded", "failed"]
        await pilot.press("down", "enter")  # the older one, in the explorer
        await settle(pilot)
        assert screen.viewing is not None and screen.viewing.outcome == "failed"
        assert "The build of" in text_of(screen.query_one("#build-state"))
        assert "undefinedHelper" in text_of(screen.query_one("#failure"))
        assert label(screen, "plugin:broken").startswith("✗ plugin broken failed")
        assert any("undefinedHelper" in line for line in log_lines(screen))
        await pilot.press("escape")  # back to the current build
        await settle(pilot)
        assert screen.viewing is None
        await pilot.press("h")
        await settle(pilot)
        await pilot.press("space", "down", "space")  # mark both
        assert table_rows(app.screen.query_one("#history-table", DataTable))[1][0] == "●"
        await pilot.press("c")  # the two marked builds
        await settle(pilot)
        compare = app.screen
        assert isinstance(compare, CompareDialog)
        rows = table_rows(compare.query_one("#compare-table", DataTable))
        assert [r[0] for r in rows][:2] == ["host", "plugin broken"]
        assert rows[2][0] == "load check" and rows[2][1] == "-"  # not run the first time
        summary = text_of(compare.query_one("#compare-summary"))
        assert summary.startswith("Slower: "), summary


async def test_running_the_image_once_adds_the_smoke_run(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir), engine=engine_with())
    async with app.run_test(size=SIZE) as pilot:
        await build(pilot, app)
        app.action_go("result")
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        app.action_go("build")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BuildScreen)
        assert label(screen, "smoke").startswith("✓ smoke run")
        entry = app.session.history_entry
        assert entry is not None and entry.timeline.smoke is not None


# -- small terminals ------------------------------------------------------------------------------


async def test_a_small_terminal_has_a_stage_bar_and_the_tree_on_t(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir, plugins=BROKEN), engine=engine_with())
    async with app.run_test(size=SMALL) as pilot:
        screen = await build(pilot, app)
        tree = screen.query_one("#stage-tree", StageTree)
        bar = screen.query_one("#stage-bar")
        assert bar.display and bar.region.height == 1 and tree.region.width == 0
        assert "✗ broken" in screen_text(app)
        await pilot.press("t")
        await settle(pilot)
        assert tree.region.width > 40 and tree.has_focus
        tree.select_node(node(screen, "plugin:broken"))
        await wait_for(pilot, lambda: screen.explorer.mode is Mode.FILTER)
        await settle(pilot)
        assert tree.region.width == 0  # the choice made, the log is back
        assert all("step 1 " not in line for line in log_lines(screen))


def test_stage_refs_cover_the_stages_steps() -> None:
    ref = StageRef("plugin:x", "plugin x", frozenset({7, 8, 9}))
    assert 8 in (ref.steps or ())


async def test_escape_leaves_the_file_then_goes_back_to_the_log_and_b_never_types(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    path = workdir / "plugins" / "broken.go"
    original = path.read_bytes()
    app = app_for(project_for(host_repo, workdir, plugins=BROKEN), engine=engine_with(fixable))
    async with app.run_test(size=SIZE) as pilot:
        screen = await build(pilot, app)
        await pilot.press("s")
        await settle(pilot)
        switcher = screen.query_one("#explorer-right", ContentSwitcher)
        view = screen.query_one(SourceView)
        await pilot.press("escape")
        assert switcher.current == "source-view" and not view.area.has_focus
        await pilot.press("escape")
        assert switcher.current == "log-explorer"
        # Away to another step and back with the file open: b builds, it is not typed.
        await pilot.press("s")
        await settle(pilot)
        app.action_go("plugins")
        await settle(pilot)
        app.action_go("build")
        await settle(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: not app.session.active)
        assert path.read_bytes() == original and not view.modified
        assert app.session.generation == 2


async def test_a_stage_filter_keeps_up_with_a_running_build(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    def check_runs(event: BuildEvent) -> bool:
        return isinstance(event, StepStarted) and event.stage == "check"

    engine = engine_with(lines_per_step=3000)
    engine.hold_when = check_runs
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("build")
        await settle(pilot)
        await pilot.press("b")
        await wait_for(pilot, engine.holding.is_set)
        await pilot.pause(0.3)
        screen = app.screen
        assert isinstance(screen, BuildScreen)
        # The whole build so far, then the rest as it comes: the runtime image's lines.
        tree = screen.query_one("#stage-tree", StageTree)
        tree.select_node(node(screen, "check"))
        await wait_for(pilot, lambda: screen.explorer.mode is Mode.FILTER)
        engine.release.set()
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        assert app.session.view_path is not None
        written = app.session.view_path.read_text().split("\n")[:-1]
        check = app.session.timeline.stage("check")
        assert check is not None
        whole = LogText.from_lines(written)
        expected = [line for i, line in enumerate(written) if whole.step_of(i) in check.steps]
        assert log_lines(screen) == expected and len(expected) > 3000
