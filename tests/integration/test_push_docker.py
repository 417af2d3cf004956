"""Pushing to a real registry (htpasswd auth, TLS from a test CA), pulling back by digest.

The credentials reach plugwiz only through a Docker config directory, as `docker login`
leaves them; each test checks the password is nowhere plugwiz writes or prints.
"""

from __future__ import annotations

import base64
import contextlib
import io
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker.errors import NotFound

from plugwiz import cli
from plugwiz.adapters.docker_engine import DockerEngine
from plugwiz.core.push import LayerProgress, PushFinished, PushStarted
from tests.helpers import OFFLINE_RUNTIME, ImageTracker
from tests.registry import TestRegistry, running_registry
from tests.tls import free_port

pytestmark = pytest.mark.docker

REFERENCE_RE = re.compile(r"^pushed (\S+@sha256:[0-9a-f]{64})$", re.MULTILINE)


@pytest.fixture(scope="module")
def registry(
    docker_engine: DockerEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestRegistry]:
    with running_registry(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture(scope="module")
def tracker(docker_engine: DockerEngine) -> Iterator[ImageTracker]:
    tracker = ImageTracker(docker_engine.client, "plugwiz-push")
    yield tracker
    tracker.cleanup()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    path.mkdir()
    monkeypatch.setenv("PLUGWIZ_CACHE_DIR", str(path))
    return path


def plugwiz(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def error_line(out: str) -> str:
    """The one `error: ...` line of plugwiz's output."""
    lines = [line for line in out.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, out
    return lines[0]


def secrets_of(registry: TestRegistry) -> list[str]:
    """The password, and the `auth` token that holds it."""
    token = base64.b64encode(f"{registry.user}:{registry.password}".encode()).decode()
    return [registry.password, token]


def assert_nowhere(secrets: list[str], *places: str | Path) -> None:
    """None of `secrets` in any of the texts, files or directories (every file under one)."""
    for place in places:
        if isinstance(place, Path):
            files = [place] if place.is_file() else [p for p in place.rglob("*") if p.is_file()]
            for path in files:
                data = path.read_bytes()
                for secret in secrets:
                    assert secret.encode() not in data, f"a credential is in {path}"
        else:
            for secret in secrets:
                assert secret not in place, "a credential is in plugwiz's output"


def forget_image(engine: DockerEngine, reference: str) -> None:
    """Remove every name of the image `reference` names, so only a pull can bring it back."""
    api = engine.client.api
    attrs = api.inspect_image(reference)
    for name in [*(attrs.get("RepoTags") or []), *(attrs.get("RepoDigests") or [])]:
        # Removing the last tag removes the digest references too.
        with contextlib.suppress(NotFound):
            api.remove_image(name)
    with pytest.raises(Exception, match="No such image"):
        api.inspect_image(reference)


def test_build_push_pull_by_digest_and_run(
    docker_engine: DockerEngine,
    registry: TestRegistry,
    tracker: ImageTracker,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(registry.config_dir))
    tag = f"{registry.host}/plugwiz-test/demo:1"
    tracker.tags.append(tag)
    log = cache / "build.log"
    code, out = plugwiz(["build", "--tag", tag, "--push", "--log", str(log)], capsys)
    tracker.from_log(log)
    assert code == 0, out[-3000:]
    assert f"pushing {tag} to {registry.host}" in out
    layers = re.findall(r"^    ([0-9a-f]{12})  (Pushed|Layer already exists)", out, re.MULTILINE)
    assert len(layers) >= 2, out[-2000:]  # the base layer and plugwiz's own
    match = REFERENCE_RE.search(out)
    assert match, out[-2000:]
    reference = match.group(1)
    assert reference.startswith(f"{registry.host}/plugwiz-test/demo@sha256:")
    built_id = docker_engine.client.api.inspect_image(tag)["Id"]
    labels_before = docker_engine.inspect(tag).labels
    history = str(docker_engine.client.api.history(tag))

    forget_image(docker_engine, tag)
    # A fresh engine: the docker SDK reads DOCKER_CONFIG when its client is made.
    engine = DockerEngine()
    repository, digest = reference.split("@")
    engine.client.api.pull(repository, tag=digest)
    try:
        assert engine.client.api.inspect_image(reference)["Id"] == built_id
        result = engine.run_once(reference, timeout=60)
        assert result.exit_code == 0, result.output
        for name in ("reverse", "upper", "hello"):
            assert f"loaded plugin {name} from /app/plugins/{name}.so" in result.output
        assert "demo-host: 3 plugins loaded" in result.output
        assert engine.inspect(reference).labels == labels_before
    finally:
        forget_image(engine, reference)

    assert_nowhere(secrets_of(registry), out, cache, str(labels_before), history)


def test_plugwiz_push_events_and_the_result_digest(
    docker_engine: DockerEngine,
    registry: TestRegistry,
    tracker: ImageTracker,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`plugwiz push TAG` and the engine's typed events on a small image of our own."""
    monkeypatch.setenv("DOCKER_CONFIG", str(registry.config_dir))
    tag = f"{registry.host}/plugwiz-test/small:events"
    image_id = small_image(docker_engine, tag, "events")
    tracker.tags.append(tag)
    tracker.images.append(image_id)
    engine = DockerEngine()
    import threading

    events = list(engine.push(tag, cancel=threading.Event()))
    assert isinstance(events[0], PushStarted) and events[0].registry == registry.host
    assert isinstance(events[-1], PushFinished)
    progress = [e for e in events if isinstance(e, LayerProgress)]
    assert progress and all(e.layer for e in progress)
    assert any(e.done for e in progress)
    finished = events[-1]
    assert finished.reference == f"{registry.host}/plugwiz-test/small@{finished.digest}"
    # The engine now knows that digest for the tag: a Dockerfile may pin it.
    assert engine.registry_digest(tag) == finished.digest

    code, out = plugwiz(["push", tag], capsys)
    assert code == 0, out
    assert f"pushed {finished.reference}" in out  # the same content: the same digest
    assert_nowhere(secrets_of(registry), out)


def small_image(engine: DockerEngine, tag: str, marker: str) -> str:
    """An image of our own on top of the offline runtime (never push a shared base image:
    the push would record a digest on it)."""
    buffer = io.BytesIO()
    dockerfile = f"FROM {OFFLINE_RUNTIME}\nLABEL dev.plugwiz.test={marker}\n".encode()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    buffer.seek(0)
    image_id = ""
    for chunk in engine.client.api.build(
        fileobj=buffer, custom_context=True, tag=tag, decode=True, rm=True
    ):
        aux: Any = chunk.get("aux")
        if isinstance(aux, dict) and aux.get("ID"):
            image_id = str(aux["ID"])
    assert image_id
    return image_id


def test_a_wrong_password_fails_clearly_and_is_found_nowhere(
    docker_engine: DockerEngine,
    registry: TestRegistry,
    tracker: ImageTracker,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tag = f"{registry.host}/plugwiz-test/small:wrong"
    tracker.tags.append(tag)
    tracker.images.append(small_image(docker_engine, tag, "wrong"))
    wrong = "wrong-" + registry.password[::-1]
    monkeypatch.setenv("DOCKER_CONFIG", str(registry.config_with(wrong, "wrong-config")))
    project = cache / "plugwiz.yaml"
    project.write_text(f"version: 1\nhost: {{repo: demo}}\ntag: {tag}\n")
    code, out = plugwiz(["push", tag], capsys)
    assert code == 2, out
    assert error_line(out) == (
        f"error: pushing {tag}: {registry.host} refused the credentials in your Docker config "
        "(wrong user or password, or no right to push to this repository): run "
        f"`docker login {registry.host}` again. The registry said: unauthorized: "
        "authentication required"
    ), out
    assert "Traceback" not in out
    wrong_token = base64.b64encode(f"{registry.user}:{wrong}".encode()).decode()
    assert_nowhere([*secrets_of(registry), wrong, wrong_token], out, cache, project)


def test_no_credentials_and_an_unreachable_registry(
    docker_engine: DockerEngine,
    registry: TestRegistry,
    tracker: ImageTracker,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tag = f"{registry.host}/plugwiz-test/small:anon"
    tracker.tags.append(tag)
    tracker.images.append(small_image(docker_engine, tag, "anon"))
    monkeypatch.setenv("DOCKER_CONFIG", str(registry.config_with(None, "empty-config")))
    code, out = plugwiz(["push", tag], capsys)
    assert (code, error_line(out)) == (
        2,
        f"error: pushing {tag}: no credentials for {registry.host} in your Docker config: run "
        f"`docker login {registry.host}` (or set up its credential helper), then push again",
    )

    closed = f"127.0.0.1:{free_port()}"
    unreachable = f"{closed}/plugwiz-test/small:gone"
    repository, version = unreachable.rsplit(":", 1)
    docker_engine.client.api.tag(tag, repository, version)
    tracker.tags.append(unreachable)
    code, out = plugwiz(["push", unreachable], capsys)
    assert code == 2, out
    assert error_line(out).startswith(
        f"error: pushing {unreachable}: cannot reach the registry {closed} from the Docker "
        "daemon at unix:///var/run/docker.sock: check the address and that the registry runs. "
        "The daemon said: "
    ), out

    code, out = plugwiz(["push", "plugwiz-demo:latest"], capsys)
    assert code == 2
    assert "names no registry, so Docker would push it to Docker Hub" in out


def test_a_base_image_with_a_registry_digest_is_pinned(
    docker_engine: DockerEngine,
    registry: TestRegistry,
    tracker: ImageTracker,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A runtime image pulled from (here: pushed to) a registry has a digest: the Dockerfile
    pins it, the image's labels name it, and the build still runs."""
    monkeypatch.setenv("DOCKER_CONFIG", str(registry.config_dir))
    runtime = f"{registry.host}/plugwiz-test/runtime:bookworm-slim"
    tracker.tags.append(runtime)
    tracker.images.append(small_image(docker_engine, runtime, "pinned-runtime"))
    code, out = plugwiz(["push", runtime], capsys)
    assert code == 0, out
    digest = out.strip().rsplit("@", 1)[1]

    code, out = plugwiz(["render", "--runtime-image", runtime, "--pin"], capsys)
    assert code == 0, out
    assert f"\nFROM {runtime}@{digest}\n" in out
    assert f'org.opencontainers.image.base.digest="{digest}"' in out
    assert "# Runtime image: pinned to " + digest in out
    # The builder is an imported stand-in: no digest, and the Dockerfile says so.
    assert (
        "# Builder image: golang:1.19-bookworm mapped to plugwiz-offline/golang:1.19-bookworm; "
        "not pinned: the engine knows no registry digest for it (made locally)"
    ) in out
    code, plain = plugwiz(["render", "--runtime-image", runtime], capsys)
    assert f"\nFROM {runtime}\n" in plain  # without --pin, render asks no engine

    tag = tracker.tag("pinned")
    log = cache / "pinned.log"
    code, out = plugwiz(
        ["build", "--runtime-image", runtime, "--tag", tag, "--log", str(log)], capsys
    )
    tracker.from_log(log)
    assert code == 0, out[-2000:]
    assert f"FROM {runtime}@{digest}" in log.read_text()
    labels = docker_engine.inspect(tag).labels
    assert labels["org.opencontainers.image.base.name"] == runtime
    assert labels["org.opencontainers.image.base.digest"] == digest
    assert docker_engine.run_once(tag, timeout=60).exit_code == 0
