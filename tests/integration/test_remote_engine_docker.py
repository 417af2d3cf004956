"""A remote engine: a second Docker daemon listening on TCP with TLS (certificates made here),
reached the ways a user reaches one: DOCKER_HOST + DOCKER_TLS_VERIFY + DOCKER_CERT_PATH, and a
Docker context made with `docker context create`. Build (with the classic builder and with
BuildKit through the docker CLI), inspect, run and push go there, and nothing reaches the
machine's own daemon. And `ssh://`, through a real sshd."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugwiz import cli
from plugwiz.adapters.docker_endpoint import engine_label, find_endpoint
from plugwiz.adapters.docker_engine import DockerEngine
from plugwiz.core.engine import EngineUnavailableError
from tests.helpers import OFFLINE_BUILDER, OFFLINE_RUNTIME, ImageTracker, skip_or_fail
from tests.registry import TestRegistry, running_registry
from tests.remote_daemon import RemoteDaemon, running_daemon
from tests.sshd import running_sshd
from tests.tls import make_ca

pytestmark = pytest.mark.docker

TAG = "plugwiz-remote-demo:latest"


@pytest.fixture(scope="module")
def remote(
    docker_engine: DockerEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RemoteDaemon]:
    folder = tmp_path_factory.mktemp("remote")
    with running_daemon(folder, (OFFLINE_BUILDER, OFFLINE_RUNTIME), docker_engine.client) as d:
        yield d


@pytest.fixture(scope="module")
def remote_build(remote: RemoteDaemon, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`plugwiz build` of the demo with the classic builder and the environment pointing at
    the remote daemon: what it printed."""
    folder = tmp_path_factory.mktemp("remote-build")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in remote.environment.items():
            patch.setenv(name, value)
        patch.delenv("DOCKER_CONTEXT", raising=False)
        patch.setenv("DOCKER_CONFIG", str(folder / "docker-config"))
        patch.setenv("PLUGWIZ_CACHE_DIR", str(folder / "cache"))
        import contextlib
        import io

        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            code = cli.main(["build", "--backend", "classic", "--tag", TAG])
    out = buffer.getvalue()
    assert code == 0, out[-3000:]
    return out


@pytest.fixture
def on_remote(
    remote: RemoteDaemon, remote_build: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Path:
    """The environment a user sets to build on the remote daemon; returns the cache dir."""
    for name, value in remote.environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    cache = tmp_path / "cache"
    monkeypatch.setenv("PLUGWIZ_CACHE_DIR", str(cache))
    return cache


def plugwiz(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_build_inspect_and_run_through_docker_host(
    docker_engine: DockerEngine,
    remote: RemoteDaemon,
    remote_build: str,
    on_remote: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert f"built {TAG}" in remote_build
    assert "user     65532:65532 (not root)" in remote_build

    code, out = plugwiz(["inspect", TAG], capsys)
    assert code == 0, out
    assert f"image    {TAG}" in out
    assert "plugins  3 (in load order)" in out

    engine = DockerEngine()
    result = engine.run_once(TAG, timeout=60)
    assert result.exit_code == 0, result.output
    assert "demo-host: 3 plugins loaded" in result.output
    # It was all the remote daemon's work.
    assert remote.client().api.inspect_image(TAG)["Id"]
    assert docker_engine.registry_digest(TAG) is None
    assert find_endpoint().describe() == f"{remote.host} (TLS)"
    assert engine_label() == f"engine {remote.host} (TLS)"


def test_buildkit_builds_on_the_engine_the_environment_names(
    docker_engine: DockerEngine,
    remote: RemoteDaemon,
    on_remote: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The BuildKit backend runs the docker CLI with plugwiz's own environment, so it resolves
    the engine as plugwiz does: DOCKER_HOST with TLS, then a context. The image is built,
    checked, labelled and tagged there, and runs there."""
    from plugwiz.adapters.buildkit import find_buildkit

    if find_buildkit() is None:
        skip_or_fail("no docker CLI here can build with BuildKit")
    tag = "plugwiz-remote-buildkit:latest"
    log = tmp_path / "buildkit.log"
    code, out = plugwiz(["build", "--backend", "buildkit", "--tag", tag, "--log", str(log)], capsys)
    assert code == 0, out[-3000:]
    assert "user     65532:65532 (not root)" in out
    assert "DOCKER_BUILDKIT=1" in log.read_text() or "buildx build" in log.read_text()
    labels = remote.client().api.inspect_image(tag)["Config"]["Labels"]
    assert labels["dev.plugwiz.plugins.sha256"].count("=sha256:") == 3
    result = DockerEngine().run_once(tag, timeout=60)
    assert result.exit_code == 0 and "demo-host: 3 plugins loaded" in result.output
    assert docker_engine.registry_digest(tag) is None  # not on the machine's own daemon

    # The same through a context (no DOCKER_HOST): a rebuild, every step cached.
    docker_cli = shutil.which("docker")
    assert docker_cli is not None
    cert = remote.cert_path
    subprocess.run(
        [
            docker_cli,
            "context",
            "create",
            "far-bk",
            "--docker",
            f"host={remote.host},ca={cert / 'ca.pem'},cert={cert / 'cert.pem'},"
            f"key={cert / 'key.pem'}",
        ],
        check=True,
        capture_output=True,
    )
    for name in ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("DOCKER_CONTEXT", "far-bk")
    again = "plugwiz-remote-buildkit:context"
    code, out = plugwiz(["build", "--backend", "buildkit", "--tag", again], capsys)
    assert code == 0, out[-3000:]
    assert remote.client().api.inspect_image(again)["Id"]
    assert docker_engine.registry_digest(again) is None


def test_a_docker_context_reaches_the_remote_engine(
    remote: RemoteDaemon,
    on_remote: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    docker_cli = shutil.which("docker")
    if docker_cli is None:
        pytest.fail("the docker CLI is missing")
    config = tmp_path / "docker-config"
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    for name in ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(name)
    cert = remote.cert_path
    subprocess.run(
        [
            docker_cli,
            "context",
            "create",
            "far",
            "--docker",
            f"host={remote.host},ca={cert / 'ca.pem'},cert={cert / 'cert.pem'},"
            f"key={cert / 'key.pem'}",
        ],
        check=True,
        capture_output=True,
    )
    # No context chosen yet: the local socket.
    assert engine_label() == ""
    monkeypatch.setenv("DOCKER_CONTEXT", "far")
    assert engine_label() == f"engine {remote.host} (TLS, context far)"
    code, out = plugwiz(["inspect", TAG], capsys)
    assert code == 0, out
    # `docker context use` (the config's currentContext) works the same.
    monkeypatch.delenv("DOCKER_CONTEXT")
    subprocess.run([docker_cli, "context", "use", "far"], check=True, capture_output=True)
    code, out = plugwiz(["inspect", TAG], capsys)
    assert code == 0, out
    assert DockerEngine().run_once(TAG, timeout=60).exit_code == 0

    monkeypatch.setenv("DOCKER_CONTEXT", "nowhere")
    code, out = plugwiz(["inspect", TAG], capsys)
    assert code == 2
    assert (
        "the Docker context 'nowhere' does not exist (`docker context ls` lists them): create "
        "it, or unset DOCKER_CONTEXT / `docker context use default`"
    ) in out


def test_wrong_tls_settings_give_a_clear_message(
    remote: RemoteDaemon,
    on_remote: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Another CA: the daemon's certificate is not one it signed.
    other = tmp_path / "other"
    shutil.copytree(remote.cert_path, other)
    ca, _key = make_ca(tmp_path / "other-ca", "another CA")
    shutil.copy(ca, other / "ca.pem")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(other))
    code, out = plugwiz(["inspect", TAG], capsys)
    assert code == 2
    assert (
        f"the Docker daemon at {remote.host} (TLS) has a TLS certificate that the CA in "
        "DOCKER_CERT_PATH (ca.pem) did not sign, or that does not name this host"
    ) in out

    # TLS not asked for: the daemon wants it.
    monkeypatch.delenv("DOCKER_TLS_VERIFY")
    code, out = plugwiz(["inspect", TAG], capsys)
    assert code == 2, out
    assert (
        f"the Docker daemon at {remote.host} speaks TLS and plugwiz was not told to: set "
        "DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH"
    ) in out

    # The certificates are not where DOCKER_CERT_PATH says.
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(tmp_path / "nothing"))
    with pytest.raises(EngineUnavailableError, match="DOCKER_TLS_VERIFY is set for"):
        find_endpoint()
    code, out = plugwiz(["inspect", TAG], capsys)
    assert code == 2 and "point DOCKER_CERT_PATH at the directory with ca.pem" in out


def test_push_from_the_remote_engine(
    remote: RemoteDaemon,
    on_remote: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The remote daemon pushes (the registry's CA is trusted on its machine: here, the
    same /etc/docker/certs.d)."""
    with running_registry(tmp_path / "registry") as registry:
        push_and_check(registry, monkeypatch, capsys)


def push_and_check(
    registry: TestRegistry, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(registry.config_dir))
    engine = DockerEngine()
    tag = f"{registry.host}/plugwiz-test/remote:1"
    repository, version = tag.rsplit(":", 1)
    engine.client.api.tag(TAG, repository, version)
    code, out = plugwiz(["push", tag], capsys)
    assert code == 0, out
    assert re.search(rf"^pushed {re.escape(registry.host)}/plugwiz-test/remote@sha256:", out, re.M)
    assert registry.password not in out


def test_an_ssh_engine_builds_inspects_and_runs(
    docker_engine: DockerEngine,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """DOCKER_HOST=ssh://root@127.0.0.1:PORT: the ssh client runs `docker system dial-stdio`
    through a real sshd (here in front of the machine's own daemon)."""
    folder = tmp_path / "sshd"
    folder.mkdir()
    with running_sshd(folder) as sshd:
        monkeypatch.setenv("PATH", f"{sshd.bin_dir}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("DOCKER_HOST", sshd.docker_host)
        monkeypatch.setenv("PLUGWIZ_CACHE_DIR", str(tmp_path / "cache"))
        for name in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT"):
            monkeypatch.delenv(name, raising=False)
        assert engine_label() == f"engine {sshd.docker_host}"
        tag = f"plugwiz-ssh-{uuid.uuid4().hex[:8]}:latest"
        log = tmp_path / "ssh.log"
        try:
            code, out = plugwiz(["build", "--tag", tag, "--log", str(log)], capsys)
            assert code == 0, out[-3000:]
            code, out = plugwiz(["inspect", tag], capsys)
            assert code == 0 and "plugins  3 (in load order)" in out, out
            result = DockerEngine().run_once(tag, timeout=60)
            assert result.exit_code == 0 and "demo-host: 3 plugins loaded" in result.output
        finally:
            tracker = ImageTracker(docker_engine.client, "plugwiz-ssh")
            tracker.tags.append(tag)
            tracker.from_log(log)
            tracker.cleanup()
