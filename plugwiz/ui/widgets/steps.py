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


def engine_text(label: str, *, compact: bool) -> str:
    """The header's engine: `engine build.example:2376` (`engine tcp://build.example:2376
    (TLS, context build)` in full, as a tooltip), or `@build.example` in a small terminal."""
    address = label.split("://", 1)[-1].split(" ", 1)[0]
    if not compact:
        return f"engine {address}"
    host = address.rsplit("@", 1)[-1].split(":", 1)[0]
    return "@" + (host if len(host) <= 16 else host[:15] + "…")


def steps_text(current: str, *, compact: bool, brand: bool = True) -> Content:
    """`plugwiz  1 Host > 2 Plugins > ...` with the current step highlighted (without the
    name when `brand` is off: room for the engine in a small terminal)."""
    current_index = STEP_NAMES.index(current)
    parts: list[Content | tuple[str, str] | str] = (
        [("plugwiz", "bold $accent"), " " if compact else "  "] if brand else []
    )
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
    StepIndicator > #engine { width: auto; color: $warning; padding: 0 0 0 1; }
    StepIndicator > #save-status { width: 1fr; text-align: right; color: $text-muted; }
    """

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        # Which engine builds, when it is not the local one: a remote build is worth seeing.
        engine = self._engine_label()
        yield Static(steps_text(self.current, compact=True, brand=not engine), id="steps")
        label = Label(engine_text(engine, compact=True) if engine else "", id="engine")
        label.display = bool(engine)
        label.tooltip = engine or None
        yield label
        yield SaveStatus("", id="save-status")

    def on_mount(self) -> None:
        self.watch(self.app, "save_status", self._save_status_changed)

    def _engine_label(self) -> str:
        return str(getattr(self.app, "engine_label", "") or "")

    def on_resize(self, event: events.Resize) -> None:
        compact = event.size.width < COMPACT_WIDTH
        self.set_class(compact, "-compact")
        engine = self._engine_label()
        # A small terminal with a remote engine: the steps without the name, to fit both.
        brand = not (compact and engine)
        self.query_one("#steps", Static).update(
            steps_text(self.current, compact=compact, brand=brand)
        )
        if engine:
            self.query_one("#engine", Label).update(engine_text(engine, compact=compact))
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
