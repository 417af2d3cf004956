"""Watch mode: a save of a custom plugin's source rebuilds, load-checks and runs the image.

`WatchLoop` is plain Python that glues a `BuildSession` and a `RunSession` (both owned by the
caller: the wizard's app, or `plugwiz watch`) to file changes:

- a file watcher (the `FileWatcher` port; `plugwiz.adapters.watcher` implements it with
  watchfiles, which debounces a burst of writes into one change) calls `changed()` from its
  thread;
- the caller calls `tick()` regularly on its own thread (the one that polls the sessions): a
  change while a build runs cancels that build (the session's cancel) and starts a new one
  once it has stopped; a change while the host runs stops it first; a build that succeeded
  (the load check is its last stage) is run.

Which files count (`watch_roots`, `is_relevant`): every custom plugin that is Go source, its
`.go` files and its `go.mod`/`go.sum` (a directory plugin's other files too: they are in the
build context; a plugin module's local `replace` directories too), never a prebuilt plugin,
hidden files or editors' backups.
"""

from __future__ import annotations

import enum
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from plugwiz.core.engine import RunSpec
from plugwiz.core.gomod import GoModError
from plugwiz.core.gomodfile import parse_modfile
from plugwiz.core.model import PluginKind, Project, ProjectError, ResolvedProject
from plugwiz.core.ports import HostRepoError, HostRepository
from plugwiz.core.run_session import RunSession, RunState
from plugwiz.core.session import BuildSession, BuildState

_BACKUP_SUFFIXES = ("~", ".swp", ".swx", ".swo", ".tmp", ".bak", ".orig")


class FileWatcher(Protocol):
    """Reports changed files under some directories until `stop` is set."""

    def watch(self, roots: Sequence[Path], stop: threading.Event) -> Iterator[set[Path]]:
        """Yield the set of paths changed in each burst of changes (debounced)."""
        ...


@dataclass(frozen=True)
class WatchTarget:
    """What to watch for one custom plugin: its source (a file or a directory)."""

    name: str
    path: Path
    is_dir: bool


def watch_targets(project: Project) -> tuple[WatchTarget, ...]:
    """The custom plugins whose sources a save should rebuild (not prebuilt ones), and the
    local directories a plugin module's go.mod replaces (they are built with it)."""
    targets: list[WatchTarget] = []
    for plugin in project.plugins:
        path = project.source_path(plugin.source)
        if path.is_dir():
            targets.append(WatchTarget(plugin.output_name, path, True))
            targets += [
                WatchTarget(plugin.output_name, local, True) for local in _replaced_dirs(path)
            ]
        elif path.suffix == ".go":
            targets.append(WatchTarget(plugin.output_name, path, False))
    return tuple(targets)


def _replaced_dirs(plugin_dir: Path) -> list[Path]:
    """The existing directories the plugin's go.mod (if any) replaces modules with."""
    try:
        mod = parse_modfile((plugin_dir / "go.mod").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, GoModError):
        return []
    found: list[Path] = []
    for rep in mod.replaces:
        if rep.local:
            directory = (plugin_dir / rep.new).resolve()
            if directory.is_dir() and directory != plugin_dir.resolve():
                found.append(directory)
    return found


def watch_roots(targets: Iterable[WatchTarget]) -> list[Path]:
    """The directories to watch: each directory plugin, each file plugin's directory (a
    file is watched through its directory, so an editor that saves by renaming a new file
    over it is still seen)."""
    roots: list[Path] = []
    for target in targets:
        root = target.path if target.is_dir else target.path.parent
        if root not in roots:
            roots.append(root)
    return roots


def is_relevant(path: Path, targets: Iterable[WatchTarget]) -> str | None:
    """The name of the plugin a changed `path` belongs to, or None when the change does not
    matter (another file of a file plugin's directory, a hidden file, an editor's backup)."""
    if path.name.startswith((".", "#")) or path.name.endswith(_BACKUP_SUFFIXES):
        return None
    for target in targets:
        if not target.is_dir:
            if path == target.path:
                return target.name
            continue
        try:
            relative = path.relative_to(target.path)
        except ValueError:
            continue
        if any(part.startswith(".") for part in relative.parts):
            return None
        return target.name
    return None


class WatchPhase(enum.Enum):
    """What the loop is doing, for a person."""

    OFF = "off"
    WAITING = "waiting for a save"
    BUILDING = "building"
    RESTARTING = "restarting the build"
    RUNNING = "running the host"
    FAILED = "the build failed"


@dataclass(frozen=True)
class Prepared:
    """What one round builds and runs: the project as it is now, its host repository, the
    image tag, the build log and how to run the image; `history_key` keeps the build in the
    build session's history (as a build started from the wizard is)."""

    resolved: ResolvedProject
    repo: HostRepository
    tag: str
    log_path: Path
    run: RunSpec
    history_key: str = ""


@dataclass(frozen=True)
class Round:
    """One save -> build -> run round, for the figures: when the change was seen (monotonic),
    the files, and (once known) when the run's first output line was polled."""

    number: int
    changed_at: float
    files: tuple[str, ...]
    first_output_at: float = 0.0

    @property
    def save_to_output(self) -> float | None:
        """Seconds from the change to the host's first output, when it has come."""
        return self.first_output_at - self.changed_at if self.first_output_at else None


class WatchLoop:
    """Rebuild and rerun on every relevant save; see the module docstring."""

    def __init__(
        self,
        build: BuildSession,
        run: RunSession,
        prepare: Callable[[], Prepared],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`prepare` gives what to build (called on the ticking thread at each round); it
        may raise ProjectError or HostRepoError, which the loop reports as `problem`."""
        self.build = build
        self.run = run
        self._prepare = prepare
        self._clock = clock
        self._changes: queue.SimpleQueue[tuple[float, tuple[str, ...]]] = queue.SimpleQueue()
        self._pending: list[str] = []
        self._pending_at = 0.0
        self._build_generation = -1
        self._ran_generation = -1
        self._run_generation = -1
        self._prepared: Prepared | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.active = False
        self.problem = ""  # why the last round could not start
        self.restarts = 0  # builds cancelled by a save
        self.rounds: list[Round] = []

    # -- the watcher side (any thread) -------------------------------------------------------

    def changed(self, names: Iterable[str], at: float | None = None) -> None:
        """Files of the named plugins were saved (thread-safe)."""
        self._changes.put((self._clock() if at is None else at, tuple(names)))

    def watch_files(self, watcher: FileWatcher, project: Project) -> None:
        """Start a thread that feeds `changed` from `watcher` for `project`'s plugin sources."""
        self._stop.set()  # a watcher of an earlier list of sources ends
        targets = watch_targets(project)
        roots = watch_roots(targets)
        self._stop = threading.Event()
        if not roots:
            return
        stop = self._stop

        def feed() -> None:
            for paths in watcher.watch(roots, stop):
                names = sorted({n for p in paths if (n := is_relevant(p, targets)) is not None})
                if names and not stop.is_set():
                    self.changed(names)

        self._thread = threading.Thread(target=feed, name="plugwiz-watch", daemon=True)
        self._thread.start()

    # -- the consumer side (one thread) ------------------------------------------------------

    def start(self) -> None:
        """Start watching: a first round builds and runs what is there now."""
        self.active = True
        self._pending = ["(start)"]
        self._pending_at = self._clock()

    def stop(self) -> None:
        """Stop watching; cancel the build and stop the run without waiting (their sessions
        say when they are over)."""
        self.active = False
        self._stop.set()
        self._pending = []
        if self.build.active:
            self.build.cancel()
        self.run.stop()

    def close(self, timeout: float = 15.0) -> None:
        """Stop watching, the build and the run, and wait for the container to be gone."""
        self.stop()
        self.build.wait(timeout)
        self.run.stop_and_wait(timeout)

    @property
    def phase(self) -> WatchPhase:
        """What the loop is doing now."""
        if not self.active:
            return WatchPhase.OFF
        if self._pending and (self.build.active or self.run.active):
            return WatchPhase.RESTARTING
        if self.run.active:
            return WatchPhase.RUNNING  # (the build session may still be reading the report)
        if self.build.active or self._pending:
            return WatchPhase.BUILDING
        if self.build.generation == self._build_generation and self.build.state in (
            BuildState.FAILED,
            BuildState.CRASHED,
            BuildState.UNAVAILABLE,
        ):
            return WatchPhase.FAILED
        return WatchPhase.WAITING

    def tick(self) -> list[str]:
        """Act on what changed and on how the sessions are doing; returns messages for a
        person (a save seen, a build restarted, a run started). Call it after polling the
        sessions, on the thread that polls them."""
        messages: list[str] = []
        while True:
            try:
                at, names = self._changes.get_nowait()
            except queue.Empty:
                break
            if not self.active:
                continue
            if not self._pending:
                self._pending_at = at
            self._pending = sorted({*self._pending, *names} - {"(start)"}) or list(names)
            messages.append(f"saved: {', '.join(names)}")
        if not self.active:
            return messages
        current = self.rounds[-1] if self.rounds else None
        if (
            current is not None
            and not current.first_output_at
            and self.run.generation == self._run_generation
            and self.run.first_output_at
        ):
            self.rounds[-1] = Round(
                current.number, current.changed_at, current.files, self.run.first_output_at
            )
        if self._pending:
            if self.build.active:
                if self.build.state is not BuildState.CANCELLING:
                    self.build.cancel()
                    self.restarts += 1
                    messages.append("a save during the build: cancelling it to start again")
                return messages
            if self.run.active:
                if self.run.state is not RunState.STOPPING:
                    self.run.stop()
                    messages.append("stopping the host to rebuild")
                return messages
            messages.extend(self._start_round())
            return messages
        if (
            self.build.generation == self._build_generation
            # Built and tagged: the run starts while the session still reads the image's
            # report (a second or so the person saving would otherwise wait).
            and (self.build.finished is not None or self.build.state is BuildState.SUCCEEDED)
            and self._ran_generation != self._build_generation
            and self._prepared is not None
        ):
            self._ran_generation = self._build_generation
            self.run.start(self._prepared.run)
            self._run_generation = self.run.generation
            messages.append(f"built; running {self._prepared.tag}")
        return messages

    def _start_round(self) -> list[str]:
        files = tuple(n for n in self._pending if n != "(start)")
        changed_at = self._pending_at
        self._pending = []
        try:
            prepared = self._prepare()
        except (ProjectError, HostRepoError, OSError) as exc:
            self.problem = str(exc)
            return [f"cannot build: {exc}"]
        self.problem = ""
        self._prepared = prepared
        self.build.start(
            prepared.resolved,
            prepared.repo,
            tag=prepared.tag,
            log_path=prepared.log_path,
            history_key=prepared.history_key,
        )
        self._build_generation = self.build.generation
        self.rounds.append(Round(len(self.rounds) + 1, changed_at, files))
        what = ", ".join(files) if files else "the project"
        return [f"building {what}"]


def plugin_kinds_watched(resolved: ResolvedProject) -> list[str]:
    """Names of the custom plugins a watch rebuilds (Go source; prebuilt ones are not)."""
    return [
        p.output_name
        for i, p in enumerate(resolved.project.plugins)
        if resolved.plugin_kind(i) is not PluginKind.PREBUILT
    ]


__all__ = [
    "FileWatcher",
    "Prepared",
    "Round",
    "WatchLoop",
    "WatchPhase",
    "WatchTarget",
    "is_relevant",
    "plugin_kinds_watched",
    "watch_roots",
    "watch_targets",
]
