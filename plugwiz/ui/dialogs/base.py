"""What every dialog shares: borderless fields and buttons in a small terminal."""

from __future__ import annotations

from typing import TypeVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
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


class FormDialog(Dialog[ResultType]):
    """A dialog with fields and Cancel/OK buttons: enter in a field or OK calls `accept`
    (which dismisses with a value, or shows why it cannot); Cancel and escape give None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def buttons(self, ok: str = "OK") -> ComposeResult:
        """The Cancel and OK row, for `compose`."""
        with Horizontal(classes="dialog-buttons"):
            yield Button("Cancel", id="cancel")
            yield Button(ok, id="ok", variant="primary")

    def accept(self) -> None:
        """Check the fields; dismiss with the result, or say what is wrong."""
        raise NotImplementedError

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.accept()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self.accept()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
