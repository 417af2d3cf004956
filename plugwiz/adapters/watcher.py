"""The file-watcher port (`plugwiz.core.watch.FileWatcher`) on watchfiles.

watchfiles (Rust `notify`: inotify on Linux) reports changes as they happen and groups a
burst of them (an editor's write, rename and chmod) into one set: plugwiz never polls files
itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

# A burst ends when nothing changed for STEP_MS; a long burst is cut after DEBOUNCE_MS.
STEP_MS = 50
DEBOUNCE_MS = 1600


class WatchfilesWatcher:
    """`FileWatcher` on watchfiles."""

    def __init__(self, *, step_ms: int = STEP_MS, debounce_ms: int = DEBOUNCE_MS) -> None:
        self.step_ms = step_ms
        self.debounce_ms = debounce_ms

    def watch(self, roots: Sequence[Path], stop: threading.Event) -> Iterator[set[Path]]:
        """Yield the paths changed in each burst under `roots` until `stop` is set."""
        from watchfiles import DefaultFilter, watch

        existing = [str(root) for root in roots if root.exists()]
        if not existing:
            return
        for changes in watch(
            *existing,
            watch_filter=DefaultFilter(),
            stop_event=stop,
            step=self.step_ms,
            debounce=self.debounce_ms,
            raise_interrupt=False,
            # Wake up now and then so a set `stop` ends the watch promptly.
            rust_timeout=500,
            yield_on_timeout=False,
        ):
            yield {Path(path) for _change, path in changes}
