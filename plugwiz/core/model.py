"""The project model: what the user chose (`Project`) and what plugwiz found (`ResolvedProject`).

`Project` holds only the user's choices, exactly what plugwiz.yaml says. What plugwiz resolves
and detects (the host commit, go.mod facts, main and plugin packages, what each plugin source
is on disk) is a separate value, `ResolvedProject`, so resolving never changes the user's
project (and never makes it look edited). Fields the user may leave empty ("" or None) are
filled from those facts; the `effective_*` helpers give the value a build will really use.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from plugwiz.core.paths import demo_plugins_dir
from plugwiz.core.ports import CommitInfo

DEFAULT_PLUGIN_FLAG = "--prov"
DEFAULT_PLUGIN_EXT = ".so"
DEFAULT_PLUGIN_DIR = "/app/plugins"
DEFAULT_TAG = "plugwiz-host:latest"
APP_DIR = "/app"
HOST_BINARY_NAME = "host"
# `repo: demo` is the host repository embedded in plugwiz; `demo:FILE` a plugin shipped with it.
DEMO_REPO = "demo"
DEMO_SOURCE_PREFIX = "demo:"

# An output name becomes a file name, a Dockerfile path and a CMD argument: keep it boring.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
# A file extension that is not part of a plugin's name: `.go`, `.so`, `.prov`, `.plugin`...
# (not `.2` of `v1.2`).
_EXTENSION_RE = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,7}$")


class ProjectError(ValueError):
    """A project value that cannot be built; the message is for a person."""


class PluginKind(enum.Enum):
    """How a custom plugin is given."""

    FILE = "file"
    DIRECTORY = "directory"
    PREBUILT = "prebuilt"


def guess_plugin_kind(source: str) -> PluginKind:
    """What a plugin source probably is, from its name alone (before it is looked at on disk:
    `PluginFacts.kind` is the answer that counts, a prebuilt plugin is known by its content)."""
    lower = source.lower().rstrip("/")
    if lower.endswith(".so"):
        return PluginKind.PREBUILT
    if lower.endswith(".go"):
        return PluginKind.FILE
    return PluginKind.DIRECTORY


def name_from_source(source: str) -> str:
    """A plugin output name derived from its source path: `x/hello.go` -> `hello`,
    `drift.prov` -> `drift`."""
    base = PurePosixPath(source.replace("\\", "/").rstrip("/")).name
    base = base.removeprefix(DEMO_SOURCE_PREFIX)
    stem = _EXTENSION_RE.sub("", base)
    if stem:
        base = stem
    cleaned = re.sub(r"-{2,}", "-", _BAD_NAME_CHARS.sub("-", base)).strip("-._")
    return cleaned[:63] or "plugin"


def check_name(name: str, what: str = "plugin name") -> str:
    """Return `name` if it is a valid output name, else raise ProjectError."""
    if not _NAME_RE.match(name):
        raise ProjectError(
            f"{what} {name!r} is not allowed: use letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit, at most 63 characters)"
        )
    return name


@dataclass(frozen=True)
class Host:
    """The host program: where it comes from and how it is built."""

    repo: str = ""
    ref: str = ""
    commit: str = ""
    main_package: str = ""
    build_command: tuple[str, ...] = ()
    binary: str = ""
    build_flags: tuple[str, ...] = ()
    build_env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class BundledPlugin:
    """A plugin that lives in the host's own tree (a package directory)."""

    path: str
    name: str = ""

    @property
    def output_name(self) -> str:
        return self.name or name_from_source(self.path)


@dataclass(frozen=True)
class PluginSource:
    """A custom plugin: a `.go` file, a directory of `package main` files, or a prebuilt
    plugin (an ELF shared object, whatever its file name)."""

    source: str
    name: str = ""

    @property
    def output_name(self) -> str:
        return self.name or name_from_source(self.source)


@dataclass(frozen=True)
class Images:
    """Builder and runtime images; empty means: pick from the host's go.mod."""

    builder: str = ""
    runtime: str = ""


@dataclass(frozen=True)
class PluginLoading:
    """How the host is told about its plugins."""

    flag: str = DEFAULT_PLUGIN_FLAG  # "" means no flag: the host opens fixed paths
    extension: str = DEFAULT_PLUGIN_EXT
    extra_args: tuple[str, ...] = ()
    directory: str = DEFAULT_PLUGIN_DIR
    symbol: str = ""  # optional symbol the load check looks up in every plugin


@dataclass(frozen=True)
class ExtraFile:
    """A file or directory the runtime needs. `source` is a local path, or `host:PATH`."""

    source: str
    target: str

    @property
    def from_host(self) -> bool:
        return self.source.startswith("host:")

    @property
    def host_path(self) -> str:
        return self.source[len("host:") :].lstrip("/")


@dataclass(frozen=True)
class RunSettings:
    """How a live run (the Result step, `plugwiz watch`) starts the image: `args` appended to
    its CMD, `env` added, container `ports` published on 127.0.0.1 (none: every port the
    image EXPOSEs)."""

    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    ports: tuple[int, ...] = ()


@dataclass(frozen=True)
class GoMod:
    """What plugwiz reads from go.mod."""

    module: str
    go: str = ""
    toolchain: str = ""
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostFacts:
    """What plugwiz detected in the host tree at `Host.commit`."""

    gomod: GoMod
    main_packages: tuple[str, ...] = ()
    plugin_packages: tuple[str, ...] = ()
    has_go_sum: bool = False
    vendored: bool = False
    # Packages from outside the host module that its own (non-test) files import: what a
    # build can compile before the host's source is copied in (see plan.dependency_packages).
    imports: tuple[str, ...] = ()


BACKENDS = ("auto", "classic", "buildkit")


@dataclass(frozen=True)
class BuildSettings:
    """How the image is built: `backend` is `classic` (the daemon's classic builder, through
    the Docker API), `buildkit` (the docker CLI with BuildKit, or buildx), or `auto` (BuildKit
    where it is available); `builder` names a buildx builder (local or remote)."""

    backend: str = "auto"
    builder: str = ""


@dataclass(frozen=True)
class Project:
    """What the user chose: everything plugwiz.yaml says. `bundled` None means: use the
    detected bundled plugins. `host.commit` is a pin the user chose, never one plugwiz added."""

    host: Host = field(default_factory=Host)
    bundled: tuple[BundledPlugin, ...] | None = None
    plugins: tuple[PluginSource, ...] = ()
    images: Images = field(default_factory=Images)
    loading: PluginLoading = field(default_factory=PluginLoading)
    files: tuple[ExtraFile, ...] = ()
    tag: str = DEFAULT_TAG
    build: BuildSettings = field(default_factory=BuildSettings)
    run: RunSettings = field(default_factory=RunSettings)
    # Relative plugin and file sources are relative to this directory (the project file's).
    base_dir: Path = field(default_factory=Path.cwd, compare=False)

    def source_path(self, source: str) -> Path:
        """The local path of a plugin or extra-file source (`demo:FILE`: the demo's plugin)."""
        if source.startswith(DEMO_SOURCE_PREFIX):
            return demo_plugins_dir() / source[len(DEMO_SOURCE_PREFIX) :]
        path = Path(source).expanduser()
        return path if path.is_absolute() else self.base_dir / path


@dataclass(frozen=True)
class ResolvedHost:
    """The host as plugwiz found it: the commit a repository and ref named, and its facts."""

    repo: str  # the `Host.repo` it was resolved for
    ref: str  # what was resolved: the pinned commit, else the ref, else HEAD
    commit: CommitInfo
    facts: HostFacts

    def matches(self, host: Host) -> bool:
        """True if this is still the answer for `host` (same repository and ref or pin)."""
        return self.repo == host.repo and self.ref == host_revision(host)


def host_revision(host: Host) -> str:
    """What a build of `host` resolves: the pinned commit, else the ref, else HEAD."""
    return host.commit or host.ref or "HEAD"


@dataclass(frozen=True)
class PluginFacts:
    """What a custom plugin source is on disk: its kind (None when it cannot be told, e.g. a
    missing path) and the problem that stops it being built, in words for a person."""

    kind: PluginKind | None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.kind is not None and not self.problem


@dataclass(frozen=True)
class ResolvedProject:
    """A project with everything plugwiz found for it: what a plan and a build start from.
    `plugins` holds one `PluginFacts` per `project.plugins` entry, in the same order."""

    project: Project
    host: ResolvedHost
    plugins: tuple[PluginFacts, ...]

    @property
    def facts(self) -> HostFacts:
        return self.host.facts

    @property
    def sha(self) -> str:
        """The host commit to build."""
        return self.host.commit.sha

    def plugin_kind(self, index: int) -> PluginKind:
        """The kind of `project.plugins[index]` (its guessed kind while it is unusable)."""
        facts = self.plugins[index] if index < len(self.plugins) else None
        if facts is not None and facts.kind is not None:
            return facts.kind
        return guess_plugin_kind(self.project.plugins[index].source)


def effective_main_package(project: Project, facts: HostFacts | None) -> str:
    """The host's main package as `./dir` (or `.`), or "" when a build command is used."""
    if project.host.main_package:
        return dot_path(project.host.main_package)
    if project.host.build_command:
        return ""
    if facts is None or not facts.main_packages:
        return ""
    return dot_path(pick_main_package(facts.main_packages, facts.gomod.module))


def main_choice_needed(project: Project, facts: HostFacts | None) -> bool:
    """True when the host has several main packages, none obviously the host, and the user
    has not chosen one (plugwiz refuses to guess)."""
    return (
        facts is not None
        and not project.host.main_package
        and not project.host.build_command
        and len(facts.main_packages) > 1
        and obvious_main_package(facts.main_packages, facts.gomod.module) is None
    )


def effective_bundled(project: Project, facts: HostFacts | None) -> tuple[BundledPlugin, ...]:
    """Listed bundled plugins, or the detected ones."""
    if project.bundled is not None:
        return project.bundled
    if facts is None:
        return ()
    return tuple(BundledPlugin(path=p) for p in facts.plugin_packages)


@dataclass(frozen=True)
class PluginClash:
    """A plugin whose output file an earlier plugin already gets (bundled plugins come first,
    then the custom ones in order); `message` is what the CLI and the wizard both say."""

    name: str
    file_name: str
    custom_index: int | None  # position in `Project.plugins`, None for a bundled plugin
    message: str


def plugin_clashes(project: Project, facts: HostFacts | None) -> tuple[PluginClash, ...]:
    """Every plugin that would overwrite another's output file, in build-plan order."""
    ext = project.loading.extension
    owners: list[tuple[str, int | None]] = [
        (b.output_name, None) for b in effective_bundled(project, facts)
    ]
    owners += [(p.output_name, index) for index, p in enumerate(project.plugins)]
    first_owner: dict[str, int | None] = {}
    clashes: list[PluginClash] = []
    for name, index in owners:
        file_name = name + ext
        if file_name not in first_owner:
            first_owner[file_name] = index
            continue
        other = "a bundled plugin" if first_owner[file_name] is None else "another plugin"
        message = (
            f"two plugins would be written to {file_name}: {name!r} collides with {other}; "
            "rename one (plugins: name: ...)"
        )
        clashes.append(PluginClash(name, file_name, index, message))
    return tuple(clashes)


def obvious_main_package(candidates: tuple[str, ...], module: str) -> str | None:
    """The main package that is clearly the host's (the only one, the module root, or the one
    named after the module), or None when a person has to choose."""
    if len(candidates) == 1:
        return candidates[0]
    module_base = module.rstrip("/").rsplit("/", 1)[-1]
    for preferred in (".", f"cmd/{module_base}", "main", module_base):
        if preferred in candidates:
            return preferred
    return None


def pick_main_package(candidates: tuple[str, ...], module: str) -> str:
    """Choose the host's main package among several `package main` dirs with `func main`."""
    obvious = obvious_main_package(candidates, module)
    if obvious is not None:
        return obvious
    cmd = sorted(c for c in candidates if c.startswith("cmd/"))
    return cmd[0] if cmd else sorted(candidates)[0]


def dot_path(path: str) -> str:
    """A package directory as the go tool names it: `./cmd/x`, or `.` for the module root."""
    clean = path.strip().strip("/")
    if clean in ("", "."):
        return "."
    if clean.startswith("./"):
        clean = clean[2:]
    return f"./{clean}"
