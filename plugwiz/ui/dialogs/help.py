"""Every key of the current step, and the wizard's own."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Label, Static

from plugwiz.ui.dialogs.base import Dialog

WIZARD_KEYS: tuple[tuple[str, str], ...] = (
    ("ctrl+n, ctrl+→", "next step (in a browser: ctrl+→)"),
    ("ctrl+b, ctrl+←", "previous step"),
    ("F1 … F5", "go to a step: Host, Plugins, Preview, Build, Result (or click it at the top)"),
    ("ctrl+s", "save the project (then every change is saved as you go)"),
    ("ctrl+p", "command palette: every action by name (save as, pin, prune…)"),
    ("?, F10", "this help"),
    ("tab, shift+tab", "move between fields and lists"),
    ("escape", "leave a text field (then single-letter keys work); close a dialog"),
    ("ctrl+q, ctrl+c", "quit (asks first during a build or with unsaved changes)"),
)


def _key_text(key: str) -> str:
    return key.replace("question_mark", "?").replace("ctrl+", "ctrl+").replace(",", ", ")


def keys_named(text: str) -> set[str]:
    """The keys a help row names: "ctrl+up / K, ctrl+down / J" names four."""
    return {key.strip() for part in text.split(", ") for key in part.split(" / ") if key.strip()}


class HelpDialog(Dialog[None]):
    """The keys of `screen` (its bindings and its notes), then the wizard's."""

    BINDINGS = [Binding("escape,q,question_mark,f10", "close", "Close")]
    AUTO_FOCUS = "#help-scroll"

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.step_screen = screen

    def compose(self) -> ComposeResult:
        screen = self.step_screen
        step = getattr(screen, "STEP", "")
        with Vertical(classes="dialog dialog-help"):
            yield Label(f"Keys: {step.title() or 'this screen'} step", classes="dialog-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(self._table(screen), id="help-keys")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", variant="primary")

    def _table(self, screen: Screen[Any]) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_row("[u]This step[/u]", "")
        # A note says more than a binding's one word: it takes the place of the bindings of
        # its keys, so no key is listed twice.
        notes: list[tuple[str, str]] = list(getattr(screen, "KEY_NOTES", ()))
        noted = [keys_named(key) for key, _text in notes]
        shown: set[int] = set()
        seen: set[str] = set()
        for binding in screen.BINDINGS:
            if not isinstance(binding, Binding) or binding.action == "leave_field":
                continue
            if binding.action in seen:
                continue
            seen.add(binding.action)
            keys = keys_named(_key_text(binding.key))
            if binding.key_display:
                keys.add(binding.key_display)
            note = next((i for i, of_note in enumerate(noted) if keys & of_note), None)
            if note is None:
                table.add_row(_key_text(binding.key), binding.description)
            elif note not in shown:
                shown.add(note)
                table.add_row(*notes[note])
        for index, (key, text) in enumerate(notes):
            if index not in shown:
                table.add_row(key, text)
        table.add_row("", "")
        table.add_row("[u]Everywhere[/u]", "")
        for key, text in WIZARD_KEYS:
            table.add_row(key, text)
        return table

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
