"""The project model: one immutable value that holds everything a build needs.

Fields the user may leave empty ("" or None) are filled from what plugwiz detects in the host
tree (`HostFacts`); the `effective_*` helpers give the value a build will really use.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

DEFAULT_PLUGIN_FLAG = "--prov"
DEFAULT_PLUGIN_EXT = ".so"
DEFAULT_PLUGIN_DIR = "/app/plugins"
DEFAULT_TAG = "plugwiz-host:latest"
APP_DIR = "/app"
HOST_BINARY_NAME = "host"
# `host.repo` naming the demo host that ships inside plugwiz (not a path: never rebased).
DEMO_REPO = "demo"

# An output name becomes a file name, a Dockerfile path and a CMD argument: keep it boring.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class ProjectError(ValueError):
    """A project value that cannot be built; the message is for a person."""


class PluginKind(enum.Enum):
    """How a custom plugin is given."""

    FILE = "file"
    DIRECTORY = "directory"
    PREBUILT = "prebuilt"


def plugin_kind(source: str) -> PluginKind:
    """Classify a plugin source by its path (no filesystem access)."""
    lower = source.lower().rstrip("/")
    if lower.endswith(".so"):
        return PluginKind.PREBUILT
    if lower.endswith(".go"):
        return PluginKind.FILE
    return PluginKind.DIRECTORY


def name_from_source(source: str) -> str:
    """A plugin output name derived from its source path: `x/hello.go` -> `hello`."""
    base = PurePosixPath(source.replace("\\", "/").rstrip("/")).name
    for suffix in (".go", ".so"):
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
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
    """A custom plugin: a `.go` file, a directory of `package main` files, or a prebuilt `.so`."""

    source: str
    name: str = ""

    @property
    def kind(self) -> PluginKind:
        return plugin_kind(self.source)

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


@dataclass(frozen=True)
class Project:
    """Everything a build needs. `bundled` None means: use the detected bundled plugins."""

    host: Host = field(default_factory=Host)
    bundled: tuple[BundledPlugin, ...] | None = None
    plugins: tuple[PluginSource, ...] = ()
    images: Images = field(default_factory=Images)
    loading: PluginLoading = field(default_factory=PluginLoading)
    files: tuple[ExtraFile, ...] = ()
    tag: str = DEFAULT_TAG
    facts: HostFacts | None = field(default=None, compare=False)
    # Relative plugin and file sources are relative to this directory (the project file's).
    base_dir: Path = field(default_factory=Path.cwd, compare=False)

    def with_facts(self, facts: HostFacts, commit: str) -> Project:
        return replace(self, facts=facts, host=replace(self.host, commit=commit))

    def source_path(self, source: str) -> Path:
        """The local path of a plugin or extra-file source."""
        path = Path(source).expanduser()
        return path if path.is_absolute() else self.base_dir / path


def effective_main_package(project: Project) -> str:
    """The host's main package as `./dir` (or `.`), or "" when a build command is used."""
    if project.host.main_package:
        return dot_path(project.host.main_package)
    if project.host.build_command:
        return ""
    facts = project.facts
    if facts is None or not facts.main_packages:
        return ""
    return dot_path(pick_main_package(facts.main_packages, facts.gomod.module))


def effective_bundled(project: Project) -> tuple[BundledPlugin, ...]:
    """Listed bundled plugins, or the detected ones."""
    if project.bundled is not None:
        return project.bundled
    if project.facts is None:
        return ()
    return tuple(BundledPlugin(path=p) for p in project.facts.plugin_packages)


@dataclass(frozen=True)
class PluginClash:
    """A plugin whose output file an earlier plugin already gets (bundled plugins come first,
    then the custom ones in order); `message` is what the CLI and the wizard both say."""

    name: str
    file_name: str
    custom_index: int | None  # position in `Project.plugins`, None for a bundled plugin
    message: str


def plugin_clashes(project: Project) -> tuple[PluginClash, ...]:
    """Every plugin that would overwrite another's output file, in build-plan order."""
    ext = project.loading.extension
    owners: list[tuple[str, int | None]] = [
        (b.output_name, None) for b in effective_bundled(project)
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
