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
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    # For the port's signatures only: at run time the error classes here are all that modules
    # such as the BuildKit adapter need, and `render` must not pay for the build events.
    from plugwiz.core.events import BuildEvent
    from plugwiz.core.model import ResolvedProject
    from plugwiz.core.ports import HostRepository
    from plugwiz.core.push import PushEvent
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
class RunSpec:
    """How to run an image: its own CMD, with `args` appended (or `command` instead of the
    CMD's arguments), `env` added, `publish` container ports (None: every port the image
    EXPOSEs) on 127.0.0.1, stopped after `timeout` seconds (None: until cancelled)."""

    image: str
    args: tuple[str, ...] = ()
    command: tuple[str, ...] | None = None
    env: tuple[tuple[str, str], ...] = ()
    publish: tuple[int, ...] | None = ()
    timeout: float | None = 30.0


@dataclass(frozen=True)
class PublishedPort:
    """A container port reachable from this machine at `host_ip:host_port`."""

    container_port: int
    protocol: str
    host_ip: str
    host_port: int

    @property
    def address(self) -> str:
        return f"{self.host_ip}:{self.host_port}"


@dataclass(frozen=True)
class RunStarted:
    """The container runs; `ports` are the published ports."""

    container_id: str
    ports: tuple[PublishedPort, ...] = ()


@dataclass(frozen=True)
class RunOutput:
    """A line the container printed (stdout and stderr together, in order)."""

    text: str


@dataclass(frozen=True)
class RunExited:
    """The container stopped: by itself (`exit_code`), at the time limit, or on request."""

    exit_code: int | None
    timed_out: bool = False
    stopped: bool = False


RunEvent = RunStarted | RunOutput | RunExited


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

    def uses_buildkit(self, resolved: ResolvedProject) -> bool:
        """Whether a build of `resolved` would go through BuildKit (and so use its Dockerfile
        layout: `render_dockerfile(..., buildkit=True)`); False when unsure."""
        ...

    def inspect(self, image: str) -> ImageReport:
        """What `image` holds, read without running it; ImageNotFoundError if it is absent."""
        ...

    def run_once(self, image: str, timeout: float = 30.0) -> RunResult:
        """Run the image's CMD once (at most `timeout` seconds) and return its output."""
        ...

    def run(self, spec: RunSpec, *, cancel: threading.Event) -> Iterator[RunEvent]:
        """Run an image and stream what it prints, as it prints it: RunStarted, RunOutput...,
        then exactly one RunExited. Setting `cancel` (or closing the iterator) stops it; the
        container is removed whatever happens. Raises EngineError before it starts."""
        ...

    def prune(self) -> PruneResult:
        """Remove the images earlier builds left that no tag and no build cache needs."""
        ...

    def registry_digest(self, image: str) -> str | None:
        """The registry digest (`sha256:...`) the engine knows for `image` under its own
        name, "" when it knows none (an image made locally), None when `image` is absent."""
        ...

    def push(self, tag: str, *, cancel: threading.Event) -> Iterator[PushEvent]:
        """Push `tag` to its registry with the credentials of the user's Docker config (or
        its credential helper): PushStarted, LayerProgress..., then PushFinished with the
        digest. Raises PushError (RegistryAuthError, RegistryUnreachableError) with a
        message for a person, ImageNotFoundError when there is no such image."""
        ...
