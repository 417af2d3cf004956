"""What the wizard needs from a build engine; `DockerEngine` satisfies it, tests pass fakes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from plugwiz.core.model import Project
from plugwiz.core.ports import HostRepository


class BuildEngine(Protocol):
    """The build engine as the UI uses it (see plugwiz.adapters.docker_engine)."""

    def ping(self) -> None:
        """Raise an error whose message says how to fix it if the engine is unreachable."""
        ...

    def build(
        self,
        project: Project,
        repo: HostRepository,
        *,
        tag: str,
        log_path: Path,
        cancel: threading.Event,
    ) -> Iterator[Any]:
        """Blocking generator of build events (plugwiz.core.events)."""
        ...

    def inspect(self, image: str) -> Any:
        """An ImageReport for `image`."""
        ...

    def run_once(self, image: str, timeout: float = 30.0) -> Any:
        """Run the image's CMD once: RunResult(exit_code, output, timed_out)."""
        ...


EngineFactory = Callable[[], BuildEngine]
RepoOpener = Callable[[Project], HostRepository]


def default_engine_factory() -> BuildEngine:
    """The real Docker engine (imported late: the docker SDK is slow to import)."""
    from plugwiz.adapters.docker_engine import DockerEngine

    engine: BuildEngine = DockerEngine()
    return engine
