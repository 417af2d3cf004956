"""Pushing an image to its registry: typed events, and the progress a person sees. Pure.

The engine (`BuildEngine.push`) yields `PushStarted`, a `LayerProgress` whenever a layer's state
changes, then `PushFinished` with the digest the registry gave the image: what a deployment
should pin (`registry/name@sha256:...`). Failures are `PushError`s with a message for a person;
credentials never appear in one (they come from the Docker config or a credential helper, and
plugwiz does not read them itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plugwiz.core.engine import EngineError
from plugwiz.core.image_refs import DOCKER_HUB, parse_image_ref
from plugwiz.core.model import ProjectError
from plugwiz.core.report import human_size


class PushError(EngineError):
    """The push failed; the message says why and what to do."""


class PushTargetError(PushError):
    """The tag cannot be pushed as it is (no registry in it, not a reference)."""


class RegistryAuthError(PushError):
    """The registry refused the credentials (or got none)."""


class RegistryUnreachableError(PushError):
    """The registry could not be reached, or its TLS certificate is not trusted."""


@dataclass(frozen=True)
class PushStarted:
    """The push of `tag` to `registry` began."""

    tag: str
    registry: str


@dataclass(frozen=True)
class LayerProgress:
    """One layer's state: `Preparing`, `Waiting`, `Pushing` (with bytes), `Pushed`,
    `Layer already exists`, `Mounted from ...`."""

    layer: str
    status: str
    current: int = 0
    total: int = 0

    @property
    def done(self) -> bool:
        return self.status in ("Pushed", "Layer already exists") or self.status.startswith(
            "Mounted from"
        )


@dataclass(frozen=True)
class PushFinished:
    """The registry has the image: `reference` is `registry/name@sha256:...`."""

    tag: str
    digest: str
    reference: str
    size: int = 0


PushEvent = PushStarted | LayerProgress | PushFinished


def push_target_problem(tag: str) -> str | None:
    """Why `tag` cannot be pushed as it is, or None: it must parse, and name a registry or
    a Docker Hub account (a bare `name:tag` would go to Docker Hub's official namespace)."""
    try:
        ref = parse_image_ref(tag)
    except ProjectError as exc:
        return str(exc)
    if ref.digest:
        return f"{tag} names a digest; push a tag (registry/name:tag)"
    if not ref.domain and "/" not in ref.path:
        return (
            f"{tag} names no registry, so Docker would push it to Docker Hub's official "
            f"images ({DOCKER_HUB}/library/{ref.path}), which nobody can: tag it for your "
            f"registry, e.g. --tag registry.example.com/team/{ref.path}:{ref.tag or 'latest'}"
        )
    return None


def pushed_reference(tag: str, digest: str) -> str:
    """`registry/name@sha256:...` for `tag` pushed with `digest`."""
    return f"{parse_image_ref(tag).repository}@{digest}"


@dataclass
class PushProgress:
    """The push as a person follows it: each layer's latest state, in the order they
    appeared, and the result."""

    tag: str = ""
    registry: str = ""
    layers: dict[str, LayerProgress] = field(default_factory=dict)
    finished: PushFinished | None = None

    def feed(self, event: PushEvent) -> bool:
        """Take one event; True when what `lines` shows changed."""
        if isinstance(event, PushStarted):
            self.tag, self.registry = event.tag, event.registry
            return True
        if isinstance(event, PushFinished):
            self.finished = event
            return True
        before = self.layers.get(event.layer)
        self.layers[event.layer] = event
        return before != event

    @property
    def done_layers(self) -> int:
        return sum(1 for layer in self.layers.values() if layer.done)

    def summary(self) -> str:
        """`Pushing 127.0.0.1:5000/x:1 to 127.0.0.1:5000: 2/3 layers`."""
        if self.finished is not None:
            return f"Pushed {self.finished.reference}"
        count = len(self.layers)
        layers = f": {self.done_layers}/{count} layers" if count else ""
        return f"Pushing {self.tag} to {self.registry}{layers}"

    def lines(self) -> list[str]:
        """One line per layer: `3f9c2a0b1d4e  Pushing  12.3 MB / 45.6 MB`."""
        out = []
        for layer in self.layers.values():
            amount = ""
            if layer.status == "Pushing" and layer.total:
                amount = f"  {human_size(layer.current)} / {human_size(layer.total)}"
            out.append(f"{layer.layer[:12]:<12}  {layer.status}{amount}")
        return out


__all__ = [
    "LayerProgress",
    "PushError",
    "PushEvent",
    "PushFinished",
    "PushProgress",
    "PushStarted",
    "PushTargetError",
    "RegistryAuthError",
    "RegistryUnreachableError",
    "push_target_problem",
    "pushed_reference",
]
