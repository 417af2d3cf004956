"""A modal question with a few buttons, answered with an `Answer`."""

from __future__ import annotations

import enum

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from plugwiz.ui.dialogs.base import Dialog


class Answer(enum.Enum):
    """What a person chose in a dialog."""

    YES = "yes"
    NO = "no"
    BACK = "back"
    SAVE = "save"
    DISCARD = "discard"


class ChoiceDialog(Dialog[Answer | None]):
    """Asks a question; dismisses with the chosen `Answer`, or None on escape."""

    BINDINGS = [
        Binding("escape", "dismiss_none", "Back"),
        Binding("left", "app.focus_previous", "Previous button", show=False),
        Binding("right", "app.focus_next", "Next button", show=False),
    ]

    def __init__(
        self,
        title: str,
        message: str,
        choices: list[tuple[Answer, str, str]],
    ) -> None:
        """`choices` are (answer, label, variant) with variant one of Button's variants; the
        first one has the focus (make it the safe one)."""
        super().__init__()
        self.title_text = title
        self.message = message
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.message, classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                for answer, label, variant in self.choices:
                    yield Button(label, id=answer.value, variant=variant)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(Answer(event.button.id))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


def confirm_dialog(title: str, message: str, yes: str, no: str = "Back") -> ChoiceDialog:
    """A yes/no dialog: Answer.YES, Answer.NO, or None (escape). "No" has the focus."""
    return ChoiceDialog(title, message, [(Answer.NO, no, "default"), (Answer.YES, yes, "error")])
