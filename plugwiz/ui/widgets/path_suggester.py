"""Completion of filesystem paths in an Input."""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester


class PathSuggester(Suggester):
    """Suggests the first entry of the typed directory that starts with the typed name.

    Relative paths are relative to `base_dir`. Directories get a trailing `/` so the next
    completion can go on into them. Hidden entries are offered only once a `.` is typed.
    """

    def __init__(self, base_dir: Path, suffixes: tuple[str, ...] = ()) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.base_dir = base_dir
        self.suffixes = suffixes

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        head, _, prefix = value.rpartition("/")
        directory_text = head + "/" if head or value.startswith("/") else ""
        directory = Path(os.path.expanduser(directory_text or "."))
        if not directory.is_absolute():
            directory = self.base_dir / directory
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return None
        for name in names:
            if not name.startswith(prefix) or name == prefix:
                continue
            if name.startswith(".") and not prefix.startswith("."):
                continue
            is_dir = (directory / name).is_dir()
            if not is_dir and self.suffixes and not name.endswith(self.suffixes):
                continue
            return directory_text + name + ("/" if is_dir else "")
        return None
