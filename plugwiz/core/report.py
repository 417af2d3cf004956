"""What an image holds: its CMD, its plugin files and the host they were built for.

Pure: the docker adapter fills an ImageReport from the image config and the files it reads
out of a (never started) container; this module checks and formats it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from plugwiz.core.buildinfo import NotAGoBinaryError, read_binary_facts
from plugwiz.core.runtime_image import describe_user

LABEL_SOURCE = "org.opencontainers.image.source"
LABEL_REVISION = "org.opencontainers.image.revision"
LABEL_MODULE = "dev.plugwiz.host.module"
LABEL_PLUGINS = "dev.plugwiz.plugins"
# Set at build time (not in the Dockerfile): the digest of the build context, so plugwiz can
# tell whether an image still matches its project.
LABEL_CONTEXT = "dev.plugwiz.context"


@dataclass(frozen=True)
class PluginFile:
    """One plugin file found in the image."""

    file: str
    size: int
    sha256: str
    in_cmd: bool


@dataclass
class ImageReport:
    """The inspection of one image, read without running it."""

    tag: str
    image_id: str
    size: int
    cmd: list[str]
    entrypoint: list[str]
    workdir: str
    host_repo: str
    host_commit: str
    host_module: str
    go_version: str | None
    plugins: list[PluginFile] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # CMD plugin paths absent from the image
    labels: dict[str, str] = field(default_factory=dict)
    user: str = ""  # the image's USER ("" = root)

    @property
    def unloaded(self) -> list[str]:
        """Plugin files in the image that the CMD does not name (they would never load)."""
        return [p.file for p in self.plugins if not p.in_cmd]

    @property
    def ok(self) -> bool:
        """True when the CMD and the plugin files agree."""
        return not self.missing and not self.unloaded

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (stable keys, for scripts and CI)."""
        return {
            "image": {"id": self.image_id, "tag": self.tag, "size": self.size},
            "cmd": list(self.cmd),
            "entrypoint": list(self.entrypoint),
            "workdir": self.workdir,
            "host": {
                "repo": self.host_repo,
                "commit": self.host_commit,
                "module": self.host_module,
            },
            "go_version": self.go_version,
            "plugins": [
                {"file": p.file, "size": p.size, "sha256": p.sha256, "in_cmd": p.in_cmd}
                for p in self.plugins
            ],
            "missing": list(self.missing),
            "unloaded": self.unloaded,
            "ok": self.ok,
            "labels": dict(self.labels),
            "user": self.user or "root",
        }


def human_size(size: int) -> str:
    """`84.5 MB`: decimal units, as `docker images` prints them (used everywhere plugwiz
    shows a size, so the wizard and the CLI agree)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # unreachable; keeps type checkers happy


def load_order(report: ImageReport) -> list[PluginFile]:
    """The image's plugin files in the order the CMD loads them, then the ones it never
    loads (sorted)."""
    position: dict[str, int] = {}
    argv = report.entrypoint + report.cmd
    for arg in argv[1:]:
        value = arg.split("=", 1)[1] if arg.startswith("-") and "=" in arg else arg
        for path in (value, _join(report.workdir, value)):
            position.setdefault(path, len(position))
    big = len(position) + 1
    return sorted(report.plugins, key=lambda p: (position.get(p.file, big), p.file))


def _join(workdir: str, path: str) -> str:
    import posixpath

    return posixpath.normpath(posixpath.join(workdir or "/", path))


def _short_id(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def format_report(report: ImageReport) -> str:
    """The human summary `plugwiz inspect` and a successful `plugwiz build` print."""
    lines = [
        f"image    {report.tag or '(untagged)'}  {_short_id(report.image_id)}  "
        f"{human_size(report.size)}",
    ]
    if report.host_module or report.host_commit:
        commit = report.host_commit[:12] if report.host_commit else "unknown commit"
        lines.append(f"host     {report.host_module or '?'} at {commit}")
    if report.host_repo:
        lines.append(f"repo     {report.host_repo}")
    lines.append(f"go       {report.go_version or 'unknown (no Go build info in the host binary)'}")
    lines.append(f"user     {describe_user(report.user)}")
    # Quoted as a shell would need it: `--text 'hi there'` reads as one argument.
    lines.append(f"cmd      {shlex.join(report.entrypoint + report.cmd) or '(none)'}")
    lines.append(f"plugins  {len(report.plugins)} (in load order)")
    width = max((len(p.file) for p in report.plugins), default=0)
    for plugin in load_order(report):
        mark = "" if plugin.in_cmd else "  (not in CMD: never loaded)"
        lines.append(
            f"  {plugin.file:<{width}}  {human_size(plugin.size):>9}  "
            f"sha256:{plugin.sha256[:16]}{mark}"
        )
    for path in report.missing:
        lines.append(f"warning: the CMD names {path}, which is not in the image")
    for path in report.unloaded:
        lines.append(f"warning: {path} is in the image but the CMD does not load it")
    return "\n".join(lines)


def go_version_from_binary(data: bytes) -> str | None:
    """The Go version (`go1.19.8`) a binary was built with, from its build info, or None.

    None for a non-Go file and for a binary that does not record it (plugins of Go 1.19 and
    older). `plugwiz.core.buildinfo.read_binary_facts` gives every other build fact.
    """
    try:
        return read_binary_facts(data).go_version or None
    except NotAGoBinaryError:
        return None
