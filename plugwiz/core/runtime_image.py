"""The runtime image's user, the paths it may write, and its provenance labels. Pure.

By default the host runs as a fixed non-root UID (`DEFAULT_RUNTIME_USER`); every file plugwiz
puts in the image is owned by root and not writable by that user, so a compromised host (or
plugin) cannot replace its own code. A project lists the directories the host writes
(`runtime.writable`), or opts out with `runtime.user: root`.

Provenance: the OCI labels a registry user looks for, all from the project and its commit
(the creation time is the commit's date, so the same commit gives the same image). The
plugins' sha256 are known only once they are built: the engine adds them after the build
as one more label (`PLUGIN_DIGESTS_LABEL`), see `plugin_digests_label`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from plugwiz.core.model import (
    APP_DIR,
    DEFAULT_RUNTIME_USER,
    ROOT_USER,
    ProjectError,
    ResolvedProject,
    RuntimeSettings,
)
from plugwiz.core.quoting import safe_path

LABEL_VERSION = "org.opencontainers.image.version"
LABEL_CREATED = "org.opencontainers.image.created"
LABEL_BASE_NAME = "org.opencontainers.image.base.name"
LABEL_BASE_DIGEST = "org.opencontainers.image.base.digest"
# Added after the build (the plugins' content is known only then): `path=sha256:hex,...`.
PLUGIN_DIGESTS_LABEL = "dev.plugwiz.plugins.sha256"
HOST_DIGEST_LABEL = "dev.plugwiz.host.sha256"
# The context directory COPY takes an empty directory from, for each writable path.
CTX_EMPTY_DIR = "plugwiz/empty"

_USER_RE = re.compile(r"^(\d{1,10})(?::(\d{1,10}))?$")
_MAX_ID = 2**31 - 1
# A ref that names a release (`v1.4.0`, `2.0`, `release-1.2`): the image's version label.
_VERSION_REF_RE = re.compile(r"^(?:v|release-|version-)?\d+(?:\.\d+)*(?:[-+][\w.+-]*)?$")


def runtime_user(settings: RuntimeSettings) -> str:
    """The USER the runtime stage sets: `UID:GID`, or "" for root (no USER line).

    Raises ProjectError for anything else: a user name would need an /etc/passwd entry the
    runtime image may not have, so only numbers (or `root`) are taken."""
    user = settings.user.strip() or DEFAULT_RUNTIME_USER
    if user == ROOT_USER:
        return ""
    match = _USER_RE.match(user)
    if not match:
        raise ProjectError(
            f"runtime.user {settings.user!r} is not allowed: give a numeric UID or UID:GID "
            f"(default {DEFAULT_RUNTIME_USER}), or `root` to run the host as root"
        )
    uid = int(match.group(1))
    gid = int(match.group(2)) if match.group(2) is not None else uid
    if uid > _MAX_ID or gid > _MAX_ID:
        raise ProjectError(f"runtime.user {settings.user!r}: IDs must be below 2^31")
    if uid == 0:
        return ""  # UID 0 is root, whatever it is called
    return f"{uid}:{gid}"


def writable_paths(
    settings: RuntimeSettings, protected: Iterable[str], user: str
) -> tuple[str, ...]:
    """The directories the host may write, checked: absolute, plain, and never one that holds
    (or is inside) a `protected` path (the host binary, the plugin directory, extra files):
    owning a directory lets a user replace what is in it."""
    if not settings.writable:
        return ()
    if not user:
        raise ProjectError(
            "runtime.writable has no use with runtime.user: root (root writes everywhere)"
        )
    paths: list[str] = []
    for value in settings.writable:
        path = posixpath.normpath(safe_path(value, "runtime.writable path", absolute=True))
        if path == "/":
            raise ProjectError("runtime.writable: `/` would give the host the whole image")
        for kept in protected:
            kept_path = posixpath.normpath(kept)
            if kept_path == path or kept_path.startswith(path.rstrip("/") + "/"):
                raise ProjectError(
                    f"runtime.writable {value!r} holds {kept_path}, which must stay read-only "
                    f"for the host: give a directory of its own (e.g. /var/lib/host)"
                )
        if path not in paths:
            paths.append(path)
    return tuple(paths)


def protected_paths(plugin_dir: str, host_binary: str, targets: Iterable[str]) -> list[str]:
    """What the host must not be able to change: its binary, its plugins, the extra files."""
    return [f"{APP_DIR}/{host_binary}", plugin_dir, *targets]


def describe_user(user: str) -> str:
    """`65532:65532 (not root)`, `root` — for inspect and the Result step."""
    if not user or user.split(":", 1)[0] in ("0", ROOT_USER):
        return "root"
    return f"{user} (not root)"


def provenance_labels(
    resolved: ResolvedProject, runtime_image: str, runtime_digest: str | None
) -> list[tuple[str, str]]:
    """The OCI labels that say what the image is, deterministic for a commit: its version
    (the ref when it looks like a version, `v1.4.0` or `2.0`, else the short commit), created
    (the commit's date), the base image and, when known, its digest."""
    ref = resolved.project.host.ref
    sha = resolved.sha
    version = ref if _VERSION_REF_RE.match(ref) else sha[:12]
    labels = [
        (LABEL_VERSION, version),
        (LABEL_CREATED, resolved.host.commit.date),
        (LABEL_BASE_NAME, runtime_image),
    ]
    if runtime_digest:
        labels.append((LABEL_BASE_DIGEST, runtime_digest))
    return labels


def plugin_digests_label(digests: Iterable[tuple[str, str]]) -> str:
    """`/app/plugins/a.so=sha256:<hex>,...` in the order given (load order)."""
    return ",".join(f"{path}=sha256:{hexdigest}" for path, hexdigest in digests)


def parse_plugin_digests(value: str) -> dict[str, str]:
    """The label `plugin_digests_label` wrote, as {path: hex}."""
    result: dict[str, str] = {}
    for item in value.split(","):
        path, sep, digest = item.partition("=")
        if sep and digest.startswith("sha256:"):
            result[path] = digest.removeprefix("sha256:")
    return result


__all__ = [
    "CTX_EMPTY_DIR",
    "HOST_DIGEST_LABEL",
    "LABEL_BASE_DIGEST",
    "LABEL_BASE_NAME",
    "LABEL_CREATED",
    "LABEL_VERSION",
    "PLUGIN_DIGESTS_LABEL",
    "describe_user",
    "parse_plugin_digests",
    "plugin_digests_label",
    "protected_paths",
    "provenance_labels",
    "runtime_user",
    "writable_paths",
]
