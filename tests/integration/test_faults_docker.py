"""Faults with a real daemon (issue 6): missing images, a daemon lost mid-build, Ctrl+C,
secrets in URLs, odd plugin paths, and four builds at once.

Every build runs `plugwiz build` as a subprocess, the way a person or CI runs it. Each test
tags a "previous image" first where it matters and checks it survives; every tag and image a
test makes is removed at the end (the tagged base images are never touched).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plugwiz.adapters.demo import demo_host_files
from plugwiz.adapters.docker_engine import DockerEngine
from tests.gitserver import serve_git
from tests.helpers import ImageTracker, make_git_repo, processes_with

pytestmark = pytest.mark.docker

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILDER = "golang:1.19-bookworm"
RUNTIME = "debian:bookworm-slim"


@pytest.fixture(scope="module")
def tracker(docker_engine: DockerEngine) -> Iterator[ImageTracker]:
    tracker = ImageTracker(docker_engine.client, "plugwiz-fault")
    yield tracker
    tracker.cleanup()


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One plugwiz cache for the module's subprocesses (the demo repository is made once)."""
    return tmp_path_factory.mktemp("plugwiz-cache")


def _restore_sigint() -> None:
    # A shell runs background jobs with SIGINT ignored, and Python keeps an ignored SIGINT
    # ignored; the child must get the default so Ctrl+C raises KeyboardInterrupt in it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(args: list[str], cache: Path, cwd: Path, **env: str) -> subprocess.Popen[str]:
    """Start `plugwiz ARGS` in its own session; stdout and stderr together."""
    return subprocess.Popen(
        [sys.executable, "-m", "plugwiz.cli", *args],
        cwd=cwd,
        env={
            **os.environ,
            "PLUGWIZ_CACHE_DIR": str(cache),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(REPO_ROOT),
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=_restore_sigint,
    )


def run(
    args: list[str],
    cache: Path,
    cwd: Path,
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Run `plugwiz ARGS` to the end; (exit code, output). A traceback fails the test."""
    proc = start(args, cache, cwd, **(env or {}))
    out, _ = proc.communicate(timeout=timeout)
    assert "Traceback" not in out, out
    return proc.returncode, out


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def printed(log: Path, marker: str) -> bool:
    """Whether the build's RUN has printed `marker` on a line of its own (the step title that
    shows the command holds it too, but not alone)."""
    if not log.exists():
        return False
    # The classic builder's log holds the line as printed; BuildKit's prefixes it with the
    # step's number and time (`#12 0.512 MARKER`).
    return any(
        line == marker or re.fullmatch(rf"#\d+ \d+\.\d+ {re.escape(marker)}", line)
        for line in log.read_text(errors="replace").splitlines()
    )


def tmp_tags(engine: DockerEngine) -> set[str]:
    return {
        tag
        for image in engine.client.api.images()
        for tag in image.get("RepoTags") or []
        if tag.startswith("plugwiz-tmp-")
    }


def containers_running(engine: DockerEngine, marker: str) -> list[str]:
    """The build step still running: its containers (classic builder) and its shell process
    (either backend; BuildKit runs steps without containers)."""
    containers = [
        c["Id"]
        for c in engine.client.api.containers(all=True)
        if marker in str(c.get("Command", ""))
    ]
    shells = [
        str(pid)
        for pid in processes_with(marker)
        if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] in (b"sh", b"/bin/sh")
    ]
    return containers + shells


def previous_image(engine: DockerEngine, tag: str) -> str:
    """Tag the runtime base image as `tag`: the 'previous image' a failed build must keep."""
    image_id: str = engine.client.api.inspect_image(RUNTIME)["Id"]
    repository, version = tag.rsplit(":", 1)
    engine.client.api.tag(image_id, repository, version)
    return image_id


def slow_build_args(tag: str, log: Path, marker: str, backend: str = "classic") -> list[str]:
    """A demo build whose host step prints `marker` and then sleeps (never cached)."""
    return [
        "build",
        "--backend",
        backend,
        "--tag",
        tag,
        "--log",
        str(log),
        "--build-command",
        f"sh -c 'echo {marker}; sleep 120'",
        "--binary",
        "host",
    ]


def demo_host_repo(dest: Path) -> Path:
    """The demo host tree as a fresh repository (its own URL, same files)."""
    tree = dest.parent / f"{dest.name}-tree"
    for rel, data in demo_host_files().items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(data)
    make_git_repo(tree, dest)
    return dest


def demo_plugin(path: Path, name: str) -> Path:
    """A custom plugin for the demo host whose Transform output names it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        textwrap.dedent(
            f"""\
            package main

            import "example.com/plugwiz-demo/provider"

            type p struct{{}}

            func (p) Name() string {{ return "{name}" }}

            func (p) Transform(s string) string {{ return "marker-{name}:" + s }}

            func New() provider.Provider {{ return p{{}} }}
            """
        )
    )
    return path


# -- images and toolchain ----------------------------------------------------------------------


def test_builder_image_missing(
    docker_engine: DockerEngine, tracker: ImageTracker, cache: Path, tmp_path: Path
) -> None:
    absent = f"plugwiz-absent-{uuid.uuid4().hex[:10]}:1.0"
    tag = tracker.tag("missing")
    code, out = run(
        ["build", "--builder-image", absent, "--tag", tag, "--log", "b.log"], cache, tmp_path
    )
    assert code == 2
    assert (
        f"error: the builder image {absent} is not present locally and plugwiz never pulls during "
        f"a build: run `docker pull {absent}` (or, offline, `scripts/make-go-image`)"
    ) in out
    assert not docker_engine.client.images.list(name=tag.split(":")[0])


def test_host_go_newer_than_builder(
    docker_engine: DockerEngine, tracker: ImageTracker, cache: Path, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    for rel, data in demo_host_files().items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(data)
    gomod = tree / "go.mod"
    gomod.write_text(re.sub(r"(?m)^go .*$", "go 1.21", gomod.read_text()))
    host = tmp_path / "host"
    make_git_repo(tree, host)
    tag = tracker.tag("gonew")
    base = ["build", "--host", str(host), "--tag", tag, "--log", "b.log"]

    # The tag names the version: no container needed.
    code, out = run([*base, "--builder-image", BUILDER], cache, tmp_path)
    assert code == 2
    assert (
        "error: the host's go.mod says `go 1.21` but the builder image golang:1.19-bookworm has "
        "Go 1.19, which cannot build it: use --builder-image golang:1.21-bookworm "
        "(images.builder in plugwiz.yaml), or lower the `go` line"
    ) in out

    # A tag that does not tell: `go env GOVERSION` in a throwaway container, removed after.
    anonymous = tracker.tag("anon-go")
    repository, version = anonymous.rsplit(":", 1)
    image_id = docker_engine.client.api.inspect_image(BUILDER)["Id"]
    docker_engine.client.api.tag(image_id, repository, version)
    code, out = run(
        [*base, "--builder-image", anonymous, "--runtime-image", RUNTIME], cache, tmp_path
    )
    assert code == 2
    match = re.search(r"has Go (1\.19(?:\.\d+)?), which cannot build it", out)
    assert match, out
    assert "use --builder-image golang:1.21-bookworm" in out
    assert not [
        c
        for c in docker_engine.client.api.containers(all=True)
        if c.get("ImageID") == image_id and "GOVERSION" in str(c.get("Command"))
    ]
    assert not docker_engine.client.images.list(name=tag.split(":")[0])


# -- the daemon going away, and Ctrl+C -----------------------------------------------------------

_PROXY = textwrap.dedent(
    """\
    import socket, sys, threading
    listen, target = sys.argv[1], sys.argv[2]
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(listen)
    server.listen(16)

    def pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    print("ready", flush=True)
    while True:
        client, _ = server.accept()
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(target)
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
    """
)


def _daemon_socket() -> str:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        pytest.skip("the mid-build proxy needs a unix-socket daemon")
    return host.removeprefix("unix://")


def test_daemon_lost_mid_build(
    docker_engine: DockerEngine, tracker: ImageTracker, cache: Path, tmp_path: Path
) -> None:
    proxy_path = tmp_path / "docker-proxy.sock"
    proxy = subprocess.Popen(
        [sys.executable, "-c", _PROXY, str(proxy_path), _daemon_socket()],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proxy.stdout is not None and proxy.stdout.readline().strip() == "ready"
        tag = tracker.tag("lost")
        before = previous_image(docker_engine, tag)
        tmp_before = tmp_tags(docker_engine)
        marker = f"plugwiz-lost-{uuid.uuid4().hex[:12]}"
        log = tmp_path / "build.log"
        build = start(
            slow_build_args(tag, log, marker), cache, tmp_path, DOCKER_HOST=f"unix://{proxy_path}"
        )
        try:
            wait_for(lambda: printed(log, marker), 120, "the slow step to start")
            assert containers_running(docker_engine, marker)
            proxy.kill()  # the daemon is gone, as far as plugwiz can tell
            out, _ = build.communicate(timeout=60)
        finally:
            if build.poll() is None:
                build.kill()
    finally:
        proxy.kill()
        proxy.wait()
    tracker.from_log(log)
    assert "Traceback" not in out, out
    assert build.returncode == 1, out
    assert (
        f"lost the connection to the Docker daemon at unix://{proxy_path} during the build; "
        f"{tag} was not changed. Check the daemon is running (`docker info`) and build again"
    ) in out
    assert "full log: " in out
    assert docker_engine.client.api.inspect_image(tag)["Id"] == before
    # The real daemon saw its client go and stopped the build: no containers, no temp tag.
    wait_for(lambda: not containers_running(docker_engine, marker), 30, "build containers to go")
    assert tmp_tags(docker_engine) <= tmp_before
    assert "# lost the connection to the Docker daemon" in log.read_text()


@pytest.mark.parametrize("backend", ["classic", "buildkit"])
def test_ctrl_c_cancels_cleanly(
    docker_engine: DockerEngine, tracker: ImageTracker, cache: Path, tmp_path: Path, backend: str
) -> None:
    tag = tracker.tag("sigint")
    before = previous_image(docker_engine, tag)
    tmp_before = tmp_tags(docker_engine)
    marker = f"plugwiz-sigint-{uuid.uuid4().hex[:12]}"
    log = tmp_path / "build.log"
    build = start(slow_build_args(tag, log, marker, backend), cache, tmp_path)
    try:
        wait_for(lambda: printed(log, marker), 120, "the slow step to start")
        assert containers_running(docker_engine, marker)
        sent = time.monotonic()
        build.send_signal(signal.SIGINT)
        out, _ = build.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if build.poll() is None:
            build.kill()
    tracker.from_log(log)
    assert "Traceback" not in out, out
    assert build.returncode == 130, out
    assert "build cancelled" in out
    assert took < 20, f"Ctrl+C took {took:.1f}s"
    wait_for(lambda: not containers_running(docker_engine, marker), 10, "the step to stop")
    assert docker_engine.client.api.inspect_image(tag)["Id"] == before
    assert tmp_tags(docker_engine) <= tmp_before
    assert "# build cancelled" in log.read_text()


# -- secrets -----------------------------------------------------------------------------------


def test_token_in_url_and_environment_leaks_nowhere(
    docker_engine: DockerEngine, tracker: ImageTracker, cache: Path, tmp_path: Path
) -> None:
    url_token = f"glpat-URL{uuid.uuid4().hex}"
    env_token = f"ghp_ENV{uuid.uuid4().hex}"
    own_cache = tmp_path / "cache"  # searched whole, so not shared with other tests
    host = demo_host_repo(tmp_path / "private-host")
    plugin = demo_plugin(tmp_path / "proj" / "secretive.go", "secretive")
    env = {"PLUGWIZ_CACHE_DIR": str(own_cache), "GITHUB_TOKEN": env_token, "GIT_TOKEN": env_token}
    seen: dict[str, str] = {}
    with serve_git(host, "oauth2", url_token) as url:
        secret_url = url.replace("http://", f"http://oauth2:{url_token}@")
        project_opts = ["--host", secret_url, "--plugin", str(plugin)]
        tag = tracker.tag("secret")
        log = tmp_path / "build.log"
        steps = {
            "init": ["init", *project_opts, "-o", str(tmp_path / "proj" / "plugwiz.yaml")],
            "render": ["render", *project_opts, "-o", str(tmp_path / "Dockerfile")],
            "context": ["context", *project_opts, "-o", str(tmp_path / "ctx.tar")],
            "build": ["build", *project_opts, "--tag", tag, "--log", str(log)],
        }
        for name, args in steps.items():
            code, out = run(args, cache, tmp_path, env=env)
            tracker.from_log(log)
            assert code == 0, (name, out)
            seen[f"{name} output"] = out
        # Every error of a failing variant: a wrong password, with and without a cached clone.
        wrong = url.replace("http://", "http://oauth2:Wr0ngPassw0rdXYZ@")
        for name, args in {
            "wrong password build": ["build", "--host", wrong, "--tag", tag, "--log", str(log)],
            "wrong password init": ["init", "--host", wrong, "-o", str(tmp_path / "w.yaml")],
        }.items():
            code, out = run(args, cache, tmp_path, env=env)
            assert code == 2, out
            assert f"error: authentication failed for {url}" in out
            assert "Wr0ngPassw0rdXYZ" not in out
            seen[name] = out
    code, out = run(["inspect", tag, "--json"], cache, tmp_path, env=env)
    assert code == 0, out
    seen["inspect --json"] = out
    assert json.loads(out)["host"]["repo"] == url
    api = docker_engine.client.api
    attrs = api.inspect_image(tag)
    seen["image config and labels"] = json.dumps(attrs)
    assert attrs["Config"]["Labels"]["org.opencontainers.image.source"] == url
    seen["docker history --no-trunc"] = json.dumps(api.history(tag))
    seen["rendered Dockerfile"] = (tmp_path / "Dockerfile").read_text()
    seen["build log"] = log.read_text()
    seen["saved project file"] = (tmp_path / "proj" / "plugwiz.yaml").read_text()
    assert f"repo: {url}" in seen["saved project file"]
    seen["build context"] = (tmp_path / "ctx.tar").read_bytes().decode("latin-1")
    files = [p for p in own_cache.rglob("*") if p.is_file() and not p.is_symlink()]
    assert any(p.name == "config" for p in files), "no cached clone was made"
    for path in files:
        seen[f"cache file {path.relative_to(own_cache)}"] = path.read_bytes().decode("latin-1")
    # The image's files: nothing from the environment or the URL was baked in.
    output = docker_engine.client.containers.run(
        tag,
        ["sh", "-c", "env; cat /app/plugins/*.so /app/* 2>/dev/null; true"],
        entrypoint=[],
        remove=True,
    )
    seen["image contents"] = output.decode("latin-1")
    for where, text in seen.items():
        assert url_token not in text, f"URL token leaked into {where}"
        assert env_token not in text, f"environment token leaked into {where}"


# -- odd plugin paths, and four builds at once ---------------------------------------------------

ODD_DIR = "we ird $(touch PWNED) `touch PWNED` 'q' \"dq\" é .. \nnl"


def test_four_builds_at_once_with_odd_plugin_paths(
    docker_engine: DockerEngine, tracker: ImageTracker, cache: Path, tmp_path: Path
) -> None:
    """Four different projects built at once on one daemon; one has a plugin in a directory
    whose name has spaces, quotes, a newline, `$()`, backticks, `..` and non-ASCII."""
    plugins = {
        "odd": demo_plugin(tmp_path / ODD_DIR / "plugin.go", "odd").parent,
        "spaced": demo_plugin(tmp_path / "my plugins" / "spaced one.go", "spaced"),
        "third": demo_plugin(tmp_path / "third" / "third.go", "third").parent,
        "fourth": demo_plugin(tmp_path / "fourth.go", "fourth"),
    }
    expected_file = {
        "odd": "we-ird-touch-PWNED-touch-PWNED-q-dq-..-nl.so",
        "spaced": "spaced-one.so",
        "third": "third.so",
        "fourth": "fourth.so",
    }
    jobs: dict[str, tuple[str, Path, subprocess.Popen[str]]] = {}
    for name, source in plugins.items():
        tag = tracker.tag(name)
        log = tmp_path / f"{name}.log"
        args = ["build", "--plugin", str(source), "--tag", tag, "--log", str(log)]
        jobs[name] = (tag, log, start(args, cache, tmp_path))
    results = {}
    for name, (_tag, log, proc) in jobs.items():
        try:
            out, _ = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
        tracker.from_log(log)
        results[name] = (proc.returncode, out)
    for name, (code, out) in results.items():
        assert code == 0, (name, out[-3000:])
        assert "Traceback" not in out
    assert not list(tmp_path.rglob("PWNED"))
    for name, (tag, _log, _proc) in jobs.items():
        code, out = run(["inspect", tag, "--json"], cache, tmp_path)
        assert code == 0, out
        report = json.loads(out)
        files = sorted(p["file"].rsplit("/", 1)[1] for p in report["plugins"])
        assert files == sorted(["upper.so", "reverse.so", expected_file[name]]), (name, files)
        result = docker_engine.run_once(tag)
        assert result.exit_code == 0, result.output
        assert f"marker-{name}:" in result.output
        others = [f"marker-{other}:" for other in plugins if other != name]
        assert not any(marker in result.output for marker in others), result.output
