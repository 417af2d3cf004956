"""Shared fixtures: a Docker engine for the docker tests, and an isolated plugwiz cache.

The machine is offline: its base images are scripts/make-go-image's stand-ins under
`plugwiz-offline/`, and every test builds with them through the same explicit map a user sets
(`PLUGWIZ_IMAGE_MAP`), while the Dockerfiles keep naming the registry images.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from plugwiz.core.image_refs import IMAGE_MAP_ENV, OFFLINE_MAP
from tests.helpers import OFFLINE_BUILDER, OFFLINE_RUNTIME

if TYPE_CHECKING:
    from plugwiz.adapters.docker_engine import DockerEngine

BASE_IMAGES = (OFFLINE_BUILDER, OFFLINE_RUNTIME)
# Set before any test (or module fixture) builds; a test about the unmapped default clears it.
os.environ.setdefault(IMAGE_MAP_ENV, OFFLINE_MAP)


def _skip_or_fail(reason: str) -> NoReturn:
    # Locally a missing daemon skips the docker tests; in CI it must fail loudly instead.
    if os.environ.get("CI"):
        pytest.fail(f"docker tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_engine() -> DockerEngine:
    """A DockerEngine with a reachable daemon and both offline base images present."""
    from plugwiz.adapters.docker_engine import DockerEngine, DockerError

    engine = DockerEngine()
    try:
        engine.ping()
        missing = [image for image in BASE_IMAGES if not engine.client.images.list(name=image)]
    except DockerError as error:
        _skip_or_fail(str(error))
    if missing:
        _skip_or_fail(f"missing base image(s) {', '.join(missing)}: run scripts/make-go-image")
    return engine


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point PLUGWIZ_CACHE_DIR at an empty temporary directory."""
    cache = tmp_path / "plugwiz-cache"
    cache.mkdir()
    monkeypatch.setenv("PLUGWIZ_CACHE_DIR", str(cache))
    yield cache


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With pytest-xdist (`-n 2`), every test that uses the Docker daemon runs on one worker,
    one after another: their timings (a cancel within 5 s, a rebuild within 30 s) and image
    clean-up assume they have the daemon and a core to themselves. The rest spread out."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if item.get_closest_marker("docker") or "docker_engine" in fixtures:
            item.add_marker(pytest.mark.xdist_group("docker"))
