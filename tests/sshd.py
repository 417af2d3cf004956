"""An SSH server for the ssh:// engine test: the machine's sshd on 127.0.0.1 and a free port,
with host and user keys made in the test, accepting only that key for root (who may run
`docker`). The client side is the real `ssh` with a config of the test's own: a wrapper first
on PATH adds `-F CONFIG` (OpenSSH reads ~/.ssh/config from the passwd home, not $HOME)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tls import free_port


@dataclass(frozen=True)
class TestSshd:
    """A running sshd: the DOCKER_HOST that reaches the machine's daemon through it, and the
    directory to put first on PATH (the ssh wrapper)."""

    __test__ = False

    docker_host: str
    bin_dir: Path


def _sshd() -> str:
    for candidate in ("/usr/sbin/sshd", "/usr/bin/sshd"):
        if Path(candidate).exists():
            return candidate
    pytest.fail("sshd is missing: run scripts/setup (Debian: openssh-server)")


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
    )


@contextlib.contextmanager
def running_sshd(folder: Path) -> Iterator[TestSshd]:
    """Start sshd in `folder`; stop it afterwards."""
    if os.geteuid() != 0:
        pytest.skip("the ssh:// test logs in as root through a test sshd: run it as root")
    sshd = _sshd()
    port = free_port()
    _keygen(folder / "host_key")
    _keygen(folder / "id_key")
    shutil.copy(folder / "id_key.pub", folder / "authorized_keys")
    (folder / "sshd_config").write_text(
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {folder / 'host_key'}\n"
        f"PidFile {folder / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "StrictModes no\n"
    )
    host_key = (folder / "host_key.pub").read_text().split()[:2]
    (folder / "known_hosts").write_text(f"[127.0.0.1]:{port} {' '.join(host_key)}\n")
    (folder / "ssh_config").write_text(
        "Host 127.0.0.1\n"
        f"  IdentityFile {folder / 'id_key'}\n"
        "  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {folder / 'known_hosts'}\n"
        "  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
    )
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    real_ssh = shutil.which("ssh")
    if real_ssh is None:
        pytest.fail("the ssh client is missing (Debian: openssh-client)")
    wrapper = bin_dir / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec {real_ssh} -F {folder / "ssh_config"} "$@"\n')
    wrapper.chmod(0o755)
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    log = folder / "sshd.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sshd, "-D", "-e", "-f", str(folder / "sshd_config")],
                                   stdout=out, stderr=out)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                pytest.fail(f"sshd exited: {log.read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"sshd did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield TestSshd(f"ssh://root@127.0.0.1:{port}", bin_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
