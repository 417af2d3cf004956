"""The Build screen's output view: Textual's Log, measuring lines in place and quickly."""

from __future__ import annotations

import re

from rich.cells import cell_len
from textual.widgets import Log

# Runs of anything but printable ASCII: the only characters whose width is not 1.
_NOT_PLAIN = re.compile(r"[^\x20-\x7e]+")
# Characters that make rich measure a line as a whole (joined emoji, variation selectors).
_JOINERS = ("\u200d", "\ufe0f")


class BuildLog(Log):
    """A `Log` that measures new lines on the UI thread, cheaply.

    `Log.write_lines` measures every batch in a new thread worker, and measures each line
    character by character in Python once it has a non-ASCII character (an em dash in a Go
    error is enough). In a flood of build output that was one worker per batch holding the
    GIL while the UI thread waited for it (keys took hundreds of milliseconds), and most of
    the cost of writing. Here a line of printable ASCII is as wide as it is long, and in other
    lines only the runs of other characters are measured (rich's per-string cache makes a
    repeated run free); the widths are exactly `Log`'s.
    """

    def _update_size(self, updates: int, lines: list[str]) -> None:  # type: ignore[override]
        if lines:
            self._update_maximum_width(updates, max(map(self.cell_width, lines)))

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
