"""Build events from BuildKit's plain progress output (`docker build --progress=plain`, or
`docker buildx build`): pure, so it is tested on recorded output.

BuildKit runs independent stages at once, so its output interleaves steps. Each line belongs
to a vertex `#N`; the first line of a vertex names it, the rest are its output (with the
seconds since it started), or its status::

    #7 [plugin-1 2/2] RUN go build -buildmode=plugin -o /out/plugins/hello.so ./plugwiz_...
    #7 sha256:0b6c...                       (a digest: ignored)
    #7 0.764 # example.com/x/plugwiz_plugins/hello
    #7 0.764 plugwiz_plugins/hello/hello.go:9:51: undefined: h
    #7 ERROR: executor failed running [/bin/sh -c go build ...]: exit code: 2
    #8 [host 3/4] RUN ...
    #8 CANCELED                              (or DONE 1.6s, CACHED)

`[internal]` vertices, the context transfer and the export are not Dockerfile steps. The
events are the classic builder's: StepStarted (numbered across the whole Dockerfile, with
its stage), OutputLines (a step's consecutive lines, with the step they belong to),
StepFinished when a vertex is `DONE` (with BuildKit's own duration) or `CACHED` (cached),
BuildWarning, and BuildFailed for the first step that failed, with that step's own output,
compiler locations and plugin, exactly as `BuildStreamParser` makes them for the classic
builder. Events are stamped (`at`) by the parser's clock as their lines arrive; a finished
step also carries BuildKit's `seconds`.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from plugwiz.core.events import (
    LAST_LINES,
    BuildEvent,
    BuildStreamParser,
    StepFinished,
    StepStarted,
    strip_ansi,
)
from plugwiz.core.model import ResolvedProject

_VERTEX_RE = re.compile(r"^#(\d+) (.*)$")
_NAMED_RE = re.compile(r"^\[(?P<stage>[^\]\s]+) (?P<index>\d+)/(?P<count>\d+)\] (?P<title>.*)$")
_OUTPUT_RE = re.compile(r"^\d+\.\d+(?: (?P<text>.*))?$")
_STATUS_RE = re.compile(r"^(?:DONE \d+(?:\.\d+)?s|CACHED|CANCELED)$")
_DONE_RE = re.compile(r"^DONE (?P<seconds>\d+(?:\.\d+)?)s$")
_ERROR_RE = re.compile(r"^ERROR: (?P<message>.*)$")
_MOUNT_RE = re.compile(r"--mount=\S+\s+")
# BuildKit's words for a RUN that failed (dockerd 20.10's, then newer releases').
_EXECUTOR_RE = re.compile(
    r"^(?:executor failed running \[(?:/bin/sh -c )?(?P<a>.*)\]"
    r"|process \"(?:/bin/sh -c )?(?P<b>.*)\" did not complete successfully)"
    r": exit code: (?P<code>\d+)$",
    re.S,
)
_UNNAMED_STAGE_RE = re.compile(r"^stage-\d+$")
# Instructions that are BuildKit vertices (ENV, LABEL, CMD... only change the image config).
_VERTEX_INSTRUCTIONS = ("RUN", "COPY", "ADD", "WORKDIR")


@dataclass
class _Vertex:
    """One Dockerfile step as BuildKit runs it."""

    number: int  # across the whole Dockerfile, from 1
    title: str
    stage: str
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=LAST_LINES))
    finished: bool = False


def dockerfile_steps(dockerfile: str) -> tuple[dict[str, int], int]:
    """For each stage (by its `AS` name, or `stage-N` as BuildKit names an unnamed one), how
    many vertex steps come before it, and the total: BuildKit numbers steps per stage
    (`[host 2/5]`); the events number them across the file, as the classic builder does."""
    offsets: dict[str, int] = {}
    counted = 0
    stages: list[str] = []
    for instruction in _logical_lines(dockerfile):
        word = instruction.split(None, 1)[0].upper()
        if word == "FROM":
            parts = instruction.split()
            name = parts[3] if len(parts) >= 4 and parts[2].upper() == "AS" else ""
            name = name or f"stage-{len(stages)}"
            offsets[name] = counted
            # FROM an earlier stage is no step of its own; FROM an image is.
            if parts[1] not in stages:
                counted += 1
            stages.append(name)
        elif word in _VERTEX_INSTRUCTIONS:
            counted += 1
    return offsets, counted


def _logical_lines(dockerfile: str) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    logical: list[str] = []
    pending = ""
    for raw in dockerfile.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return logical


def _normal(instruction: str) -> str:
    """An instruction as BuildKit titles its step and as the Dockerfile writes it, alike:
    single spaces; of a FROM only the image, without `docker.io/` or `library/`."""
    words = instruction.split()
    if words and words[0].upper() == "FROM" and len(words) > 1:
        words = [words[0], words[1].removeprefix("docker.io/").removeprefix("library/")]
    return " ".join(words)


def steps_by_place(dockerfile: str) -> dict[tuple[int, str], int]:
    """(index in its stage, instruction as `_normal` writes it) → the step's number across
    the file, for each vertex step no other step shares both with."""
    found: dict[tuple[int, str], int] = {}
    shared: set[tuple[int, str]] = set()
    stages: list[str] = []
    counted = index = 0
    for instruction in _logical_lines(dockerfile):
        parts = instruction.split()
        word = parts[0].upper()
        if word == "FROM":
            stages.append(parts[3] if len(parts) >= 4 and parts[2].upper() == "AS" else "")
            index = 0
            if parts[1] in stages[:-1]:
                continue  # FROM an earlier stage: no step of its own
        elif word not in _VERTEX_INSTRUCTIONS:
            continue
        counted += 1
        index += 1
        key = (index, _normal(instruction))
        if key in found:
            shared.add(key)
        found[key] = counted
    return {key: number for key, number in found.items() if key not in shared}


def buildkit_command_error(message: str) -> str:
    """BuildKit's error for a failed RUN, in the classic builder's words (which the event
    parser turns into "`CMD` exited with code N"); other messages unchanged."""
    match = _EXECUTOR_RE.match(message.strip())
    if not match:
        return message
    command = match.group("a") if match.group("a") is not None else match.group("b")
    return f"The command '/bin/sh -c {command}' returned a non-zero code: {match.group('code')}"


class BuildKitProgressParser(BuildStreamParser):
    """Turns BuildKit's plain progress lines into BuildEvents: feed lines as they come
    (`feed_line`), then `finish` with the CLI's exit code when it has ended."""

    def __init__(
        self, resolved: ResolvedProject, dockerfile: str, clock: Callable[[], float] = time.time
    ) -> None:
        """`clock` stamps the events (`at`) as their lines arrive."""
        super().__init__(resolved, clock)
        self._offsets, self._total = dockerfile_steps(dockerfile)
        self._by_place = steps_by_place(dockerfile)
        self._vertices: dict[str, _Vertex] = {}
        self._other: set[str] = set()  # vertices that are not Dockerfile steps
        self._tail: deque[str] = deque(maxlen=LAST_LINES)  # lines outside any vertex
        self.cached_steps: set[int] = set()

    def feed_lines(self, raws: Iterable[str]) -> Iterator[BuildEvent]:
        """Events for lines of progress output as they came (a read of the CLI's output): a
        step's consecutive output lines together, as OutputLines."""
        yield from self._in_order(event for raw in raws for event in self._feed_line(raw))

    def feed_line(self, raw: str) -> Iterator[BuildEvent]:
        """Events for one line of progress output (without its newline)."""
        yield from self.feed_lines((raw,))

    def _feed_line(self, raw: str) -> Iterator[BuildEvent]:
        if self.failed:
            return
        line = strip_ansi(raw).rstrip("\r\n")
        match = _VERTEX_RE.match(line)
        if not match:
            if line.strip() and not line.startswith(("------", " > ")):
                self._tail.append(line.strip())
            return
        key, rest = match.group(1), match.group(2)
        vertex = self._vertices.get(key)
        if vertex is None and key not in self._other:
            yield from self._started(key, rest)
            return
        if vertex is None or rest.startswith("sha256:"):
            return
        error = _ERROR_RE.match(rest)
        if error:
            yield from self._failed_at(vertex, error.group("message"))
            return
        if rest == "CACHED":
            self.cached_steps.add(vertex.number)
            yield from self._vertex_done(vertex, cached=True, seconds=0.0)
            return
        done = _DONE_RE.match(rest)
        if done:
            yield from self._vertex_done(vertex, cached=False, seconds=float(done["seconds"]))
            return
        if _STATUS_RE.match(rest):
            return
        output = _OUTPUT_RE.match(rest)
        if output:
            # The parent's line handling (warnings, load-check failures, the step's last
            # lines), pointed at this vertex: steps interleave.
            self._step, self._title, self._stage = vertex.number, vertex.title, vertex.stage
            self._lines = vertex.lines
            yield from self._line(output.group("text") or "")

    def _started(self, key: str, rest: str) -> Iterator[BuildEvent]:
        named = _NAMED_RE.match(rest)
        if not named or named.group("stage") == "internal":
            self._other.add(key)
            return
        stage = named.group("stage")
        index = int(named.group("index"))
        title = _MOUNT_RE.sub("", named.group("title")).strip()
        if stage in self._offsets:
            number = self._offsets[stage] + index
        else:
            # BuildKit shares a step with another build on the daemon that has the same one
            # and may name it as that build's Dockerfile does (`stage-6` for this one's
            # `stage-5`): the step is found here by its place in its stage and its text.
            number = self._by_place.get((index, _normal(title)), index)
        shown_stage = "" if _UNNAMED_STAGE_RE.match(stage) else stage
        vertex = _Vertex(number, title, shown_stage)
        self._vertices[key] = vertex
        self._total = max(self._total, number)
        self._step, self._title, self._stage = number, title, shown_stage
        yield StepStarted(number, self._total, title, shown_stage, self._clock())

    def _vertex_done(
        self, vertex: _Vertex, *, cached: bool, seconds: float
    ) -> Iterator[BuildEvent]:
        # BuildKit says DONE (or CACHED) once per vertex; a repeat would be a second end.
        if vertex.finished:
            return
        vertex.finished = True
        yield StepFinished(vertex.number, cached, self._clock(), seconds=seconds)

    def _failed_at(self, vertex: _Vertex, message: str) -> Iterator[BuildEvent]:
        self._step, self._title, self._stage = vertex.number, vertex.title, vertex.stage
        self._lines = vertex.lines
        yield self._failure({"error": buildkit_command_error(message)})

    def finish(self, exit_code: int) -> Iterator[BuildEvent]:
        """Once the CLI has exited: a BuildFailed when it failed without naming a step (a
        Dockerfile the frontend refused, a builder that cannot be reached...)."""
        yield from self._in_order(self._finish(exit_code))

    def _finish(self, exit_code: int) -> Iterator[BuildEvent]:
        if self.failed or exit_code == 0:
            return
        message = next(
            (line for line in reversed(self._tail) if "error" in line.lower()),
            self._tail[-1] if self._tail else f"the BuildKit build exited with code {exit_code}",
        )
        self._step, self._title, self._stage = 0, "", ""
        self._lines = deque(self._tail, maxlen=LAST_LINES)
        yield self._failure({"error": message.removeprefix("error: ")})


__all__ = [
    "BuildKitProgressParser",
    "buildkit_command_error",
    "dockerfile_steps",
    "steps_by_place",
]
