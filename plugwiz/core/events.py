"""Build events: what a build tells the CLI and the UI, parsed from the classic builder's stream.

Pure (no docker import), so the parser can be tested on recorded chunks. The classic builder
sends decoded JSON chunks such as::

    {"stream": "Step 3/12 : RUN go build ..."}   # then {"stream": "\\n"}
    {"stream": " ---> Running in 1e128431a49e\\n"}
    {"stream": "\\x1b[91m# example.com/x\\nplugwiz_plugins/b/b.go:9:51: undefined: h\\n\\x1b[0m"}
    {"aux": {"ID": "sha256:..."}}
    {"errorDetail": {"code": 2, "message": "..."}, "error": "..."}

A `stream` chunk may hold several lines or part of one, so lines are reassembled first.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from plugwiz.core.model import PluginKind, ProjectError, ResolvedProject
from plugwiz.core.modules import MODULES_STAGE, plan_modules
from plugwiz.core.plan import (
    BUNDLED_STAGE,
    CUSTOM_PLUGIN_DIR,
    HOST_STAGE,
    SOURCE_STAGE,
    SRC_DIR,
    TOOLCHAIN_STAGE,
    plan_build,
)

if TYPE_CHECKING:
    # A field's type only: the explainer (and the ELF and build-info readers under it) is
    # loaded by whoever makes or shows an explanation, not by everyone who reads events.
    from plugwiz.core.explain import Explanation

# How many output lines of the failing step a BuildFailed keeps.
LAST_LINES = 30

_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_STAGE_RE = re.compile(r"^FROM\s+\S+(?:\s+AS\s+(\S+))?\s*$", re.IGNORECASE)
_RUNNING_RE = re.compile(r"^ ---> Running in ([0-9a-f]{12,64})$")
_USING_CACHE = " ---> Using cache"
_LAYER_RE = re.compile(r"^ ---> ([0-9a-f]{12,64})$")
_WARNING_RE = re.compile(r"^\[warning\]:?\s*(.*)$", re.IGNORECASE)
# Go's compiler/vet location: `path.go:LINE:COL: message` (column optional).
_LOCATION_RE = re.compile(r"^(?P<path>[^\s:]+\.go):(?P<line>\d+)(?::(?P<col>\d+))?: (?P<msg>.+)$")
_LOADCHECK_FAIL_RE = re.compile(r"^plugwiz-loadcheck: FAIL (?P<path>\S+?): (?P<msg>.*)$")
_CUSTOM_BUILD_RE = re.compile(rf"\./{CUSTOM_PLUGIN_DIR}/([A-Za-z0-9._-]+)")
# Go refusing a download: `verifying M@V[/go.mod]: checksum mismatch`, then the two hashes.
_CHECKSUM_RE = re.compile(
    r"verifying (?P<module>\S+?)@(?P<version>v[^\s/:]+)(?P<gomod>/go\.mod)?: checksum mismatch"
)
_HASH_RE = re.compile(r"^\s*(?P<which>downloaded|go\.sum):\s+(?P<hash>h1:\S+)")
_COMMAND_ERROR_RE = re.compile(
    r"^The command '(?:/bin/sh -c )?(?P<cmd>.*)' returned a non-zero code: (?P<code>\d+)$", re.S
)
# Stages that build more than one plugin (or none): a failure there names no plugin unless a
# compiler location does.
_SHARED_STAGES = (TOOLCHAIN_STAGE, SOURCE_STAGE, HOST_STAGE, BUNDLED_STAGE, MODULES_STAGE)
# Builder chatter that is not the step's own output.
_NOISE_PREFIXES = (" ---> ", "Removing intermediate container ", "Successfully built ")


# Every event but OutputLines carries `at`: when it happened, in seconds since the epoch
# (time.time()). An engine that knows (BuildKit reports when each step started and ended)
# fills it in; otherwise the parser, or whoever first receives the event (`stamped`), does.
# 0.0 means "not stamped yet". It is left out of equality: two events that say the same
# thing are equal whenever they happened.


def _at() -> Any:
    return field(default=0.0, compare=False)


@dataclass(frozen=True)
class StepStarted:
    """A Dockerfile instruction starts (`Step number/total : title`) in stage `stage` (its
    `AS` name, "" for an unnamed one such as the runtime stage)."""

    number: int
    total: int
    title: str
    stage: str = ""
    at: float = _at()


@dataclass(frozen=True)
class StepFinished:
    """Step `number` is done; `cached` when its result came from the builder's cache (nothing
    ran). A step that fails gets a BuildFailed instead."""

    number: int
    cached: bool = False
    at: float = _at()
    # How long the step ran, when the backend says (BuildKit's `DONE 1.6s`); None: from the
    # times of its events. Timing, like `at`: left out of equality.
    seconds: float | None = field(default=None, compare=False)


@dataclass(frozen=True)
class OutputLines:
    """Lines printed by the command of step `step`, in order: what one chunk of the builder's
    stream held for that step. A daemon sends a flood in chunks of hundreds of lines
    (measured with the classic builder: 100,000 lines in 227 chunks), so the lines travel
    together to the screen, instead of each paying for an event of its own."""

    lines: tuple[str, ...]
    step: int


@dataclass(frozen=True)
class BuildWarning:
    """Something the user should know that does not stop the build."""

    text: str


@dataclass(frozen=True)
class SourceLocation:
    """A compiler message, with `path` mapped back to the user's file when it is theirs."""

    path: str
    line: int
    column: int
    message: str


@dataclass(frozen=True)
class BuildFailed:
    """The build stopped at step `step` (its instruction is `title`)."""

    message: str
    step: int
    title: str
    last_lines: tuple[str, ...]
    locations: tuple[SourceLocation, ...]
    plugin: str | None
    # Why the plugin would not load, when the load check failed and both files could be read.
    explanation: Explanation | None = None
    at: float = _at()


@dataclass(frozen=True)
class BuildFinished:
    """The image was built and tagged."""

    image_id: str
    tag: str
    at: float = _at()


@dataclass(frozen=True)
class BuildCancelled:
    """The build was stopped on request; nothing was tagged."""

    at: float = _at()


# The stage name a smoke run reports as (the build's last stage, after the runtime image).
SMOKE_STAGE = "smoke"


@dataclass(frozen=True)
class SmokeRunStarted:
    """The built image runs once before its tag moves: its CMD plus `args`, for at most
    `timeout` seconds; `expectation` says what must happen for it to pass."""

    command: tuple[str, ...]
    timeout: float
    expectation: str


@dataclass(frozen=True)
class SmokeRunOutput:
    """A line the smoke run printed (stdout and stderr together, in order)."""

    text: str


@dataclass(frozen=True)
class SmokeRunFinished:
    """The smoke run ended: `passed` or not, and why (`reason`, for a person)."""

    passed: bool
    reason: str
    exit_code: int | None
    timed_out: bool
    seconds: float


BuildEvent = (
    StepStarted
    | StepFinished
    | OutputLines
    | BuildWarning
    | BuildFailed
    | BuildFinished
    | BuildCancelled
    | SmokeRunStarted
    | SmokeRunOutput
    | SmokeRunFinished
)
TimedEvent = StepStarted | StepFinished | BuildFailed | BuildFinished | BuildCancelled


def stamped(event: BuildEvent, now: float) -> BuildEvent:
    """`event` with `at` set to `now` when it carries a time and has none yet."""
    if isinstance(event, TimedEvent) and not event.at:
        return replace(event, at=now)
    return event


def strip_ansi(text: str) -> str:
    """`text` without terminal colour codes (the builder colours stderr red)."""
    return _ANSI_RE.sub("", text)


def map_compiler_path(resolved: ResolvedProject, path: str) -> str | None:
    """The user's file for a compiler path like `plugwiz_plugins/NAME/FILE.go`, else None.

    Accepts the forms Go prints with and without -trimpath (`./x`, `/src/x`, `module/x`).
    For a single-file plugin FILE is the file itself; for a directory plugin it is relative
    to that directory.
    """
    clean = path.strip()
    marker = f"{CUSTOM_PLUGIN_DIR}/"
    for prefix in ("./", f"{SRC_DIR}/"):
        clean = clean.removeprefix(prefix)
    mapped = _map_module_path(resolved, clean)
    if mapped is not None:
        return mapped
    if not clean.startswith(marker):
        # `example.com/mod/plugwiz_plugins/NAME/x.go` (module-qualified, -trimpath).
        index = clean.find("/" + marker)
        if index < 0:
            return None
        clean = clean[index + 1 :]
    rest = clean[len(marker) :]
    name, _, rel = rest.partition("/")
    if not rel:
        return None
    project = resolved.project
    for index, plugin in enumerate(project.plugins):
        if plugin.output_name != name:
            continue
        source = project.source_path(plugin.source)
        kind = resolved.plugin_kind(index)
        if kind is PluginKind.FILE:
            # The context holds the file under its own name; anything else is not theirs.
            return str(source) if rel == source.name else None
        if kind is PluginKind.DIRECTORY:
            return str(source / rel)
        return None
    return None


def _map_module_path(resolved: ResolvedProject, clean: str) -> str | None:
    """The user's file for a compiler path inside a plugin module or a local module it
    replaces: by its directory in the build (`plugwiz_plugins/NAME/`, `plugwiz_deps/K/`,
    `vendor/MODULE/`) or its import path (`MODULE/...`, as -trimpath writes it)."""
    if not any(f.module is not None for f in resolved.plugins):
        return None
    try:
        modules = plan_modules(resolved)
    except ProjectError:
        return None
    roots: list[tuple[str, str]] = []
    for plugin in resolved.project.plugins:
        module = modules.plugin(plugin.output_name)
        if module is not None:
            source = str(resolved.project.source_path(plugin.source))
            roots += [(module.builder_dir, source), (module.module, source)]
    for local in modules.local_dirs:
        roots += [(local.builder_dir, str(local.directory)), (local.module, str(local.directory))]
    # The longest prefix first: example.com/a/b is not inside example.com/a's directory.
    for prefix, directory in sorted(roots, key=lambda r: -len(r[0])):
        if clean.startswith(prefix + "/"):
            return f"{directory}/{clean[len(prefix) + 1 :]}"
    return None


class BuildStreamParser:
    """Turns classic-builder stream chunks into BuildEvents; feed chunks, then call `close`."""

    def __init__(self, resolved: ResolvedProject, clock: Callable[[], float] = time.time) -> None:
        """`clock` stamps the events (`at`): the classic builder sends no times."""
        self._resolved = resolved
        self._clock = clock
        self._partial = ""
        self._out: list[str] = []  # output lines not sent yet (OutputLines), of step _out_step
        self._out_step = 0
        self._step = 0
        self._step_cached = False
        self._step_done = True  # no step is open before the first
        self._total = 0
        self._title = ""
        self._stage = ""
        self._lines: deque[str] = deque(maxlen=LAST_LINES)
        self._loadcheck_failures: list[tuple[str, str]] = []
        self._failed = False
        self.image_id = ""  # the last `aux` ID: the built image once the stream ends cleanly
        self.stage_image_ids: list[str] = []  # every `aux` ID, in order (stage results)
        self.layer_ids: set[str] = set()  # short IDs of every layer the build produced or used
        self.layers: list[str] = []  # the same, in stream order
        self.container_ids: list[str] = []  # intermediate containers the builder started
        self.last_image = ""  # the newest ` ---> ID` line: the image the next step starts from
        self._by_stage, self._by_build_path, self._by_out_path = self._plugin_maps(resolved)

    @property
    def failed(self) -> bool:
        """True once a BuildFailed was produced."""
        return self._failed

    @property
    def loadcheck_failures(self) -> tuple[tuple[str, str], ...]:
        """(plugin path in the builder, Go's message) for each plugin the load check refused."""
        return tuple(self._loadcheck_failures)

    @property
    def step(self) -> int:
        """The number of the step the builder is at (0 before the first)."""
        return self._step

    @staticmethod
    def _plugin_maps(
        resolved: ResolvedProject,
    ) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        # The same plan render_dockerfile used, so stage and file names match the stream.
        try:
            plan = plan_build(resolved)
        except ProjectError:
            return {}, {}, {}
        by_stage = {p.stage: p.name for p in plan.plugins if p.index}
        by_build_path = {p.build_path: p.name for p in plan.plugins if p.build_path}
        # Compiler paths of a plugin module: its directory in the build (vendor/MODULE...).
        by_build_path.update({p.source_dir: p.name for p in plan.plugins if p.module})
        by_out_path = {p.out_path: p.name for p in plan.plugins}
        return by_stage, by_build_path, by_out_path

    def feed(self, chunk: Mapping[str, Any]) -> Iterator[BuildEvent]:
        """Events for one decoded JSON chunk of the build stream (its output lines together,
        as OutputLines)."""
        yield from self._in_order(self._feed(chunk))

    def close(self) -> Iterator[BuildEvent]:
        """Events for a trailing partial line once the stream has ended (and the end of the
        last step, which the builder does not close with a layer line of its own)."""
        yield from self._in_order(self._close())

    def _in_order(self, events: Iterable[BuildEvent]) -> Iterator[BuildEvent]:
        """`events`, each after the output kept before it; then the output kept last."""
        for event in events:
            if self._out and type(event) is not OutputLines:
                yield self._take_output()
            yield event
        if self._out:
            yield self._take_output()

    def _take_output(self) -> OutputLines:
        lines, self._out = self._out, []
        return OutputLines(tuple(lines), self._out_step)

    def _output(self, line: str) -> Iterator[BuildEvent]:
        """Keep `line` of the current step for the next OutputLines (BuildKit's steps
        interleave: a line of another step first sends what was kept)."""
        if self._out and self._out_step != self._step:
            yield self._take_output()
        if not self._out:
            self._out_step = self._step
        self._out.append(line)

    def _feed(self, chunk: Mapping[str, Any]) -> Iterator[BuildEvent]:
        if self._failed:
            return
        stream = chunk.get("stream")
        if isinstance(stream, str):
            text = self._partial + strip_ansi(stream).replace("\r\n", "\n")
            *lines, self._partial = text.split("\n")
            for line in lines:
                yield from self._line(line)
        aux = chunk.get("aux")
        if isinstance(aux, Mapping) and isinstance(aux.get("ID"), str):
            self.image_id = aux["ID"]
            self.stage_image_ids.append(aux["ID"])
        if "error" in chunk or "errorDetail" in chunk:
            yield from self._flush()
            yield self._failure(chunk)

    def _close(self) -> Iterator[BuildEvent]:
        if not self._failed:
            yield from self._flush()
            yield from self._finish_step()

    def _finish_step(self) -> Iterator[BuildEvent]:
        if not self._step_done:
            self._step_done = True
            yield StepFinished(self._step, self._step_cached, self._clock())

    def _flush(self) -> Iterator[BuildEvent]:
        if self._partial:
            line, self._partial = self._partial, ""
            yield from self._line(line)

    def _line(self, line: str) -> Iterator[BuildEvent]:
        step = _STEP_RE.match(line)
        if step:
            yield from self._finish_step()
            self._step, self._total = int(step.group(1)), int(step.group(2))
            self._title = step.group(3).strip()
            self._lines.clear()
            self._step_cached = False
            self._step_done = False
            stage = _STAGE_RE.match(self._title)
            if stage:
                self._stage = stage.group(1) or ""
            yield StepStarted(self._step, self._total, self._title, self._stage, self._clock())
            return
        if line == _USING_CACHE:
            self._step_cached = True
            return
        running = _RUNNING_RE.match(line)
        if running:
            self.container_ids.append(running.group(1))
            return
        layer = _LAYER_RE.match(line)
        if layer:
            short = layer.group(1)[:12]
            self.last_image = short
            if short not in self.layer_ids:
                self.layer_ids.add(short)
                self.layers.append(short)
            # The step's result: the classic builder's last word on a step.
            yield from self._finish_step()
            return
        if not line.strip() or line.startswith(_NOISE_PREFIXES):
            return
        if line.startswith("Successfully tagged "):
            return
        warning = _WARNING_RE.match(line)
        if warning:
            yield BuildWarning(warning.group(1).strip() or line)
            return
        fail = _LOADCHECK_FAIL_RE.match(line)
        if fail:
            self._loadcheck_failures.append((fail.group("path"), fail.group("msg")))
        self._lines.append(line)
        yield from self._output(line)

    def _plugin_of_step(self) -> str | None:
        if self._loadcheck_failures:
            path = self._loadcheck_failures[0][0]
            name = self._by_out_path.get(path)
            if name is None:
                # Not in the plan (unresolved project): the file name is the plugin name.
                name = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            return name
        if self._stage in self._by_stage:
            return self._by_stage[self._stage]
        # The compiler's locations first: the host stage's one RUN builds the host and every
        # bundled plugin, so its title names them all and says nothing about which failed.
        for match in self._location_matches():
            name = self._plugin_of_path(match.group("path"))
            if name:
                return name
        if self._stage in _SHARED_STAGES:
            return None  # the host itself (or its build command, or its modules) failed
        for build_path, name in self._by_build_path.items():
            if re.search(re.escape(build_path) + r"(?:\s|$)", self._title):
                return name
        custom = _CUSTOM_BUILD_RE.search(self._title)
        return custom.group(1) if custom else None

    def _checksum_mismatch(self) -> str:
        """Go's `checksum mismatch` in the failing step, as one message naming the module."""
        found = None
        hashes: dict[str, str] = {}
        for line in self._lines:
            match = _CHECKSUM_RE.search(line)
            if match and found is None:
                found = match
                continue
            digest = _HASH_RE.match(line)
            if digest and found is not None:
                hashes.setdefault(digest.group("which"), digest.group("hash"))
        if found is None:
            return ""
        what = " (its go.mod)" if found.group("gomod") else ""
        return (
            f"checksum mismatch for {found.group('module')} {found.group('version')}{what}: "
            f"go.sum says {hashes.get('go.sum', '?')}, the module source served "
            f"{hashes.get('downloaded', '?')}. Either the module was changed after its release "
            "or go.sum is wrong: do not build with it until you know which"
        )

    def _plugin_of_path(self, path: str) -> str | None:
        """The plugin whose build directory holds compiler path `path`, if any."""
        clean = path.strip().removeprefix("./").removeprefix(f"{SRC_DIR}/")
        clean = clean.removeprefix(f"{self._resolved.facts.gomod.module}/")
        for build_path, name in self._by_build_path.items():
            if clean.startswith(build_path.removeprefix("./") + "/"):
                return name
        return None

    def _location_matches(self) -> Iterator[re.Match[str]]:
        """The step's output lines that are compiler locations (`path:line:col: msg`)."""
        for line in self._lines:
            match = _LOCATION_RE.match(line.strip())
            if match:
                yield match

    def _locations(self) -> tuple[SourceLocation, ...]:
        return tuple(
            SourceLocation(
                path=map_compiler_path(self._resolved, match.group("path")) or match.group("path"),
                line=int(match.group("line")),
                column=int(match.group("col") or 0),
                message=match.group("msg").strip(),
            )
            for match in self._location_matches()
        )

    def _failure(self, chunk: Mapping[str, Any]) -> BuildFailed:
        self._failed = True
        detail = chunk.get("errorDetail")
        raw = ""
        if isinstance(detail, Mapping):
            raw = str(detail.get("message") or "")
        raw = strip_ansi(raw or str(chunk.get("error") or "the build failed")).strip()
        mismatch = self._checksum_mismatch()
        if mismatch:
            message = mismatch
        elif self._loadcheck_failures:
            # Go's own reason is what the person needs, not "returned a non-zero code: 3".
            message = self._loadcheck_failures[0][1]
            others = len(self._loadcheck_failures) - 1
            if others:
                message += f" (and {others} more plugin(s) that would not load)"
        else:
            command = _COMMAND_ERROR_RE.match(raw)
            message = (
                f"`{command.group('cmd')}` exited with code {command.group('code')}"
                if command
                else raw
            )
        return BuildFailed(
            message=message,
            step=self._step,
            title=self._title,
            last_lines=tuple(self._lines),
            locations=self._locations(),
            plugin=self._plugin_of_step(),
            at=self._clock(),
        )


__all__ = [
    "BuildCancelled",
    "BuildEvent",
    "BuildFailed",
    "BuildFinished",
    "BuildStreamParser",
    "BuildWarning",
    "OutputLines",
    "SMOKE_STAGE",
    "SmokeRunFinished",
    "SmokeRunOutput",
    "SmokeRunStarted",
    "SourceLocation",
    "StepFinished",
    "StepStarted",
    "TimedEvent",
    "map_compiler_path",
    "stamped",
    "strip_ansi",
]
