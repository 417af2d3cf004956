"""The build history on disk: entries per project, newest first, the oldest forgotten."""

from __future__ import annotations

import json
from pathlib import Path

from plugwiz.core.events import BuildFailed, SourceLocation, StepStarted
from plugwiz.core.history import BuildHistory, HistoryEntry, entry_id
from plugwiz.core.timeline import BuildTimeline


def entry(key: str, started: float, tmp_path: Path, outcome: str = "succeeded") -> HistoryEntry:
    timeline = BuildTimeline()
    timeline.apply(StepStarted(1, 1, "FROM x", "", at=started))
    timeline.end(outcome, started + 5)
    raw = tmp_path / f"{started}.log"
    view = tmp_path / f"{started}.view.log"
    raw.write_text("raw\n")
    view.write_text("view\n")
    failure = None
    if outcome == "failed":
        failure = BuildFailed(
            "`go build` exited with code 1",
            1,
            "RUN go build",
            ("a", "b"),
            (SourceLocation("/p/b.go", 9, 51, "undefined: h"),),
            "b",
            at=started + 5,
        )
    return HistoryEntry(
        id=entry_id(started),
        key=key,
        tag="t:latest",
        outcome=outcome,
        timeline=timeline,
        raw_log=str(raw),
        view_log=str(view),
        failure=failure,
    )


def test_entries_are_per_project_newest_first_and_round_trip(tmp_path: Path) -> None:
    history = BuildHistory(tmp_path / "history")
    history.record(entry("/a/plugwiz.yaml", 1000.0, tmp_path, "failed"))
    history.record(entry("/a/plugwiz.yaml", 2000.0, tmp_path))
    history.record(entry("other:latest", 1500.0, tmp_path))
    found = history.entries("/a/plugwiz.yaml")
    assert [e.started for e in found] == [2000.0, 1000.0]
    old = found[1]
    assert old.outcome == "failed" and old.seconds == 5.0
    assert old.failure is not None
    assert old.failure.locations == (SourceLocation("/p/b.go", 9, 51, "undefined: h"),)
    assert old.timeline.stages[0].builder_stage == ""
    assert [e.key for e in history.entries("other:latest")] == ["other:latest"]


def test_the_oldest_builds_are_forgotten_with_their_logs(tmp_path: Path) -> None:
    history = BuildHistory(tmp_path / "history", keep=3)
    entries = [entry("k", 1000.0 + i, tmp_path) for i in range(5)]
    for item in entries:
        history.record(item)
    kept = history.entries("k")
    assert [e.started for e in kept] == [1004.0, 1003.0, 1002.0]
    assert not Path(entries[0].raw_log).exists() and not Path(entries[0].view_log).exists()
    assert Path(entries[4].view_log).exists()


def test_an_unreadable_entry_is_skipped(tmp_path: Path) -> None:
    history = BuildHistory(tmp_path / "history")
    history.record(entry("k", 1000.0, tmp_path))
    directory = history.directory("k")
    (directory / "20990101-000000-000000.json").write_text("{not json")
    (directory / "20980101-000000-000000.json").write_text(json.dumps({"id": 1}))
    assert [e.started for e in history.entries("k")] == [1000.0]
