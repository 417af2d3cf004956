"""BuildKit's plain progress output becomes the same events as the classic builder's stream.

The recordings in tests/fixtures/buildkit are real output of `DOCKER_BUILDKIT=1 docker build
--progress=plain` (dockerd 20.10) building the demo project's BuildKit Dockerfile: once as it
is, once with tests/fixtures/plugins/broken.go added.
"""

from __future__ import annotations

from pathlib import Path

from plugwiz.core.buildkit_events import (
    BuildKitProgressParser,
    buildkit_command_error,
    dockerfile_steps,
)
from plugwiz.core.events import BuildEvent, BuildFailed, BuildWarning, OutputLine, StepStarted
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


def parse(resolved: ResolvedProject, lines: list[str], exit_code: int = 0) -> list[BuildEvent]:
    parser = BuildKitProgressParser(resolved, render_dockerfile(resolved, buildkit=True))
    events: list[BuildEvent] = []
    for line in lines:
        events.extend(parser.feed_line(line))
    events.extend(parser.finish(exit_code))
    return events


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
    lines = [e for e in events if isinstance(e, OutputLine)]
    assert [line.text for line in lines] == [
        "plugwiz-loadcheck: ok /out/plugins/reverse.so",
        "plugwiz-loadcheck: ok /out/plugins/upper.so",
        "plugwiz-loadcheck: ok /out/plugins/hello.so",
    ]
    assert {line.step for line in lines} == {11}
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
    outputs = [(e.text, e.step) for e in events if isinstance(e, OutputLine)]
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
