"""plugwiz.yaml: loading with errors that name file, line and key; saving atomically.

`ProjectDocument` is the file as the user wrote it: saving a changed project patches only the
values that changed (comments, order and style stay), and relative paths follow the file when it
is saved somewhere else.
"""

from __future__ import annotations

import difflib
import itertools
import os
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from plugwiz.core.atomic import atomic_write
from plugwiz.core.model import (
    BACKENDS,
    DEMO_REPO,
    BuildSettings,
    BundledPlugin,
    ExtraFile,
    Host,
    Images,
    PluginLoading,
    PluginSource,
    Project,
    RunSettings,
)
from plugwiz.core.redact import redact_url
from plugwiz.core.yaml_edit import match_items, patch_yaml, same_data

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
        _TOP_KEYS,
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
        build=_parse_build(reader, top.get("build")),
        run=_run_settings(reader, top.get("run")),
        base_dir=base_dir or Path.cwd(),
    )


def _parse_build(reader: _Reader, node: Node | None) -> BuildSettings:
    """`build: {backend: auto|classic|buildkit, builder: NAME}`."""
    if node is None:
        return BuildSettings()
    section = reader.mapping(node, "build", _BUILD_KEYS)
    backend = reader.string(section.get("backend"), "build.backend", BuildSettings().backend)
    if backend not in BACKENDS:
        raise reader.fail(
            section.get("backend"),
            f"`build.backend` must be one of {', '.join(BACKENDS)}, not {backend!r}",
        )
    return BuildSettings(
        backend=backend, builder=reader.string(section.get("builder"), "build.builder")
    )


def _run_settings(reader: _Reader, node: Node | None) -> RunSettings:
    """`run: {args: [...], env: {NAME: value}, ports: [8080]}`: how a live run starts."""
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        return RunSettings()
    run = reader.mapping(node, "run", _RUN_KEYS)
    env: list[tuple[str, str]] = []
    env_node = run.get("env")
    if env_node is not None and not (
        isinstance(env_node, yaml.ScalarNode) and env_node.tag.endswith(":null")
    ):
        if not isinstance(env_node, yaml.MappingNode):
            raise reader.fail(env_node, "`run.env` must be a mapping NAME: value")
        for key_node, value_node in env_node.value:
            env.append(
                (reader.string(key_node, "run.env key"), reader.string(value_node, "run.env"))
            )
    ports: list[int] = []
    for i, item in enumerate(reader.items(run.get("ports"), "run.ports")):
        text = reader.string(item, f"run.ports[{i}]")
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise reader.fail(item, f"`run.ports[{i}]` must be a TCP port number (1-65535)")
        ports.append(int(text))
    return RunSettings(
        args=reader.strings(run.get("args"), "run.args"), env=tuple(env), ports=tuple(ports)
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
    return parse_project(_read_project_text(path), str(path), base_dir=path.resolve().parent)


def _read_project_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_PROJECT_FILE_BYTES:
            raise ProjectFileError(f"{path}: {size} bytes is too large for a project file")
        # newline="": the exact text, CRLF included, is what a later save patches.
        with path.open(encoding="utf-8", newline="") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ProjectFileError(f"{path}: no such project file") from None
    except UnicodeDecodeError:
        raise ProjectFileError(f"{path}: not a text file (UTF-8 expected)") from None
    except OSError as exc:
        raise ProjectFileError(f"{path}: cannot read: {exc.strerror}") from None
    return text


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
    build = _build_dict(project.build)
    if build:
        doc["build"] = build

    run = _run_dict(project.run)
    if run:
        doc["run"] = run
    return doc


def _build_dict(settings: BuildSettings) -> dict[str, Any]:
    defaults = BuildSettings()
    return {
        key: value
        for key, value, default in (
            ("backend", settings.backend, defaults.backend),
            ("builder", settings.builder, defaults.builder),
        )
        if value != default
    }


def _run_dict(run: RunSettings) -> dict[str, Any]:
    """The `run:` section for `run` (only what is set)."""
    out: dict[str, Any] = {}
    for key, value in (
        ("args", list(run.args)),
        ("env", dict(run.env)),
        ("ports", list(run.ports)),
    ):
        if value:
            out[key] = value
    return out


def dump_project(project: Project) -> str:
    """plugwiz.yaml text for `project`."""
    body = yaml.safe_dump(project_to_dict(project), sort_keys=False, allow_unicode=True, width=1000)
    return (
        "# plugwiz project file: `plugwiz build` builds it, `plugwiz` opens it in the wizard.\n"
        + body
    )


def save_project(project: Project, path: Path) -> None:
    """Write `project` to `path` atomically in the canonical form, its values as they are.

    For a file the user may have edited, or paths written relative to the file, use
    `ProjectDocument.save`: it keeps what they wrote."""
    atomic_write(path, dump_project(project))


# ---- ProjectDocument: saving what changed, nothing else -------------------------------------

_TOP_KEYS = (
    "version",
    "host",
    "bundled",
    "plugins",
    "images",
    "loading",
    "files",
    "tag",
    "build",
    "run",
)
_BUILD_KEYS = ("backend", "builder")
_HOST_KEYS = (
    "repo",
    "ref",
    "commit",
    "main",
    "build_command",
    "binary",
    "build_flags",
    "build_env",
)
_IMAGE_KEYS = ("builder", "runtime")
_LOADING_KEYS = ("flag", "extension", "args", "directory", "symbol")
_RUN_KEYS = ("args", "env", "ports")


class _Delete:
    """Marks a key to remove from the document."""


_DELETE = _Delete()


@dataclass(frozen=True)
class ProjectDocument:
    """plugwiz.yaml as it is on disk, and the project its text says.

    `render` and `save` write a changed project by patching that text: only the fields that
    differ from `project` change, so the user's comments, key order, quoting, flow or block
    style, and the values they wrote (an absolute path, an explicit default) stay as they are.
    """

    path: Path | None  # where it was loaded from / last saved to (None: never saved)
    text: str | None  # the exact text on disk (None: not on disk yet)
    project: Project  # what that text says (the baseline for the next save)

    @classmethod
    def load(cls, path: Path) -> ProjectDocument:
        """Read plugwiz.yaml; raises ProjectFileError with file, line and key."""
        text = _read_project_text(path)
        return cls(path, text, parse_project(text, str(path), base_dir=path.resolve().parent))

    @classmethod
    def new(cls, project: Project) -> ProjectDocument:
        """A project that has no file yet."""
        return cls(None, None, project)

    def render(self, project: Project, path: Path | None = None) -> str:
        """The text to write for `project` at `path` (default: where the document is).

        With text on disk: that text, patched where `project` differs from `self.project`, field
        by field; relative paths are rebased when `path` is in another directory. Without: the
        canonical form, with paths inside the project directory written relative to it.
        """
        target = path if path is not None else self.path
        current = _directory(project.base_dir)
        new_dir = _directory(target.parent) if target is not None else current
        if self.text is None:
            return dump_project(_relocated(project, _Places(current, current, new_dir)))
        old_dir = _directory(self.path.parent if self.path else self.project.base_dir)
        if project == self.project and old_dir == new_dir == current:
            return self.text  # the common case when the wizard asks `changed()`
        data = yaml.safe_load(self.text)
        if not isinstance(data, dict):
            raise ProjectFileError(f"{self.path or 'plugwiz.yaml'}: not a project document")
        places = _Places(old_dir, current, new_dir)
        return patch_yaml(self.text, _updated_document(data, self.project, project, places))

    def save(self, project: Project, path: Path | None = None) -> ProjectDocument:
        """Write `project` atomically to `path` (default: where the document is) and return the
        document that is now on disk (its project's `base_dir` is the file's directory, its
        relative paths rebased there). An unchanged file is not written again."""
        target = path if path is not None else self.path
        if target is None:
            raise ValueError("this project has never been saved: give the path to save it to")
        text = self.render(project, target)
        unchanged = (
            self.path is not None
            and text == self.text
            and _directory(target) == _directory(self.path)
            and target.exists()
        )
        if not unchanged:
            atomic_write(target, text)
        return ProjectDocument(
            target, text, parse_project(text, str(target), base_dir=target.resolve().parent)
        )

    def changed(self, project: Project) -> bool:
        """Whether saving `project` here would change the file."""
        return self.text is None or self.render(project) != self.text


def _directory(path: Path) -> str:
    return str(Path(path).expanduser().resolve())


def _is_local_path(value: str, *, repo: bool = False) -> bool:
    """Whether `value` names a local file or directory (a relative one moves with the file):
    not a URL, not `git@host:path`, not `demo:...` or `host:...`, not the demo host."""
    if not value or (repo and value == DEMO_REPO) or value.startswith(("demo:", "host:")):
        return False
    if "://" in value:
        return False
    head = value.split("/", 1)[0]
    return not (":" in head and len(head.split(":", 1)[0]) > 1)


@dataclass(frozen=True)
class _Places:
    """The directories paths are relative to: the text's (old), the project's (current), and
    the one the file is written to (new)."""

    old_dir: str
    current_dir: str
    new_dir: str

    def location(self, value: str, base: str, repo: bool = False) -> str:
        """What a path names, as an absolute normal path (other values stand for themselves)."""
        if not _is_local_path(value, repo=repo):
            return "\0" + value
        return os.path.normpath(os.path.join(base, os.path.expanduser(value)))

    def same(self, old: str, new: str, *, repo: bool = False) -> bool:
        """Whether the text's `old` and the project's `new` name the same thing."""
        return self.location(old, self.old_dir, repo) == self.location(new, self.current_dir, repo)

    def kept(self, written: Any, old: str, *, repo: bool = False) -> Any:
        """An unchanged path: as the user wrote it, unless it is relative and the file moves."""
        if (
            self.old_dir == self.new_dir
            or not _is_local_path(old, repo=repo)
            or os.path.isabs(os.path.expanduser(old))
        ):
            return written
        return self.written(self.location(old, self.old_dir, repo), old)

    def fresh(self, new: str, *, repo: bool = False) -> str:
        """A new or changed path. A relative one typed for the file's own directory stays as
        typed; an absolute one inside the project, or a relative one that must move, is
        written relative to the file."""
        if not _is_local_path(new, repo=repo):
            return new
        if not os.path.isabs(os.path.expanduser(new)) and self.current_dir == self.new_dir:
            return new
        return self.written(self.location(new, self.current_dir, repo), new)

    def written(self, target: str, given: str) -> str:
        """`./x` inside the file's directory; `../x` or `../../x` close by (never through the
        root); else absolute (or the user's `~/...`)."""
        relative = os.path.relpath(target, self.new_dir)
        parts = relative.split(os.sep)
        ups = len(list(itertools.takewhile(lambda part: part == "..", parts)))
        common = os.path.commonpath([target, self.new_dir])
        if relative == ".":
            out = "."
        elif ups == 0:
            out = "./" + relative
        elif ups <= 2 and os.path.dirname(common) != common:
            out = relative
        else:
            out = given if given.startswith("~") else target
        return out + "/" if given.endswith("/") and not out.endswith("/") else out


def _relocated(project: Project, places: _Places) -> Project:
    """`project` with every path as `places.fresh` writes it (for a new file)."""
    return replace(
        project,
        host=replace(project.host, repo=places.fresh(project.host.repo, repo=True)),
        plugins=tuple(replace(p, source=places.fresh(p.source)) for p in project.plugins),
        files=tuple(replace(f, source=places.fresh(f.source)) for f in project.files),
    )


def _put(section: dict[Any, Any], key: str, value: Any, order: Sequence[str]) -> None:
    """Set `key` (or remove it, for `_DELETE`); a new key goes after the last key present that
    comes before it in `order`, so an added `host:` lands near the top, not after `tag:`."""
    if isinstance(value, _Delete):
        section.pop(key, None)
        return
    if key in section:
        section[key] = value
        return
    before = set(order[: order.index(key)]) if key in order else set(order)
    items = list(section.items())
    at = 0
    for i, (existing, _) in enumerate(items):
        if existing in before:
            at = i + 1
    items.insert(at, (key, value))
    section.clear()
    section.update(items)


def _section(written: Any, updated: dict[Any, Any]) -> Any:
    """A mapping section after its updates: as written if nothing changed, gone if empty."""
    if isinstance(written, dict) and same_data(written, updated):
        return written
    return updated if updated else _DELETE


def _updated_items(
    written: Any,
    old: Sequence[Any],
    new: Sequence[Any],
    key_old: Callable[[Any], Any],
    key_new: Callable[[Any], Any],
    kept: Callable[[Any, Any], Any],
    changed: Callable[[Any, Any, Any], Any],
    made: Callable[[Any], Any],
    similar: Callable[[Any, Any], bool] = lambda _old, _new: False,
) -> list[Any]:
    """A list section for `new`: items matched (by a diff) to an item of `old` keep the text's
    item (`kept`) or are edited from it (`changed`); the others are `made` afresh."""
    if not isinstance(written, list) or len(written) != len(old):
        return [made(item) for item in new]
    old_keys = [key_old(o) for o in old]
    new_keys = [key_new(n) for n in new]
    out: list[Any] = []
    for i, j in match_items(old_keys, new_keys, lambda i, j: similar(old[i], new[j])):
        if j is None:
            continue
        if i is None:
            out.append(made(new[j]))
        elif old_keys[i] == new_keys[j]:
            out.append(kept(written[i], old[i]))
        else:
            out.append(changed(written[i], old[i], new[j]))
    return out


def _updated_strings(written: Any, old: Sequence[str], new: Sequence[str]) -> list[Any]:
    return _updated_items(
        written,
        old,
        new,
        key_old=lambda s: s,
        key_new=lambda s: s,
        kept=lambda item, _old: item,
        changed=lambda _item, _old, new_value: new_value,
        made=lambda new_value: new_value,
    )


def _updated_document(
    data: dict[Any, Any], old: Project, new: Project, places: _Places
) -> dict[Any, Any]:
    """The document `data` (the text's) with the fields where `new` differs from `old` (what
    the text says) written anew; everything else stays as the user wrote it."""
    doc = dict(data)
    _put(doc, "host", _updated_host(doc.get("host"), old.host, new.host, places), _TOP_KEYS)

    if new.bundled is None:
        if old.bundled is not None:
            _put(doc, "bundled", _DELETE, _TOP_KEYS)
    else:
        _put(doc, "bundled", _updated_bundled(doc.get("bundled"), old, new), _TOP_KEYS)

    if new.plugins or old.plugins:
        plugins = _updated_plugins(doc.get("plugins"), old.plugins, new.plugins, places)
        _put(doc, "plugins", plugins or _DELETE, _TOP_KEYS)

    images = dict(doc["images"]) if isinstance(doc.get("images"), dict) else {}
    for key, before, after in (
        ("builder", old.images.builder, new.images.builder),
        ("runtime", old.images.runtime, new.images.runtime),
    ):
        if before != after:
            _put(images, key, after or _DELETE, _IMAGE_KEYS)
    _put(doc, "images", _section(doc.get("images"), images), _TOP_KEYS)

    loading = dict(doc["loading"]) if isinstance(doc.get("loading"), dict) else {}
    defaults = PluginLoading()
    for key, before, after, default in (
        ("flag", old.loading.flag, new.loading.flag, defaults.flag),
        ("extension", old.loading.extension, new.loading.extension, defaults.extension),
        ("directory", old.loading.directory, new.loading.directory, defaults.directory),
        ("symbol", old.loading.symbol, new.loading.symbol, defaults.symbol),
    ):
        if before != after:
            _put(loading, key, _DELETE if after == default else after, _LOADING_KEYS)
    if old.loading.extra_args != new.loading.extra_args:
        args = _updated_strings(loading.get("args"), old.loading.extra_args, new.loading.extra_args)
        _put(loading, "args", args or _DELETE, _LOADING_KEYS)
    _put(doc, "loading", _section(doc.get("loading"), loading), _TOP_KEYS)

    if new.files or old.files:
        files = _updated_files(doc.get("files"), old.files, new.files, places)
        _put(doc, "files", files or _DELETE, _TOP_KEYS)

    if old.tag != new.tag:
        _put(doc, "tag", new.tag, _TOP_KEYS)

    build = dict(doc["build"]) if isinstance(doc.get("build"), dict) else {}
    build_defaults = BuildSettings()
    for key, before, after, default in (
        ("backend", old.build.backend, new.build.backend, build_defaults.backend),
        ("builder", old.build.builder, new.build.builder, build_defaults.builder),
    ):
        if before != after:
            _put(build, key, _DELETE if after == default else after, _BUILD_KEYS)
    _put(doc, "build", _section(doc.get("build"), build), _TOP_KEYS)
    if old.run != new.run:
        _put(doc, "run", _updated_run(doc.get("run"), old.run, new.run), _TOP_KEYS)
    return doc


def _updated_run(written: Any, old: RunSettings, new: RunSettings) -> Any:
    """The `run:` section with what changed: args and ports list by list, env by name (a
    value the text already holds keeps its spelling)."""
    run = dict(written) if isinstance(written, dict) else {}
    if old.args != new.args:
        args = _updated_strings(run.get("args"), old.args, new.args)
        _put(run, "args", args or _DELETE, _RUN_KEYS)
    if old.env != new.env:
        written_env = run.get("env")
        old_env = dict(old.env)
        env: dict[Any, Any] = {}
        for name, value in new.env:
            if isinstance(written_env, dict) and name in written_env and old_env.get(name) == value:
                env[name] = written_env[name]
            else:
                env[name] = value
        _put(run, "env", env or _DELETE, _RUN_KEYS)
    if old.ports != new.ports:
        _put(run, "ports", list(new.ports) or _DELETE, _RUN_KEYS)
    return _section(written, run)


def _updated_host(written: Any, old: Host, new: Host, places: _Places) -> Any:
    host = dict(written) if isinstance(written, dict) else {}

    def put(key: str, value: Any) -> None:
        _put(host, key, value, _HOST_KEYS)

    # Credentials typed into a URL are used for this session, never written to the file.
    new_repo = redact_url(new.repo)
    if places.same(old.repo, new_repo, repo=True):
        if "repo" in host:
            host["repo"] = places.kept(host["repo"], old.repo, repo=True)
    else:
        put("repo", places.fresh(new_repo, repo=True) if new_repo else _DELETE)
    for key, before, after in (
        ("ref", old.ref, new.ref),
        ("commit", old.commit, new.commit),
        ("main", old.main_package, new.main_package),
        ("binary", old.binary, new.binary),
    ):
        if before != after:
            put(key, after or _DELETE)
    if old.build_command != new.build_command:
        command = host.get("build_command")
        if not new.build_command:
            put("build_command", _DELETE)
        elif isinstance(command, str):
            # The user wrote one shell-like string: keep writing one.
            put("build_command", shlex.join(new.build_command))
        else:
            put("build_command", _updated_strings(command, old.build_command, new.build_command))
    if old.build_flags != new.build_flags:
        flags = _updated_strings(host.get("build_flags"), old.build_flags, new.build_flags)
        put("build_flags", flags or _DELETE)
    if old.build_env != new.build_env:
        written_env = host.get("build_env")
        old_env = dict(old.build_env)
        env: dict[Any, Any] = {}
        for name, value in new.build_env:
            # A value the text already holds keeps its spelling (`CGO_ENABLED: 0` stays).
            if isinstance(written_env, dict) and name in written_env and old_env.get(name) == value:
                env[name] = written_env[name]
            else:
                env[name] = value
        put("build_env", env or _DELETE)
    return _section(written, host)


def _named_item(kept_item: Any, field: str, value: Any, old_name: str, new_name: str) -> Any:
    """A `bundled` or `plugins` item with its path `value` and name: a mapping keeps its form
    (and gains or loses `name:`); a bare path becomes `{field: PATH, name: NAME}` if named."""
    if isinstance(kept_item, dict):
        item = dict(kept_item)
        item[field] = value
        if old_name != new_name:
            _put(item, "name", new_name or _DELETE, (field, "name"))
        return item
    return {field: value, "name": new_name} if new_name else value


def _updated_plugins(
    written: Any, old: Sequence[PluginSource], new: Sequence[PluginSource], places: _Places
) -> list[Any]:
    def source_of(item: Any) -> Any:
        return item.get("source") if isinstance(item, dict) else item

    def kept(item: Any, before: PluginSource) -> Any:
        source = places.kept(source_of(item), before.source)
        return _named_item(item, "source", source, before.name, before.name)

    def changed(item: Any, before: PluginSource, after: PluginSource) -> Any:
        if places.same(before.source, after.source):
            source = places.kept(source_of(item), before.source)
        else:
            source = places.fresh(after.source)
        return _named_item(item, "source", source, before.name, after.name)

    def made(after: PluginSource) -> Any:
        return _named_item(None, "source", places.fresh(after.source), "", after.name)

    return _updated_items(
        written,
        old,
        new,
        key_old=lambda p: (places.location(p.source, places.old_dir), p.name),
        key_new=lambda p: (places.location(p.source, places.current_dir), p.name),
        kept=kept,
        changed=changed,
        made=made,
        similar=lambda before, after: places.same(before.source, after.source),
    )


def _updated_bundled(written: Any, old: Project, new: Project) -> list[Any]:
    def path_of(item: Any) -> Any:
        return item.get("path") if isinstance(item, dict) else item

    def changed(item: Any, before: BundledPlugin, after: BundledPlugin) -> Any:
        path = path_of(item) if before.path == after.path else after.path
        return _named_item(item, "path", path, before.name, after.name)

    return _updated_items(
        written,
        old.bundled or (),
        new.bundled or (),
        key_old=lambda b: (b.path, b.name),
        key_new=lambda b: (b.path, b.name),
        kept=lambda item, _before: item,
        changed=changed,
        made=lambda after: _named_item(None, "path", after.path, "", after.name),
        similar=lambda before, after: before.path == after.path,
    )


def _updated_files(
    written: Any, old: Sequence[ExtraFile], new: Sequence[ExtraFile], places: _Places
) -> list[Any]:
    def source(item: Any, before: ExtraFile, after: ExtraFile) -> Any:
        if places.same(before.source, after.source):
            return places.kept(item.get("source"), before.source)
        return places.fresh(after.source)

    def kept(item: Any, before: ExtraFile) -> Any:
        return {**item, "source": source(item, before, before)}

    def changed(item: Any, before: ExtraFile, after: ExtraFile) -> Any:
        updated = {**item, "source": source(item, before, after)}
        if before.target != after.target:
            updated["target"] = after.target
        return updated

    return _updated_items(
        written,
        old,
        new,
        key_old=lambda f: (places.location(f.source, places.old_dir), f.target),
        key_new=lambda f: (places.location(f.source, places.current_dir), f.target),
        kept=kept,
        changed=changed,
        made=lambda after: {"source": places.fresh(after.source), "target": after.target},
        similar=lambda before, after: (
            places.same(before.source, after.source) or before.target == after.target
        ),
    )
