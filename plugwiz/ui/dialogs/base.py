"""What every dialog shares: borderless fields and buttons in a small terminal."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from rich.console import RenderableType
from rich.segment import Segment, Segments
from rich.style import Style
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import Horizontal
from textual.css.styles import RulesMap
from textual.renderables.background_screen import BackgroundScreen
from textual.screen import ModalScreen, Screen
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.visual import RenderOptions, RichVisual, Visual
from textual.widget import Widget
from textual.widgets import Button, Input, Select

from plugwiz.ui.screens.base import SMALL_HEIGHT, SMALL_WIDTH

ResultType = TypeVar("ResultType")


class DimmedScreen(BackgroundScreen, Visual):
    """The translucent background of a dialog: the screen below, tinted. The same strips as
    Textual's `BackgroundScreen` (a Rich renderable, which Textual wraps in a `RichVisual`),
    made without the round trip through Rich and with each style worked out once.

    Every frame of a dialog renders the whole screen below it again (the Build step's log
    moves under the "Cancel the build?" dialog), and Textual renders its strips to Rich
    segments, blends both colours and adds two Rich styles per segment, adds the dialog's
    style per segment again, and cuts the segments back into strips: 0.45 of 1.47 s profiled
    for one open and close at 120x40. The screen below has a few dozen distinct styles, so
    the style shown for each is remembered, computed by Textual's own code path (the picture
    is the same); anything unusual (a line of another width, a control segment) takes
    Textual's path whole. A dialog frame at 120x40 went from 34 to 21 ms, 14 of which are
    the compositing of the screen below (Textual's, the same for any background)."""

    # (tint, dialog's style, link style) -> {style below -> style shown}; cleared when large
    # (styles with meta, such as a link's, can be many over a long session).
    _shown: ClassVar[dict[tuple[Color, Style, Style | None], dict[Style | None, Style]]] = {}
    _MAX_STYLES: ClassVar[int] = 4096

    def __init__(self, dialog: Widget, screen: Screen[Any], color: Color) -> None:
        super().__init__(screen, color)
        self.dialog = dialog

    def render_strips(
        self, width: int, height: int | None, style: VisualStyle, options: RenderOptions
    ) -> list[Strip]:
        # Textual private (pinned): the screen's compositor, which BackgroundScreen renders.
        below = self.screen._compositor.render_strips()
        if height is not None:
            below = below[:height]
        rich_style = style.rich_style
        dialog = self.dialog
        link_style = dialog.link_style if dialog.auto_links else None
        shown = self._shown.setdefault((self.color, rich_style, link_style), {})
        if len(shown) > self._MAX_STYLES:
            shown.clear()
        strips: list[Strip] = []
        for strip in below:
            if strip.cell_length != width:
                return self.textual_strips(width, height, style, options)
            segments: list[Segment] = []
            for text, segment_style, control in strip:
                if control:
                    return self.textual_strips(width, height, style, options)
                line_style = shown.get(segment_style)
                if line_style is None:
                    line_style = shown[segment_style] = self._style_shown(segment_style, rich_style)
                segments.append(Segment(text, line_style))
            strips.append(Strip(segments, width))
        return strips

    def textual_strips(
        self, width: int, height: int | None, style: VisualStyle, options: RenderOptions
    ) -> list[Strip]:
        """The strips as Textual makes them for its `BackgroundScreen`."""
        renderable = BackgroundScreen(self.screen, self.color)
        return RichVisual(self.dialog, renderable).render_strips(width, height, style, options)

    def _style_shown(self, style: Style | None, rich_style: Style) -> Style:
        # One segment through Textual's path: the tint, then the dialog's style (post_render).
        tinted = Segments(BackgroundScreen.process_segments([Segment(" ", style)], self.color))
        app = self.dialog.app
        renderable = self.dialog.post_render(tinted, rich_style)
        (segment,) = app.console.render(renderable, app.console_options)
        return segment.style or Style()

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return container_width

    def get_height(self, rules: RulesMap, width: int) -> int:
        return self.screen.size.height


class Dialog(ModalScreen[ResultType]):
    """A modal dialog; in a terminal below 100x30 its fields and buttons are compact, so a
    dialog with four fields still fits 80x24 with its buttons."""

    def render(self) -> RenderableType:
        # Textual's background for the screen, made cheaper when it is the screen below, tinted.
        background = super().render()
        if type(background) is BackgroundScreen:
            return DimmedScreen(self, background.screen, background.color)
        return background

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
