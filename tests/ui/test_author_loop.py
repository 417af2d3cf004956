"""The plugin author's loop in the wizard (scripted engine, real git hosts): a new plugin from
the Plugins step, watch mode from the Build step, the live run's settings and its dialog."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from textual.widgets import Input

from plugwiz.adapters.scripted import ScriptedEngine, successful_events
from plugwiz.core.engine import RunResult
from plugwiz.core.model import RunSettings
from plugwiz.core.project_file import load_project
from plugwiz.core.run_session import RunState
from plugwiz.ui.dialogs.choice import ChoiceDialog
from plugwiz.ui.dialogs.new_plugin import NewPluginDialog
from plugwiz.ui.dialogs.run_settings import RunSettingsDialog, parse_run_settings

from .conftest import SIZE, SMALL, TAG, AppMaker, project_for, settle, wait_for
from .helpers import screen_text, text_of


class ManualWatcher:
    """A file watcher the test tells when a file was saved."""

    def __init__(self) -> None:
        self.saves: list[set[Path]] = []
        self.ready = threading.Event()
        self.roots: list[Path] = []
        self._saved = threading.Condition()

    def save(self, path: Path) -> None:
        with self._saved:
            self.saves.append({path})
            self._saved.notify_all()

    def watch(self, roots: Sequence[Path], stop: threading.Event) -> Iterator[set[Path]]:
        self.roots = list(roots)
        self.ready.set()
        while not stop.is_set():
            with self._saved:
                self._saved.wait(0.05)
                pending, self.saves = self.saves, []
            yield from pending


async def test_a_new_plugin_from_the_plugins_step(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    project_file = workdir / "plugwiz.yaml"
    project_file.write_text(
        f"version: 1\nhost: {{repo: {host_repo}, ref: main}}  # the host\n"
        "plugins: [plugins/greet.go]\ntag: plugwiz-test:latest\n"
    )
    app = app_for(load_project(project_file), project_file)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.action_go("plugins")
        await settle(pilot)
        await pilot.press("escape", "n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewPluginDialog))
        await settle(pilot)
        name = app.screen.query_one("#new-name", Input)
        name.value = "mirror"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.project.plugins) == 2)
        await settle(pilot)
        assert app.project.plugins[-1].source == "./mirror"
        source = (workdir / "mirror" / "mirror.go").read_text()
        assert 'func (mirror) Name() string { return "mirror" }' in source
        # Saved at once, patched in place (the comment stays).
        text = project_file.read_text()
        assert "# the host" in text
        assert "plugins: [plugins/greet.go, ./mirror]" in text


async def test_without_bundled_plugins_the_dialog_offers_a_skeleton(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir, bundled=()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("plugins")
        await settle(pilot)
        await pilot.click("#new-plugin")
        await wait_for(pilot, lambda: isinstance(app.screen, NewPluginDialog))
        await settle(pilot)
        shown = screen_text(app)
        assert "The host has no bundled plugin to copy." in shown
        assert "exports New (func() provider.Provider)" in shown
        assert "Write skeleton" in shown
        app.screen.query_one("#new-name", Input).value = "mine"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.project.plugins) == 2)
        assert "func New() provider.Provider {" in (workdir / "mine" / "mine.go").read_text()


async def test_watch_mode_builds_runs_and_rebuilds_at_a_save(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(
        events=successful_events(TAG), run_result=RunResult(0, "greet: hello\n", False)
    )
    app = app_for(project_for(host_repo, workdir), engine=engine)
    watcher = ManualWatcher()
    app.watcher_factory = lambda: watcher
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("build")
        await settle(pilot)
        await pilot.press("w")
        assert app.watching
        await wait_for(pilot, lambda: len(engine.runs) == 1 and not app.run_session.active)
        assert watcher.ready.wait(5)
        assert watcher.roots == [workdir / "plugins"]
        await settle(pilot)
        assert app.current_mode == "result"  # the build succeeded, the host ran
        watcher.save(workdir / "plugins" / "greet.go")
        await wait_for(pilot, lambda: len(engine.runs) == 2 and not app.run_session.active)
        assert len(engine.builds) == 2
        assert "saved: greet" in app.watch_messages
        # Another file beside the plugin does not count.
        watcher.save(workdir / "plugins" / "notes.txt")
        await pilot.pause(0.5)
        assert len(engine.builds) == 2
        await pilot.press("ctrl+p")  # the palette has the toggle too
        await pilot.press("escape")
        app.action_toggle_watch()
        await settle(pilot)
        assert not app.watching
        assert "Watch: off" in screen_text(app) or app.current_mode == "result"


async def test_quitting_while_the_host_runs_asks_and_the_dialog_closes_when_it_stops(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(
        events=successful_events(TAG), run_result=RunResult(None, "up\nnever\n", False)
    )
    engine.hold_run = 1
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("build")
        await settle(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: app.current_mode == "result")
        await settle(pilot)
        await pilot.press("o")
        await wait_for(pilot, lambda: app.run_session.state is RunState.RUNNING)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        assert app.run_session.state is RunState.RUNNING  # a dialog does not leave the step
        assert "Quit while the image runs?" in screen_text(app)
        app.stop_run()  # it stops meanwhile: nothing is left to ask about
        await wait_for(pilot, lambda: not isinstance(app.screen, ChoiceDialog))
        assert app.run_session.state.value == RunState.STOPPED.value  # (narrowed above)
        assert app.is_running  # not quit: the dialog was closed, not answered


async def test_run_settings_are_edited_and_saved_in_the_project(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    project_file = workdir / "plugwiz.yaml"
    app = app_for(project_for(host_repo, workdir), project_file)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.action_go("build")
        await settle(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: app.current_mode == "result")
        await settle(pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, RunSettingsDialog))
        app.screen.query_one("#run-args", Input).value = "--text 'hi there'"
        app.screen.query_one("#run-env", Input).value = "LOG=debug"
        app.screen.query_one("#run-ports", Input).value = "8080, 9090"
        await pilot.press("enter")
        await settle(pilot)
        expected = RunSettings(("--text", "hi there"), (("LOG", "debug"),), (8080, 9090))
        assert app.project.run == expected
        app.action_save()
        await settle(pilot)
        assert load_project(project_file).run == expected
        run_line = text_of(app.screen.query_one("#run-line"))
        assert "docker run --rm -p 127.0.0.1::8080 -p 127.0.0.1::9090 -e LOG=debug" in run_line
        assert run_line.strip().endswith("--text 'hi there'")


def test_run_settings_fields_are_checked() -> None:
    assert parse_run_settings("", "", "") == RunSettings()
    for fields, message in (
        (("'open", "", ""), "arguments: No closing quotation"),
        (("", "NOEQUALS", ""), "environment: 'NOEQUALS' is not NAME=VALUE"),
        (("", "", "http"), "ports: 'http' is not a port number"),
        (("", "", "70000"), "port 70000 is not a TCP port (1-65535)"),
    ):
        try:
            parse_run_settings(*fields)
        except ValueError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"{fields} was accepted")
