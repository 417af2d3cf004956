"""Image references: local stand-ins for registry images, digest pins, registry names.

Pure. A Dockerfile plugwiz writes names what a user with a registry would use
(`golang:1.22-bookworm`); a machine without one maps that to a local stand-in
(`plugwiz-offline/golang:1.22-bookworm`, made by `scripts/make-go-image`) through an explicit
map: `PLUGWIZ_IMAGE_MAP` or the project's `images.map`. Nothing is mapped by guessing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from plugwiz.core.model import BaseImages, Project, ProjectError

# The repository prefix of what scripts/make-go-image makes: never an official name.
OFFLINE_PREFIX = "plugwiz-offline/"
# The label scripts/make-go-image puts on every image it makes (old and new names alike).
OFFLINE_LABEL = "dev.plugwiz.offline-image"
# The map for this machine's offline images, as scripts/setup makes them.
OFFLINE_MAP = f"golang={OFFLINE_PREFIX}golang,debian={OFFLINE_PREFIX}debian"
IMAGE_MAP_ENV = "PLUGWIZ_IMAGE_MAP"
DOCKER_HUB = "docker.io"

_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
# One path component of a repository, as the distribution spec allows it.
_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DOMAIN_RE = re.compile(r"^[A-Za-z0-9.-]+(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$")


@dataclass(frozen=True)
class ImageRef:
    """An image reference split in parts: `domain` ("" for Docker Hub written short),
    `path` (`library/debian` is written `debian`), `tag` and `digest` ("" when absent)."""

    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def repository(self) -> str:
        """The repository as written: `debian`, `127.0.0.1:5000/team/host`."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def canonical_repository(self) -> str:
        """The repository in full: `docker.io/library/debian`."""
        domain = self.domain or DOCKER_HUB
        if domain in ("index.docker.io", "registry-1.docker.io"):
            domain = DOCKER_HUB
        path = self.path
        if domain == DOCKER_HUB and "/" not in path:
            path = f"library/{path}"
        return f"{domain}/{path}"

    @property
    def registry(self) -> str:
        """The registry host a push goes to (`docker.io` for Docker Hub)."""
        return self.domain or DOCKER_HUB

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_image_ref(text: str) -> ImageRef:
    """Split an image reference; raises ProjectError when it is not one."""
    reference = text.strip()
    name, _, digest = reference.partition("@")
    if digest and not _DIGEST_RE.match(digest):
        raise ProjectError(f"image {text!r}: the digest must be sha256: and 64 hex digits")
    first, slash, rest = name.partition("/")
    domain = ""
    if slash and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        domain, name = first, rest
        if not _DOMAIN_RE.match(domain):
            raise ProjectError(f"image {text!r}: {domain!r} is not a registry host")
    path, tag = name, ""
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        path, tag = name[:colon], name[colon + 1 :]
        if not _TAG_RE.match(tag):
            raise ProjectError(f"image {text!r}: {tag!r} is not a valid tag")
    if not path or not all(_COMPONENT_RE.match(part) for part in path.split("/")):
        raise ProjectError(
            f"image {text!r} is not a valid image reference (lower-case names, `/` between "
            "parts, an optional `:tag` and `@sha256:...`)"
        )
    return ImageRef(domain, path, tag, digest)


def is_image_ref(text: str) -> bool:
    """True when `text` parses as an image reference."""
    try:
        parse_image_ref(text)
    except ProjectError:
        return False
    return True


def parse_image_map(text: str, source: str = IMAGE_MAP_ENV) -> tuple[tuple[str, str], ...]:
    """`golang=plugwiz-offline/golang,debian=plugwiz-offline/debian` (commas or spaces
    between pairs) as pairs; raises ProjectError naming `source` for a malformed one."""
    pairs: list[tuple[str, str]] = []
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        wanted, sep, local = item.partition("=")
        if not sep or not wanted or not local:
            raise ProjectError(
                f"{source}: {item!r} is not FROM=TO (e.g. golang=plugwiz-offline/golang)"
            )
        pairs.append((wanted, local))
    return check_image_map(pairs, source)


def check_image_map(pairs: Iterable[tuple[str, str]], source: str) -> tuple[tuple[str, str], ...]:
    """The map's pairs, each side checked: a repository maps to a repository (every tag), a
    `name:tag` to a full reference; raises ProjectError naming `source`."""
    checked: list[tuple[str, str]] = []
    for wanted, local in pairs:
        for side in (wanted, local):
            try:
                ref = parse_image_ref(side)
            except ProjectError as exc:
                raise ProjectError(f"{source}: {exc}") from None
            if ref.digest:
                raise ProjectError(f"{source}: {side!r}: map names, not digests")
        if not parse_image_ref(wanted).tag and parse_image_ref(local).tag:
            raise ProjectError(
                f"{source}: {wanted!r} is a repository (every tag), so {local!r} must be one "
                "too: write the tag on both sides to map one image"
            )
        checked.append((wanted, local))
    return tuple(checked)


def effective_image_map(project: Project, base: BaseImages) -> dict[str, str]:
    """The project's `images.map` with this machine's map on top (it wins for a name both
    give): the machine knows which stand-ins it has."""
    return {**dict(project.images.map), **dict(base.local)}


def map_image(image: str, mapping: Mapping[str, str]) -> str:
    """`image` with its local stand-in, if the map names one: an exact `name:tag` entry
    first, then its repository's (the tag kept). A reference with a digest is never mapped:
    the user pinned that exact image."""
    if not mapping:
        return image
    try:
        ref = parse_image_ref(image)
    except ProjectError:
        return image
    if ref.digest:
        return image
    tag = ref.tag or "latest"
    for wanted, local in mapping.items():
        try:
            key = parse_image_ref(wanted)
        except ProjectError:
            continue
        if key.tag and key.canonical_repository == ref.canonical_repository and key.tag == tag:
            return local
    for wanted, local in mapping.items():
        try:
            key = parse_image_ref(wanted)
        except ProjectError:
            continue
        if not key.tag and key.canonical_repository == ref.canonical_repository:
            return f"{local}:{tag}"
    return image


def repo_digest_for(image: str, repo_digests: Iterable[str]) -> str:
    """The registry digest of `image` among an image's RepoDigests (`name@sha256:...`): only
    one recorded for the image's own repository counts, since `FROM name@digest` looks
    the digest up under that name. "" when there is none (an imported image has none)."""
    try:
        wanted = parse_image_ref(image).canonical_repository
    except ProjectError:
        return ""
    for entry in repo_digests:
        try:
            ref = parse_image_ref(entry)
        except ProjectError:
            continue
        if ref.digest and ref.canonical_repository == wanted:
            return ref.digest
    return ""


def pinned(image: str, digest: str | None) -> str:
    """The FROM reference: `image@digest` when the digest is known (the tag stays, for a
    person reading it; the digest is what Docker uses)."""
    if not digest or "@" in image:
        return image
    return f"{image}@{digest}"


def legacy_offline_warning(image: str, role: str) -> str:
    """What to do about an offline stand-in an older scripts/make-go-image tagged with an
    official name (`golang:1.19-bookworm`): it still builds, but it shadows the real image."""
    try:
        ref = parse_image_ref(image)
    except ProjectError:
        return ""
    local = f"{OFFLINE_PREFIX}{ref.path.removeprefix('library/')}:{ref.tag or 'latest'}"
    return (
        f"the {role} {image} is an offline stand-in made by an older scripts/make-go-image "
        f"(Debian's packages under an official image's name). It still builds; to stop it "
        f"shadowing the real image, run `scripts/make-go-image` (it names the same image "
        f"{local}), export {IMAGE_MAP_ENV}={OFFLINE_MAP}, then `docker rmi {image}` (that "
        "removes the name only)"
    )


def is_offline_name(image: str) -> bool:
    """True for an image under scripts/make-go-image's own repository prefix."""
    return image.startswith(OFFLINE_PREFIX)


def is_official_name(image: str) -> bool:
    """True for a Docker Hub official image's name (`golang:1.19-bookworm`, `debian:...`):
    what an older scripts/make-go-image tagged its stand-ins with."""
    try:
        ref = parse_image_ref(image)
    except ProjectError:
        return False
    return ref.canonical_repository.startswith(f"{DOCKER_HUB}/library/")


def missing_image_hint(image: str, local_exists: bool) -> str:
    """Extra advice when `image` is missing: its local stand-in exists but is not mapped."""
    if not local_exists:
        return ""
    ref = parse_image_ref(image)
    repository = ref.path.removeprefix("library/")
    return (
        f"; a local stand-in {OFFLINE_PREFIX}{repository}:{ref.tag or 'latest'} exists: build "
        f"with it by setting {IMAGE_MAP_ENV}={OFFLINE_MAP} (or images.map in plugwiz.yaml)"
    )


def offline_stand_in(image: str) -> str | None:
    """The name scripts/make-go-image gives its stand-in for `image` (None if not a name)."""
    try:
        ref = parse_image_ref(image)
    except ProjectError:
        return None
    if ref.domain or ref.digest or is_offline_name(image):
        return None
    return f"{OFFLINE_PREFIX}{ref.path.removeprefix('library/')}:{ref.tag or 'latest'}"


@dataclass(frozen=True)
class BaseImagePlan:
    """A base image of the build: what the project asks for (`wanted`), what this machine
    builds from (`image`, after the map) and the registry digest the engine knows for it
    (`sha256:...`; "" when it has none; None when it was not asked)."""

    wanted: str
    image: str
    digest: str | None = None

    @property
    def ref(self) -> str:
        """What the FROM line names: the image, pinned by its digest when known."""
        return pinned(self.image, self.digest)

    def describe(self, role: str) -> str:
        """One line for the Dockerfile's head and the Preview; "" when there is nothing to
        say beyond the FROM line (no map, digest not asked)."""
        parts: list[str] = []
        if self.image != self.wanted:
            parts.append(f"{self.wanted} mapped to {self.image}")
        if self.digest:
            parts.append(f"pinned to {self.digest}")
        elif self.digest == "":
            parts.append("not pinned: the engine knows no registry digest for it (made locally)")
        if not parts:
            return ""
        return f"{role}: " + "; ".join(parts)


def plan_base_image(wanted: str, project: Project, base: BaseImages) -> BaseImagePlan:
    """`wanted` as this machine builds it: mapped, and with the digest the engine knows."""
    image = map_image(wanted, effective_image_map(project, base))
    return BaseImagePlan(wanted, image, base.digest(image))


__all__ = [
    "IMAGE_MAP_ENV",
    "BaseImagePlan",
    "plan_base_image",
    "OFFLINE_LABEL",
    "OFFLINE_MAP",
    "OFFLINE_PREFIX",
    "ImageRef",
    "check_image_map",
    "effective_image_map",
    "is_image_ref",
    "is_offline_name",
    "is_official_name",
    "legacy_offline_warning",
    "map_image",
    "missing_image_hint",
    "offline_stand_in",
    "parse_image_map",
    "parse_image_ref",
    "pinned",
    "repo_digest_for",
]
