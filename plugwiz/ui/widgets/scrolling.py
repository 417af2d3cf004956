"""Scrolling views whose content grows without a layout of the whole screen."""

from __future__ import annotations

from typing import Any

from textual.geometry import Size
from textual.reactive import Reactive


class GrowsInPlace:
    """Mixed into a scroll view (`Log`, `Tree`) whose size on screen is fixed by its CSS.

    Textual lays out the whole screen when a widget's virtual size changes, for every
    widget: on the Build screen that was a line added to a log of fewer than 5000 lines, a
    wider line, a stage of the tree opened or closed; each layout re-renders every widget
    on screen (40-70 ms here, against 5-20 ms for the log alone), so a flood of output paid
    a layout for most steps. The view's own region does not depend on what it holds: only
    its scrollbars do, and they are updated here in place (a scrollbar shown or hidden still
    lays the screen out)."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, size: Size) -> None:
        # What a layout would do for this widget: the scrollbars' extent and visibility, and
        # their thumbs where the view is (a scrollbar hidden meanwhile, by a view emptied
        # before it was filled again, missed the scroll).
        view: Any = self
        view._scroll_update(size)
        if view.show_vertical_scrollbar:
            view.vertical_scrollbar.position = view.scroll_y
        if view.show_horizontal_scrollbar:
            view.horizontal_scrollbar.position = view.scroll_x
