"""Which Docker engine to talk to, found as the docker CLI finds it. No docker SDK import:
the wizard shows the engine in its header before the SDK is loaded.

Order (the docker CLI's): `DOCKER_HOST` (with `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`),
else the context `DOCKER_CONTEXT` names, else the config's `currentContext`
(`$DOCKER_CONFIG/config.json`, default `~/.docker`), else the local socket. A context is read
from `$DOCKER_CONFIG/contexts/meta/<sha256 of its name>/meta.json` and its TLS files from
`contexts/tls/<same>/docker/`, as `docker context create` writes them. `ssh://` hosts go
through the `ssh` client (it reads `~/.ssh/config` and the agent), which runs
`docker system dial-stdio` on the remote machine.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from plugwiz.core.engine import EngineUnavailableError

DEFAULT_HOST = "unix:///var/run/docker.sock"
DEFAULT_CONTEXT = "default"


@dataclass(frozen=True)
class DockerEndpoint:
    """Where the engine is and how to reach it."""

    host: str
    tls: bool = False  # talk TLS (tcp:// only)
    verify: bool = False  # check the daemon's certificate against `ca_cert`
    ca_cert: str = ""
    client_cert: str = ""
    client_key: str = ""
    context: str = ""  # the context it came from ("" for DOCKER_HOST or the default)

    @property
    def local(self) -> bool:
        """True for the default local socket (the header does not mention it)."""
        return self.host == DEFAULT_HOST and not self.context

    @property
    def ssh(self) -> bool:
        return self.host.startswith("ssh://")

    def describe(self) -> str:
        """`tcp://10.0.0.5:2376 (TLS)`, `ssh://me@builder (context builder)`."""
        notes = []
        if self.tls:
            notes.append("TLS" if self.verify else "TLS, not verified")
        if self.context:
            notes.append(f"context {self.context}")
        return self.host + (f" ({', '.join(notes)})" if notes else "")


def docker_config_dir(environ: Mapping[str, str]) -> Path:
    """`$DOCKER_CONFIG`, or `~/.docker`."""
    configured = environ.get("DOCKER_CONFIG")
    return Path(configured).expanduser() if configured else Path.home() / ".docker"


def find_endpoint(environ: Mapping[str, str] | None = None) -> DockerEndpoint:
    """The engine the docker CLI would use with this environment; raises
    EngineUnavailableError for a context that does not exist or cannot be read."""
    env = os.environ if environ is None else environ
    host = env.get("DOCKER_HOST", "").strip()
    if host:
        return _from_environment(host, env)
    name = env.get("DOCKER_CONTEXT", "").strip() or _current_context(env)
    if not name or name == DEFAULT_CONTEXT:
        return DockerEndpoint(DEFAULT_HOST)
    return _from_context(name, env)


def _from_environment(host: str, env: Mapping[str, str]) -> DockerEndpoint:
    verify = env.get("DOCKER_TLS_VERIFY", "") not in ("", "0")
    cert_path = env.get("DOCKER_CERT_PATH", "") or str(docker_config_dir(env))
    tls = verify and host.startswith("tcp://")
    if not tls:
        return DockerEndpoint(host)
    folder = Path(cert_path).expanduser()
    files = {name: folder / f"{name}.pem" for name in ("ca", "cert", "key")}
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise EngineUnavailableError(
            f"DOCKER_TLS_VERIFY is set for {host} but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing: point DOCKER_CERT_PATH at the "
            "directory with ca.pem, cert.pem and key.pem"
        )
    return DockerEndpoint(
        host,
        tls=True,
        verify=True,
        ca_cert=str(files["ca"]),
        client_cert=str(files["cert"]),
        client_key=str(files["key"]),
    )


def _current_context(env: Mapping[str, str]) -> str:
    path = docker_config_dir(env) / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    current = data.get("currentContext") if isinstance(data, dict) else None
    return current if isinstance(current, str) else ""


def context_id(name: str) -> str:
    """The directory name the docker CLI stores a context under."""
    return hashlib.sha256(name.encode()).hexdigest()


def _from_context(name: str, env: Mapping[str, str]) -> DockerEndpoint:
    root = docker_config_dir(env) / "contexts"
    meta_path = root / "meta" / context_id(name) / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        docker = meta["Endpoints"]["docker"]
        host = str(docker["Host"])
    except FileNotFoundError:
        raise EngineUnavailableError(
            f"the Docker context {name!r} does not exist (`docker context ls` lists them): "
            "create it, or unset DOCKER_CONTEXT / `docker context use default`"
        ) from None
    except (OSError, ValueError, KeyError, TypeError):
        raise EngineUnavailableError(
            f"the Docker context {name!r} cannot be read ({meta_path}): recreate it with "
            "`docker context create`"
        ) from None
    skip_verify = bool(docker.get("SkipTLSVerify", False))
    tls_dir = root / "tls" / context_id(name) / "docker"
    files = {key: tls_dir / f"{key}.pem" for key in ("ca", "cert", "key")}
    has_tls = any(path.is_file() for path in files.values())
    if not host.startswith("tcp://") or not (has_tls or skip_verify):
        return DockerEndpoint(host, context=name)
    return DockerEndpoint(
        host,
        tls=True,
        verify=not skip_verify and files["ca"].is_file(),
        ca_cert=str(files["ca"]) if files["ca"].is_file() else "",
        client_cert=str(files["cert"]) if files["cert"].is_file() else "",
        client_key=str(files["key"]) if files["key"].is_file() else "",
        context=name,
    )


def engine_label(environ: Mapping[str, str] | None = None) -> str:
    """What the wizard's header says about the engine: "" for the local socket, else where
    it is; a problem finding it is shown as such (the build step gives the whole message)."""
    try:
        endpoint = find_endpoint(environ)
    except EngineUnavailableError:
        return "engine: ? (see the Build step)"
    return "" if endpoint.local else f"engine {endpoint.describe()}"


__all__ = [
    "DEFAULT_HOST",
    "DockerEndpoint",
    "context_id",
    "docker_config_dir",
    "engine_label",
    "find_endpoint",
]
