"""Choosing builder and runtime images so the runtime has the libc the binaries were built for."""

from __future__ import annotations

import re

from plugwiz.core.gomod import go_minor
from plugwiz.core.model import GoMod

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
