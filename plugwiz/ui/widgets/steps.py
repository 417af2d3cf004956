"""The step indicator shown at the top of every wizard screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

STEPS: tuple[tuple[str, str], ...] = (
    ("host", "Host"),
    ("plugins", "Plugins"),
    ("preview", "Preview"),
    ("build", "Build"),
    ("result", "Result"),
)
STEP_NAMES: tuple[str, ...] = tuple(name for name, _ in STEPS)


class StepIndicator(Horizontal):
    """`Host > Plugins > Preview > Build > Result` with the current step highlighted."""

    DEFAULT_CSS = """
    StepIndicator {
        height: 1;
        background: $panel;
        padding: 0 1;
    }
    StepIndicator > Label { color: $text-muted; }
    StepIndicator > .app-name { color: $accent; text-style: bold; margin-right: 2; }
    StepIndicator > .sep { margin: 0 1; }
    StepIndicator > .-done { color: $success; }
    StepIndicator > .-current { color: $text; background: $primary; text-style: bold; }
    StepIndicator > #save-status { width: 1fr; text-align: right; }
    """

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        yield Label("plugwiz", classes="app-name")
        current_index = STEP_NAMES.index(self.current)
        for index, (name, title) in enumerate(STEPS):
            if index:
                yield Label(">", classes="sep")
            state = (
                "-current" if index == current_index else "-done" if index < current_index else ""
            )
            yield Label(
                f" {index + 1} {title} ", classes=f"step {state}".strip(), id=f"step-{name}"
            )
        yield Label("", id="save-status")

    def on_mount(self) -> None:
        self.watch(self.app, "save_status", self._save_status_changed)

    def _save_status_changed(self, status: str) -> None:
        self.query_one("#save-status", Label).update(status)
