"""Which engine plugwiz talks to, found as the docker CLI finds it (no daemon needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugwiz.adapters.docker_endpoint import (
    DEFAULT_HOST,
    DockerEndpoint,
    context_id,
    engine_label,
    find_endpoint,
)
from plugwiz.core.engine import EngineUnavailableError


def write_context(
    config: Path, name: str, host: str, *, tls: bool, skip_verify: bool = False
) -> None:
    """A context as `docker context create` writes it."""
    meta = config / "contexts" / "meta" / context_id(name)
    meta.mkdir(parents=True)
    endpoint = {"Host": host, "SkipTLSVerify": skip_verify}
    (meta / "meta.json").write_text(
        json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": endpoint}})
    )
    if tls:
        folder = config / "contexts" / "tls" / context_id(name) / "docker"
        folder.mkdir(parents=True)
        for file in ("ca.pem", "cert.pem", "key.pem"):
            (folder / file).write_text("x")


def test_the_default_is_the_local_socket_and_the_header_says_nothing(tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path)}
    assert find_endpoint(env) == DockerEndpoint(DEFAULT_HOST)
    assert find_endpoint(env).local
    assert engine_label(env) == ""


def test_docker_host_with_tls(tmp_path: Path) -> None:
    for file in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / file).write_text("x")
    env = {
        "DOCKER_HOST": "tcp://10.0.0.5:2376",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(tmp_path),
        "DOCKER_CONTEXT": "ignored",  # DOCKER_HOST wins, as with the docker CLI
    }
    endpoint = find_endpoint(env)
    assert endpoint == DockerEndpoint(
        "tcp://10.0.0.5:2376",
        tls=True,
        verify=True,
        ca_cert=str(tmp_path / "ca.pem"),
        client_cert=str(tmp_path / "cert.pem"),
        client_key=str(tmp_path / "key.pem"),
    )
    assert engine_label(env) == "engine tcp://10.0.0.5:2376 (TLS)"
    plain = find_endpoint({"DOCKER_HOST": "tcp://10.0.0.5:2375"})
    assert plain == DockerEndpoint("tcp://10.0.0.5:2375") and not plain.local
    (tmp_path / "key.pem").unlink()
    with pytest.raises(
        EngineUnavailableError, match=r"key\.pem is missing: point DOCKER_CERT_PATH"
    ):
        find_endpoint(env)
    assert engine_label(env) == "engine: ? (see the Build step)"


def test_ssh_hosts_go_through_the_ssh_client() -> None:
    endpoint = find_endpoint({"DOCKER_HOST": "ssh://builder@build.example"})
    assert endpoint.ssh and endpoint.describe() == "ssh://builder@build.example"


def test_contexts_from_the_environment_and_the_config(tmp_path: Path) -> None:
    write_context(tmp_path, "prod", "tcp://prod.example:2376", tls=True)
    write_context(tmp_path, "box", "ssh://me@box", tls=False)
    write_context(tmp_path, "lax", "tcp://lax.example:2376", tls=False, skip_verify=True)
    env = {"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "prod"}
    prod = find_endpoint(env)
    tls_dir = tmp_path / "contexts" / "tls" / context_id("prod") / "docker"
    assert prod == DockerEndpoint(
        "tcp://prod.example:2376",
        tls=True,
        verify=True,
        ca_cert=str(tls_dir / "ca.pem"),
        client_cert=str(tls_dir / "cert.pem"),
        client_key=str(tls_dir / "key.pem"),
        context="prod",
    )
    assert engine_label(env) == "engine tcp://prod.example:2376 (TLS, context prod)"
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "box"}))
    box = find_endpoint({"DOCKER_CONFIG": str(tmp_path)})
    assert box == DockerEndpoint("ssh://me@box", context="box")
    lax = find_endpoint({"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "lax"})
    assert lax.tls and not lax.verify
    assert lax.describe() == "tcp://lax.example:2376 (TLS, not verified, context lax)"
    default = find_endpoint({"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "default"})
    assert default.local


def test_a_missing_or_broken_context_is_named(tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "gone"}
    with pytest.raises(EngineUnavailableError, match="the Docker context 'gone' does not exist"):
        find_endpoint(env)
    meta = tmp_path / "contexts" / "meta" / context_id("bad")
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text("{not json")
    with pytest.raises(EngineUnavailableError, match="the Docker context 'bad' cannot be read"):
        find_endpoint({**env, "DOCKER_CONTEXT": "bad"})
