"""End to end with a real daemon: real Go builds, real plugin loads, real containers.

Every test here runs once per backend (`classic`: the daemon's classic builder through the
API; `buildkit`: the docker CLI with BuildKit), with the same assertions: the events, the
failure mapping, the image and cancelling must not depend on the backend. One demo image is
built per backend and shared; every image and container a test makes is removed at the end
(tagged base images are never touched).
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from plugwiz import commands
from plugwiz.adapters.demo import demo_host_files
from plugwiz.adapters.docker_engine import DockerEngine
from plugwiz.core.context import context_digest
from plugwiz.core.events import (
    BuildCancelled,
    BuildEvent,
    BuildFailed,
    BuildFinished,
    OutputLines,
    StepStarted,
)
from plugwiz.core.model import ExtraFile, Host, PluginLoading, PluginSource, Project
from plugwiz.core.pinning import pin_base_images
from plugwiz.core.report import LABEL_CONTEXT
from plugwiz.core.resolve import demo_project, resolve_project
from plugwiz.service import open_repo, resolve
from tests.helpers import (
    FIXTURES,
    OFFLINE_BUILDER,
    ImageTracker,
    commit_all,
    make_git_repo,
    processes_with,
    skip_or_fail,
    wait_until,
)

pytestmark = pytest.mark.docker

BUILDER = OFFLINE_BUILDER


@pytest.fixture(scope="module", params=["classic", "buildkit"])
def engine(request: pytest.FixtureRequest, docker_engine: DockerEngine) -> DockerEngine:
    """A DockerEngine that builds with one backend (the tests run once per backend)."""
    backend: str = request.param
    built = DockerEngine(client=docker_engine.client, backend=backend)
    if backend == "buildkit":
        from plugwiz.adapters.buildkit import find_buildkit

        if find_buildkit() is None:
            skip_or_fail("no docker CLI here can build with BuildKit")
    return built


@pytest.fixture(scope="module")
def tracker(docker_engine: DockerEngine) -> Iterator[ImageTracker]:
    tracker = ImageTracker(docker_engine.client, "plugwiz-test")
    yield tracker
    tracker.cleanup()


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    cache = tmp_path_factory.mktemp("plugwiz-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLUGWIZ_CACHE_DIR", str(cache))
        yield cache


def build(
    engine: DockerEngine,
    tracker: ImageTracker,
    project: Project,
    tag: str,
    log: Path,
    cancel: threading.Event | None = None,
    on_event: Any = None,
) -> list[BuildEvent]:
    """Resolve and build `project`; return every event."""
    repo = open_repo(project)
    resolved = resolve_project(project, repo)
    events: list[BuildEvent] = []
    try:
        for event in engine.build(resolved, repo, tag=tag, log_path=log, cancel=cancel):
            events.append(event)
            if on_event is not None:
                on_event(event)
    finally:
        tracker.images.extend(engine.last_build_images)
    return events


@pytest.fixture(scope="module")
def demo_image(engine: DockerEngine, tracker: ImageTracker, module_cache: Path) -> dict[str, Any]:
    """The demo project built once: its tag, image ID, project and cold build time."""
    project = demo_project(base_dir=module_cache)
    tag = tracker.tag()
    started = time.monotonic()
    log = module_cache / "demo.log"
    events = build(engine, tracker, project, tag, log)
    seconds = time.monotonic() - started
    assert isinstance(events[-1], BuildFinished), events[-5:]
    return {
        "tag": tag,
        "id": events[-1].image_id,
        "project": project,
        "seconds": seconds,
        "log": log,
    }


def sha256_in_container(engine: DockerEngine, image: str, pattern: str) -> dict[str, str]:
    """`sha256sum` run inside the image: an independent check of what inspect reads."""
    output = engine.client.containers.run(
        image, ["sh", "-c", f"sha256sum {pattern}"], entrypoint=[], remove=True
    )
    sums = {}
    for line in output.decode().splitlines():
        digest, path = line.split()
        sums[path] = digest
    return sums


def test_demo_builds_runs_and_inspects(engine: DockerEngine, demo_image: dict[str, Any]) -> None:
    print(f"[timing] demo build (cold unless cached): {demo_image['seconds']:.1f}s")
    result = engine.run_once(demo_image["tag"], timeout=30)
    assert result.exit_code == 0, result.output
    for name in ("upper", "reverse", "hello"):
        assert f"loaded plugin {name} from /app/plugins/{name}.so" in result.output
    assert "demo-host: 3 plugins loaded" in result.output

    report = engine.inspect(demo_image["tag"])
    assert report.cmd == [
        "/app/demo-host",
        *("--prov", "/app/plugins/reverse.so"),
        *("--prov", "/app/plugins/upper.so"),
        *("--prov", "/app/plugins/hello.so"),
    ]
    assert report.image_id == demo_image["id"]
    assert report.missing == [] and report.unloaded == []
    assert report.host_module == "example.com/plugwiz-demo"
    assert report.go_version and report.go_version.startswith("go1.19")
    expected = sha256_in_container(engine, demo_image["tag"], "/app/plugins/*.so")
    assert {p.file: p.sha256 for p in report.plugins} == expected
    assert all(p.in_cmd and p.size > 0 for p in report.plugins)
    # The inputs' digest (what the Result step compares with the project) is on the image,
    # added with the plugins' sha256 in one metadata step, not as a build step of its own.
    # (The wizard's Result step resolves with this machine's images, pinned as the engine
    # pins them.)
    project = demo_image["project"]
    resolved = pin_base_images(resolve(project), engine.registry_digest)
    assert report.labels[LABEL_CONTEXT] == context_digest(resolved, open_repo(project))
    assert "LABEL dev.plugwiz.context" not in demo_image["log"].read_text()


def test_one_line_plugin_edit_rebuilds_fast(
    engine: DockerEngine,
    tracker: ImageTracker,
    demo_image: dict[str, Any],
    tmp_path: Path,
) -> None:
    project: Project = demo_image["project"]
    source = project.source_path(project.plugins[0].source)
    edited = tmp_path / "hello.go"
    edited.write_text(
        source.read_text().replace("Hello from a custom plugin: ", "Edited plugin says: ")
    )
    tag = tracker.tag()
    started = time.monotonic()
    events = build(
        engine,
        tracker,
        replace(project, plugins=(PluginSource(source=str(edited)),)),
        tag,
        tmp_path / "log",
    )
    seconds = time.monotonic() - started
    print(f"[timing] rebuild after a one-line plugin edit: {seconds:.1f}s")
    assert isinstance(events[-1], BuildFinished)
    # Only the plugin stage, the load check and the runtime copy ran again.
    assert seconds < 30
    result = engine.run_once(tag)
    assert "hello: Edited plugin says: hello, plugins" in result.output


def test_realistic_host(
    engine: DockerEngine, tracker: ImageTracker, module_cache: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "realistic"
    make_git_repo(FIXTURES / "hosts" / "realistic", repo)
    project = Project(
        host=Host(repo=str(repo)),
        plugins=(PluginSource(source=str(FIXTURES / "plugins" / "multi")),),
        loading=PluginLoading(
            flag="--plugin",
            extra_args=("--config", "/etc/realhost/config.json"),
            symbol="Plugin",
        ),
        files=(
            ExtraFile(
                source=str(FIXTURES / "realistic-config.json"),
                target="/etc/realhost/config.json",
            ),
        ),
        base_dir=tmp_path,
    )
    resolved = resolve(project)
    assert resolved.facts is not None and resolved.facts.vendored
    tag = tracker.tag()
    events = build(engine, tracker, project, tag, tmp_path / "log")
    assert isinstance(events[-1], BuildFinished), events[-3:]
    result = engine.run_once(tag)
    assert result.exit_code == 0, result.output
    assert "realhost: 2 plugins ok" in result.output
    report = engine.inspect(tag)
    assert report.cmd[:3] == ["/app/realhost", "--config", "/etc/realhost/config.json"]
    assert sorted(p.file for p in report.plugins) == [
        "/app/plugins/audit.so",
        "/app/plugins/multi.so",
    ]


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def build_drifted_plugin(engine: DockerEngine, tracker: ImageTracker, dest: Path) -> Path:
    """A plugin built like plugwiz would, but against a changed provider package."""
    host = demo_host_files()
    provider = host["provider/provider.go"].decode()
    assert 'const Version = "1.0"' in provider
    host["provider/provider.go"] = (
        provider.replace('const Version = "1.0"', 'const Version = "2.0"')
        .replace("return strings.TrimSpace(s)", 'return strings.TrimSpace(s) + ""')
        .encode()
    )
    files = {f"host/{path}": data for path, data in host.items()}
    files["host/plugwiz_plugins/drift/greet.go"] = (FIXTURES / "plugins" / "greet.go").read_bytes()
    # Same image, flags and path (/src) as the real build: only the package content differs.
    files["Dockerfile"] = (
        f"FROM {BUILDER}\n"
        "ENV CGO_ENABLED=1 GOFLAGS=-trimpath GOTOOLCHAIN=local GOWORK=off\n"
        "WORKDIR /src\nCOPY host/ ./\n"
        "RUN go build -buildmode=plugin -o /out/drift.so ./plugwiz_plugins/drift\n"
    ).encode()
    tag = tracker.tag()
    api = engine.client.api
    for chunk in api.build(
        fileobj=io.BytesIO(_tar(files)),
        custom_context=True,
        tag=tag,
        decode=True,
        rm=True,
        forcerm=True,
        pull=False,
    ):
        assert "error" not in chunk, chunk
        if "aux" in chunk:
            tracker.images.append(chunk["aux"]["ID"])
    container = api.create_container(tag, command=["true"])
    try:
        stream, _ = api.get_archive(container["Id"], "/out/drift.so")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.extractfile("drift.so")
            assert member is not None
            dest.write_bytes(member.read())
    finally:
        api.remove_container(container["Id"], force=True)
    return dest


def test_drifted_prebuilt_plugin_fails_the_load_check(
    engine: DockerEngine,
    tracker: ImageTracker,
    demo_image: dict[str, Any],
    tmp_path: Path,
) -> None:
    drift = build_drifted_plugin(engine, tracker, tmp_path / "drift.so")
    project: Project = demo_image["project"]
    project = replace(project, plugins=(*project.plugins, PluginSource(source=str(drift))))
    tag = tracker.tag()
    events = build(engine, tracker, project, tag, tmp_path / "log")
    failed = events[-1]
    assert isinstance(failed, BuildFailed), events[-3:]
    assert failed.plugin == "drift"
    assert "different version of package" in failed.message
    assert "example.com/plugwiz-demo/provider" in failed.message
    assert "loadcheck" in failed.title
    assert not engine.client.images.list(name=tag)


def test_compile_error_points_at_the_users_file(
    engine: DockerEngine,
    tracker: ImageTracker,
    demo_image: dict[str, Any],
    tmp_path: Path,
) -> None:
    broken = FIXTURES / "plugins" / "broken.go"
    project: Project = demo_image["project"]
    project = replace(project, plugins=(*project.plugins, PluginSource(source=str(broken))))
    tag = tracker.tag()
    log = tmp_path / "build.log"
    events = build(engine, tracker, project, tag, log)
    failed = events[-1]
    assert isinstance(failed, BuildFailed)
    assert "plugwiz_plugins/broken" in failed.title
    assert failed.plugin == "broken"
    assert any(
        loc.path == str(broken) and loc.line == 9 and "undefinedHelper" in loc.message
        for loc in failed.locations
    ), failed.locations
    assert "undefinedHelper" in log.read_text()

    # The same failure through the command the CLI runs (cached now, so quick).
    out = io.StringIO()
    resolved = resolve(project)
    code = commands.build_command(resolved, tag=tag, log_path=log, out=out, engine=engine)
    tracker.images.extend(engine.last_build_images)
    text = out.getvalue()
    assert code == 1
    assert f"error: step {failed.step}/" in text and "plugwiz_plugins/broken" in text
    assert f"{broken}:9:51: undefined: undefinedHelper" in text
    assert f"full log: {log}" in text
    # A step the cache answered says so (the host's WORKDIR, here: BuildKit has no ENV step).
    workdir_line = next(line for line in text.splitlines() if "] WORKDIR /src" in line)
    assert workdir_line.endswith("  cached"), workdir_line


def test_a_rebuild_marks_cached_steps_and_times_each_stage(
    engine: DockerEngine,
    tracker: ImageTracker,
    demo_image: dict[str, Any],
    tmp_path: Path,
) -> None:
    # The demo again, unchanged: the explorer's timeline (`--timings`) from the real events,
    # with the backend's own step numbers and stages (BuildKit's run at once).
    resolved = resolve(demo_image["project"])
    tag = tracker.tag()
    # Built once first: tests in between (prune, superseded builds) may have removed the
    # classic builder's cache of the demo.
    for _ in range(2):
        out = io.StringIO()
        code = commands.build_command(
            resolved, tag=tag, log_path=tmp_path / "log", out=out, engine=engine, timings=True
        )
        tracker.images.extend(engine.last_build_images)
    text = out.getvalue()
    assert code == 0, text
    steps = [line for line in text.splitlines() if line.startswith("[")]
    assert steps and sum(line.endswith("  cached") for line in steps) >= len(steps) - 5, steps
    summary = text[text.index("timings: ") :].splitlines()
    cached, could = summary[0].split("to the end, ")[1].split(" steps")[0].split(" of ")
    assert cached == could, summary[0]
    assert [line.split()[0] for line in summary[1:]] == ["host", "plugin", "load", "runtime"]
    assert all("  cached " in line for line in summary[1:]), summary


def test_cancel_stops_promptly_and_leaves_nothing(
    engine: DockerEngine,
    tracker: ImageTracker,
    demo_image: dict[str, Any],
    tmp_path: Path,
) -> None:
    client = engine.client
    tag = tracker.tag()
    # "The previous image" with this tag: the shared demo image.
    repository, version = tag.rsplit(":", 1)
    client.api.tag(demo_image["id"], repository, version)
    token = f"plugwiz-cancel-{uuid.uuid4().hex}"
    project: Project = demo_image["project"]
    # A host stage the cache cannot hold (it never finishes), busy long enough to be cancelled.
    project = replace(
        project,
        host=replace(
            project.host,
            build_command=(
                "sh",
                "-c",
                f"echo {token}; sleep 120; go build -o host ./cmd/demo-host",
            ),
            binary="host",
        ),
    )
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def on_event(event: BuildEvent) -> None:
        # Cancel once the RUN's container is really running (it has printed the token).
        if isinstance(event, OutputLines) and token in event.lines and not cancel.is_set():
            cancelled_at.append(time.monotonic())
            cancel.set()

    started = time.time()
    events = build(engine, tracker, project, tag, tmp_path / "log", cancel, on_event)
    assert cancelled_at, "the build never reached the slow step"
    took = time.monotonic() - cancelled_at[0]
    assert isinstance(events[-1], BuildCancelled)
    assert any(isinstance(e, StepStarted) and token in e.title for e in events)
    assert took < 5, f"cancel took {took:.1f}s"

    leftovers = [
        c
        for c in client.api.containers(all=True)
        if c.get("Created", 0) >= int(started) - 1 and token in str(c.get("Command", ""))
    ]
    assert leftovers == []
    # The step's own process is gone too (BuildKit runs steps without containers).
    assert wait_until(lambda: not processes_with(token), 10), processes_with(token)
    assert client.api.inspect_image(tag)["Id"] == demo_image["id"]
    assert "# build cancelled" in (tmp_path / "log").read_text()

    # Closing the generator (a consumer that stops iterating) cancels the same way.
    repo = open_repo(project)
    resolved = resolve_project(project, repo)
    events_iter = engine.build(resolved, repo, tag=tag, log_path=tmp_path / "log2")
    for event in events_iter:
        if isinstance(event, OutputLines) and token in event.lines:
            break
    events_iter.close()
    tracker.images.extend(engine.last_build_images)
    assert not [c for c in client.api.containers(all=True) if token in str(c.get("Command", ""))]
    assert wait_until(lambda: not processes_with(token), 10), processes_with(token)
    assert client.api.inspect_image(tag)["Id"] == demo_image["id"]


def test_inspect_command_json(demo_image: dict[str, Any], engine: DockerEngine) -> None:
    out = io.StringIO()
    code = commands.inspect_command(demo_image["tag"], as_json=True, out=out, engine=engine)
    assert code == 0
    data = json.loads(out.getvalue())
    assert data["cmd"][0] == "/app/demo-host"
    assert data["image"]["id"] == demo_image["id"]
    assert sorted(p["file"] for p in data["plugins"]) == [
        "/app/plugins/hello.so",
        "/app/plugins/reverse.so",
        "/app/plugins/upper.so",
    ]
    assert all(len(p["sha256"]) == 64 and p["in_cmd"] for p in data["plugins"])
    assert data["missing"] == [] and data["unloaded"] == []
    assert data["host"]["module"] == "example.com/plugwiz-demo"

    missing = io.StringIO()
    name = f"plugwiz-test-{uuid.uuid4().hex[:12]}:absent"
    assert commands.inspect_command(name, as_json=False, out=missing, engine=engine) == 2
    assert "error: no image" in missing.getvalue()


def test_a_new_host_commit_compiles_only_the_hosts_own_packages(
    engine: DockerEngine, tracker: ImageTracker, module_cache: Path, tmp_path: Path
) -> None:
    """The toolchain (classic: its stage; BuildKit: the Go cache mount) and the host's
    third-party packages are compiled once; the next commit compiles only the host's own
    packages and the plugins. `go build -v` names every package it compiles."""
    repo = tmp_path / "realistic"
    make_git_repo(FIXTURES / "hosts" / "realistic", repo)
    project = Project(
        host=Host(repo=str(repo), build_flags=("-v",)),
        plugins=(PluginSource(source=str(FIXTURES / "plugins" / "multi")),),
        loading=PluginLoading(flag="--plugin", symbol="Plugin"),
        base_dir=tmp_path,
    )
    tag = tracker.tag()
    first = build(engine, tracker, project, tag, tmp_path / "first.log")
    assert isinstance(first[-1], BuildFinished), first[-3:]

    registry = repo / "internal" / "registry" / "registry.go"
    # A commit no earlier run has built (BuildKit keeps its cache between runs).
    registry.write_text(
        registry.read_text()
        + f"\n// Commit{uuid.uuid4().hex} is new in the second commit.\n"
        + "func Commit2() int { return 2 }\n"
    )
    commit_all(repo, "second commit")
    events = build(engine, tracker, project, tag, tmp_path / "second.log")
    assert isinstance(events[-1], BuildFinished), events[-3:]
    # What `go build -v` printed: the packages this build compiled.
    compiled = {
        text
        for e in events
        if isinstance(e, OutputLines)
        for text in e.lines
        if " " not in text and "/" in text
    }
    assert compiled, "go build -v printed nothing"
    own = {p for p in compiled if p.startswith("example.com/realhost")}
    assert compiled == own, f"compiled again: {sorted(compiled - own)}"
    assert "example.com/realhost/internal/registry" in compiled
    steps = [e.title for e in events if isinstance(e, StepStarted)]
    if engine.backend == "classic":
        log = (tmp_path / "second.log").read_text()
        # The toolchain and dependency steps came from the layer cache.
        for step in ("go list -e -export -f ''", "go list -e -export -deps -f ''"):
            title = next(t for t in steps if step in t)
            after = log.split(title, 1)[1].split("\nStep ", 1)[0]
            assert "Using cache" in after, after
