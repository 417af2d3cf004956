"""BuildStreamParser on recorded and synthetic classic-builder chunks."""

from __future__ import annotations

from pathlib import Path

from plugwiz.core.events import (
    BuildFailed,
    BuildStreamParser,
    BuildWarning,
    OutputLines,
    StepFinished,
    StepStarted,
    map_compiler_path,
)
from plugwiz.core.model import GoMod, Host, HostFacts, PluginSource, Project, ResolvedProject
from tests.helpers import resolved_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHA = "ffe6da1a3e4aa355d2a2714e200f791c8afb2d4d"


def demo_like(*plugins: PluginSource) -> ResolvedProject:
    """A resolved project shaped like the demo host (no git or docker needed)."""
    facts = HostFacts(
        gomod=GoMod(module="example.com/plugwiz-demo", go="1.19"),
        main_packages=("cmd/demo-host",),
        plugin_packages=("plugins/reverse", "plugins/upper"),
    )
    project = Project(host=Host(repo="/x", commit=SHA), plugins=plugins, base_dir=FIXTURES)
    return resolved_for(project, facts, sha=SHA)


def feed_all(parser: BuildStreamParser, chunks: list[dict[str, object]]) -> list[object]:
    events: list[object] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.close())
    return events


# Recorded from dockerd 20.10 building the demo with tests/fixtures/plugins/broken.go added.
BROKEN_CHUNKS: list[dict[str, object]] = [
    {"stream": "Step 11/25 : FROM host AS plugin-2"},
    {"stream": "\n"},
    {"stream": " ---> 24e8cbcd231f\n"},
    {"stream": "Step 12/25 : COPY plugins/broken/ ./plugwiz_plugins/broken/"},
    {"stream": "\n"},
    {"stream": " ---> eb61421b6c9c\n"},
    {
        "stream": "Step 13/25 : RUN go build -buildmode=plugin -o /out/plugins/broken.so "
        "./plugwiz_plugins/broken"
    },
    {"stream": "\n"},
    {"stream": " ---> Running in 1e128431a49e\n"},
    {
        "stream": "\x1b[91m# example.com/plugwiz-demo/plugwiz_plugins/broken\n"
        "plugwiz_plugins/broken/broken.go:9:51: undefined: undefinedHelper\n\x1b[0m"
    },
    {"stream": "Removing intermediate container 1e128431a49e\n"},
    {
        "errorDetail": {
            "code": 2,
            "message": "The command '/bin/sh -c go build -buildmode=plugin -o "
            "/out/plugins/broken.so ./plugwiz_plugins/broken' returned a non-zero code: 2",
        },
        "error": "The command '/bin/sh -c go build -buildmode=plugin -o /out/plugins/broken.so "
        "./plugwiz_plugins/broken' returned a non-zero code: 2",
    },
]


def test_steps_partial_lines_and_noise() -> None:
    parser = BuildStreamParser(demo_like())
    events = feed_all(
        parser,
        [
            {"stream": "Step 1/3 : FROM golang:1.19-bookworm AS host"},
            {"stream": "\n ---> 9e2b89455d3d\nStep 2/3 : RUN echo one"},
            {"stream": "; echo two\n ---> Running in 0123456789ab\n"},
            {"stream": "one\ntw"},
            {"stream": "o\n"},
            {"stream": "[Warning] something odd\n"},
            {"stream": "Removing intermediate container 0123456789ab\n ---> 5d6d61e21207\n"},
            {"stream": 'Step 3/3 : CMD ["x"]\n'},
            {"aux": {"ID": "sha256:abc"}},
            {"stream": "Successfully built abc\nSuccessfully tagged x:y\n"},
            {"stream": "trailing without newline"},
        ],
    )
    assert events == [
        StepStarted(1, 3, "FROM golang:1.19-bookworm AS host", "host"),
        StepFinished(1),
        StepStarted(2, 3, "RUN echo one; echo two", "host"),
        OutputLines(("one",), 2),
        OutputLines(("two",), 2),  # a line split across chunks: sent with the chunk that ends it
        BuildWarning("something odd"),
        StepFinished(2),
        StepStarted(3, 3, 'CMD ["x"]', "host"),
        OutputLines(("trailing without newline",), 3),
        StepFinished(3),  # the stream ended: so did its last step
    ]
    assert parser.image_id == "sha256:abc"
    assert parser.container_ids == ["0123456789ab"]
    assert not parser.failed


def test_a_chunk_of_output_is_one_event_and_other_events_keep_their_place() -> None:
    parser = BuildStreamParser(demo_like())
    lines = [f"example.com/pkg{i}" for i in range(500)]
    events = feed_all(
        parser,
        [
            {"stream": "Step 1/1 : RUN go build -v ./...\n ---> Running in 0123456789ab\n"},
            {"stream": "\n".join(lines[:300]) + "\n"},
            {"stream": "\n".join(lines[300:400]) + "\n[Warning] odd\n" + "\n".join(lines[400:])},
        ],
    )
    assert (
        events
        == [
            StepStarted(1, 1, "RUN go build -v ./...", ""),
            OutputLines(tuple(lines[:300]), 1),  # a daemon's chunk: one event, not 300
            OutputLines(tuple(lines[300:400]), 1),
            BuildWarning("odd"),
            OutputLines(tuple(lines[400:499]), 1),
            OutputLines((lines[499],), 1),  # the last line had no newline: sent at the close
            StepFinished(1),
        ]
    )


def test_compile_error_maps_to_users_file() -> None:
    project = demo_like(PluginSource(source="plugins/broken.go"))
    events = feed_all(BuildStreamParser(project), BROKEN_CHUNKS)
    failed = events[-1]
    assert isinstance(failed, BuildFailed)
    assert failed.step == 13
    assert "plugwiz_plugins/broken" in failed.title
    assert failed.plugin == "broken"
    assert "exited with code 2" in failed.message
    assert failed.last_lines[-1] == (
        "plugwiz_plugins/broken/broken.go:9:51: undefined: undefinedHelper"
    )
    [location] = failed.locations
    assert location.path == str(FIXTURES / "plugins" / "broken.go")
    assert (location.line, location.column) == (9, 51)
    assert location.message == "undefined: undefinedHelper"
    # Nothing after the failure.
    assert not any(isinstance(e, BuildFailed) for e in events[:-1])


def test_directory_plugin_location_is_relative_to_the_directory() -> None:
    project = demo_like(PluginSource(source="plugins/multi"))
    assert map_compiler_path(project, "plugwiz_plugins/multi/helpers.go") == str(
        FIXTURES / "plugins" / "multi" / "helpers.go"
    )
    assert map_compiler_path(project, "./plugwiz_plugins/multi/sub/x.go") == str(
        FIXTURES / "plugins" / "multi" / "sub" / "x.go"
    )
    assert map_compiler_path(
        project, "example.com/plugwiz-demo/plugwiz_plugins/multi/plugin.go"
    ) == str(FIXTURES / "plugins" / "multi" / "plugin.go")
    # Host files and unknown plugins are not the user's.
    assert map_compiler_path(project, "cmd/demo-host/main.go") is None
    assert map_compiler_path(project, "plugwiz_plugins/other/x.go") is None


def test_file_plugin_maps_only_its_own_file() -> None:
    project = demo_like(PluginSource(source="plugins/greet.go", name="hi"))
    assert map_compiler_path(project, "plugwiz_plugins/hi/greet.go") == str(
        FIXTURES / "plugins" / "greet.go"
    )
    assert map_compiler_path(project, "plugwiz_plugins/hi/other.go") is None


def test_loadcheck_failure_names_the_plugin_and_keeps_gos_message() -> None:
    project = demo_like(PluginSource(source="plugins/greet.go"), PluginSource(source="old.so"))
    go_error = (
        'plugin.Open("/out/plugins/old"): plugin was built with a different version of '
        "package example.com/plugwiz-demo/provider"
    )
    events = feed_all(
        BuildStreamParser(project),
        [
            {"stream": "Step 17/22 : FROM host AS check\n"},
            {"stream": "Step 21/22 : RUN PLUGWIZ_LOADCHECK=/out/plugins/a.so /out/loadcheck\n"},
            {"stream": " ---> Running in 1e128431a49e\n"},
            {"stream": "plugwiz-loadcheck: ok /out/plugins/reverse.so\n"},
            {"stream": f"plugwiz-loadcheck: FAIL /out/plugins/old.so: {go_error}\n"},
            {"stream": "plugwiz-loadcheck: 1 plugin(s) would not load into this host\n"},
            {"errorDetail": {"code": 3, "message": "The command ... returned a non-zero code: 3"}},
        ],
    )
    failed = events[-1]
    assert isinstance(failed, BuildFailed)
    assert failed.plugin == "old"
    assert failed.message == go_error
    assert failed.step == 21
    assert failed.locations == ()


def test_bundled_plugin_failure_is_named_from_its_build_path() -> None:
    events = feed_all(
        BuildStreamParser(demo_like()),
        [
            {
                "stream": "Step 7/9 : RUN go build -buildmode=plugin -o /out/plugins/upper.so "
                "./plugins/upper\n"
            },
            {"stream": "plugins/upper/upper.go:3:2: syntax error\n"},
            {"error": "boom"},
        ],
    )
    failed = events[-1]
    assert isinstance(failed, BuildFailed)
    assert failed.plugin == "upper"
    # A host-tree file keeps the compiler's path.
    assert failed.locations[0].path == "plugins/upper/upper.go"
    assert failed.message == "boom"


def _host_run_failure(output: str) -> BuildFailed:
    """The host stage's RUN (host, load check and bundled plugins) failing with `output`."""
    events = feed_all(
        BuildStreamParser(demo_like()),
        [
            {"stream": "Step 1/20 : FROM golang:1.19-bookworm AS host\n"},
            {
                "stream": "Step 6/20 : RUN mkdir -p /out/plugins && {     { go build -o "
                "/out/demo-host ./cmd/demo-host; } &     go build -buildmode=plugin -o "
                "/out/plugins/upper.so ./plugins/upper && wait $!; }\n"
            },
            {"stream": output},
            {"error": "The command returned a non-zero code: 1"},
        ],
    )
    failed = events[-1]
    assert isinstance(failed, BuildFailed)
    return failed


def test_host_failure_in_the_host_stage_names_no_plugin() -> None:
    # The title lists the bundled plugins' build paths, but the error is in the host.
    failed = _host_run_failure("cmd/demo-host/main.go:12:3: undefined: nope\n")
    assert failed.plugin is None
    assert failed.locations[0].path == "cmd/demo-host/main.go"


def test_bundled_failure_in_the_host_stage_is_named_from_its_location() -> None:
    for path in (
        "plugins/upper/upper.go",
        "./plugins/upper/upper.go",
        "/src/plugins/upper/upper.go",
        "example.com/plugwiz-demo/plugins/upper/upper.go",
    ):
        assert _host_run_failure(f"{path}:3:2: syntax error\n").plugin == "upper", path


def test_error_before_any_step() -> None:
    events = feed_all(BuildStreamParser(demo_like()), [{"error": "dockerfile parse error"}])
    assert events == [BuildFailed("dockerfile parse error", 0, "", (), (), None)]
