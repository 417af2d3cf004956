"""The build engine port: what the CLI and the wizard ask of Docker (or a fake of it).

`plugwiz.adapters.docker_engine.DockerEngine` implements it for a real daemon;
`plugwiz.adapters.scripted.ScriptedEngine` is the one fake that tests, screenshots and
benchmarks share. Failures a person can fix are `EngineError`s with a message for them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from plugwiz.core.events import BuildEvent
from plugwiz.core.model import ResolvedProject
from plugwiz.core.ports import HostRepository
from plugwiz.core.report import ImageReport


class EngineError(Exception):
    """A problem with the engine or an image; the message says what to do."""


class EngineUnavailableError(EngineError):
    """The engine cannot be reached (daemon not running, wrong DOCKER_HOST, no permission)."""


class ImageMissingError(EngineError):
    """A builder or runtime image the build needs is not present locally."""


class ImageNotFoundError(EngineError):
    """The image to inspect or run does not exist."""


class ImageFileError(EngineError):
    """A file asked for is not in the image (or is not a regular file)."""


@dataclass(frozen=True)
class RunResult:
    """The outcome of running an image's CMD once."""

    exit_code: int | None
    output: str
    timed_out: bool


@dataclass(frozen=True)
class PruneResult:
    """What a prune removed: how many images, and the disk space that freed."""

    images: int
    freed_bytes: int


class ImageFiles(Protocol):
    """Reading images without running them: what `plugwiz explain` needs of an engine."""

    def image_exists(self, image: str) -> bool:
        """True when `image` is present."""
        ...

    def image_command(self, image: str) -> tuple[list[str], str, dict[str, str]]:
        """The image's ENTRYPOINT + CMD, working directory and labels."""
        ...

    def read_image_file(self, image: str, path: str) -> bytes:
        """A regular file of the image (links followed); ImageFileError if there is none."""
        ...

    def first_image_file(self, image: str, paths: list[str]) -> tuple[str, bytes] | None:
        """(path, content) of the first of `paths` the image has, or None."""
        ...

    def image_glibc(self, image: str) -> str | None:
        """The image's glibc release (`2.36`), None without one."""
        ...

    def image_arch(self, image: str) -> str | None:
        """The image's architecture (`amd64`), None if unknown."""
        ...

    def builder_go_version(self, image: str) -> str | None:
        """The Go version a builder image has (`1.19`, `1.22.3`), None if unknown."""
        ...


class BuildEngine(ImageFiles, Protocol):
    """Builds, inspects, runs and prunes images, and reads files out of them."""

    def ping(self) -> None:
        """Raise EngineUnavailableError (with how to fix it) unless the engine answers."""
        ...

    def build(
        self,
        resolved: ResolvedProject,
        repo: HostRepository,
        *,
        tag: str,
        log_path: Path,
        cancel: threading.Event,
    ) -> Iterator[BuildEvent]:
        """Build and tag `tag`, yielding events as they happen; ends with exactly one of
        BuildFinished, BuildFailed or BuildCancelled. Setting `cancel` stops it within about a
        second and leaves nothing behind. Raises EngineError or ProjectError before building."""
        ...

    def inspect(self, image: str) -> ImageReport:
        """What `image` holds, read without running it; ImageNotFoundError if it is absent."""
        ...

    def run_once(self, image: str, timeout: float = 30.0) -> RunResult:
        """Run the image's CMD once (at most `timeout` seconds) and return its output."""
        ...

    def prune(self) -> PruneResult:
        """Remove the images earlier builds left that no tag and no build cache needs."""
        ...
