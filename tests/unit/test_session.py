"""The build session without a terminal: states, cancel, floods, per-plugin outcomes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from plugwiz.adapters.scripted import (
    ScriptedEngine,
    realistic_build,
    successful_events,
    unavailable,
)
from plugwiz.core.events import BuildEvent, BuildFinished, OutputLines, StepStarted
from plugwiz.core.model import (
    GoMod,
    Host,
    HostFacts,
    PluginFacts,
    PluginKind,
    PluginSource,
    Project,
    ProjectError,
    ResolvedHost,
    ResolvedProject,
)
from plugwiz.core.ports import CommitInfo
from plugwiz.core.session import TAIL_LINES, BuildSession, BuildState, PluginOutcome

SHA = "0123456789abcdef0123456789abcdef01234567"
FACTS = HostFacts(
    gomod=GoMod(module="example.com/plugwiz-demo", go="1.19"),
    main_packages=("cmd/demo-host",),
    plugin_packages=("plugins/reverse", "plugins/upper"),
)


def resolved(tmp_path: Path, *names: str) -> ResolvedProject:
    plugins = []
    for name in names or ("hello",):
        (tmp_path / f"{name}.go").write_text("package main\n")
        plugins.append(PluginSource(f"{name}.go"))
    project = Project(host=Host(repo="demo", ref="main"), plugins=tuple(plugins), base_dir=tmp_path)
    host = ResolvedHost("demo", "main", CommitInfo(SHA, "s", "a", "2024-01-01"), FACTS)
    return ResolvedProject(project, host, tuple(PluginFacts(PluginKind.FILE) for _ in plugins))


def start(
    session: BuildSession, target: ResolvedProject, tmp_path: Path, log: str = "log", key: str = ""
) -> None:
    repo: Any = None  # the scripted engine never reads the host
    session.start(target, repo, tag="t:latest", log_path=tmp_path / log, history_key=key)


def test_a_successful_build_goes_through_its_states_and_keeps_the_report(tmp_path: Path) -> None:
    engine = ScriptedEngine(events=successful_events("t:latest"))
    session = BuildSession(lambda: engine)
    seen: list[BuildState] = []
    session.add_listener(lambda s: seen.append(s.state))
    start(session, resolved(tmp_path), tmp_path)
    assert session.active
    session.drain()
    assert seen == [BuildState.STARTING, BuildState.RUNNING, BuildState.SUCCEEDED]
    assert session.report is not None and session.report.tag == "t:latest"
    assert session.lines_seen == 60
    assert session.tail[0] == "── Step 1/3: RUN step 1"
    assert session.elapsed() > 0
    assert session.wait(1)


def test_cancel_stops_a_held_build_and_says_cancelled(tmp_path: Path) -> None:
    engine = ScriptedEngine(events=successful_events("t:latest"), hold_at=5)
    session = BuildSession(lambda: engine)
    start(session, resolved(tmp_path), tmp_path)
    assert engine.holding.wait(5)
    assert session.cancel()
    assert session.state is BuildState.CANCELLING
    assert session.cancel()  # a second press changes nothing
    session.drain()
    assert session.state.value == "cancelled"
    assert session.report is None
    assert not session.cancel()  # nothing left to cancel


def test_cancel_before_anything_runs_is_refused(tmp_path: Path) -> None:
    session = BuildSession(lambda: ScriptedEngine())
    assert not session.cancel()
    assert session.state is BuildState.IDLE


def test_an_unreachable_engine_is_unavailable_with_its_message(tmp_path: Path) -> None:
    engine = ScriptedEngine(ping_error=unavailable("start dockerd"))
    session = BuildSession(lambda: engine)
    start(session, resolved(tmp_path), tmp_path)
    session.drain()
    assert session.state is BuildState.UNAVAILABLE
    assert session.message == "start dockerd"


def test_a_project_problem_in_the_engine_is_a_crash_with_the_message(tmp_path: Path) -> None:
    def script(target: ResolvedProject, tag: str) -> list[BuildEvent]:
        raise ProjectError("builder image golang:9 has Go 1.19")

    session = BuildSession(lambda: ScriptedEngine(script=script))
    start(session, resolved(tmp_path), tmp_path)
    session.drain()
    assert session.state is BuildState.CRASHED
    assert "golang:9" in session.message


def test_starting_twice_is_refused(tmp_path: Path) -> None:
    engine = ScriptedEngine(events=successful_events("t:latest"), hold_at=1)
    session = BuildSession(lambda: engine)
    start(session, resolved(tmp_path), tmp_path)
    with pytest.raises(RuntimeError):
        start(session, resolved(tmp_path), tmp_path)
    engine.release.set()
    session.drain()


def test_a_flood_is_taken_in_budgeted_polls_and_the_tail_is_capped(tmp_path: Path) -> None:
    lines = 200_000
    flood: list[BuildEvent] = [StepStarted(1, 1, "RUN go build ./...")]
    flood += [OutputLines((f"line {i}",), 1) for i in range(lines)]
    flood.append(BuildFinished("sha256:" + "ab" * 32, "t:latest"))
    session = BuildSession(lambda: ScriptedEngine(events=flood))
    start(session, resolved(tmp_path), tmp_path)
    slowest = 0.0
    while session.active:
        began = time.perf_counter()
        session.poll(budget_s=0.02)
        slowest = max(slowest, time.perf_counter() - began)
        time.sleep(0.005)
    assert session.state is BuildState.SUCCEEDED
    assert session.lines_seen == lines
    assert len(session.tail) == TAIL_LINES
    assert session.tail[-1] == f"line {lines - 1}"
    # A poll gives the consumer back its thread soon (1024 lines between clock checks).
    assert slowest < 0.25


def test_a_compile_failure_marks_that_plugin_failed_at_its_line(tmp_path: Path) -> None:
    target = resolved(tmp_path, "good", "broken", "later")
    session = BuildSession(lambda: ScriptedEngine(script=realistic_build))
    start(session, target, tmp_path)
    session.drain()
    assert session.state is BuildState.FAILED
    results = session.plugin_results
    assert results["good"].outcome is PluginOutcome.BUILT
    assert results["broken"].outcome is PluginOutcome.FAILED
    assert results["broken"].describe() == "failed at line 9"
    assert "later" not in results


def test_a_successful_build_marks_every_plugin_loaded(tmp_path: Path) -> None:
    target = resolved(tmp_path, "one", "two")
    session = BuildSession(lambda: ScriptedEngine(script=realistic_build))
    start(session, target, tmp_path)
    session.drain()
    assert {r.describe() for r in session.plugin_results.values()} == {"loads"}
    # The result remembers the file it was built from, so an edit makes it stale.
    assert session.plugin_results["one"].signature[0][0].endswith("one.go")


# -- what the build explorer shows: the display log, the timeline, the history -----------------


def test_the_display_log_holds_every_line_even_those_a_flood_drops(tmp_path: Path) -> None:
    lines = 30_000
    flood: list[BuildEvent] = [StepStarted(1, 2, "RUN one")]
    flood += [OutputLines((f"line {i}",), 1) for i in range(lines)]
    flood.append(StepStarted(2, 2, "RUN two"))
    flood += [OutputLines((f"two {i}",), 2) for i in range(10)]
    flood.append(BuildFinished("sha256:" + "ab" * 32, "t:latest"))
    session = BuildSession(lambda: ScriptedEngine(events=flood))
    start(session, resolved(tmp_path), tmp_path)
    shown: list[tuple[int, int, int]] = []  # (first line, lines, step of the last run)
    while session.active:
        result = session.poll(budget_s=10)
        runs = list(result.steps_of_lines())
        if runs:
            shown.append((result.first_line, len(result.lines), runs[-1][2]))
        time.sleep(0.005)
    assert session.view_path is not None
    written = session.view_path.read_text().split("\n")[:-1]
    assert len(written) == session.view_lines == lines + 12
    assert written[0] == "── Step 1/2: RUN one" and written[-1] == "two 9"
    # Each poll says where its lines are in the display log, and which step they are of.
    first, count, step = shown[-1]
    assert written[first : first + count][-1] == "two 9" and step == 2


def test_the_timeline_follows_the_events_with_their_times(tmp_path: Path) -> None:
    from plugwiz.adapters.scripted import FakeClock
    from plugwiz.core.timeline import Status

    clock = FakeClock()
    target = resolved(tmp_path, "one")
    engine = ScriptedEngine(
        script=lambda r, t: realistic_build(
            r, t, lines_per_step=2, cached_stages=("toolchain", "host")
        ),
        clock=clock,
    )
    session = BuildSession(lambda: engine)
    start(session, target, tmp_path)
    session.drain()
    timeline = session.timeline
    assert [s.key for s in timeline.stages] == ["host", "plugin:one", "check", "runtime"]
    found = {s.key: timeline.stage_status(s, clock()).status for s in timeline.stages}
    assert found == {
        "host": Status.CACHED,
        "plugin:one": Status.DONE,
        "check": Status.DONE,
        "runtime": Status.DONE,
    }
    plugin = timeline.stage("plugin:one")
    assert plugin is not None and plugin.source_path == str(tmp_path / "one.go")
    # Its RUN's two output lines of 0.05 s and five step events of 0.4 s: made-up, but exact.
    assert timeline.stage_status(plugin, clock()).seconds == pytest.approx(2.1, abs=1e-3)


def test_each_build_with_a_key_is_kept_in_the_history(tmp_path: Path) -> None:
    from plugwiz.core.history import BuildHistory

    history = BuildHistory(tmp_path / "history")
    engine = ScriptedEngine(script=realistic_build)
    session = BuildSession(lambda: engine, history=history)
    target = resolved(tmp_path, "broken")
    start(session, target, tmp_path, "a.log", key="k")
    session.drain()
    start(session, target, tmp_path, "b.log")
    session.drain()  # no key: not kept
    entries = history.entries("k")
    assert [e.outcome for e in entries] == ["failed"]
    kept = entries[0]
    assert kept.failure is not None and kept.failure.plugin == "broken"
    assert kept.view_log == str(tmp_path / "a.view.log")
    assert "undefinedHelper" in Path(kept.view_log).read_text()
    assert kept.timeline.failed_step == kept.failure.step


def test_a_smoke_run_joins_the_timeline_and_the_history(tmp_path: Path) -> None:
    from plugwiz.core.history import BuildHistory
    from plugwiz.core.timeline import Status

    history = BuildHistory(tmp_path / "history")
    session = BuildSession(
        lambda: ScriptedEngine(events=successful_events("t:latest")), history=history
    )
    start(session, resolved(tmp_path), tmp_path, "a.log", key="k")
    session.drain()
    session.record_smoke(10.0, 12.5, ok=True, detail="exit code 0")
    smoke = session.timeline.stages[-1]
    assert smoke.key == "smoke"
    status = session.timeline.stage_status(smoke, 99.0)
    assert status.status is Status.DONE and status.seconds == 2.5
    assert history.entries("k")[0].timeline.smoke is not None


def test_an_unreachable_engine_is_not_a_build_for_the_history(tmp_path: Path) -> None:
    from plugwiz.core.history import BuildHistory

    history = BuildHistory(tmp_path / "history")
    session = BuildSession(lambda: ScriptedEngine(ping_error=unavailable()), history=history)
    start(session, resolved(tmp_path), tmp_path, "a.log", key="k")
    session.drain()
    assert session.state is BuildState.UNAVAILABLE
    assert history.entries("k") == []


def test_a_reader_can_have_every_line_shown_written_before_it_reads(tmp_path: Path) -> None:
    events: list[BuildEvent] = [StepStarted(1, 1, "RUN x")]
    events += [OutputLines((f"line {i}",), 1) for i in range(100)]
    events.append(BuildFinished("sha256:" + "ab" * 32, "t:latest"))
    engine = ScriptedEngine(events=events, hold_at=len(events) - 1)
    session = BuildSession(lambda: engine)
    start(session, resolved(tmp_path), tmp_path)
    assert engine.holding.wait(5)
    deadline = time.monotonic() + 5
    while session.view_lines < 101 and time.monotonic() < deadline:
        session.poll()
        time.sleep(0.01)
    assert session.view_path is not None
    # Written in chunks: a reader (a search) asks first.
    session.flush_view()
    assert session.view_path.read_text().count("\n") == session.view_lines == 101
    engine.release.set()
    session.drain()


def test_a_buildkit_build_is_planned_with_buildkits_layout(tmp_path: Path) -> None:
    from plugwiz.core.timeline import Status

    engine = ScriptedEngine(
        script=lambda r, t: realistic_build(
            r, t, lines_per_step=1, cached_stages=("source",), buildkit=True
        ),
        buildkit=True,
    )
    session = BuildSession(lambda: engine)
    start(session, resolved(tmp_path, "one"), tmp_path)
    session.drain()
    timeline = session.timeline
    assert timeline.overlapping
    # BuildKit's stages and step numbers: every step lands in a planned stage.
    assert [s.key for s in timeline.stages] == ["host", "plugin:one", "check", "runtime"]
    host = timeline.stage("host")
    assert host is not None and host.builder_stages == ("host", "source", "bundled")
    rows = {row.label.split()[0]: timeline.row_status(host, row, 0).status for row in host.rows}
    assert rows == {"toolchain": Status.CACHED, "host": Status.DONE, "bundled": Status.DONE}
