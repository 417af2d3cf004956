"""plugwiz.yaml: loading with errors that name file, line and key; saving atomically."""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from plugwiz.core.atomic import atomic_write
from plugwiz.core.model import (
    BundledPlugin,
    ExtraFile,
    Host,
    Images,
    PluginLoading,
    PluginSource,
    Project,
)
from plugwiz.core.redact import redact_url

FORMAT_VERSION = 1
MAX_PROJECT_FILE_BYTES = 1024 * 1024


class ProjectFileError(ValueError):
    """plugwiz.yaml is unreadable or wrong; the message gives file, line and key."""


Node = yaml.Node


class _Reader:
    """Turns a composed YAML node tree into model values, keeping marks for messages."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def fail(self, node: Node | None, message: str) -> ProjectFileError:
        if node is None:
            return ProjectFileError(f"{self.filename}: {message}")
        mark = node.start_mark
        return ProjectFileError(f"{self.filename}:{mark.line + 1}:{mark.column + 1}: {message}")

    def mapping(self, node: Node, key: str, allowed: tuple[str, ...]) -> dict[str, Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"`{key}` must be a mapping of {', '.join(allowed)}")
        result: dict[str, Node] = {}
        for key_node, value_node in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(name, str) or name not in allowed:
                close = difflib.get_close_matches(str(name), allowed, n=1)
                hint = (
                    f"; did you mean `{close[0]}`?" if close else f" (known: {', '.join(allowed)})"
                )
                where = f" in `{key}`" if key != "(top level)" else ""
                raise self.fail(key_node, f"unknown key `{name}`{where}{hint}")
            if name in result:
                raise self.fail(key_node, f"`{name}` is given twice")
            result[name] = value_node
        return result

    def string(self, node: Node | None, key: str, default: str = "") -> str:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            return default
        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith((":bool", ":float")):
            raise self.fail(node, f"`{key}` must be a string")
        return str(node.value)

    def strings(self, node: Node | None, key: str) -> tuple[str, ...]:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            return ()
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"`{key}` must be a list of strings")
        return tuple(self.string(item, f"{key}[{i}]") for i, item in enumerate(node.value))

    def items(self, node: Node | None, key: str) -> list[Node]:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"`{key}` must be a list")
        return list(node.value)


def _reject_aliases(node: Node, seen: set[int], reader: _Reader) -> None:
    # An anchor used twice is the start of an alias bomb; plugwiz.yaml never needs one.
    if id(node) in seen:
        raise reader.fail(node, "YAML anchors and aliases are not supported in plugwiz.yaml")
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _reject_aliases(key, seen, reader)
            _reject_aliases(value, seen, reader)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_aliases(item, seen, reader)


def parse_project(
    text: str, filename: str = "plugwiz.yaml", base_dir: Path | None = None
) -> Project:
    """Parse plugwiz.yaml text into a Project; raises ProjectFileError for a person."""
    reader = _Reader(filename)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        raise ProjectFileError(f"{where}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ProjectFileError(f"{filename}: invalid YAML: {exc}") from None
    if root is None:
        raise ProjectFileError(f"{filename}: the file is empty; run `plugwiz init` to write one")
    _reject_aliases(root, set(), reader)
    top = reader.mapping(
        root,
        "(top level)",
        ("version", "host", "bundled", "plugins", "images", "loading", "files", "tag"),
    )
    version_node = top.get("version")
    if version_node is None:
        raise reader.fail(
            root, f"missing `version:` (this plugwiz writes `version: {FORMAT_VERSION}`)"
        )
    if not (
        isinstance(version_node, yaml.ScalarNode) and version_node.value == str(FORMAT_VERSION)
    ):
        raise reader.fail(
            version_node,
            f"unsupported `version: {getattr(version_node, 'value', '?')}`; this plugwiz reads "
            f"version {FORMAT_VERSION} (a newer plugwiz may have written this file)",
        )

    host = Host()
    if "host" in top:
        h = reader.mapping(
            top["host"],
            "host",
            (
                "repo",
                "ref",
                "commit",
                "main",
                "build_command",
                "binary",
                "build_flags",
                "build_env",
            ),
        )
        command_node = h.get("build_command")
        if isinstance(command_node, yaml.ScalarNode) and not command_node.tag.endswith(":null"):
            try:
                command = tuple(shlex.split(reader.string(command_node, "host.build_command")))
            except ValueError as exc:
                raise reader.fail(command_node, f"`host.build_command`: {exc}") from None
        else:
            command = reader.strings(command_node, "host.build_command")
        env: list[tuple[str, str]] = []
        if h.get("build_env") is not None:
            env_nodes = h["build_env"]
            if not isinstance(env_nodes, yaml.MappingNode):
                raise reader.fail(env_nodes, "`host.build_env` must be a mapping NAME: value")
            for key_node, value_node in env_nodes.value:
                env.append(
                    (
                        reader.string(key_node, "host.build_env key"),
                        reader.string(value_node, "host.build_env"),
                    )
                )
        host = Host(
            repo=reader.string(h.get("repo"), "host.repo"),
            ref=reader.string(h.get("ref"), "host.ref"),
            commit=reader.string(h.get("commit"), "host.commit"),
            main_package=reader.string(h.get("main"), "host.main"),
            build_command=command,
            binary=reader.string(h.get("binary"), "host.binary"),
            build_flags=reader.strings(h.get("build_flags"), "host.build_flags"),
            build_env=tuple(env),
        )

    bundled: tuple[BundledPlugin, ...] | None = None
    bundled_node = top.get("bundled")
    if bundled_node is not None and not (
        isinstance(bundled_node, yaml.ScalarNode) and bundled_node.tag.endswith(":null")
    ):
        bundled = tuple(
            _named(
                reader, item, f"bundled[{i}]", "path", lambda p, n: BundledPlugin(path=p, name=n)
            )
            for i, item in enumerate(reader.items(bundled_node, "bundled"))
        )
    plugins = tuple(
        _named(reader, item, f"plugins[{i}]", "source", lambda s, n: PluginSource(source=s, name=n))
        for i, item in enumerate(reader.items(top.get("plugins"), "plugins"))
    )
    images = Images()
    if "images" in top:
        im = reader.mapping(top["images"], "images", ("builder", "runtime"))
        images = Images(
            builder=reader.string(im.get("builder"), "images.builder"),
            runtime=reader.string(im.get("runtime"), "images.runtime"),
        )
    loading = PluginLoading()
    if "loading" in top:
        lo = reader.mapping(
            top["loading"], "loading", ("flag", "extension", "args", "directory", "symbol")
        )
        loading = PluginLoading(
            flag=reader.string(lo.get("flag"), "loading.flag", loading.flag),
            extension=reader.string(lo.get("extension"), "loading.extension", loading.extension),
            extra_args=reader.strings(lo.get("args"), "loading.args"),
            directory=reader.string(lo.get("directory"), "loading.directory", loading.directory),
            symbol=reader.string(lo.get("symbol"), "loading.symbol"),
        )
    files: list[ExtraFile] = []
    for i, item in enumerate(reader.items(top.get("files"), "files")):
        f = reader.mapping(item, f"files[{i}]", ("source", "target"))
        if "source" not in f or "target" not in f:
            raise reader.fail(item, f"`files[{i}]` needs both `source` and `target`")
        files.append(
            ExtraFile(
                source=reader.string(f["source"], f"files[{i}].source"),
                target=reader.string(f["target"], f"files[{i}].target"),
            )
        )
    return Project(
        host=host,
        bundled=bundled,
        plugins=plugins,
        images=images,
        loading=loading,
        files=tuple(files),
        tag=reader.string(top.get("tag"), "tag", Project().tag),
        base_dir=base_dir or Path.cwd(),
    )


def _named(
    reader: _Reader, node: Node, key: str, field: str, make: Callable[[str, str], Any]
) -> Any:
    """A list item given as `PATH` or as `{FIELD: PATH, name: NAME}`."""
    if isinstance(node, yaml.ScalarNode):
        return make(reader.string(node, key), "")
    entry = reader.mapping(node, key, (field, "name"))
    if field not in entry:
        raise reader.fail(node, f"`{key}` needs `{field}`")
    return make(
        reader.string(entry[field], f"{key}.{field}"),
        reader.string(entry.get("name"), f"{key}.name"),
    )


def load_project(path: Path) -> Project:
    """Read plugwiz.yaml; relative sources in it are relative to its directory."""
    try:
        size = path.stat().st_size
        if size > MAX_PROJECT_FILE_BYTES:
            raise ProjectFileError(f"{path}: {size} bytes is too large for a project file")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectFileError(f"{path}: no such project file") from None
    except UnicodeDecodeError:
        raise ProjectFileError(f"{path}: not a text file (UTF-8 expected)") from None
    except OSError as exc:
        raise ProjectFileError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_project(text, str(path), base_dir=path.resolve().parent)


def project_to_dict(project: Project) -> dict[str, Any]:
    """The YAML document for `project` (only what differs from the defaults)."""
    host: dict[str, Any] = {}
    h = project.host
    for key, value in (
        ("repo", redact_url(h.repo)),
        ("ref", h.ref),
        ("commit", h.commit),
        ("main", h.main_package),
        ("build_command", list(h.build_command)),
        ("binary", h.binary),
        ("build_flags", list(h.build_flags)),
        ("build_env", dict(h.build_env)),
    ):
        if value:
            host[key] = value
    doc: dict[str, Any] = {"version": FORMAT_VERSION}
    if host:
        doc["host"] = host
    if project.bundled is not None:
        doc["bundled"] = [
            {"path": b.path, "name": b.name} if b.name else b.path for b in project.bundled
        ]
    if project.plugins:
        doc["plugins"] = [
            {"source": p.source, "name": p.name} if p.name else p.source for p in project.plugins
        ]
    images = {
        k: v
        for k, v in (("builder", project.images.builder), ("runtime", project.images.runtime))
        if v
    }
    if images:
        doc["images"] = images
    defaults = PluginLoading()
    lo = project.loading
    loading: dict[str, Any] = {}
    for key, value, default in (
        ("flag", lo.flag, defaults.flag),
        ("extension", lo.extension, defaults.extension),
        ("args", list(lo.extra_args), []),
        ("directory", lo.directory, defaults.directory),
        ("symbol", lo.symbol, defaults.symbol),
    ):
        if value != default:
            loading[key] = value
    if loading:
        doc["loading"] = loading
    if project.files:
        doc["files"] = [{"source": f.source, "target": f.target} for f in project.files]
    doc["tag"] = project.tag
    return doc


def dump_project(project: Project) -> str:
    """plugwiz.yaml text for `project`."""
    body = yaml.safe_dump(project_to_dict(project), sort_keys=False, allow_unicode=True, width=1000)
    return (
        "# plugwiz project file: `plugwiz build` builds it, `plugwiz` opens it in the wizard.\n"
        + body
    )


def save_project(project: Project, path: Path) -> None:
    """Save `project` to `path` atomically."""
    atomic_write(path, dump_project(project))


# -- TEMPORARY shim until the round-trip ProjectDocument lands (replaced at merge) ----------
from dataclasses import dataclass as _dataclass  # noqa: E402


@_dataclass(frozen=True)
class ProjectDocument:
    """A project file as loaded (shim)."""

    path: Path | None
    text: str | None
    project: Project

    @classmethod
    def load(cls, path: Path) -> ProjectDocument:
        project = load_project(path)
        return cls(path, path.read_text(encoding="utf-8"), project)

    @classmethod
    def new(cls, project: Project) -> ProjectDocument:
        return cls(None, None, project)

    def render(self, project: Project, path: Path | None = None) -> str:
        return dump_project(project)

    def save(self, project: Project, path: Path | None = None) -> ProjectDocument:
        target = path or self.path
        assert target is not None
        text = self.render(project, target)
        atomic_write(target, text)
        return ProjectDocument(target, text, project)

    def changed(self, project: Project) -> bool:
        return project != self.project
