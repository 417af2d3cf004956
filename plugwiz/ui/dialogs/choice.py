"""A modal question with a few buttons."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ChoiceDialog(ModalScreen[str | None]):
    """Asks a question; dismisses with the id of the chosen button, or None on escape."""

    BINDINGS = [Binding("escape", "dismiss_none", "Back")]

    def __init__(
        self,
        title: str,
        message: str,
        choices: list[tuple[str, str, str]],
    ) -> None:
        """`choices` are (id, label, variant) with variant one of Button's variants."""
        super().__init__()
        self.title_text = title
        self.message = message
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.message, classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                for choice_id, label, variant in self.choices:
                    yield Button(label, id=choice_id, variant=variant)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


def confirm_dialog(title: str, message: str, yes: str, no: str = "Back") -> ChoiceDialog:
    """A yes/no dialog whose result is "yes", "no" or None."""
    return ChoiceDialog(title, message, [("no", no, "default"), ("yes", yes, "error")])
