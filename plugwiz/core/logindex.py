"""A build's display log on disk, read back: filter it by step, search it, find its problems.

The build session writes every line it shows (step headers, output, warnings) to the display
log (`BuildSession.view_path`), so a search or a stage filter covers the whole build, not
only the lines the screen keeps. The format is plugwiz's own, whatever the builder: a step
starts with a header line `── Step N/M: TITLE`, so each line's step is known from the file
alone (the build history keeps the file). Pure; callers read big logs off the UI thread.
"""

from __future__ import annotations

import bisect
import enum
import itertools
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

STEP_MARK = "──"  # starts the log line of a step header
WARNING_MARK = "warning:"
_HEADER = f"{STEP_MARK} Step "
_HEADER_RE = re.compile(rf"{STEP_MARK} Step (\d+)/\d+: ")
# Go's compiler and vet: `path.go:LINE:COL: message` (column optional).
_GO_LOCATION_RE = re.compile(r"^\s*[^\s:]+\.go:\d+(?::\d+)?: (?P<msg>.+)$")
_ERROR_PREFIXES = (
    "ERROR",
    "error:",
    "Error:",
    "fatal error:",
    "panic:",
    "plugwiz-loadcheck: FAIL",
    "go: error",
)
# Lines that may be problems, found in the whole text at once (C speed); each is then judged
# by line_severity.
_CANDIDATE_RE = re.compile(
    r"^(?:[^\n]*\.go:\d|[Ww][Aa][Rr][Nn][Ii][Nn][Gg]:|\[warning\]|"
    + "|".join(re.escape(p) for p in _ERROR_PREFIXES)
    + ")",
    re.MULTILINE,
)


def step_header(number: int, total: int, title: str) -> str:
    """The display log's line for the start of a step."""
    return f"{STEP_MARK} Step {number}/{total}: {title}"


class Severity(enum.Enum):
    """A line a person looks for after a build: an error or a warning."""

    ERROR = "error"
    WARNING = "warning"


def line_severity(line: str) -> Severity | None:
    """ERROR for a compiler error, a Go panic, a load-check failure; WARNING for a warning;
    None for any other line. Looks at what Go and plugwiz print, not at a builder's text."""
    if line.startswith(WARNING_MARK):
        return Severity.WARNING
    if ".go:" in line:
        match = _GO_LOCATION_RE.match(line)
        if match:
            if match.group("msg").lower().startswith("warning"):
                return Severity.WARNING
            return Severity.ERROR
    if line.startswith(_ERROR_PREFIXES):
        return Severity.ERROR
    if line[:8].lower() == "warning:" or line.startswith("[warning]"):
        return Severity.WARNING
    return None


def smart_case(query: str) -> bool:
    """True when a search for `query` is case-sensitive: it has a capital letter."""
    return query != query.lower()


@dataclass
class LogSlice:
    """Some lines of a log with their line numbers (0-based) in the whole log."""

    ranges: list[range]
    lines: list[str]
    _starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        position = 0
        for span in self.ranges:
            self._starts.append(position)
            position += len(span)

    def __len__(self) -> int:
        return len(self.lines)

    def line_number(self, position: int) -> int:
        """The line number in the whole log of the slice's `position`-th line."""
        index = bisect.bisect_right(self._starts, position) - 1
        return self.ranges[index][position - self._starts[index]]

    def extend(self, start: int, lines: list[str]) -> None:
        """Add `lines`, which are lines `start`... of the whole log (after every line the
        slice has)."""
        if not lines:
            return
        span = range(start, start + len(lines))
        if self.ranges and self.ranges[-1].stop == start:
            last = self.ranges[-1]
            self.ranges[-1] = range(last.start, span.stop)
        else:
            self._starts.append(len(self.lines))
            self.ranges.append(span)
        self.lines.extend(lines)

    def position(self, line_number: int) -> int | None:
        """Where line `line_number` of the whole log is in the slice, if it is."""
        for start, span in zip(self._starts, self.ranges, strict=True):
            if line_number in span:
                return start + (line_number - span.start)
        return None


@dataclass
class LogText:
    """A display log read back: its lines, where each step starts, and its problems."""

    lines: list[str]
    step_starts: list[tuple[int, int]]  # (line number of the header, step number), in order
    size: int = 0  # bytes read: the file grows while a build runs
    _problems: list[tuple[int, Severity]] | None = field(default=None, repr=False)
    _text: str | None = field(default=None, repr=False)
    _lower: str | None = field(default=None, repr=False)
    _offsets: list[int] | None = field(default=None, repr=False)

    @classmethod
    def read(cls, path: Path) -> LogText:
        """Every complete line of the display log at `path` (a line still being written is
        left for the next read). A missing file is an empty log."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return cls([], [])
        end = data.rfind(b"\n") + 1
        text = data[: end - 1].decode("utf-8", "replace") if end else ""
        lines = text.split("\n") if end else []
        return cls(lines, _step_starts(text), size=end, _text=text)

    @classmethod
    def from_lines(cls, lines: list[str], size: int = 0) -> LogText:
        """A log of `lines` (headers found by their mark)."""
        text = "\n".join(lines)
        return cls(lines, _step_starts(text), size, _text=text)

    def __len__(self) -> int:
        return len(self.lines)

    def step_of(self, line_number: int) -> int:
        """The step line `line_number` belongs to (0 before the first step)."""
        index = bisect.bisect_right(self.step_starts, (line_number, 1 << 62)) - 1
        return self.step_starts[index][1] if index >= 0 else 0

    def steps(self, steps: Collection[int]) -> LogSlice:
        """The lines of `steps` (headers included), in log order."""
        wanted = set(steps)
        ranges: list[range] = []
        bounds = [*self.step_starts, (len(self.lines), 0)]
        for (start, number), (end, _next) in zip(bounds, bounds[1:], strict=False):
            if number in wanted and end > start:
                if ranges and ranges[-1].stop == start:
                    ranges[-1] = range(ranges[-1].start, end)  # adjacent steps: one range
                else:
                    ranges.append(range(start, end))
        lines: list[str] = []
        for span in ranges:
            lines.extend(self.lines[span.start : span.stop])
        return LogSlice(ranges, lines)

    def window(self, center: int, size: int) -> LogSlice:
        """`size` lines around line `center` (fewer at either end)."""
        start = max(0, min(center - size // 2, len(self.lines) - size))
        span = range(start, min(len(self.lines), start + size))
        return LogSlice([span], self.lines[span.start : span.stop])

    @property
    def text(self) -> str:
        """The whole log as one string (lines joined by newlines)."""
        if self._text is None:
            self._text = "\n".join(self.lines)
        return self._text

    def _line_at(self, offset: int) -> int:
        """The line number of character `offset` of `text`."""
        if self._offsets is None:
            self._offsets = list(itertools.accumulate((len(x) + 1 for x in self.lines), initial=0))
        return bisect.bisect_right(self._offsets, offset) - 1

    def search(self, query: str) -> list[int]:
        """Line numbers of the lines that contain `query` (case-insensitive unless it has a
        capital letter)."""
        if not query or "\n" in query:
            return []
        if smart_case(query):
            haystack = self.text
        else:
            if self._lower is None:
                self._lower = self.text.lower()
            haystack, query = self._lower, query.lower()
        found: list[int] = []
        position = haystack.find(query)
        while position >= 0:
            line = self._line_at(position)
            found.append(line)
            offsets = self._offsets
            assert offsets is not None  # made by _line_at
            position = haystack.find(query, offsets[line + 1])  # one match per line
        return found

    def problems(self) -> list[tuple[int, Severity]]:
        """(line number, severity) of every error and warning line, in order."""
        if self._problems is None:
            found: list[tuple[int, Severity]] = []
            for match in _CANDIDATE_RE.finditer(self.text):
                index = self._line_at(match.start())
                severity = line_severity(self.lines[index])
                if severity is not None:
                    found.append((index, severity))
            self._problems = found
        return self._problems


def _step_starts(text: str) -> list[tuple[int, int]]:
    """(line number, step) of each step header in `text`, found with `str.find` over the
    whole text (a regex anchored at each line start is several times slower)."""
    starts: list[tuple[int, int]] = []
    line = position = 0
    start = 0 if text.startswith(_HEADER) else text.find("\n" + _HEADER)
    while start >= 0:
        if start or text[0] == "\n":
            start += 1  # past the newline, to the header itself
        line += text.count("\n", position, start)
        position = start
        header = _HEADER_RE.match(text, start)
        if header:
            starts.append((line, int(header.group(1))))
        start = text.find("\n" + _HEADER, start)
    return starts


def next_after(numbers: list[int], current: int | None, *, backwards: bool = False) -> int | None:
    """The first of the sorted `numbers` after `current` (before it, `backwards`), wrapping
    around; the first (last) one when `current` is None."""
    if not numbers:
        return None
    if current is None:
        return numbers[-1] if backwards else numbers[0]
    if backwards:
        index = bisect.bisect_left(numbers, current) - 1
        return numbers[index] if index >= 0 else numbers[-1]
    index = bisect.bisect_right(numbers, current)
    return numbers[index] if index < len(numbers) else numbers[0]


__all__ = [
    "STEP_MARK",
    "WARNING_MARK",
    "LogSlice",
    "LogText",
    "Severity",
    "line_severity",
    "next_after",
    "smart_case",
    "step_header",
]
