"""Reading what a user sees from widgets."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from textual.app import App
from textual.widget import Widget
from textual.widgets import DataTable, Log, Static


def text_of(widget: Widget) -> str:
    """The plain text a Static shows."""
    assert isinstance(widget, Static)
    console = Console(
        width=200, file=io.StringIO(), color_system=None, markup=False, highlight=False
    )
    console.print(widget.content)
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def table_rows(table: DataTable[object]) -> list[list[str]]:
    """The cells of a DataTable as plain strings."""
    rows = []
    for row_key in table.rows:
        rows.append([getattr(cell, "plain", str(cell)) for cell in table.get_row(row_key)])
    return rows


def screen_text(app: App[Any]) -> str:
    """Everything the terminal shows right now (the top screen, dialogs included), as text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def log_text(widget: Widget) -> str:
    """The lines a Log shows, joined."""
    assert isinstance(widget, Log)
    return "\n".join(widget.lines)
