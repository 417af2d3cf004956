"""Shipping on the real daemon: the non-root runtime, provenance labels, the image map and
its stand-ins, and cgo hosts with system packages (a real libsqlite3 from Debian's mirror).

Every test runs once per backend (PLUGWIZ_BACKEND: the classic builder, then BuildKit through
the docker CLI): the runtime stage, the package layers and the finishing step (libraries check,
sha256 labels) must not depend on it. Every image a test makes is removed at the end; the base
images are never touched.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from plugwiz import cli
from plugwiz.adapters.docker_engine import DockerEngine
from plugwiz.core.engine import ImageMissingError, RunExited, RunOutput, RunSpec
from plugwiz.core.events import BuildEvent, BuildFinished, BuildWarning
from plugwiz.core.image_refs import IMAGE_MAP_ENV
from plugwiz.core.model import BaseImages, Host, Images, Project, RuntimeSettings
from plugwiz.core.resolve import demo_project, resolve_project
from plugwiz.core.runtime_image import parse_plugin_digests
from plugwiz.service import open_repo
from tests.helpers import (
    FIXTURES,
    OFFLINE_BUILDER,
    OFFLINE_RUNTIME,
    ImageTracker,
    make_git_repo,
    skip_or_fail,
)

pytestmark = pytest.mark.docker

GO122_BUILDER = "plugwiz-offline/golang:1.22-bookworm"


@pytest.fixture(scope="module", params=["classic", "buildkit"], autouse=True)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The backend every build of the module uses (the projects leave it to `auto`)."""
    name: str = request.param
    if name == "buildkit":
        from plugwiz.adapters.buildkit import find_buildkit

        if find_buildkit() is None:
            skip_or_fail("no docker CLI here can build with BuildKit")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLUGWIZ_BACKEND", name)
        yield name


@pytest.fixture(scope="module")
def tracker(docker_engine: DockerEngine, backend: str) -> Iterator[ImageTracker]:
    tracker = ImageTracker(docker_engine.client, "plugwiz-ship")
    yield tracker
    tracker.cleanup()


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("plugwiz-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLUGWIZ_CACHE_DIR", str(path))
        yield path


def build(
    engine: DockerEngine, tracker: ImageTracker, project: Project, tag: str, log: Path
) -> list[BuildEvent]:
    repo = open_repo(project)
    resolved = resolve_project(project, repo)
    try:
        return list(engine.build(resolved, repo, tag=tag, log_path=log, cancel=threading.Event()))
    finally:
        tracker.images.extend(engine.last_build_images)


def run(engine: DockerEngine, image: str, *command: str) -> tuple[int | None, str]:
    """Run `command` in `image` (as the image's user) and return its exit code and output."""
    lines: list[str] = []
    code: int | None = None
    spec = RunSpec(image, command=command or None, timeout=60)
    for event in engine.run(spec, cancel=threading.Event()):
        if isinstance(event, RunOutput):
            lines.append(event.text)
        elif isinstance(event, RunExited):
            code = event.exit_code
    return code, "\n".join(lines)


def cli_inspect(tag: str) -> str:
    """What `plugwiz inspect TAG` prints."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert cli.main(["inspect", tag]) == 0
    return buffer.getvalue()


@pytest.fixture(scope="module")
def demo(docker_engine: DockerEngine, tracker: ImageTracker, cache: Path) -> dict[str, Any]:
    """The demo built with the defaults: non-root, labelled."""
    project = demo_project(base_dir=cache)
    tag = tracker.tag("demo")
    events = build(docker_engine, tracker, project, tag, cache / "demo.log")
    assert isinstance(events[-1], BuildFinished), events[-3:]
    return {"tag": tag, "project": project}


def test_the_demo_runs_as_a_fixed_non_root_user_that_cannot_change_its_code(
    docker_engine: DockerEngine, demo: dict[str, Any]
) -> None:
    tag = demo["tag"]
    result = docker_engine.run_once(tag, timeout=60)
    assert result.exit_code == 0, result.output
    assert "demo-host: 3 plugins loaded" in result.output

    code, out = run(docker_engine, tag, "id", "-u")
    assert (code, out.strip()) == (0, "65532")
    # Root owns every file plugwiz put there, and the host's user may not change one of them.
    files = "/app/demo-host /app/plugins/upper.so /app/plugins/reverse.so /app/plugins/hello.so"
    code, out = run(docker_engine, tag, "sh", "-c", f"stat -c '%u %a %n' {files} /app/plugins")
    assert code == 0, out
    for line in out.splitlines():
        owner, mode, path = line.split()
        assert owner == "0", line
        assert int(mode[-2], 8) & 2 == 0 and int(mode[-1], 8) & 2 == 0, line
    script = (
        "for f in " + files + "; do "
        "if echo x >> $f 2>/dev/null; then echo WROTE $f; fi; "
        "if rm -f $f 2>/dev/null && [ ! -e $f ]; then echo REMOVED $f; fi; done; "
        "if touch /app/plugins/evil.so 2>/dev/null; then echo ADDED; fi; echo checked"
    )
    code, out = run(docker_engine, tag, "sh", "-c", script)
    # stdout and stderr come as two streams: "checked" (stdout) need not be the last line.
    assert "checked" in out.splitlines(), out
    assert not re.search(r"WROTE|REMOVED|ADDED", out), out
    for path in files.split():
        assert f"cannot create {path}: Permission denied" in out

    report = docker_engine.inspect(tag)
    assert report.user == "65532:65532"
    assert "user     65532:65532 (not root)" in cli_inspect(tag)


def test_provenance_labels_name_the_commit_the_base_and_each_plugin_sha256(
    docker_engine: DockerEngine, demo: dict[str, Any]
) -> None:
    tag = demo["tag"]
    labels = docker_engine.inspect(tag).labels
    repo = open_repo(demo["project"])
    commit = repo.resolve("main")
    assert labels["org.opencontainers.image.revision"] == commit.sha
    assert labels["org.opencontainers.image.created"] == commit.date
    assert labels["org.opencontainers.image.version"] == commit.sha[:12]
    # The map made it build from the local stand-in, and the label says so.
    assert labels["org.opencontainers.image.base.name"] == OFFLINE_RUNTIME
    assert "org.opencontainers.image.base.digest" not in labels  # made locally: none
    digests = parse_plugin_digests(labels["dev.plugwiz.plugins.sha256"])
    code, out = run(docker_engine, tag, "sh", "-c", "sha256sum /app/demo-host /app/plugins/*.so")
    sums = {path: digest for digest, path in (line.split() for line in out.splitlines())}
    assert digests == {p: d for p, d in sums.items() if p.endswith(".so")}
    assert list(digests) == [
        "/app/plugins/reverse.so",
        "/app/plugins/upper.so",
        "/app/plugins/hello.so",
    ]  # load order
    assert labels["dev.plugwiz.host.sha256"] == "sha256:" + sums["/app/demo-host"]


def test_writable_paths_and_the_root_opt_out(
    docker_engine: DockerEngine, tracker: ImageTracker, demo: dict[str, Any], cache: Path
) -> None:
    project: Project = demo["project"]
    writable = replace(project, runtime=RuntimeSettings(writable=("/var/lib/demo",)))
    tag = tracker.tag("writable")
    events = build(docker_engine, tracker, writable, tag, cache / "writable.log")
    assert isinstance(events[-1], BuildFinished), events[-3:]
    code, out = run(
        docker_engine,
        tag,
        "sh",
        "-c",
        "touch /var/lib/demo/state && stat -c '%u' /var/lib/demo/state; "
        "{ echo x >> /app/demo-host; } 2>/dev/null || echo binary-read-only",
    )
    assert code == 0, out
    assert out.split() == ["65532", "binary-read-only"]

    root = replace(project, runtime=RuntimeSettings(user="root"))
    tag = tracker.tag("root")
    events = build(docker_engine, tracker, root, tag, cache / "root.log")
    assert isinstance(events[-1], BuildFinished), events[-3:]
    assert run(docker_engine, tag, "id", "-u")[1].strip() == "0"
    assert docker_engine.inspect(tag).user == ""
    assert docker_engine.run_once(tag, timeout=60).exit_code == 0


def test_a_go_122_host_gets_the_122_builder_by_default(
    docker_engine: DockerEngine, tracker: ImageTracker, cache: Path, tmp_path: Path
) -> None:
    if docker_engine.registry_digest(GO122_BUILDER) is None:
        pytest.fail(f"{GO122_BUILDER} is missing: run scripts/make-go-image --go 1.22")
    tree = tmp_path / "tree"
    for rel, data in _demo_files().items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(data)
    gomod = tree / "go.mod"
    gomod.write_text(re.sub(r"(?m)^go .*$", "go 1.22", gomod.read_text()))
    host = tmp_path / "host"
    make_git_repo(tree, host)
    project = Project(host=Host(repo=str(host)), base_dir=tmp_path)
    tag = tracker.tag("go122")
    log = cache / "go122.log"
    events = build(docker_engine, tracker, project, tag, log)
    assert isinstance(events[-1], BuildFinished), events[-3:]
    report = docker_engine.inspect(tag)
    assert report.labels["dev.plugwiz.builder"] == GO122_BUILDER
    assert report.go_version and report.go_version.startswith("go1.22")
    assert docker_engine.run_once(tag, timeout=60).exit_code == 0


def _demo_files() -> dict[str, bytes]:
    from plugwiz.adapters.demo import demo_host_files

    return demo_host_files()


def test_an_old_official_named_stand_in_still_builds_and_says_what_to_do(
    docker_engine: DockerEngine,
    tracker: ImageTracker,
    demo: dict[str, Any],
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What an older scripts/make-go-image left: its image under an official-looking name.
    # An official repository's name with a tag of our own (never a shared name).
    legacy = f"debian:plugwiz-legacy-{uuid.uuid4().hex[:8]}"
    repository, version = legacy.rsplit(":", 1)
    docker_engine.client.api.tag(OFFLINE_RUNTIME, repository, version)
    tracker.tags.append(legacy)
    # As on such a machine: no map, the official names used as they are.
    monkeypatch.delenv(IMAGE_MAP_ENV)
    project = replace(demo["project"], images=Images(builder=OFFLINE_BUILDER, runtime=legacy))
    tag = tracker.tag("legacy")
    events = build(docker_engine, tracker, project, tag, cache / "legacy.log")
    assert isinstance(events[-1], BuildFinished), events[-3:]
    warnings = [e.text for e in events if isinstance(e, BuildWarning)]
    assert any(
        f"the runtime image {legacy} is an offline stand-in made by an older scripts/make-go-image"
        in w
        and f"`docker rmi {legacy}`" in w
        and "PLUGWIZ_IMAGE_MAP=golang=plugwiz-offline/golang,debian=plugwiz-offline/debian" in w
        for w in warnings
    ), warnings


def test_without_the_map_a_missing_name_says_which_stand_in_to_map_to(
    docker_engine: DockerEngine, demo: dict[str, Any], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline, `golang:1.22-bookworm` exists only as scripts/make-go-image's stand-in."""
    monkeypatch.delenv(IMAGE_MAP_ENV)
    project = replace(demo["project"], images=Images(builder="golang:1.22-bookworm"))
    repo = open_repo(project)
    resolved = replace(resolve_project(project, repo), base=BaseImages())
    with pytest.raises(ImageMissingError) as caught:
        list(docker_engine.build(resolved, repo, tag="x:y", log_path=cache / "x.log"))
    assert str(caught.value) == (
        "the builder image golang:1.22-bookworm is not present locally and plugwiz never pulls "
        "during a build: run `docker pull golang:1.22-bookworm` (or, offline, "
        "`scripts/make-go-image`); a local stand-in plugwiz-offline/golang:1.22-bookworm "
        "exists: build with it by setting "
        "PLUGWIZ_IMAGE_MAP=golang=plugwiz-offline/golang,debian=plugwiz-offline/debian "
        "(or images.map in plugwiz.yaml)"
    )


# -- cgo: a host and plugins that link libsqlite3 ---------------------------------------------


@pytest.fixture(scope="module")
def cgohost(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cgohost")
    make_git_repo(FIXTURES / "hosts" / "cgohost", root / "host")
    return root / "host"


def cli_build(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["build", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_cgo_host_with_system_packages_builds_loads_its_plugins_and_runs(
    docker_engine: DockerEngine,
    tracker: ImageTracker,
    cgohost: Path,
    cache: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tag = tracker.tag("cgo")
    log = cache / "cgo.log"
    project = cache / "cgo.yaml"
    project.write_text(
        "version: 1\n"
        f"host: {{repo: {cgohost}}}\n"
        f"plugins: [{FIXTURES / 'cgo-plugins' / 'sqlhello'}]\n"
        "packages:\n"
        "  builder: [libsqlite3-dev]\n"
        "  runtime: [libsqlite3-0]\n"
        f"tag: {tag}\n"
    )
    code, out = cli_build([str(project), "--log", str(log)], capsys)
    tracker.from_log(log)
    assert code == 0, out[-3000:]
    # The packages are installed in layers of their own before the host source (in the
    # Dockerfile: BuildKit's log follows the order steps ran in, not the file's).
    assert cli.main(["render", str(project)]) == 0
    dockerfile = capsys.readouterr().out
    assert dockerfile.index("libsqlite3-dev") < dockerfile.index("COPY host/ ./")
    assert "user     65532:65532 (not root)" in out
    result = docker_engine.run_once(tag, timeout=60)
    assert result.exit_code == 0, result.output
    assert re.search(r"cgohost: sqlite 3\.\d+\.\d+", result.output)
    assert "loaded plugin sqlcount from /app/plugins/sqlcount.so: 3 rows" in result.output
    assert (
        "loaded plugin sqlhello from /app/plugins/sqlhello.so: hello from SQLite" in result.output
    )
    assert "cgohost: 2 plugins loaded" in result.output


def test_without_the_runtime_package_the_build_fails_and_names_the_library(
    docker_engine: DockerEngine,
    tracker: ImageTracker,
    cgohost: Path,
    cache: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tag = tracker.tag("cgo-missing")
    log = cache / "cgo-missing.log"
    args = [
        "--host",
        str(cgohost),
        "--plugin",
        str(FIXTURES / "cgo-plugins" / "sqlhello"),
        "--builder-package",
        "libsqlite3-dev",
        "--tag",
        tag,
        "--log",
        str(log),
    ]
    code, out = cli_build(args, capsys)
    tracker.from_log(log)
    assert code == 1, out[-3000:]
    assert (
        "error: the build failed: the runtime image plugwiz-offline/debian:bookworm-slim lacks "
        "shared libraries the host or its plugins need: libsqlite3.so.0 (needed by cgohost, "
        "sqlcount.so, sqlhello.so). The host would not start. Add the package that holds each "
        "to packages.runtime in plugwiz.yaml (on Debian usually libsqlite3-0)"
    ) in out
    # Nothing was tagged.
    assert docker_engine.registry_digest(tag) is None
    failed = [line for line in log.read_text().splitlines() if line.startswith("ERROR:")]
    assert failed and "libsqlite3.so.0" in failed[-1]


def test_inspect_json_reports_the_user(docker_engine: DockerEngine, demo: dict[str, Any]) -> None:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert cli.main(["inspect", "--json", demo["tag"]]) == 0
    assert json.loads(buffer.getvalue())["user"] == "65532:65532"
