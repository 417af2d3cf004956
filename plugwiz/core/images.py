"""Choosing builder and runtime images so the runtime has the libc the binaries were built for."""

from __future__ import annotations

import re

from plugwiz.core.gomod import go_minor
from plugwiz.core.model import GoMod, ProjectError

# The oldest Go line published with a bookworm variant; older `go` lines build fine with it.
MIN_BUILDER_MINOR = (1, 19)
DEFAULT_DISTRO = "bookworm"
_DEBIAN_CODENAMES = ("trixie", "bookworm", "bullseye", "buster")


def pick_builder_image(gomod: GoMod) -> str:
    """`golang:<version>-bookworm` for the host's go.mod (`toolchain` wins over `go`)."""
    if gomod.toolchain:
        exact = gomod.toolchain.removeprefix("go")
        if go_minor(exact) is not None and exact.count(".") == 2:
            return f"golang:{exact}-{DEFAULT_DISTRO}"
    minor = go_minor(gomod.go or "")
    if minor is None or minor < MIN_BUILDER_MINOR:
        minor = MIN_BUILDER_MINOR
    return f"golang:{minor[0]}.{minor[1]}-{DEFAULT_DISTRO}"


def libc_of(image: str) -> str | None:
    """`musl`, `glibc/<codename>`, or None when the tag does not say."""
    tag = image.rsplit("/", 1)[-1].lower()
    if "alpine" in tag:
        return "musl"
    for codename in _DEBIAN_CODENAMES:
        if codename in tag:
            return f"glibc/{codename}"
    if tag.startswith(("distroless", "ubuntu", "debian")):
        return "glibc"
    return None


def pick_runtime_image(builder: str, chosen: str = "") -> tuple[str, str | None]:
    """The runtime image for `builder` (or the user's `chosen` one) and a libc warning if any."""
    builder_libc = libc_of(builder)
    if not chosen:
        tag = builder.rsplit("/", 1)[-1].lower()
        alpine = re.search(r"alpine(\d+\.\d+)", tag)
        if builder_libc == "musl":
            return (f"alpine:{alpine.group(1)}" if alpine else "alpine"), None
        if builder_libc and builder_libc.startswith("glibc/"):
            return f"debian:{builder_libc.split('/', 1)[1]}-slim", None
        return f"debian:{DEFAULT_DISTRO}-slim", (
            f"cannot tell which libc the builder image {builder} has; "
            f"assuming Debian {DEFAULT_DISTRO} (glibc) for the runtime"
        )
    runtime_libc = libc_of(chosen)
    if builder_libc is None or runtime_libc is None:
        return chosen, None
    same_family = builder_libc.split("/")[0] == runtime_libc.split("/")[0]
    if not same_family:
        return chosen, (
            f"the builder image {builder} uses {builder_libc.split('/')[0]} but the runtime "
            f"image {chosen} uses {runtime_libc.split('/')[0]}: the host will not start"
        )
    if "/" in builder_libc and "/" in runtime_libc and builder_libc != runtime_libc:
        return chosen, (
            f"the builder image {builder} ({builder_libc}) and the runtime image {chosen} "
            f"({runtime_libc}) come from different releases: a newer glibc in the builder "
            "can make the host fail to start"
        )
    return chosen, None


class ToolchainTooOldError(ProjectError):
    """The host's go.mod asks for a newer Go than the builder image has."""


_VERSION_RE = re.compile(r"^(?:go)?(\d+)\.(\d+)(?:\.(\d+))?")
_TAG_VERSION_RE = re.compile(r"^(\d+\.\d+(?:\.\d+)?)(?:[-.]|$)")


def go_version_parts(version: str) -> tuple[int, ...] | None:
    """`1.21`, `1.21.3`, `go1.21rc2` -> (1, 21) or (1, 21, 3); None if not a Go version."""
    match = _VERSION_RE.match(version.strip())
    if not match:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def go_version_from_image_tag(image: str) -> str | None:
    """The Go version an official-style `golang:X.Y[.Z]-...` tag names, or None."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    repository, _, tag = last.partition(":")
    if repository != "golang" or not tag:
        return None
    match = _TAG_VERSION_RE.match(tag)
    return match.group(1) if match else None


def check_builder_toolchain(go_line: str, builder: str, builder_version: str) -> None:
    """Raise ToolchainTooOldError if `builder` (Go `builder_version`) is older than `go_line`.

    A version without a patch level (from a tag like `golang:1.21`) is compared by minor only.
    """
    required = go_version_parts(go_line)
    have = go_version_parts(builder_version)
    if required is None or have is None:
        return
    too_old = required[:2] > have[:2] or (
        required[:2] == have[:2] and len(required) == 3 and len(have) == 3 and required > have
    )
    if not too_old:
        return
    codename = next((c for c in _DEBIAN_CODENAMES if c in builder.lower()), "")
    variant = codename or ("alpine" if libc_of(builder) == "musl" else DEFAULT_DISTRO)
    suggestion = f"golang:{required[0]}.{required[1]}-{variant}"
    raise ToolchainTooOldError(
        f"the host's go.mod says `go {go_line}` but the builder image {builder} has Go "
        f"{builder_version.removeprefix('go')}, which cannot build it: use --builder-image "
        f"{suggestion} (images.builder in plugwiz.yaml), or lower the `go` line"
    )
