"""What every dialog shares: borderless fields and buttons in a small terminal."""

from __future__ import annotations

from typing import TypeVar

from textual import events
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select

from plugwiz.ui.screens.base import SMALL_HEIGHT, SMALL_WIDTH

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """A modal dialog; in a terminal below 100x30 its fields and buttons are compact, so a
    dialog with four fields still fits 80x24 with its buttons."""

    def on_resize(self, event: events.Resize) -> None:
        small = event.size.width < SMALL_WIDTH or event.size.height < SMALL_HEIGHT
        self.set_class(small, "-small")
        for widget in self.query("Input, Button, Select"):
            if isinstance(widget, Input | Button | Select):
                widget.compact = small
