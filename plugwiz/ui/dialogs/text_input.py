"""A modal that asks for one line of text."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label

from plugwiz.ui.dialogs.base import Dialog
from plugwiz.ui.widgets.message import MessageArea


class TextInputDialog(Dialog[str | None]):
    """Dismisses with the text entered (stripped), or None when cancelled.

    `validate` returns an error message for a person, or None when the text is fine.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        title: str,
        value: str = "",
        *,
        placeholder: str = "",
        validate: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder
        self.validate_text = validate

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(self.value, placeholder=self.placeholder, id="dialog-input")
            yield MessageArea(id="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("OK", id="ok", variant="primary")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._accept()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self._accept()
        else:
            self.dismiss(None)

    def _accept(self) -> None:
        text = self.query_one("#dialog-input", Input).value.strip()
        problem = self.validate_text(text) if self.validate_text else None
        if problem:
            self.query_one("#dialog-error", MessageArea).show(problem, "error")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
