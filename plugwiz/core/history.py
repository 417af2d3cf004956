"""The last builds of each project, on disk: when, how it ended, its stages' timings, its logs.

One directory per project under `cache_dir()/history`, named by a hash of the project's key
(its file's absolute path, or the image tag when it has no file), with one JSON file per
build. A build's logs stay where the build wrote them (`cache_dir()/logs`); an entry names
them, and forgetting an old entry removes them too. Best effort throughout: a history that
cannot be read or written loses entries, never a build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from plugwiz.core.atomic import atomic_write
from plugwiz.core.events import BuildFailed, SourceLocation
from plugwiz.core.timeline import BuildTimeline

# How many builds of one project the history keeps.
KEEP_BUILDS = 20
_FORMAT = 1


@dataclass(frozen=True)
class HistoryEntry:
    """One build of a project as the history keeps it."""

    id: str  # sortable: the start time, 20240301-120000-123456
    key: str
    tag: str
    outcome: str  # succeeded, failed, cancelled, crashed
    timeline: BuildTimeline = field(compare=False)
    image_id: str = ""
    message: str = ""  # why it failed or crashed, in a sentence
    raw_log: str = ""  # the builder's full log
    view_log: str = ""  # the display log (what the explorer shows and searches)
    failure: BuildFailed | None = None
    explanation: str = ""  # why the plugin would not load (a failed load check), in words

    @property
    def started(self) -> float:
        """When the build started (seconds since the epoch)."""
        return self.timeline.started

    @property
    def seconds(self) -> float:
        """How long the build took."""
        return self.timeline.seconds(self.timeline.ended or self.timeline.started)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict that `from_json` reads back."""
        return {
            "format": _FORMAT,
            "id": self.id,
            "key": self.key,
            "tag": self.tag,
            "outcome": self.outcome,
            "image_id": self.image_id,
            "message": self.message,
            "raw_log": self.raw_log,
            "view_log": self.view_log,
            "failure": None if self.failure is None else failure_to_json(self.failure),
            "explanation": self.explanation,
            "timeline": self.timeline.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HistoryEntry:
        """An entry from `to_json`'s dict; ValueError when it is not one."""
        try:
            failure = data.get("failure")
            return cls(
                id=str(data["id"]),
                key=str(data["key"]),
                tag=str(data["tag"]),
                outcome=str(data["outcome"]),
                timeline=BuildTimeline.from_json(data["timeline"]),
                image_id=str(data.get("image_id", "")),
                message=str(data.get("message", "")),
                raw_log=str(data.get("raw_log", "")),
                view_log=str(data.get("view_log", "")),
                failure=failure_from_json(failure) if isinstance(failure, dict) else None,
                explanation=str(data.get("explanation", "")),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a history entry: {exc}") from None


def failure_to_json(failed: BuildFailed) -> dict[str, Any]:
    """A BuildFailed as JSON (its explanation is kept apart, as text)."""
    return {
        "message": failed.message,
        "step": failed.step,
        "title": failed.title,
        "last_lines": list(failed.last_lines),
        "locations": [[x.path, x.line, x.column, x.message] for x in failed.locations],
        "plugin": failed.plugin,
        "at": failed.at,
    }


def failure_from_json(data: dict[str, Any]) -> BuildFailed:
    """The BuildFailed `failure_to_json` wrote (without its explanation object)."""
    return BuildFailed(
        message=str(data["message"]),
        step=int(data["step"]),
        title=str(data["title"]),
        last_lines=tuple(str(x) for x in data.get("last_lines", [])),
        locations=tuple(
            SourceLocation(str(p), int(line), int(col), str(msg))
            for p, line, col, msg in data.get("locations", [])
        ),
        plugin=None if data.get("plugin") is None else str(data["plugin"]),
        at=float(data.get("at", 0.0)),
    )


def entry_id(started: float) -> str:
    """A sortable id for a build that started at `started`."""
    return datetime.fromtimestamp(started).strftime("%Y%m%d-%H%M%S-%f")


class BuildHistory:
    """The builds of each project, newest first, at most `keep` of each."""

    def __init__(self, root: Path, keep: int = KEEP_BUILDS) -> None:
        self.root = root
        self.keep = keep

    def directory(self, key: str) -> Path:
        """Where the builds of the project `key` are kept."""
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
        return self.root / digest

    def record(self, entry: HistoryEntry) -> None:
        """Keep `entry` (replacing one with its id) and forget the project's oldest builds
        beyond `keep`, with their logs."""
        directory = self.directory(entry.key)
        with contextlib.suppress(OSError):
            directory.mkdir(parents=True, exist_ok=True)
            atomic_write(directory / f"{entry.id}.json", json.dumps(entry.to_json()) + "\n")
        for old in self.entries(entry.key)[self.keep :]:
            self.forget(old)

    def entries(self, key: str) -> list[HistoryEntry]:
        """The builds of project `key`, newest first (unreadable files are skipped)."""
        directory = self.directory(key)
        try:
            files = sorted(directory.glob("*.json"), reverse=True)
        except OSError:
            return []
        found: list[HistoryEntry] = []
        for path in files:
            try:
                entry = HistoryEntry.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
            if entry.key == key:
                found.append(entry)
        return found

    def forget(self, entry: HistoryEntry) -> None:
        """Remove `entry` and its logs."""
        with contextlib.suppress(OSError):
            (self.directory(entry.key) / f"{entry.id}.json").unlink(missing_ok=True)
        for log in (entry.raw_log, entry.view_log):
            if log:
                with contextlib.suppress(OSError):
                    Path(log).unlink(missing_ok=True)


__all__ = [
    "KEEP_BUILDS",
    "BuildHistory",
    "HistoryEntry",
    "entry_id",
    "failure_from_json",
    "failure_to_json",
]
