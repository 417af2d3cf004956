"""Certificates made in a test with openssl: a CA, and server or client certificates it
signs (for the test registry and the test's TLS Docker daemon)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def need_openssl() -> str:
    """The openssl binary (scripts/setup installs it)."""
    found = shutil.which("openssl")
    if found is None:
        pytest.fail("openssl is missing: run scripts/setup (Debian: apt-get install openssl)")
    return found


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run([need_openssl(), *args], cwd=cwd, check=True, capture_output=True)


def make_ca(folder: Path, name: str = "plugwiz test CA") -> tuple[Path, Path]:
    """A self-signed CA valid for two days: (certificate, key)."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", "ca-key.pem", "-out", "ca.pem", "-subj", f"/CN={name}",
        cwd=folder,
    )  # fmt: skip
    return folder / "ca.pem", folder / "ca-key.pem"


def make_cert(folder: Path, stem: str, *, server: bool, ca: tuple[Path, Path]) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (server) or a client, signed by `ca`: (cert, key)."""
    usage = "serverAuth" if server else "clientAuth"
    extensions = folder / f"{stem}.ext"
    lines = [
        "basicConstraints=CA:FALSE",
        "keyUsage=digitalSignature,keyEncipherment",
        f"extendedKeyUsage={usage}",
    ]
    if server:
        lines.append("subjectAltName=IP:127.0.0.1")
    extensions.write_text("\n".join(lines) + "\n")
    subject = "/CN=127.0.0.1" if server else "/CN=plugwiz test client"
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{stem}-key.pem",
        "-out", f"{stem}.csr", "-subj", subject,
        cwd=folder,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", f"{stem}.csr", "-CA", str(ca[0]), "-CAkey", str(ca[1]),
        "-CAcreateserial", "-days", "2", "-out", f"{stem}.pem", "-extfile", extensions.name,
        cwd=folder,
    )  # fmt: skip
    return folder / f"{stem}.pem", folder / f"{stem}-key.pem"


def free_port() -> int:
    """A TCP port nothing listens on right now (on 127.0.0.1)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
