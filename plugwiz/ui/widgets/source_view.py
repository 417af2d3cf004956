"""The user's own source file at a compiler error: Go highlighting, the failing line marked
with the compiler's messages at its end, edited in place and saved, or opened in `$EDITOR`.

Highlighting needs the `tree-sitter` and `tree-sitter-go` packages (Textual's TextArea uses
them); without them the file is shown plain. Saving writes exactly what the editor holds over
the file, atomically, after checking the file did not change on disk meanwhile
(`plugwiz.core.source_file`).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.strip import Strip
from textual.widgets import Static, TextArea

from plugwiz.core.events import SourceLocation
from plugwiz.core.source_file import SourceChangedError, SourceText, read_source, save_source


class MarkedTextArea(TextArea):
    """A code editor that marks some lines (a background) and ends them with a message."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "marked-text-area--line",
        "marked-text-area--message",
    }
    DEFAULT_CSS = """
    MarkedTextArea > .marked-text-area--line { background: $error 25%; }
    MarkedTextArea > .marked-text-area--message { color: $text-error; text-style: italic; }
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.marks: dict[int, str] = {}  # 0-based line -> message shown at its end

    def set_marks(self, marks: dict[int, str]) -> None:
        """Mark these lines (0-based) with these messages."""
        self.marks = marks
        self._line_cache.clear()
        self.refresh()

    def _render_line(self, y: int) -> Strip:
        strip = super()._render_line(y)
        if not self.marks:
            return strip
        scroll_x, scroll_y = self.scroll_offset
        try:
            info = self.wrapped_document._offset_to_line_info[y + scroll_y]
        except IndexError:
            return strip
        if info is None:
            return strip
        line_index, section = info
        message = self.marks.get(line_index)
        if message is None:
            return strip
        mark = self.get_component_rich_style("marked-text-area--line")
        marked = Strip(
            [Segment(seg.text, (seg.style or Style()) + mark, seg.control) for seg in strip],
            strip.cell_length,
        )
        if section or not message:
            return marked
        line = self.get_line(line_index)
        line.expand_tabs(self.indent_width)
        used = self.gutter_width + line.cell_len - scroll_x + 2
        width = strip.cell_length
        room = width - used
        if room < 8:
            return marked  # no room: the header says it
        note = f"◀ {message}"
        if cell_len(note) > room:
            note = note[: room - 1] + "…"
        style = mark + self.get_component_rich_style("marked-text-area--message")
        head = marked.crop(0, used)
        tail = Strip([Segment(note, style)], cell_len(note))
        return Strip.join([head, tail]).extend_cell_length(width, mark)


class SourceView(Vertical):
    """The user's file around a compiler error, editable."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("ctrl+o", "editor", "$EDITOR"),
        Binding("ctrl+l", "reload", "Reload", show=False),
        # Before the editor's own escape (which moves the focus on, here to itself).
        Binding("escape", "leave_editor", "Leave the file", show=False, priority=True),
    ]
    DEFAULT_CSS = """
    SourceView { height: 1fr; }
    SourceView > #source-title { height: auto; padding: 0 1; }
    SourceView > #source-text { height: 1fr; }
    SourceView > #source-note { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    """

    class Saved(Message):
        """The file was saved (its new text is the view's)."""

        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source: SourceText | None = None
        self.line = 0  # 1-based, the first error's
        self.locations: tuple[SourceLocation, ...] = ()
        self.shown_path = ""  # the path as the user knows it (relative to the project)

    def compose(self) -> ComposeResult:
        yield Static("", id="source-title")
        area = MarkedTextArea.code_editor(
            "", language=None, id="source-text", soft_wrap=False, show_line_numbers=True
        )
        area.indent_type = "tabs"  # gofmt's
        yield area
        yield Static("", id="source-note")

    @property
    def area(self) -> MarkedTextArea:
        """The editor."""
        return self.query_one("#source-text", MarkedTextArea)

    @property
    def modified(self) -> bool:
        """True when the editor holds changes not saved."""
        return self.source is not None and self.area.text != self.source.text

    def open(self, path: Path, shown: str, line: int, locations: Sequence[SourceLocation]) -> None:
        """Show the file at `path` (`shown` to the user) with the cursor on `line` and the
        `locations` (its compiler messages) marked. Raises OSError if it cannot be read."""
        source = read_source(path)
        self.locations = tuple(locations)
        self.shown_path = shown
        self.line = line
        self._load(source)
        area = self.area
        row = max(0, min(line - 1, area.document.line_count - 1))
        column = next((x.column for x in locations if x.line == line and x.column), 1)
        area.move_cursor((row, max(0, column - 1)))
        area.focus()

        def centre() -> None:
            # The line in the middle, its start in view (the message is at its end), unless
            # the compiler's column is further right than the view is wide: then that column,
            # in the middle.
            area.scroll_to(
                x=0, y=max(0, row - area.size.height // 2), animate=False, immediate=True
            )
            if area.scroll_cursor_visible(animate=False).x:
                area.scroll_cursor_visible(center=True, animate=False)  # with what surrounds it

        self.call_after_refresh(centre)

    def _load(self, source: SourceText) -> None:
        area = self.area
        language = "go" if source.path.suffix == ".go" else None
        if language not in area.available_languages:
            language = None  # no tree-sitter here: plain text
        area.language = language
        area.load_text(source.text)
        problem = source.problem
        if not problem and area.text != source.text:
            problem = "the editor would change more than your edit"
        if problem:
            source = SourceText(source.path, source.text, problem)
        self.source = source
        area.read_only = not source.editable
        marks: dict[int, str] = {}
        for location in self.locations:
            index = location.line - 1
            marks[index] = "; ".join(x for x in (marks.get(index), location.message) if x)
        area.set_marks(marks)
        self._show_title()

    def _show_title(self) -> None:
        source = self.source
        if source is None:
            return
        title = Text()
        title.append(self.shown_path, style="bold")
        if self.line:
            title.append(f"  line {self.line}")
        if self.modified:
            title.append("  (modified)", style="bold")
        note = Text()
        for location in self.locations:
            where = f"{location.line}:{location.column}" if location.column else f"{location.line}"
            note.append(f"{where}  ", style="bold")
            note.append(f"{location.message}\n")
        if source.editable:
            note.append(
                "ctrl+s saves · ctrl+r saves and builds again · ctrl+o $EDITOR · "
                "escape twice: the log",
                style="italic",
            )
        else:
            note.append(
                f"Read-only here: {source.problem}. ctrl+o opens it in $EDITOR.", style="italic"
            )
        self.query_one("#source-title", Static).update(title)
        self.query_one("#source-note", Static).update(note)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._show_title()

    # -- actions --------------------------------------------------------------------------------

    def save(self) -> bool:
        """Save the editor's text over the file if it changed; False (and why, notified) when
        it could not be saved."""
        source = self.source
        if source is None or not self.modified:
            return True
        try:
            self.source = save_source(source, self.area.text)
        except SourceChangedError as exc:
            self.app.notify(str(exc), title="Not saved", severity="error")
            return False
        except (OSError, ValueError) as exc:
            self.app.notify(f"could not save {self.shown_path}: {exc}", severity="error")
            return False
        self._show_title()
        self.post_message(self.Saved(source.path))
        self.app.notify(f"saved {self.shown_path}", title="Saved")
        return True

    def action_leave_editor(self) -> None:
        """Escape in the editor: leave it (letters are keys again); escape again goes back."""
        self.screen.set_focus(None)

    def action_save(self) -> None:
        """Save the file (ctrl+s)."""
        self.save()

    def action_reload(self) -> None:
        """Read the file again from disk (what is not saved is lost)."""
        if self.source is None:
            return
        row = self.area.cursor_location[0]
        try:
            self._load(read_source(self.source.path))
            self.area.move_cursor((row, 0))
        except OSError as exc:
            self.app.notify(f"could not read {self.shown_path}: {exc}", severity="error")

    def action_editor(self) -> None:
        """Open the file in $VISUAL or $EDITOR at the error's line; read it again after."""
        source = self.source
        if source is None or not self.save():
            return
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        try:
            command = [*shlex.split(editor), f"+{self.area.cursor_location[0] + 1}"]
        except ValueError:
            self.app.notify(f"$EDITOR is not a command: {editor!r}", severity="error")
            return
        command.append(str(source.path))
        try:
            with self.app.suspend():
                subprocess.run(command, check=False)
        except SuspendNotSupported:
            self.app.notify(
                "This terminal cannot be handed to $EDITOR from here.", severity="warning"
            )
            return
        except OSError as exc:
            self.app.notify(f"could not run {command[0]}: {exc.strerror}", severity="error")
            return
        self.action_reload()
        self.post_message(self.Saved(source.path))
