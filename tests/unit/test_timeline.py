"""Stages and their timeline: from the plan, from recorded classic-builder logs, from events.

The logs in tests/fixtures/buildlogs are real: `plugwiz build --backend classic` of the demo
with its hello.go (the toolchain stage made cold by a build variable), then the same again.
BuildKit's are in tests/unit/test_buildkit_events.py."""

from __future__ import annotations

from pathlib import Path

from plugwiz.adapters.scripted import FakeClock, realistic_build
from plugwiz.core.events import (
    BuildCancelled,
    BuildEvent,
    BuildFailed,
    BuildFinished,
    BuildStreamParser,
    StepFinished,
    StepStarted,
)
from plugwiz.core.model import GoMod, Host, HostFacts, PluginSource, Project, ResolvedProject
from plugwiz.core.timeline import (
    BuildTimeline,
    StageKind,
    Status,
    compare_timelines,
    dockerfile_steps,
    format_seconds,
    format_timings,
    plan_stages,
    slowest_change,
)
from tests.helpers import resolved_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LOGS = FIXTURES / "buildlogs"
SHA = "ffe6da1a3e4aa355d2a2714e200f791c8afb2d4d"


def demo_like(*plugins: PluginSource, requires: bool = False) -> ResolvedProject:
    """Shaped like the demo host the recorded logs built (hello as the custom plugin)."""
    facts = HostFacts(
        gomod=GoMod(
            module="example.com/plugwiz-demo",
            go="1.19",
            requires=("example.com/dep",) if requires else (),
        ),
        main_packages=("cmd/demo-host",),
        plugin_packages=("plugins/reverse", "plugins/upper"),
    )
    plugins = plugins or (PluginSource("plugins/hello.go"),)
    project = Project(host=Host(repo="/x", commit=SHA), plugins=plugins, base_dir=FIXTURES)
    return resolved_for(project, facts, sha=SHA)


def replay(resolved: ResolvedProject, log: Path) -> list[BuildEvent]:
    """The events the parser makes of a recorded build log, one line a second."""
    clock = FakeClock()
    parser = BuildStreamParser(resolved, clock=clock)
    events: list[BuildEvent] = []
    for line in log.read_text().splitlines():
        if line.startswith("# "):
            continue  # plugwiz's own notes in the log, not the builder's
        clock.advance(1.0)
        events.extend(parser.feed({"stream": line + "\n"}))
    events.extend(parser.close())
    events.append(BuildFinished("sha256:x", "t", at=clock()))
    return events


def timeline_of(resolved: ResolvedProject, events: list[BuildEvent]) -> BuildTimeline:
    timeline = BuildTimeline(plan_stages(resolved))
    for event in events:
        timeline.apply(event)
    return timeline


def statuses(timeline: BuildTimeline, now: float = 0.0) -> dict[str, Status]:
    return {s.key: timeline.stage_status(s, now).status for s in timeline.stages}


def test_dockerfile_steps_join_continuations_and_follow_stages() -> None:
    text = (
        "# comment\nFROM golang AS host\nENV A=1 \\\n    B=2\nRUN a && \\\n"
        '    # a comment inside\n    b\n\nFROM host AS plugin-1\nFROM debian\nCMD ["x"]\n'
    )
    assert dockerfile_steps(text) == [
        ("host", "FROM golang AS host"),
        ("host", "ENV A=1 B=2"),
        ("host", "RUN a && b"),
        ("plugin-1", "FROM host AS plugin-1"),
        ("", "FROM debian"),
        ("", 'CMD ["x"]'),
    ]


def test_the_plan_has_host_parts_one_stage_per_plugin_the_check_and_the_runtime() -> None:
    stages = plan_stages(demo_like(requires=True))
    assert [(s.key, s.label, s.kind, s.builder_stage) for s in stages] == [
        ("host", "host", StageKind.HOST, "host"),
        ("plugin:hello", "plugin hello", StageKind.PLUGIN, "plugin-1"),
        ("check", "load check", StageKind.CHECK, "check"),
        ("runtime", "runtime image", StageKind.RUNTIME, ""),
    ]
    host = stages[0]
    assert [row.label for row in host.rows] == [
        "toolchain  golang:1.19-bookworm",
        "modules",
        "host build",
        "bundled  reverse, upper",
    ]
    # The toolchain stage (the standard library compiled once per builder) is the host's.
    assert host.builder_stages == ("host", "toolchain")
    assert host.rows[0].steps == (1, 2, 3, 4, 5)  # FROM, ENV, RUN; FROM toolchain, WORKDIR
    assert host.bundled == ("reverse", "upper")
    plugin = stages[1]
    assert plugin.source == "plugins/hello.go"
    assert plugin.source_path == str(FIXTURES / "plugins" / "hello.go")
    assert [row.label for row in plugin.rows] == [
        "from the host stage",
        "copy plugins/hello.go",
        "compile hello.so",
    ]
    # Numbered as the builder numbers them: every instruction, in order.
    numbers = [n for s in stages for n in s.steps]
    assert numbers == list(range(1, len(numbers) + 1))


def test_a_recorded_cold_build_is_done_everywhere_with_durations() -> None:
    resolved = demo_like()
    events = replay(resolved, LOGS / "demo-cold.log")
    finished = [e for e in events if isinstance(e, StepFinished)]
    assert len(finished) == 20 and not any(e.cached for e in finished)
    timeline = timeline_of(resolved, events)
    assert statuses(timeline) == {
        "host": Status.DONE,
        "plugin:hello": Status.DONE,
        "check": Status.DONE,
        "runtime": Status.DONE,
    }
    # The daemon's own last step (the context LABEL) joins the runtime stage.
    runtime = timeline.stage("runtime")
    assert runtime is not None and runtime.steps[-1] == 20
    assert timeline.cached_share() == (0, 15)
    host = timeline.stage("host")
    assert host is not None
    assert timeline.stage_status(host, 0).seconds > 0


def test_a_recorded_cached_rebuild_shows_every_stage_cached() -> None:
    resolved = demo_like()
    events = replay(resolved, LOGS / "demo-cached.log")
    cached = [e.number for e in events if isinstance(e, StepFinished) and e.cached]
    # Every step but the five FROMs came from the cache.
    assert cached == [n for n in range(1, 21) if n not in (1, 4, 9, 12, 14)]
    timeline = timeline_of(resolved, events)
    assert set(statuses(timeline).values()) == {Status.CACHED}
    assert timeline.cached_share() == (15, 15)
    host = timeline.stage("host")
    assert host is not None
    rows = [timeline.row_status(host, row, 0).status for row in host.rows]
    assert rows == [Status.CACHED] * 3


def test_a_running_build_has_waiting_running_and_done_stages() -> None:
    resolved = demo_like()
    timeline = BuildTimeline(plan_stages(resolved))
    timeline.apply(StepStarted(1, 17, "FROM golang AS host", "host", at=100.0))
    timeline.apply(StepFinished(1, at=100.5))
    timeline.apply(StepStarted(2, 17, "ENV", "host", at=101.0))
    assert statuses(timeline, now=105.0) == {
        "host": Status.RUNNING,
        "plugin:hello": Status.WAITING,
        "check": Status.WAITING,
        "runtime": Status.WAITING,
    }
    host = timeline.stage("host")
    assert host is not None
    # A running stage's duration grows with the clock.
    assert timeline.stage_status(host, 105.0).seconds == 5.0
    assert timeline.stage_status(host, 107.0).seconds == 7.0


def test_a_failed_plugin_fails_its_stage_and_the_rest_is_not_run() -> None:
    resolved = demo_like(PluginSource("plugins/broken.go"))
    clock = FakeClock()
    events: list[BuildEvent] = []
    for event in realistic_build(resolved, "t", lines_per_step=2):
        clock.advance(1.0)
        if isinstance(event, StepStarted | StepFinished | BuildFailed | BuildFinished):
            from dataclasses import replace

            event = replace(event, at=clock())
        events.append(event)
    timeline = timeline_of(resolved, events)
    assert timeline.outcome == "failed"
    assert statuses(timeline) == {
        "host": Status.DONE,
        "plugin:broken": Status.FAILED,
        "check": Status.NOT_RUN,
        "runtime": Status.NOT_RUN,
    }
    assert "plugin broken  failed" in format_timings(timeline, clock())


def test_a_cancelled_build_stops_the_running_stage() -> None:
    timeline = BuildTimeline(plan_stages(demo_like()))
    timeline.apply(StepStarted(1, 17, "FROM golang AS host", "host", at=1.0))
    timeline.apply(BuildCancelled(at=3.0))
    host = timeline.stage("host")
    assert host is not None
    status = timeline.stage_status(host, 99.0)
    assert status.status is Status.STOPPED and status.seconds == 2.0


def test_an_unknown_stage_from_the_events_gets_its_own_entry() -> None:
    timeline = BuildTimeline(plan_stages(demo_like()))
    timeline.apply(StepStarted(1, 2, "FROM x AS extra", "extra", at=1.0))
    assert [s.key for s in timeline.stages][-1] == "stage:extra"


def test_timelines_round_trip_through_json_and_compare_per_stage() -> None:
    resolved = demo_like()
    cold = timeline_of(resolved, replay(resolved, LOGS / "demo-cold.log"))
    warm = timeline_of(resolved, replay(resolved, LOGS / "demo-cached.log"))
    again = BuildTimeline.from_json(cold.to_json())
    assert statuses(again) == statuses(cold)
    assert again.cached_share() == cold.cached_share()
    deltas = compare_timelines(warm, cold)
    assert [d.key for d in deltas] == ["host", "plugin:hello", "check", "runtime"]
    assert all(d.before is not None and d.after is not None for d in deltas)
    slower = slowest_change(deltas)
    assert slower is not None and slower.change is not None and slower.change > 0


def test_format_seconds() -> None:
    assert [format_seconds(s) for s in (0.04, 4.24, 42.4, 65, 3723)] == [
        "0.0s",
        "4.2s",
        "42s",
        "1:05",
        "1:02:03",
    ]
