"""Ask where to save a file; say when that file exists and what it holds before replacing it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label

from plugwiz.ui.dialogs.base import FormDialog
from plugwiz.ui.dialogs.choice import Answer, confirm_dialog
from plugwiz.ui.widgets.message import MessageArea
from plugwiz.ui.widgets.path_suggester import PathSuggester


class SavePathDialog(FormDialog[Path | None]):
    """Dismisses with the chosen path (confirmed when it exists), or None."""

    AUTO_FOCUS = "#save-path"

    def __init__(
        self,
        title: str,
        default: Path,
        *,
        what: str = "file",
        describe: Callable[[Path], str] | None = None,
    ) -> None:
        """`describe(path)` says what an existing file is (e.g. "not written by plugwiz");
        it runs off the UI thread."""
        super().__init__()
        self.title_text = title
        self.default = default
        self.what = what
        self.describe = describe

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Label(f"Path of the {self.what} (→ completes)")
            yield Input(
                str(_shown(self.default)),
                id="save-path",
                suggester=PathSuggester(Path.cwd()),
            )
            yield MessageArea(id="dialog-error")
            yield from self.buttons("Save")

    def accept(self) -> None:
        text = self.query_one("#save-path", Input).value.strip()
        error = self.query_one("#dialog-error", MessageArea)
        if not text:
            error.show("Type a path first.", "error")
            return
        self._check(Path(text).expanduser())

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _check(self, path: Path) -> None:
        # Disk access off the UI thread.
        problem = ""
        if path.is_dir():
            problem = f"{path} is a directory: add a file name."
        elif not path.parent.is_dir():
            problem = f"{path.parent} does not exist."
        exists = path.is_file()
        about = self.describe(path) if exists and self.describe is not None else ""
        self.app.call_from_thread(self._checked, path, problem, exists, about)

    def _checked(self, path: Path, problem: str, exists: bool, about: str) -> None:
        if problem:
            self.query_one("#dialog-error", MessageArea).show(problem, "error")
            return
        if not exists:
            self.dismiss(path)
            return
        message = f"{_shown(path)} exists" + (f" ({about})" if about else "") + ". Replace it?"

        def answered(answer: Answer | None) -> None:
            if answer is Answer.YES:
                self.dismiss(path)

        self.app.push_screen(
            confirm_dialog(f"Replace {path.name}?", message, yes="Replace it", no="Back"),
            answered,
        )


def _shown(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path
