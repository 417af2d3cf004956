"""A real registry for the push tests: Debian's `docker-registry` (distribution 2.8) with
htpasswd authentication and TLS from a test CA, on 127.0.0.1 and a free port.

The Docker daemon trusts it through /etc/docker/certs.d/127.0.0.1:PORT/ca.crt (read on each
connection: no restart). Credentials reach plugwiz only the way a user's would: a Docker
config directory (`DOCKER_CONFIG`) with an `auths` entry, as `docker login` writes it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tls import free_port, make_ca, make_cert

CERTS_D = Path("/etc/docker/certs.d")


@dataclass(frozen=True)
class TestRegistry:
    """A running registry and a Docker config that logs in to it."""

    __test__ = False  # not a test class

    host: str  # 127.0.0.1:PORT
    user: str
    password: str
    config_dir: Path  # a DOCKER_CONFIG directory with the right credentials
    folder: Path

    def config_with(self, password: str | None, name: str) -> Path:
        """Another DOCKER_CONFIG directory: these credentials (None: no entry at all)."""
        folder = self.folder / name
        folder.mkdir(exist_ok=True)
        auths = {}
        if password is not None:
            token = base64.b64encode(f"{self.user}:{password}".encode()).decode()
            auths[self.host] = {"auth": token}
        (folder / "config.json").write_text(json.dumps({"auths": auths}))
        return folder


def _wait_until_up(host: str, ca: Path, process: subprocess.Popen[bytes], log: Path) -> None:
    context = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"docker-registry exited: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"https://{host}/v2/", context=context, timeout=2)
            return
        except urllib.error.HTTPError as error:
            if error.code == 401:  # up, and asking for credentials
                return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"docker-registry did not start: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def running_registry(folder: Path) -> Iterator[TestRegistry]:
    """Start a registry in `folder`; stop it and forget its CA afterwards."""
    binary = shutil.which("docker-registry")
    htpasswd = shutil.which("htpasswd")
    if binary is None or htpasswd is None:
        pytest.fail("docker-registry or htpasswd is missing: run scripts/setup")
    port = free_port()
    host = f"127.0.0.1:{port}"
    ca = make_ca(folder / "ca", "plugwiz test registry CA")
    cert, key = make_cert(folder / "ca", "registry", server=True, ca=ca)
    user, password = "plugwiz-tester", f"pw-{uuid.uuid4().hex}"
    # -B: bcrypt, which distribution requires. -i: the password from stdin, never argv.
    entry = subprocess.run(
        [htpasswd, "-niB", user], input=password.encode(), check=True, capture_output=True
    ).stdout
    (folder / "htpasswd").write_bytes(entry)
    (folder / "data").mkdir()
    config = folder / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: info}\n"
        f"storage: {{filesystem: {{rootdirectory: {folder / 'data'}}}}}\n"
        "http:\n"
        f"  addr: {host}\n"
        f"  tls: {{certificate: {cert}, key: {key}}}\n"
        f"auth: {{htpasswd: {{realm: plugwiz-test, path: {folder / 'htpasswd'}}}}}\n"
    )
    trust = CERTS_D / host
    try:
        trust.mkdir(parents=True, exist_ok=True)
        shutil.copy(ca[0], trust / "ca.crt")
    except OSError as error:
        pytest.fail(f"cannot make the daemon trust the test registry ({trust}): {error}")
    log = folder / "registry.log"
    with log.open("wb") as out:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=out, stderr=out)
    try:
        _wait_until_up(host, ca[0], process, log)
        registry = TestRegistry(host, user, password, folder / "docker-config", folder)
        registry.config_with(password, "docker-config")
        yield registry
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(trust, ignore_errors=True)
