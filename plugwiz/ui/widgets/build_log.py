"""The Build screen's output view: Textual's Log, measuring lines in place and quickly, with
errors, warnings, step headers, search matches and the current line marked as they are drawn."""

from __future__ import annotations

import re
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widgets import Log

from plugwiz.core.logindex import STEP_MARK, Severity, line_severity, smart_case
from plugwiz.ui.widgets.scrolling import GrowsInPlace

# Runs of anything but printable ASCII: the only characters whose width is not 1.
_NOT_PLAIN = re.compile(r"[^\x20-\x7e]+")
# Characters that make rich measure a line as a whole (joined emoji, variation selectors).
_JOINERS = ("\u200d", "\ufe0f")


class BuildLog(GrowsInPlace, Log):
    """A `Log` that measures new lines on the UI thread, cheaply, and marks lines as it draws
    them (only the lines on screen are drawn, so a flood pays nothing for it).

    `Log.write_lines` measures every batch in a new thread worker, and measures each line
    character by character in Python once it has a non-ASCII character (an em dash in a Go
    error is enough). In a flood of build output that was one worker per batch holding the
    GIL while the UI thread waited for it (keys took hundreds of milliseconds), and most of
    the cost of writing. Here a line of printable ASCII is as wide as it is long, and in other
    lines only the runs of other characters are measured (rich's per-string cache makes a
    repeated run free); the widths are exactly `Log`'s.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "build-log--error",
        "build-log--warning",
        "build-log--step",
        "build-log--match",
        "build-log--current",
    }
    DEFAULT_CSS = """
    BuildLog > .build-log--error { color: $text-error; }
    BuildLog > .build-log--warning { color: $text-warning; }
    BuildLog > .build-log--step { color: $text-accent; text-style: bold; }
    BuildLog > .build-log--match { background: $warning 40%; }
    BuildLog > .build-log--current { background: $accent 30%; }
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.search_text = ""  # search matches of this are marked
        self.current_line: int | None = None  # this line (of the widget) is marked

    def _update_size(self, updates: int, lines: list[str]) -> None:  # type: ignore[override]
        if lines:
            # Only lines that could be wider than the widest shown are measured: in a flood
            # of output, measuring every line was most of the cost of writing it.
            self._update_maximum_width(updates, self.max_width(lines, self._width))

    @classmethod
    def cell_width(cls, line: str) -> int:
        """The cells `line` takes on screen, as `Log` measures it."""
        if line.isascii() and line.isprintable():
            return len(line)
        if "\t" in line or any(joiner in line for joiner in _JOINERS):
            return cell_len(cls._process_line(line))  # tab stops and joins depend on context
        return len(line) + sum(
            cell_len(cls._process_line(run)) - len(run) for run in _NOT_PLAIN.findall(line)
        )

    @classmethod
    def max_width(cls, lines: list[str], floor: int = 0) -> int:
        """The widest of `lines` in cells (at least `floor`), as `Log` measures them,
        measuring only the lines that could be wider than the widest so far (a thread worker
        may call it)."""
        best = floor
        width = cls.cell_width
        for line in lines:
            length = len(line)
            if length <= best // 2:
                if "\t" not in line:
                    continue  # at most two cells a character: it cannot be wider
            elif length <= best and line.isascii() and "\t" not in line:
                continue  # one cell a character at most
            measured = width(line)
            if measured > best:
                best = measured
        return best

    def replace_lines(self, lines: list[str], width: int | None = None) -> None:
        """Show exactly `lines` (one line each, no newlines in them), from the top: a stage
        filter or a window of the log, at once. Keeps the list it is given; `width` is their
        `max_width` when already known."""
        self.clear()
        self._lines = lines
        if self.max_lines is not None and len(lines) > self.max_lines:
            del lines[: len(lines) - self.max_lines]
            width = None
        self._width = self.max_width(lines) if width is None else width
        self.virtual_size = Size(self._width, len(lines))
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def widen(self, width: int) -> None:
        """The lines shown are (at least) `width` cells wide."""
        if width > self._width:
            self._width = width
            self.virtual_size = Size(width, len(self._lines))

    def grown(self, added: list[str]) -> None:
        """The list of lines the log shows (given to `replace_lines`) grew by `added`."""
        if added:
            self._width = max(self._width, max(map(self.cell_width, added)))
            self.virtual_size = Size(self._width, len(self._lines))
            self.refresh()

    def mark(self, search: str | None = None, current_line: int | None = -1) -> None:
        """Mark matches of `search` and the line `current_line` (None: no line; arguments
        left out stay as they are)."""
        if search is not None:
            self.search_text = search
        if current_line != -1:
            self.current_line = current_line
        self._render_line_cache.clear()
        self.refresh()

    def _search_pattern(self) -> re.Pattern[str] | None:
        """The search's pattern as matches are marked (None: no search)."""
        if not self.search_text:
            return None
        flags = 0 if smart_case(self.search_text) else re.IGNORECASE
        return re.compile(re.escape(self.search_text), flags)  # re caches it

    def _render_line_strip(self, y: int, rich_style: Style) -> Strip:
        if self.text_selection is not None:
            return super()._render_line_strip(y, rich_style)
        cache = self._render_line_cache
        if y in cache:
            return cache[y]
        raw = self._lines[y]
        line = self._process_line(raw)
        kind = ""
        if raw.startswith(STEP_MARK):
            kind = "build-log--step"
        else:
            severity = line_severity(raw)
            if severity is Severity.ERROR:
                kind = "build-log--error"
            elif severity is Severity.WARNING:
                kind = "build-log--warning"
        pattern = self._search_pattern()
        if y != self.current_line and (pattern is None or pattern.search(line) is None):
            # One style for the whole line: its segment made directly (rich's Text.render
            # was most of the cost of a frame of scrolling output). The same segment.
            style = rich_style + self.get_component_rich_style(kind) if kind else rich_style
            strip = Strip([Segment(line, style)], cell_len(line))
            cache[y] = strip
            return strip
        text = Text(line, no_wrap=True)
        text.stylize(rich_style)
        if kind:
            text.stylize(self.get_component_rich_style(kind))
        if pattern is not None:
            text.highlight_regex(pattern, self.get_component_rich_style("build-log--match"))
        width = cell_len(line)
        if y == self.current_line:
            # The whole row, not only its characters: the line is found at a glance.
            pad = max(self._width, self.size.width) - width
            if pad > 0:
                text.append(" " * pad)
                width += pad
            text.stylize(self.get_component_rich_style("build-log--current"))
        strip = Strip(text.render(self.app.console), width)
        cache[y] = strip
        return strip
