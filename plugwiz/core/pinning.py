"""Pinning a build's base images by the digests the engine knows. Pure (the engine is a
function here), so the CLI, the wizard and the engine pin the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from plugwiz.core.model import ResolvedProject
from plugwiz.core.plan import plan_build


def base_images_of(resolved: ResolvedProject) -> tuple[str, str]:
    """(builder, runtime) as this machine builds them (after the image map)."""
    plan = plan_build(resolved)
    return plan.builder_image, plan.runtime_image


def pin_base_images(
    resolved: ResolvedProject, lookup: Callable[[str], str | None]
) -> ResolvedProject:
    """`resolved` with the registry digest `lookup` gives for its builder and runtime
    images (`sha256:...`, "" for none, None when the image is absent: then nothing is said
    about it). Raises ProjectError like `plan_build`."""
    digests = dict(resolved.base.digests)
    for image in dict.fromkeys(base_images_of(resolved)):
        digest = lookup(image)
        if digest is None:
            digests.pop(image, None)
        else:
            digests[image] = digest
    base = replace(resolved.base, digests=tuple(sorted(digests.items())))
    return replace(resolved, base=base)


__all__ = ["base_images_of", "pin_base_images"]
