"""The last builds of this project, and two of them compared stage by stage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Label, Static

from plugwiz.core.history import HistoryEntry
from plugwiz.core.timeline import compare_timelines, format_seconds, slowest_change
from plugwiz.ui.dialogs.base import Dialog

OUTCOME_STYLES = {
    "succeeded": "green",
    "failed": "bold red",
    "cancelled": "yellow",
    "crashed": "bold red",
}


def when(entry: HistoryEntry) -> str:
    """When a build started, in local time."""
    return datetime.fromtimestamp(entry.started).strftime("%Y-%m-%d %H:%M:%S")


def cached_share(entry: HistoryEntry) -> str:
    """`7 of 13` steps from the cache, or `-`."""
    cached, could = entry.timeline.cached_share()
    return f"{cached} of {could}" if could else "-"


class HistoryDialog(Dialog[HistoryEntry | None]):
    """The builds of the project, newest first: enter opens one in the explorer; space marks
    builds, c compares two (the marked ones, or the highlighted one with the one before)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("o", "open", "Open"),
    ]
    AUTO_FOCUS = "#history-table"

    def __init__(self, entries: Sequence[HistoryEntry], project: str) -> None:
        super().__init__()
        self.entries = list(entries)
        self.project = project
        self.marked: list[int] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide", id="history-dialog"):
            yield Label(f"Builds of {self.project}", classes="dialog-title")
            if self.entries:
                yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
                yield Static(
                    "enter opens a build in the explorer · space marks two builds, c compares "
                    "them (or the highlighted one with the build before it)",
                    classes="dialog-body",
                    id="history-hint",
                )
            else:
                yield Static(
                    "No builds of this project yet: they are kept here once they end.",
                    classes="dialog-body",
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close")
                if self.entries:
                    yield Button("Compare", id="compare")
                    yield Button("Open", id="open", variant="primary")

    def on_mount(self) -> None:
        if not self.entries:
            self.query_one("#close", Button).focus()
            return
        table = self.query_one("#history-table", DataTable)
        table.add_columns(" ", "Started", "Outcome", "Took", "Cached", "Image")
        for index, entry in enumerate(self.entries):
            table.add_row(*self._cells(index, entry), key=str(index))

    def _cells(self, index: int, entry: HistoryEntry) -> list[str | Text]:
        image = entry.image_id.removeprefix("sha256:")[:12] or "-"
        mark = "●" if index in self.marked else " "
        return [
            mark,
            when(entry),
            Text(entry.outcome, style=OUTCOME_STYLES.get(entry.outcome, "")),
            format_seconds(entry.seconds),
            cached_share(entry),
            image,
        ]

    def _highlighted(self) -> int | None:
        if not self.entries:
            return None
        return self.query_one("#history-table", DataTable).cursor_row

    def action_mark(self) -> None:
        """Mark (or unmark) the highlighted build for a comparison."""
        index = self._highlighted()
        if index is None:
            return
        if index in self.marked:
            self.marked.remove(index)
        else:
            self.marked = [*self.marked[-1:], index]  # two at most: the newest two marks
        table = self.query_one("#history-table", DataTable)
        for row in range(len(self.entries)):
            table.update_cell(
                str(row), table.ordered_columns[0].key, "●" if row in self.marked else " "
            )

    def action_compare(self) -> None:
        """Compare the two marked builds (or the highlighted one with the one before it)."""
        pair = sorted(self.marked) if len(self.marked) == 2 else None
        if pair is None:
            index = self._highlighted()
            if index is None or index + 1 >= len(self.entries):
                self.app.notify("Mark two builds with space to compare them.", title="Compare")
                return
            pair = [index, index + 1]
        newer, older = self.entries[pair[0]], self.entries[pair[1]]
        self.app.push_screen(CompareDialog(older, newer))

    def action_open(self) -> None:
        """Open the highlighted build in the explorer."""
        index = self._highlighted()
        if index is not None:
            self.dismiss(self.entries[index])

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.dismiss(self.entries[event.cursor_row])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "open":
            self.action_open()
        elif event.button.id == "compare":
            self.action_compare()
        else:
            self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class CompareDialog(Dialog[None]):
    """Two builds of the project, stage by stage: how long each took, what got slower."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]
    AUTO_FOCUS = "#compare-close"

    def __init__(self, before: HistoryEntry, after: HistoryEntry) -> None:
        super().__init__()
        self.before = before
        self.after = after

    def compose(self) -> ComposeResult:
        deltas = compare_timelines(self.before.timeline, self.after.timeline)
        with Vertical(classes="dialog dialog-wide", id="compare-dialog"):
            yield Label("Two builds compared, stage by stage", classes="dialog-title")
            table: DataTable[str | Text] = DataTable(
                id="compare-table", cursor_type="none", zebra_stripes=True
            )
            table.add_columns("Stage", when(self.before), when(self.after), "Change")
            for delta in deltas:
                change = delta.change
                if change is None:
                    shown = Text("-")
                else:
                    sign = "+" if change > 0 else "-" if change < 0 else "±"
                    style = "bold red" if change > 0.05 else "green" if change < -0.05 else ""
                    shown = Text(f"{sign}{format_seconds(abs(change))}", style=style)
                table.add_row(
                    delta.label,
                    format_seconds(delta.before) if delta.before is not None else "-",
                    format_seconds(delta.after) if delta.after is not None else "-",
                    shown,
                )
            table.add_row(
                Text("whole build", style="bold"),
                format_seconds(self.before.seconds),
                format_seconds(self.after.seconds),
                "",
            )
            yield table
            slower = slowest_change(deltas)
            summary = (
                f"Slower: {slower.label} (+{format_seconds(slower.change or 0.0)})."
                if slower is not None
                else "No stage got slower."
            )
            yield Static(summary, classes="dialog-body", id="compare-summary")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="compare-close", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
