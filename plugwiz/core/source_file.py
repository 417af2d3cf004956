"""A user's source file opened for an edit in place: read as it is, written back the same
except for the edit, atomically.

The wizard's source view edits the user's own plugin file (not the copy in the build). A file
it cannot give back byte for byte (not UTF-8, mixed line endings) is shown read-only, with the
reason, and `$EDITOR` is the way to change it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from plugwiz.core.atomic import atomic_write

# Larger files are shown read-only: the view is for fixing a line, not for big files.
MAX_EDIT_BYTES = 2 * 1024 * 1024


class SourceChangedError(Exception):
    """The file changed on disk after it was opened; saving would lose that change."""


@dataclass(frozen=True)
class SourceText:
    """A file's text as read, and why it cannot be edited in place ("" when it can)."""

    path: Path
    text: str
    problem: str = ""

    @property
    def editable(self) -> bool:
        """True when saving gives back exactly what was read, plus the edit."""
        return not self.problem


def line_ending_problem(text: str) -> str:
    """Why `text`'s line endings would not survive an editor that uses one kind, or ""."""
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    cr = text.count("\r") - crlf
    if cr:
        return "it has old Mac line endings (CR)"
    if crlf and lf:
        return "it mixes Windows (CRLF) and Unix (LF) line endings"
    return ""


def read_source(path: Path) -> SourceText:
    """The file at `path`; OSError when it cannot be read."""
    data = path.read_bytes()
    if len(data) > MAX_EDIT_BYTES:
        return SourceText(path, data[:MAX_EDIT_BYTES].decode("utf-8", "replace"), "it is large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return SourceText(path, data.decode("utf-8", "replace"), "it is not UTF-8 text")
    return SourceText(path, text, line_ending_problem(text))


def save_source(source: SourceText, text: str) -> SourceText:
    """Write `text` over `source`'s file, atomically (same permissions), and return it as the
    new `SourceText`. Raises SourceChangedError when the file is no longer what was read,
    ValueError when the source cannot be edited in place, OSError when it cannot be written."""
    if not source.editable:
        raise ValueError(f"{source.path} cannot be edited here: {source.problem}")
    try:
        now = source.path.read_bytes()
    except FileNotFoundError:
        raise SourceChangedError(f"{source.path} was removed after it was opened") from None
    if now != source.text.encode("utf-8"):
        raise SourceChangedError(
            f"{source.path} changed on disk after it was opened: reload it (ctrl+l) first"
        )
    atomic_write(source.path, text)
    return SourceText(source.path, text)


__all__ = [
    "MAX_EDIT_BYTES",
    "SourceChangedError",
    "SourceText",
    "line_ending_problem",
    "read_source",
    "save_source",
]
