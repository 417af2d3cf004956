"""A second Docker daemon for the remote-engine tests: TCP with TLS (certificates made in the
test), its own data root, exec root, pid file and socket, so it shares nothing with the
machine's daemon. It has no images: the offline base images are copied into it from the
local daemon (`docker save | docker load`, through the API)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from tests.tls import free_port, make_ca, make_cert


@dataclass(frozen=True)
class RemoteDaemon:
    """A running TLS daemon: where it listens, and a DOCKER_CERT_PATH for its clients."""

    host: str  # tcp://127.0.0.1:PORT
    cert_path: Path  # ca.pem, cert.pem, key.pem, as the docker CLI wants them
    socket: str  # its own unix socket (for the test's own checks)
    folder: Path

    @property
    def environment(self) -> dict[str, str]:
        """What a user sets to build there."""
        return {
            "DOCKER_HOST": self.host,
            "DOCKER_TLS_VERIFY": "1",
            "DOCKER_CERT_PATH": str(self.cert_path),
        }

    def client(self) -> docker.DockerClient:
        """A client on the daemon's own socket (not the engine under test)."""
        return docker.DockerClient(base_url=f"unix://{self.socket}", version="auto")


def _dockerd() -> str:
    for candidate in ("/usr/sbin/dockerd", "/usr/bin/dockerd"):
        if Path(candidate).exists():
            return candidate
    found = shutil.which("dockerd")
    if found is None:
        pytest.fail("dockerd is missing: run scripts/setup")
    return found


@contextlib.contextmanager
def running_daemon(
    folder: Path, images: tuple[str, ...], local: docker.DockerClient
) -> Iterator[RemoteDaemon]:
    """Start the daemon in `folder` with copies of `images` (from the `local` daemon); stop it
    and remove its data."""
    certs = folder / "certs"
    ca = make_ca(certs, "plugwiz test daemon CA")
    server = make_cert(certs, "server", server=True, ca=ca)
    client = make_cert(certs, "client", server=False, ca=ca)
    cert_path = folder / "client"
    cert_path.mkdir()
    shutil.copy(ca[0], cert_path / "ca.pem")
    shutil.copy(client[0], cert_path / "cert.pem")
    shutil.copy(client[1], cert_path / "key.pem")
    port = free_port()
    socket_path = folder / "docker.sock"
    bridge = _make_bridge()
    args = [
        _dockerd(),
        "--tlsverify",
        f"--tlscacert={ca[0]}",
        f"--tlscert={server[0]}",
        f"--tlskey={server[1]}",
        f"-H=tcp://127.0.0.1:{port}",
        f"-H=unix://{socket_path}",
        f"--data-root={folder / 'root'}",
        f"--exec-root={folder / 'exec'}",
        f"--pidfile={folder / 'docker.pid'}",
        # A bridge of its own, no iptables rules: nothing the machine's daemon owns is
        # touched. Never `--bridge=none`: dockerd then DELETES the host's docker0 (moby's
        # removeDefaultBridgeInterface), which breaks every container of the other daemon.
        f"--bridge={bridge}",
        "--iptables=false",
        "--ip-masq=false",
    ]
    log = folder / "dockerd.log"
    try:
        with log.open("wb") as out:
            process = subprocess.Popen(args, stdout=out, stderr=out)
    except OSError:
        _remove_bridge(bridge)
        raise
    daemon = RemoteDaemon(f"tcp://127.0.0.1:{port}", cert_path, str(socket_path), folder)
    try:
        _wait_until_up(daemon, process, log)
        remote = daemon.client()
        for image in images:
            remote.api.load_image(local.api.get_image(image, chunk_size=1024 * 1024))
        yield daemon
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _remove_bridge(bridge)
        # The layers are mounted while the daemon runs; it unmounts them when it stops.
        shutil.rmtree(folder / "root", ignore_errors=True)
        shutil.rmtree(folder / "exec", ignore_errors=True)


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _make_bridge() -> str:
    """A bridge of the test's own (a free 10.213.N.0/24), for the daemon's default network."""
    used = _ip("-4", "addr").stdout
    number = next((n for n in range(200, 250) if f"10.213.{n}." not in used), None)
    if number is None:
        pytest.fail("no free 10.213.N.0/24 for the test daemon's bridge")
    name = f"plugwiz-t{uuid.uuid4().hex[:6]}"  # at most 15 characters (IFNAMSIZ)
    _ip("link", "add", name, "type", "bridge")
    try:
        _ip("addr", "add", f"10.213.{number}.1/24", "dev", name)
        _ip("link", "set", name, "up")
    except subprocess.CalledProcessError:
        _remove_bridge(name)
        raise
    return name


def _remove_bridge(name: str) -> None:
    with contextlib.suppress(subprocess.CalledProcessError):
        _ip("link", "del", name)


def _wait_until_up(daemon: RemoteDaemon, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the test dockerd exited: {log.read_text()[-3000:]}")
        if Path(daemon.socket).exists():
            with contextlib.suppress(Exception):
                daemon.client().ping()
                return
        time.sleep(0.3)
    pytest.fail(f"the test dockerd did not start: {log.read_text()[-3000:]}")
