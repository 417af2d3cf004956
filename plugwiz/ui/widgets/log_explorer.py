"""The build log as an explorer: follow the build, filter by stage, search the whole log, jump
from error to error.

The widget keeps the tail of the log (what the session polls) and reads the display log on
disk (`view_path`, written by the session) for everything else, in a thread worker: a stage
filter shows all of that stage's lines, a search finds matches among all lines, and a match
older than the tail is shown in a window of the log around it. Every line has its number in
the display log, so the three views agree on what "line N" is.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from plugwiz.core.logindex import LogSlice, LogText, Severity, next_after
from plugwiz.core.session import PollResult
from plugwiz.ui.widgets.build_log import BuildLog

# Lines shown around a match that is older than the tail.
WINDOW_LINES = 2000


class Mode(enum.Enum):
    """What the log shows."""

    LIVE = "live"  # the tail of the build, following it
    FILTER = "filter"  # every line of some steps
    WINDOW = "window"  # lines around a match older than the tail


class SearchInput(Input):
    """The search field: enter finds, escape closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close search", show=False),
    ]

    def action_close(self) -> None:
        explorer = self.parent
        if isinstance(explorer, LogExplorer):
            explorer.close_search()


class LogExplorer(Vertical):
    """The log, its search field and a status line."""

    DEFAULT_CSS = """
    LogExplorer { height: 1fr; }
    LogExplorer > #log-search { display: none; }
    LogExplorer.-searching > #log-search { display: block; }
    LogExplorer > #log-status { height: 1; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, *, max_lines: int, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.view_path: Path | None = None
        self.total = 0  # lines in the display log as far as we know
        self.mode = Mode.LIVE
        self.filter_steps: frozenset[int] | None = None
        self.filter_label = ""
        self.search_text = ""
        self.matches: list[int] = []  # line numbers of the display log
        self.match: int | None = None
        self.problem: int | None = None
        self.problems: list[tuple[int, Severity]] = []
        self.searching = False  # a search or a filter is being read
        self._first = 0  # LIVE and WINDOW: the display-log number of the widget's first line
        self._slice: LogSlice | None = None  # FILTER: which lines the widget shows
        self._text: LogText | None = None
        self._epoch = 0  # bumped when the log changes under us (a new build, another log)
        self._pending: list[PollResult] = []  # polls that came while a filter was read
        self._new_lines = 0  # WINDOW: lines the build added since
        # Where `follow` gets the tail (and the line count) from: the session, or an entry.
        self._tail_reader: Callable[[], tuple[list[str], int]] | None = None
        # Makes the display log on disk hold every line shown (the session writes in chunks).
        self.before_read: Callable[[], None] = lambda: None

    def compose(self) -> ComposeResult:
        yield SearchInput(
            placeholder="search the whole log: enter finds, escape closes",
            id="log-search",
            compact=True,
        )
        yield BuildLog(max_lines=self.max_lines, id="build-log", auto_scroll=True)
        yield Static("", id="log-status")

    @property
    def build_log(self) -> BuildLog:
        """The log widget."""
        return self.query_one("#build-log", BuildLog)

    # -- what the screen feeds in ---------------------------------------------------------------

    def reset(self, path: Path | None, tail: list[str], total: int) -> None:
        """Show another log (a new build, or one from the history): `tail` is its last lines,
        `total` how many it has. A stage filter and a search stay, and are read again."""
        self._epoch += 1
        self.view_path = path
        self.total = total
        self._text = None
        self.problems = []
        self.problem = None
        self.matches = []
        self.match = None
        self._pending = []
        self._show_live(tail)
        if self.filter_steps is not None:
            self._read_filter()
        elif self.search_text:
            self.find(self.search_text, jump=False)
        self.show_status()

    def append(self, result: PollResult) -> None:
        """New lines of the running build (one poll of the session)."""
        if not result.lines:
            return
        self.total = max(self.total, result.first_line + len(result.lines))
        log = self.build_log
        if self.mode is Mode.WINDOW:
            self._new_lines += len(result.lines)
            self.show_status()
            return
        if self.mode is Mode.FILTER:
            if self._slice is None:
                self._pending.append(result)  # the filter is still being read
                return
            self._append_filtered(result)
            self.show_status()
            return
        # Follow the output unless the user scrolled up. Decided here, on a settled layout:
        # Log's own auto-scroll checks before the new lines are laid out.
        follow = log.scroll_y >= log.max_scroll_y - 1
        log.write_lines(result.lines, scroll_end=False)
        self._first = result.first_line + len(result.lines) - len(log.lines)
        if self.match is not None:
            self._mark_current(self.match)
        if follow:
            log.scroll_end(animate=False, x_axis=False)
        self.show_status()

    def _append_filtered(self, result: PollResult) -> None:
        assert self._slice is not None and self.filter_steps is not None
        if result.dropped:
            self._read_filter()  # lines the poll did not carry: read them from the log
            return
        log = self.build_log
        follow = log.scroll_y >= log.max_scroll_y - 1
        added: list[str] = []
        for start, end, step in result.steps_of_lines():
            if step in self.filter_steps:
                lines = result.lines[start:end]
                self._slice.extend(result.first_line + start, lines)
                added.extend(lines)
        if added:
            log.grown(added)  # the slice's list is the one the log shows
            if follow:
                log.scroll_end(animate=False, x_axis=False)

    # -- the stage filter -----------------------------------------------------------------------

    def set_filter(self, steps: frozenset[int] | None, label: str = "") -> None:
        """Show only the lines of `steps` (None: every line, following the build)."""
        if steps == self.filter_steps:
            return
        self.filter_steps = steps
        self.filter_label = label
        self.matches, self.match = [], None
        self.problem = None
        if steps is None:
            self.follow()
            return
        self._read_filter()

    def _read_filter(self) -> None:
        steps = self.filter_steps
        if steps is None:
            return
        self.mode = Mode.FILTER
        self._slice = None
        self._pending = []
        self.searching = True
        self.show_status()
        epoch = self._epoch
        query = self.search_text

        def work() -> None:
            worker = get_current_worker()
            text = self._read()
            part = text.steps(steps)
            # The lines first, as wide as they are long; their exact width (wide characters,
            # tabs) follows, for the horizontal scroll only.
            rough = max(map(len, part.lines), default=0)
            matches = text.search(query) if query else []
            if worker.is_cancelled:
                return
            self.app.call_from_thread(self._filtered, epoch, steps, text, part, rough, matches)
            exact = BuildLog.max_width(part.lines)
            if exact > rough and not worker.is_cancelled:
                self.app.call_from_thread(self._widen, epoch, steps, exact)

        self.before_read()
        self.run_worker(work, thread=True, exclusive=True, group="log-read")

    def _filtered(
        self,
        epoch: int,
        steps: frozenset[int],
        text: LogText,
        part: LogSlice,
        width: int,
        matches: list[int],
    ) -> None:
        if epoch != self._epoch or steps != self.filter_steps:
            return
        self.searching = False
        self._text = text
        self._slice = part
        log = self.build_log
        log.max_lines = None  # every line of the stage: the slice holds them
        log.mark(current_line=None)
        log.replace_lines(part.lines, width)
        pending, self._pending = self._pending, []
        for result in pending:
            # Only what the file did not have yet when it was read.
            skip = len(text) - result.first_line
            if skip >= len(result.lines):
                continue
            if skip > 0:
                result = PollResult(
                    lines=result.lines[skip:],
                    first_line=result.first_line + skip,
                    step_before=_step_at(result, skip),
                    marks=[(i - skip, n) for i, n in result.marks if i >= skip],
                )
            self._append_filtered(result)
        if self.search_text:
            self.matches = [m for m in matches if part.position(m) is not None]
        log.scroll_end(animate=False, x_axis=False)
        self.show_status()

    def _widen(self, epoch: int, steps: frozenset[int], width: int) -> None:
        if epoch == self._epoch and steps == self.filter_steps and self.mode is Mode.FILTER:
            self.build_log.widen(width)

    # -- search ---------------------------------------------------------------------------------

    def open_search(self) -> None:
        """Show the search field and put the cursor in it."""
        self.add_class("-searching")
        field = self.query_one("#log-search", SearchInput)
        field.value = self.search_text
        field.focus()

    def close_search(self) -> None:
        """Hide the search field and its marks."""
        self.remove_class("-searching")
        self.search_text = ""
        self.matches, self.match = [], None
        self.build_log.mark(search="", current_line=None)
        self.build_log.focus()
        self.show_status()

    @on(Input.Submitted, "#log-search")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.find(event.value)
        self.build_log.focus()

    def find(self, query: str, *, jump: bool = True) -> None:
        """Search the whole log (or the filtered stage) for `query`; go to its first match
        (after the line marked last, if any)."""
        self.search_text = query
        self.build_log.mark(search=query)
        self.matches, self.match = [], None
        if not query:
            self.show_status()
            return
        self.searching = True
        self.show_status()
        epoch = self._epoch

        def work() -> None:
            text = self._read()
            matches = text.search(query)
            if not get_current_worker().is_cancelled:
                self.app.call_from_thread(self._found, epoch, query, text, matches, jump)

        self.before_read()
        self.run_worker(work, thread=True, exclusive=True, group="log-search")

    def _found(self, epoch: int, query: str, text: LogText, matches: list[int], jump: bool) -> None:
        if epoch != self._epoch or query != self.search_text:
            return
        self.searching = False
        self._text = text
        if self.mode is Mode.FILTER and self._slice is not None:
            matches = [m for m in matches if self._slice.position(m) is not None]
        self.matches = matches
        if jump and matches:
            # From the line marked last (a match, an error), else from the top of the log:
            # the same match whatever the view happens to be scrolled to.
            marked = self.match if self.match is not None else self.problem
            start = marked if marked is not None else -1
            self._goto(next_after(matches, start - 1) or matches[0], match=True)
        self.show_status()

    def next_match(self, *, backwards: bool = False) -> None:
        """Go to the next (previous) match, wrapping around."""
        if not self.matches:
            if self.search_text and not self.searching:
                self.find(self.search_text)
            return
        current = self.match if self.match is not None else self._here()
        target = next_after(self.matches, current, backwards=backwards)
        if target is not None:
            self._goto(target, match=True)
        self.show_status()

    # -- errors and warnings --------------------------------------------------------------------

    def next_problem(self, *, backwards: bool = False) -> None:
        """Go to the next (previous) error or warning of the log (of the stage, filtered)."""
        epoch = self._epoch

        def work() -> None:
            text = self._read()
            problems = text.problems()
            if not get_current_worker().is_cancelled:
                self.app.call_from_thread(self._problems_found, epoch, text, problems, backwards)

        self.before_read()
        self.run_worker(work, thread=True, exclusive=True, group="log-problems")

    def _problems_found(
        self,
        epoch: int,
        text: LogText,
        problems: list[tuple[int, Severity]],
        backwards: bool,
    ) -> None:
        if epoch != self._epoch:
            return
        self._text = text
        if self.mode is Mode.FILTER and self._slice is not None:
            part = self._slice
            problems = [p for p in problems if part.position(p[0]) is not None]
        self.problems = problems
        numbers = [n for n, _severity in problems]
        current = self.problem if self.problem is not None else self._here()
        target = next_after(numbers, current, backwards=backwards)
        if target is None:
            self.app.notify("No errors or warnings in this log.", title="Log")
        else:
            self._goto(target)
            self.problem = target
        self.show_status()

    # -- moving around --------------------------------------------------------------------------

    def follow(self) -> None:
        """Back to the end of the build, following it (leaves a window; keeps a filter)."""
        if self.filter_steps is not None:
            self.mode = Mode.FILTER
            self.build_log.scroll_end(animate=False, x_axis=False)
            return
        self._epoch += 1
        self._new_lines = 0
        tail: list[str] = []
        if self._tail_reader is not None:
            tail, self.total = self._tail_reader()
        self._show_live(tail)
        self.show_status()

    def set_tail_reader(self, reader: Callable[[], tuple[list[str], int]]) -> None:
        """Where `follow` gets the tail and the log's line count from."""
        self._tail_reader = reader

    def _show_live(self, tail: list[str]) -> None:
        self.mode = Mode.LIVE
        self._slice = None
        log = self.build_log
        log.max_lines = self.max_lines
        log.mark(current_line=None)
        log.replace_lines(list(tail))
        self._first = self.total - len(log.lines)
        log.scroll_end(animate=False, x_axis=False)

    def _goto(self, number: int, *, match: bool = False) -> None:
        """Show line `number` of the display log in the middle, marked."""
        if match:
            self.match = number
        position = self._position(number)
        if position is None and self.mode is not Mode.FILTER and self._text is not None:
            window = self._text.window(number, WINDOW_LINES)
            self.mode = Mode.WINDOW
            self._new_lines = 0
            self.build_log.max_lines = None
            self.build_log.replace_lines(window.lines)
            self._first = window.ranges[0].start if window.ranges else 0
            position = self._position(number)
        if position is None:
            return
        log = self.build_log
        log.mark(current_line=position)
        log.scroll_to(y=max(0, position - log.size.height // 2), animate=False, immediate=True)

    def _mark_current(self, number: int) -> None:
        self.build_log.mark(current_line=self._position(number))

    def _position(self, number: int) -> int | None:
        """Where line `number` of the display log is in the widget, if it is shown."""
        if self.mode is Mode.FILTER:
            return self._slice.position(number) if self._slice is not None else None
        position = number - self._first
        return position if 0 <= position < len(self.build_log.lines) else None

    def _here(self) -> int:
        """The display-log number of the line at the top of the view."""
        log = self.build_log
        top = int(log.scroll_y)
        if self.mode is Mode.FILTER:
            if self._slice is None or not len(self._slice):
                return 0
            return self._slice.line_number(min(top, len(self._slice) - 1))
        return self._first + top

    def _read(self) -> LogText:
        """The display log read (again, when it grew). In a worker thread."""
        path = self.view_path
        cached = self._text
        if path is None:
            return cached or LogText([], [])
        try:
            size = path.stat().st_size
        except OSError:
            return cached or LogText([], [])
        if cached is not None and cached.size == size:
            return cached
        return LogText.read(path)

    # -- the status line ------------------------------------------------------------------------

    def show_status(self) -> None:
        """Say what the log shows, and where the search and the error jumps are."""
        text = Text()
        if self.mode is Mode.FILTER:
            text.append(f"{self.filter_label}: ", style="bold")
            if self._slice is None:
                text.append("reading the log …")
            else:
                text.append(f"{len(self._slice):,} of {self.total:,} lines · escape: all")
        elif self.mode is Mode.WINDOW:
            shown = len(self.build_log.lines)
            start = self._first + 1
            text.append(f"lines {start:,}–{self._first + shown:,} of {self.total:,}", style="bold")
            more = f" ({self._new_lines:,} new)" if self._new_lines else ""
            text.append(f" · escape: the end{more}")
        else:
            text.append(f"{self.total:,} lines")
        if self.search_text:
            text.append(f"   /{self.search_text}: ", style="bold")
            if self.searching:
                text.append("searching …")
            elif not self.matches:
                text.append("no match")
            else:
                index = self.matches.index(self.match) + 1 if self.match in self.matches else 0
                count = f"{len(self.matches):,}"
                text.append(f"{index:,} of {count}" if index else f"{count} matches")
                text.append(" (n/N)")
        if self.problem is not None and self.problems:
            numbers = [n for n, _s in self.problems]
            if self.problem in numbers:
                index = numbers.index(self.problem)
                severity = self.problems[index][1].value
                text.append(f"   {severity} {index + 1} of {len(numbers):,} (e/E)", style="bold")
        # One fixed line: no layout of the screen (this runs at every poll of a flood).
        self.query_one("#log-status", Static).update(text, layout=False)


def _step_at(result: PollResult, index: int) -> int:
    """The step of line `index` of a poll."""
    step = result.step_before
    for position, number in result.marks:
        if position > index:
            break
        step = number
    return step
