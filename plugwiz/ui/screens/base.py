"""What every wizard step shares: the step indicator, the footer, and redrawing only while
the step is shown."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Input, Select

from plugwiz.core.model import Project
from plugwiz.ui.widgets.footer import StepFooter
from plugwiz.ui.widgets.steps import StepIndicator

if TYPE_CHECKING:
    from plugwiz.ui.app import PlugwizApp


# Below this size (a default terminal is 80x24) fields and buttons lose their borders.
SMALL_WIDTH = 100
SMALL_HEIGHT = 30


def display_path(path: Path | str, base: Path) -> str:
    """`path` for a person: relative to the project directory `base` when inside it, with
    `~` for the home directory otherwise."""
    target = Path(path)
    for root, prefix in ((base, ""), (Path.home(), "~/")):
        try:
            return prefix + target.relative_to(root).as_posix()
        except ValueError:
            continue
    return str(target)


class WizardScreen(Screen[None]):
    """A wizard step. Subclasses set STEP, yield their body from `compose_body`, and redraw
    in `redraw`, which runs when the step is shown and after every change of the app's state
    while it is shown (a step that is not shown does no work for changes it cannot show)."""

    STEP: ClassVar[str] = ""
    # (key, what it does) lines for the help dialog, beyond the bindings.
    KEY_NOTES: ClassVar[tuple[tuple[str, str], ...]] = ()
    # (title, help, method name) entries for the command palette.
    PALETTE: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave_field", "Leave field", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._stale = True
        self._small: bool | None = None

    @property
    def wizard(self) -> PlugwizApp:
        return cast("PlugwizApp", self.app)

    @property
    def project(self) -> Project:
        return self.wizard.project

    def compose(self) -> ComposeResult:
        yield StepIndicator(self.STEP)
        yield from self.compose_body()
        yield StepFooter(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        for name in (
            "project",
            "host",
            "plugin_checks",
            "prebuilt_verdicts",
            "build_revision",
            "base_images",
            "recent",
            "run_revision",
            "watch_revision",
        ):
            self.watch(self.app, name, self._state_changed, init=False)
        self._redraw_now()

    def on_screen_resume(self) -> None:
        if self._stale:
            self._redraw_now()

    def on_resize(self, event: events.Resize) -> None:
        small = event.size.width < SMALL_WIDTH or event.size.height < SMALL_HEIGHT
        if small == self._small:
            return
        self._small = small
        self.set_class(small, "-small")
        # Borderless fields and buttons: three lines each become one.
        for widget in self.query("Input, Button, Select"):
            if isinstance(widget, Input | Button | Select):
                widget.compact = small

    def _state_changed(self, _value: object) -> None:
        if self.app.screen is self:
            self._redraw_now()
        else:
            self._stale = True

    def _redraw_now(self) -> None:
        self._stale = False
        self.redraw()

    def redraw(self) -> None:
        """Draw the step from the app's state."""

    def home_widget(self) -> Widget | None:
        """Where the focus goes when the user leaves a text field with Escape."""
        return None

    def action_leave_field(self) -> None:
        """Escape in a text field: leave it, so letters work as keys again."""
        if isinstance(self.focused, Input):
            home = self.home_widget()
            if home is not None and home.focusable:
                home.focus()
            else:
                self.set_focus(None)
