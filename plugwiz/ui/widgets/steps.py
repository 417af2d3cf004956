"""The step indicator shown at the top of every wizard screen."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Label, Static

STEPS: tuple[tuple[str, str], ...] = (
    ("host", "Host"),
    ("plugins", "Plugins"),
    ("preview", "Preview"),
    ("build", "Build"),
    ("result", "Result"),
)
STEP_NAMES: tuple[str, ...] = tuple(name for name, _ in STEPS)
# Below this width the save status is said in a word (a default terminal is 80 columns).
COMPACT_WIDTH = 110


def steps_text(current: str, *, compact: bool) -> Content:
    """`plugwiz  1 Host > 2 Plugins > ...` with the current step highlighted."""
    current_index = STEP_NAMES.index(current)
    parts: list[Content | tuple[str, str] | str] = [
        ("plugwiz", "bold $accent"),
        " " if compact else "  ",
    ]
    for index, (name, title) in enumerate(STEPS):
        if index:
            parts.append((">" if compact else " > ", "$text-muted"))
        label = f" {index + 1} {title} "
        if index == current_index:
            style = "bold $text on $primary"
        elif index < current_index:
            style = "$success"
        else:
            style = "$text-muted"
        # A click on a step goes there: the F-keys are not all a browser's to give away.
        parts.append(Content.from_markup(f"[{style} @click=app.go('{name}')]{label}[/]"))
    return Content.assemble(*parts)


class SaveStatus(Label):
    """The project's save status; a click saves (as ctrl+s does)."""

    async def on_click(self) -> None:
        await self.run_action("app.save")


class StepIndicator(Horizontal):
    """The steps with the current one highlighted, and the project's save status."""

    DEFAULT_CSS = """
    StepIndicator {
        height: 1;
        background: $panel;
        padding: 0 1;
    }
    StepIndicator > #steps { width: auto; link-style: none; link-style-hover: underline; }
    StepIndicator > #save-status { width: 1fr; text-align: right; color: $text-muted; }
    """

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        yield Static(steps_text(self.current, compact=True), id="steps")
        yield SaveStatus("", id="save-status")

    def on_mount(self) -> None:
        self.watch(self.app, "save_status", self._save_status_changed)

    def on_resize(self, event: events.Resize) -> None:
        compact = event.size.width < COMPACT_WIDTH
        self.set_class(compact, "-compact")
        self.query_one("#steps", Static).update(steps_text(self.current, compact=compact))
        self._save_status_changed(getattr(self.app, "save_status", ""))

    def _save_status_changed(self, status: str) -> None:
        label = self.query_one("#save-status", Label)
        if self.has_class("-compact"):
            # "saved to x.yaml" -> "saved"; "not saved: ctrl+s saves ..." -> "not saved ^s".
            short = status.split(":", 1)[0].split(" to ", 1)[0]
            if short.startswith(("not saved", "unsaved")):
                short += " ^s"
            elif short.startswith("ctrl+s"):
                short = "^s saves"
            elif short == "saves":
                short = "saves on change"
            label.update(short)
            label.tooltip = status
        else:
            label.update(status)
            label.tooltip = None
