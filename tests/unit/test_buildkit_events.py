"""BuildKit's plain progress output becomes the same events as the classic builder's stream.

The recordings in tests/fixtures/buildkit are real output of `DOCKER_BUILDKIT=1 docker build
--progress=plain` (dockerd 20.10) building the demo project's BuildKit Dockerfile: once as it
is, once with tests/fixtures/plugins/broken.go added; `demo-rebuilt.log` and `demo-cached.log`
are the build logs of `plugwiz build --backend buildkit --timings` of the demo with its
hello.go (after a change of the build's environment, then again unchanged).
"""

from __future__ import annotations

from pathlib import Path

from plugwiz.core.buildkit_events import (
    BuildKitProgressParser,
    buildkit_command_error,
    dockerfile_steps,
)
from plugwiz.core.events import (
    BuildEvent,
    BuildFailed,
    BuildFinished,
    BuildWarning,
    OutputLines,
    StepFinished,
    StepStarted,
)
from plugwiz.core.model import (
    GoMod,
    Host,
    HostFacts,
    PluginKind,
    PluginSource,
    Project,
    ResolvedProject,
)
from plugwiz.core.render import render_dockerfile
from plugwiz.core.timeline import BuildTimeline, Status, format_timings, plan_stages
from tests.helpers import resolved_for

RECORDED = Path(__file__).parents[1] / "fixtures" / "buildkit"
PLUGINS = Path(__file__).parents[1] / "fixtures" / "plugins"
FACTS = HostFacts(
    gomod=GoMod(module="example.com/plugwiz-demo", go="1.19"),
    main_packages=("cmd/demo-host",),
    plugin_packages=("plugins/reverse", "plugins/upper"),
)


def demo(*extra: PluginSource) -> ResolvedProject:
    project = Project(
        host=Host(repo="demo", ref="main"),
        plugins=(PluginSource("hello.go"), *extra),
        base_dir=PLUGINS,
    )
    return resolved_for(project, FACTS, kinds=[PluginKind.FILE] * (1 + len(extra)))


class Clock:
    """A clock that moves 10 ms per line read: the lines of a replay come as soon as BuildKit
    printed them, and the times of its steps are the ones it reports (`DONE 1.6s`)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def parse(
    resolved: ResolvedProject, lines: list[str], exit_code: int = 0, clock: Clock | None = None
) -> list[BuildEvent]:
    clock = clock or Clock()
    parser = BuildKitProgressParser(resolved, render_dockerfile(resolved, buildkit=True), clock)
    events: list[BuildEvent] = []
    for line in lines:
        clock.now += 0.01
        events.extend(parser.feed_line(line))
    events.extend(parser.finish(exit_code))
    return events


def timeline_of(resolved: ResolvedProject, log: str) -> tuple[BuildTimeline, list[BuildEvent]]:
    """The explorer's timeline of a recorded build, as the session keeps it."""
    clock = Clock()
    lines = [line for line in (RECORDED / log).read_text().splitlines() if line[:2] != "# "]
    events = parse(resolved, lines, clock=clock)
    timeline = BuildTimeline(plan_stages(resolved, buildkit=True), overlapping=True)
    timeline.begin(1000.0)
    for event in [*events, BuildFinished("sha256:x", "t", at=clock.now + 0.01)]:
        timeline.apply(event)
    return timeline, events


def test_steps_are_numbered_across_the_dockerfile_with_their_stage() -> None:
    resolved = demo()
    events = parse(resolved, (RECORDED / "demo-success.log").read_text().splitlines())
    steps = [e for e in events if isinstance(e, StepStarted)]
    offsets, total = dockerfile_steps(render_dockerfile(resolved, buildkit=True))
    assert total == 16
    assert offsets == {
        "source": 0,
        "host": 4,
        "bundled": 5,
        "plugin-1": 6,
        "check": 8,
        "stage-5": 11,
    }
    # Every Dockerfile step once, whatever order BuildKit ran them in (in parallel).
    assert sorted(s.number for s in steps) == list(range(1, total + 1))
    assert all(s.total == total for s in steps)
    by_number = {s.number: s for s in steps}
    assert by_number[1] == StepStarted(
        1, 16, "FROM docker.io/library/golang:1.19-bookworm", "source"
    )
    # The cache mount is how a step runs, not what it does: titles leave it out.
    assert by_number[8].title == (
        "RUN go build -buildmode=plugin -o /out/plugins/hello.so ./plugwiz_plugins/hello"
    )
    assert by_number[8].stage == "plugin-1"
    assert by_number[16].stage == ""  # the runtime stage has no name, as with classic
    # The load check's output, attributed to its step; no failure.
    lines = [(text, e.step) for e in events if isinstance(e, OutputLines) for text in e.lines]
    assert [text for text, _step in lines] == [
        "plugwiz-loadcheck: ok /out/plugins/reverse.so",
        "plugwiz-loadcheck: ok /out/plugins/upper.so",
        "plugwiz-loadcheck: ok /out/plugins/hello.so",
    ]
    assert {step for _text, step in lines} == {11}
    assert not any(isinstance(e, BuildFailed) for e in events)


def test_a_compile_error_maps_to_the_plugin_and_the_users_file() -> None:
    broken = PluginSource("broken.go")
    resolved = demo(broken)
    events = parse(resolved, (RECORDED / "broken-plugin.log").read_text().splitlines(), 1)
    failed = events[-1]
    assert isinstance(failed, BuildFailed)
    assert sum(isinstance(e, BuildFailed) for e in events) == 1
    assert failed.plugin == "broken"
    assert failed.title == (
        "RUN go build -buildmode=plugin -o /out/plugins/broken.so ./plugwiz_plugins/broken"
    )
    assert failed.message == (
        "`go build -buildmode=plugin -o /out/plugins/broken.so ./plugwiz_plugins/broken` "
        "exited with code 2"
    )
    assert failed.last_lines == (
        "# example.com/plugwiz-demo/plugwiz_plugins/broken",
        "plugwiz_plugins/broken/broken.go:9:51: undefined: undefinedHelper",
    )
    (location,) = failed.locations
    assert (location.path, location.line, location.column) == (str(PLUGINS / "broken.go"), 9, 51)
    assert location.message == "undefined: undefinedHelper"
    step = next(e for e in events if isinstance(e, StepStarted) and e.number == failed.step)
    assert step.stage == "plugin-2"


def test_a_read_of_progress_lines_gives_each_steps_run_of_lines_together() -> None:
    resolved = demo(PluginSource("broken.go"))
    parser = BuildKitProgressParser(resolved, render_dockerfile(resolved, buildkit=True), Clock())
    host = "#5 [host 1/1] RUN mkdir -p /out/plugins && go build -o /out/demo-host ./cmd/demo-host"
    plugin = "#7 [plugin-2 2/2] RUN go build -buildmode=plugin -o /out/plugins/broken.so x"
    events = list(
        parser.feed_lines(
            [host, plugin]
            + [f"#5 0.1{i} host {i}" for i in range(3)]
            + ["#7 0.200 plugin 0", "#7 0.201 plugin 1", "#5 0.300 host 3"]
        )
    )
    host_step, plugin_step = (e.number for e in events[:2] if isinstance(e, StepStarted))
    outputs = [(e.lines, e.step) for e in events if isinstance(e, OutputLines)]
    assert outputs == [
        (("host 0", "host 1", "host 2"), host_step),
        (("plugin 0", "plugin 1"), plugin_step),
        (("host 3",), host_step),
    ]


def test_interleaved_steps_keep_their_own_lines() -> None:
    resolved = demo(PluginSource("broken.go"))
    run = "RUN go build -buildmode=plugin -o /out/plugins/broken.so ./plugwiz_plugins/broken"
    lines = [
        "#5 [host 1/1] RUN mkdir -p /out/plugins && go build -o /out/demo-host ./cmd/demo-host",
        f"#7 [plugin-2 2/2] {run}",
        "#5 0.100 host says one",
        "#7 0.200 plugwiz_plugins/broken/broken.go:9:51: undefined: undefinedHelper",
        "#5 0.300 [warning] something to know",
        "#5 0.400 host says two",
        '#7 ERROR: process "/bin/sh -c go build -buildmode=plugin -o /out/plugins/broken.so '
        './plugwiz_plugins/broken" did not complete successfully: exit code: 1',
        "#5 CANCELED",
    ]
    events = parse(resolved, lines, 1)
    outputs = [(text, e.step) for e in events if isinstance(e, OutputLines) for text in e.lines]
    host_step = 5  # source has 4 steps before it
    assert ("host says one", host_step) in outputs and ("host says two", host_step) in outputs
    assert BuildWarning("something to know") in events
    failed = events[-1]
    assert isinstance(failed, BuildFailed)
    # Only the failing step's own output, though the host's lines came in between.
    assert failed.last_lines == (
        "plugwiz_plugins/broken/broken.go:9:51: undefined: undefinedHelper",
    )
    assert failed.plugin == "broken"
    assert failed.message.endswith("exited with code 1")


def test_a_failure_that_names_no_step_still_ends_the_build() -> None:
    lines = [
        "#1 [internal] load build definition from Dockerfile",
        "#1 DONE 0.0s",
        "error: failed to solve: failed to read dockerfile: open Dockerfile: no such file",
    ]
    failed = parse(demo(), lines, 1)[-1]
    assert isinstance(failed, BuildFailed)
    assert failed.step == 0 and failed.plugin is None
    assert (
        failed.message
        == "failed to solve: failed to read dockerfile: open Dockerfile: no such file"
    )


def test_load_check_refusal_names_the_plugin() -> None:
    resolved = demo()
    lines = [
        "#9 [check 4/4] RUN PLUGWIZ_LOADCHECK=/out/plugins/reverse.so:/out/plugins/upper.so"
        ":/out/plugins/hello.so /plugwiz/loadcheck",
        "#9 0.5 plugwiz-loadcheck: ok /out/plugins/reverse.so",
        '#9 0.5 plugwiz-loadcheck: FAIL /out/plugins/hello.so: plugin.Open("/out/plugins/hello"):'
        " plugin was built with a different version of package example.com/plugwiz-demo/provider",
        "#9 ERROR: executor failed running [/bin/sh -c PLUGWIZ_LOADCHECK=x /plugwiz/loadcheck]: "
        "exit code: 3",
    ]
    failed = parse(resolved, lines, 1)[-1]
    assert isinstance(failed, BuildFailed)
    assert failed.plugin == "hello"
    assert "different version of package example.com/plugwiz-demo/provider" in failed.message


def test_buildkit_errors_read_like_the_classic_builders() -> None:
    assert (
        buildkit_command_error("executor failed running [/bin/sh -c go build ./x]: exit code: 2")
        == "The command '/bin/sh -c go build ./x' returned a non-zero code: 2"
    )
    assert (
        buildkit_command_error(
            'process "/bin/sh -c go vet" did not complete successfully: exit code: 1'
        )
        == "The command '/bin/sh -c go vet' returned a non-zero code: 1"
    )
    assert buildkit_command_error("something else") == "something else"


def test_steps_of_a_stage_from_an_earlier_stage_do_not_count_its_from() -> None:
    text = (
        "FROM img AS a\nENV X=1\nRUN x \\\n  y\n\n"
        "FROM a AS b\nCOPY p q\n# c\nFROM other\nWORKDIR /w\n"
    )
    assert dockerfile_steps(text) == ({"a": 0, "b": 2, "stage-2": 3}, 5)


# -- the explorer's timeline from BuildKit's events ----------------------------------------------


def test_a_cached_rebuild_marks_every_step_cached_and_every_stage() -> None:
    resolved = demo()
    timeline, events = timeline_of(resolved, "demo-cached.log")
    finished = {e.number: e for e in events if isinstance(e, StepFinished)}
    # Every step ends, once; all but the two FROMs of an image came from the cache.
    assert sorted(finished) == list(range(1, 17))
    assert sorted(n for n, e in finished.items() if not e.cached) == [1, 12]
    # Every step is in a stage the plan knows: the stage names and numbers are BuildKit's.
    assert [s.key for s in timeline.stages] == ["host", "plugin:hello", "check", "runtime"]
    statuses = {s.key: timeline.stage_status(s, 0).status for s in timeline.stages}
    assert set(statuses.values()) == {Status.CACHED}
    assert timeline.cached_share() == (14, 14)
    host = timeline.stage("host")
    assert host is not None and host.builder_stages == ("host", "source", "bundled")
    assert [row.label for row in host.rows] == [
        "toolchain  golang:1.19-bookworm",
        "host build",
        "bundled  reverse, upper",
    ]
    summary = format_timings(timeline, 0).splitlines()
    assert summary[0].endswith("14 of 14 steps from the cache")
    assert [line.split()[-2:] for line in summary[1:]][0] == ["cached", "0.0s"]


def test_a_step_shared_with_another_build_under_its_stage_name_is_found_by_its_text(
    tmp_path: Path,
) -> None:
    """Two builds on one daemon with the same step share it, and BuildKit may print it with
    the other build's stage name (seen in CI: the runtime's FROM and WORKDIR as `stage-6`
    while this Dockerfile's runtime stage is `stage-5`): it is still this build's step."""
    resolved = demo()
    recorded = (RECORDED / "demo-cached.log").read_text()
    for step in ("1/5", "2/5"):
        recorded = recorded.replace(f"[stage-5 {step}]", f"[stage-6 {step}]")
    (tmp_path / "shared.log").write_text(recorded)
    renamed = timeline_of(resolved, str(tmp_path / "shared.log"))
    original = timeline_of(resolved, "demo-cached.log")
    numbers = [
        [(e.number, e.title) for e in events if isinstance(e, StepStarted)]
        for _timeline, events in (renamed, original)
    ]
    assert numbers[0] == numbers[1]
    statuses = {s.key: renamed[0].stage_status(s, 0).status for s in renamed[0].stages}
    assert statuses["runtime"] is Status.CACHED, statuses


def test_buildkit_durations_and_overlapping_stages() -> None:
    resolved = demo()
    timeline, events = timeline_of(resolved, "demo-rebuilt.log")
    finished = {e.number: e for e in events if isinstance(e, StepFinished)}
    # BuildKit's own figures: `#13 DONE 5.0s` (bundled), `#11 DONE 7.5s` (the host).
    assert finished[6].seconds == 5.0 and finished[5].seconds == 7.5
    assert finished[2].cached and finished[2].seconds == 0.0
    statuses = {s.key: timeline.stage_status(s, 0).status for s in timeline.stages}
    assert statuses == {
        "host": Status.DONE,
        "plugin:hello": Status.DONE,
        "check": Status.DONE,
        "runtime": Status.CACHED,
    }
    assert timeline.cached_share() == (7, 14)
    host = timeline.stage("host")
    assert host is not None
    rows = {row.label.split()[0]: timeline.row_status(host, row, 0) for row in host.rows}
    assert rows["bundled"].seconds == 5.0
    assert rows["host"].seconds == 7.5  # its COPYs came from the cache: no time of their own
    assert rows["toolchain"].status is Status.CACHED
    # The host and the bundled plugins compiled at the same time: the stage took less than
    # the two one after the other, and its steps' time, not the span of the whole build.
    seconds = timeline.stage_status(host, 0).seconds
    assert 7.5 <= seconds < 5.0 + 7.5
    runtime = timeline.stage("runtime")
    assert runtime is not None
    # A cached stage that waited for the others took no time of its own.
    assert timeline.stage_status(runtime, 0).seconds < 0.5


def test_a_cold_build_with_parallel_stages_is_done_with_buildkits_durations() -> None:
    timeline, _events = timeline_of(demo(), "demo-success.log")
    host = timeline.stage("host")
    assert host is not None
    status = timeline.stage_status(host, 0)
    assert status.status is Status.DONE
    # `[bundled] DONE 62.5s` and `[host] DONE 22.3s` ran side by side.
    assert 62.5 <= status.seconds < 62.5 + 22.3
    plugin = timeline.stage("plugin:hello")
    assert plugin is not None
    # `COPY ... DONE 0.1s`, then `RUN go build ... DONE 2.5s`.
    assert 2.5 <= timeline.stage_status(plugin, 0).seconds <= 2.7


def test_a_step_is_not_ended_by_another_starting() -> None:
    resolved = demo()
    lines = [
        "#11 [host 1/1] RUN mkdir -p /out/plugins && go build -o /out/demo-host ./cmd/demo-host",
        "#13 [bundled 1/1] RUN mkdir -p /out/plugins && go build -buildmode=plugin ./plugins/x",
        "#11 DONE 2.0s",
    ]
    clock = Clock()
    events = parse(resolved, lines, clock=clock)
    timeline = BuildTimeline(plan_stages(resolved, buildkit=True), overlapping=True)
    for event in events:
        timeline.apply(event)
    assert timeline.step_status(5) is Status.DONE
    assert timeline.step_status(6) is Status.RUNNING  # still compiling beside the host
