"""A modal that asks for one line of text."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label

from plugwiz.ui.dialogs.base import FormDialog
from plugwiz.ui.widgets.message import MessageArea


class TextInputDialog(FormDialog[str | None]):
    """Dismisses with the text entered (stripped), or None when cancelled.

    `validate` returns an error message for a person, or None when the text is fine.
    """

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
            yield from self.buttons("OK")

    def accept(self) -> None:
        text = self.query_one("#dialog-input", Input).value.strip()
        problem = self.validate_text(text) if self.validate_text else None
        if problem:
            self.query_one("#dialog-error", MessageArea).show(problem, "error")
            return
        self.dismiss(text)
