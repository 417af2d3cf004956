"""The plugwiz wizard: Host > Plugins > Preview > Build > Result.

The app holds the one `Project` value; screens read it, send intents (`app.update_project`)
and watch `project` to redraw. Every change is saved at once when there is a project file, so
quitting mid-way loses nothing, and reopening the file continues where the user left off.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from plugwiz.core.model import Project
from plugwiz.core.ports import CommitInfo, HostRepository
from plugwiz.ui.dialogs.choice import ChoiceDialog, confirm_dialog
from plugwiz.ui.engine import BuildEngine, EngineFactory, RepoOpener, default_engine_factory
from plugwiz.ui.screens.host import HostScreen
from plugwiz.ui.widgets.steps import STEP_NAMES

if TYPE_CHECKING:
    from textual.screen import Screen

    from plugwiz.ui.screens.build import BuildScreen

DEFAULT_PROJECT_FILE = "plugwiz.yaml"


def _later(module: str, name: str) -> Callable[[], Screen[Any]]:
    """A mode's screen, imported when the step is first shown: the first paint waits only
    for the Host step's code (the others, and yaml, are a tenth of a second)."""

    def make() -> Screen[Any]:
        screen: Screen[Any] = getattr(importlib.import_module(module), name)()
        return screen

    return make


class PlugwizApp(App[int]):
    """The wizard. Create it with `make_app`."""

    CSS_PATH = "plugwiz.tcss"
    TITLE = "plugwiz"
    ENABLE_COMMAND_PALETTE = False
    MODES: ClassVar[dict[str, Any]] = {
        "host": HostScreen,
        "plugins": _later("plugwiz.ui.screens.plugins", "PluginsScreen"),
        "preview": _later("plugwiz.ui.screens.preview", "PreviewScreen"),
        "build": _later("plugwiz.ui.screens.build", "BuildScreen"),
        "result": _later("plugwiz.ui.screens.result", "ResultScreen"),
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+s", "save", "Save"),
        # Not pageup/ctrl+arrows: inputs, lists and logs use those for themselves.
        Binding("ctrl+p", "previous_step", "Back"),
        Binding("ctrl+n", "next_step", "Next"),
        *(
            Binding(f"f{i + 1}", f"go('{name}')", name.title(), show=False)
            for i, name in enumerate(STEP_NAMES)
        ),
    ]

    project: reactive[Project] = reactive(Project, always_update=True)
    save_status: reactive[str] = reactive("")

    def __init__(
        self,
        project: Project,
        project_path: Path | None,
        *,
        engine_factory: EngineFactory | None = None,
        repo_opener: RepoOpener | None = None,
    ) -> None:
        super().__init__()
        self.set_reactive(PlugwizApp.project, project)
        self.project_path = project_path
        self.engine_factory: EngineFactory = engine_factory or default_engine_factory
        self.repo_opener: RepoOpener = repo_opener or _open_repo
        self.repo: HostRepository | None = None
        self.commit: CommitInfo | None = None
        self.report: Any = None  # ImageReport of the last successful build
        self.dirty = False
        self._engine: BuildEngine | None = None
        self.build_screen: BuildScreen | None = None  # set once the Build step is shown

    # -- state -------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self._show_save_status()
        self.switch_mode("host")

    @property
    def engine(self) -> BuildEngine:
        """The build engine, made on first use (the docker SDK is imported only then)."""
        if self._engine is None:
            self._engine = self.engine_factory()
        return self._engine

    def update_project(self, project: Project) -> None:
        """Replace the project and save it (when it has a file); every screen redraws."""
        if project == self.project and project.facts == self.project.facts:
            return
        self.project = project
        self.dirty = True
        if self.project_path is not None:
            self._save(self.project_path, quiet=True)
        else:
            self._show_save_status()

    def _save(self, path: Path, *, quiet: bool) -> bool:
        from plugwiz.core.project_file import save_project  # yaml: only once there is a file

        try:
            save_project(self.project, path)
        except OSError as exc:
            self.notify(f"could not save {path}: {exc.strerror or exc}", severity="error")
            return False
        self.project_path = path
        self.dirty = False
        self._show_save_status()
        if not quiet:
            self.notify(f"saved {path}", title="Project saved")
        return True

    def _show_save_status(self) -> None:
        if self.project_path is not None:
            self.save_status = f"saved to {_display_path(self.project_path)}"
        elif self.dirty:
            self.save_status = f"not saved: ctrl+s saves ./{DEFAULT_PROJECT_FILE}"
        else:
            self.save_status = f"ctrl+s saves ./{DEFAULT_PROJECT_FILE}"

    @property
    def build_running(self) -> bool:
        return self.build_screen is not None and self.build_screen.running

    # -- actions -----------------------------------------------------------------------------

    def action_save(self) -> None:
        """Save the project to its file, or ./plugwiz.yaml."""
        self._save(self.project_path or Path.cwd() / DEFAULT_PROJECT_FILE, quiet=False)

    def action_go(self, step: str) -> None:
        if step in STEP_NAMES and self.current_mode != step:
            self.switch_mode(step)

    def action_previous_step(self) -> None:
        index = STEP_NAMES.index(self.current_mode)
        if index > 0:
            self.switch_mode(STEP_NAMES[index - 1])

    def action_next_step(self) -> None:
        index = STEP_NAMES.index(self.current_mode)
        if index < len(STEP_NAMES) - 1:
            self.switch_mode(STEP_NAMES[index + 1])

    async def action_quit(self) -> None:
        """Quit; asks first while a build runs (and cancels it) or when changes are unsaved."""
        if self.build_running:
            dialog = confirm_dialog(
                "Quit during the build?",
                "The build is still running. Cancel it and quit?",
                yes="Cancel build and quit",
            )
            self.push_screen(dialog, self._quit_after_build_dialog)
            return
        self._quit_unless_unsaved()

    def _quit_unless_unsaved(self) -> None:
        if self.dirty and self.project_path is None:
            dialog = ChoiceDialog(
                "Save before quitting?",
                f"The project is not saved. Save it to ./{DEFAULT_PROJECT_FILE}?",
                [
                    ("back", "Back", "default"),
                    ("discard", "Quit without saving", "error"),
                    ("save", "Save and quit", "primary"),
                ],
            )
            self.push_screen(dialog, self._quit_after_save_dialog)
            return
        self.exit(0)

    async def _quit_after_build_dialog(self, answer: str | None) -> None:
        if answer != "yes":
            return
        if self.build_screen is not None:
            await self.build_screen.cancel_and_wait(timeout=10.0)
        self._quit_unless_unsaved()

    def _quit_after_save_dialog(self, answer: str | None) -> None:
        saved = answer == "save" and self._save(Path.cwd() / DEFAULT_PROJECT_FILE, quiet=True)
        if saved or answer == "discard":
            self.exit(0)


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _open_repo(project: Project) -> HostRepository:
    from plugwiz.service import open_repo

    return open_repo(project)


def make_app(
    project: Project | None,
    project_path: Path | None,
    *,
    engine_factory: EngineFactory | None = None,
    repo_opener: RepoOpener | None = None,
) -> PlugwizApp:
    """The wizard for `project` (None: the demo project), saving to `project_path` if given."""
    if project is None:
        from plugwiz.service import demo_project

        base = project_path.resolve().parent if project_path else Path.cwd()
        project = demo_project(base)
    return PlugwizApp(project, project_path, engine_factory=engine_factory, repo_opener=repo_opener)


def run_wizard(project: Project | None, project_path: Path | None) -> int:
    """Run the wizard in the terminal; returns the exit code for the CLI."""
    app = make_app(project, project_path)
    result = app.run()
    if isinstance(result, int):
        return result
    return app.return_code or 0


if __name__ == "__main__":
    # Through the module's import name: as `__main__` its classes would be a second copy.
    from plugwiz.ui.app import run_wizard as _run_wizard

    sys.exit(_run_wizard(None, None))
