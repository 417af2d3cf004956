"""The stages and steps of a build and when each ran: what the tree beside the build log shows,
what `plugwiz build --timings` prints, and what the build history keeps.

Backend-neutral: the stages come from the plan (which stage builds what, from which of the
user's files) and the Dockerfile plugwiz renders for the backend (the classic builder's layout,
or BuildKit's: `plan_stages(..., buildkit=True)`); their progress comes from the typed events
(stage names, step numbers, times, `cached`), never from a builder's text. Pure.

A build's stages, in order: the host (toolchain, modules, host build, bundled plugins: the
Dockerfile's `toolchain` and `host` stages, or BuildKit's `source`, `host` and `bundled`), one
per custom plugin, the load check, the runtime image, and the smoke run when the image was
run after the build.

BuildKit runs independent stages at once, so its steps overlap (`BuildTimeline(overlapping=
True)`): a step ends only when an event says so, never because another one started.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from plugwiz.core.events import (
    BuildCancelled,
    BuildEvent,
    BuildFailed,
    BuildFinished,
    StepFinished,
    StepStarted,
)
from plugwiz.core.model import ProjectError, ResolvedProject
from plugwiz.core.plan import (
    BUNDLED_STAGE,
    CHECK_STAGE,
    CTX_HOST,
    HOST_STAGE,
    SOURCE_STAGE,
    TOOLCHAIN_STAGE,
    plan_build,
)
from plugwiz.core.render import emit_dockerfile

# Stage keys stay the same from one build of a project to the next (a plugin's stage is
# named after the plugin, not its position), so two builds can be compared stage by stage.
HOST_KEY = "host"
CHECK_KEY = "check"
RUNTIME_KEY = "runtime"
SMOKE_KEY = "smoke"


class StageKind(enum.Enum):
    """What a stage of the build does."""

    HOST = "host"
    PLUGIN = "plugin"
    CHECK = "check"
    RUNTIME = "runtime"
    SMOKE = "smoke"
    OTHER = "other"  # a stage the plan does not know (a builder reported it)


class Status(enum.Enum):
    """Where a stage, or a row of a stage, is."""

    WAITING = "waiting"
    RUNNING = "running"
    CACHED = "cached"
    DONE = "done"
    FAILED = "failed"
    STOPPED = "stopped"  # cancelled while it ran
    NOT_RUN = "not run"  # the build ended before it

    @property
    def finished(self) -> bool:
        """True for a stage that ran to its end, from the cache or not."""
        return self in (Status.CACHED, Status.DONE)


@dataclass(frozen=True)
class StageRow:
    """One line under a stage in the tree: a label and the steps it covers."""

    label: str
    steps: tuple[int, ...]


@dataclass(frozen=True)
class PlannedStage:
    """A stage of the build as the plan sees it, before anything ran."""

    key: str  # stable across builds: host, plugin:NAME, check, runtime, smoke
    label: str  # for a person: "host", "plugin hello", "load check", ...
    kind: StageKind
    builder_stage: str  # the stage name the events carry (`AS` name; "" for the runtime)
    rows: tuple[StageRow, ...] = ()
    plugin: str = ""  # a custom plugin's name
    source: str = ""  # the custom plugin's source as the project gives it (plugins/x.go)
    source_path: str = ""  # the same, as an absolute path: the user's own file
    bundled: tuple[str, ...] = ()  # the host's bundled plugins, built with it
    # Other Dockerfile stages shown as part of this one (the host's: toolchain, source...).
    more_stages: tuple[str, ...] = ()

    @property
    def steps(self) -> tuple[int, ...]:
        """Every step number of the stage, in order, each once."""
        return tuple(sorted({n for row in self.rows for n in row.steps}))

    @property
    def builder_stages(self) -> tuple[str, ...]:
        """Every Dockerfile stage name whose steps are this stage's."""
        return (self.builder_stage, *self.more_stages)


@dataclass
class StepRecord:
    """What the events said about one step."""

    number: int
    title: str
    stage: str  # the builder's stage name
    started: float = 0.0
    finished: float = 0.0
    cached: bool = False
    failed: bool = False


@dataclass(frozen=True)
class SmokeRun:
    """The image run after the build (the Result step's live run, or watch mode's)."""

    started: float
    finished: float  # 0.0 while it runs
    ok: bool
    detail: str = ""  # "exit code 0", "stopped", "timed out", "running"


@dataclass(frozen=True)
class StageStatus:
    """A stage (or a row of one) now: its state, when it started and how long it took."""

    status: Status
    started: float
    seconds: float
    steps: int  # steps that ran or came from the cache
    cached_steps: int


@dataclass(frozen=True)
class StageDelta:
    """One stage in two builds: seconds in each (None: it did not run there)."""

    key: str
    label: str
    before: float | None
    after: float | None

    @property
    def change(self) -> float | None:
        """after - before, when both ran."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


# -- the plan's stages --------------------------------------------------------------------------


# The instructions BuildKit runs as steps (vertices) of their own, besides a FROM of an image:
# the others (ENV, LABEL, CMD...) only change the image's config. As core/buildkit_events
# numbers them.
_VERTEX_INSTRUCTIONS = ("RUN", "COPY", "ADD", "WORKDIR")


def dockerfile_steps(text: str, *, buildkit: bool = False) -> list[tuple[str, str]]:
    """(stage name, instruction) for each step of a Dockerfile, in order: what the builder
    numbers as its steps. The classic builder: every instruction. BuildKit (`buildkit`): a
    FROM of an image (not of an earlier stage) and the RUN, COPY, ADD and WORKDIR
    instructions. Continuation lines are joined; comments are skipped."""
    steps = _instructions(text)
    if not buildkit:
        return steps
    kept: list[tuple[str, str]] = []
    stages: list[str] = []
    for stage, instruction in steps:
        words = instruction.split()
        word = words[0].upper() if words else ""
        if word == "FROM":
            if len(words) > 1 and words[1] not in stages:
                kept.append((stage, instruction))
            stages.append(stage)
        elif word in _VERTEX_INSTRUCTIONS:
            kept.append((stage, instruction))
    return kept


def _instructions(text: str) -> list[tuple[str, str]]:
    steps: list[tuple[str, str]] = []
    stage = ""
    parts: list[str] = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # Docker drops comment lines, inside continuations too
        if stripped.endswith("\\"):
            parts.append(stripped[:-1].strip())
            continue
        parts.append(stripped)
        instruction = " ".join(p for p in parts if p)
        parts = []
        words = instruction.split()
        if words and words[0].upper() == "FROM":
            as_index = next((i for i, w in enumerate(words) if w.upper() == "AS"), -1)
            stage = words[as_index + 1] if 0 < as_index < len(words) - 1 else ""
        steps.append((stage, instruction))
    if parts:
        steps.append((stage, " ".join(parts)))
    return steps


def short_title(title: str, width: int = 48) -> str:
    """An instruction cut to `width` characters, for a one-line label."""
    title = " ".join(title.split())
    return title if len(title) <= width else title[: width - 1] + "…"


def _host_parts(steps: Sequence[tuple[int, str, str]]) -> dict[str, list[int]]:
    """Which part of the host each of its steps belongs to: (number, builder stage, title)
    of the steps of the host's Dockerfile stages, in order."""
    parts: dict[str, list[int]] = {"toolchain": [], "modules": [], "build": [], "bundled": []}
    tree_copied = False  # the host's own tree is in: what comes after builds the host
    for number, stage, instruction in steps:
        word = instruction.split(maxsplit=1)[0].upper() if instruction.strip() else ""
        if stage == BUNDLED_STAGE:
            part = "bundled"  # BuildKit: the bundled plugins' own stage, beside the host
        elif stage == TOOLCHAIN_STAGE or word in ("FROM", "ENV", "WORKDIR", "ARG"):
            part = "toolchain"  # the builder image and the standard library compiled once
        elif instruction.startswith(f"COPY {CTX_HOST}/ ") or tree_copied:
            tree_copied = True
            part = "build"
        else:
            # go.mod, vendor/, the downloads and third-party packages compiled before the tree.
            part = "modules"
        parts[part].append(number)
    return parts


def _plugin_row(instruction: str, source: str, file_name: str) -> str:
    word = instruction.split(maxsplit=1)[0].upper() if instruction.strip() else ""
    if word == "FROM":
        return "from the host stage"
    if word == "COPY":
        return f"copy {source}"
    if word == "RUN":
        return f"compile {file_name}"
    return short_title(instruction)


def plan_stages(resolved: ResolvedProject, *, buildkit: bool = False) -> tuple[PlannedStage, ...]:
    """The stages a build of `resolved` goes through, with their steps numbered as the
    backend numbers them (BuildKit's layout and numbering with `buildkit`); () when the
    project cannot be planned (the build will say why)."""
    try:
        plan = plan_build(resolved)
        text = emit_dockerfile(resolved, plan, buildkit=buildkit)
    except ProjectError:
        return ()
    numbered = list(enumerate(dockerfile_steps(text, buildkit=buildkit), start=1))
    project = resolved.project

    def steps_of(builder_stage: str) -> list[tuple[int, str]]:
        return [(n, title) for n, (stage, title) in numbered if stage == builder_stage]

    stages: list[PlannedStage] = []
    bundled = tuple(p.name for p in plan.plugins if p.kind == "bundled")
    host_stages = (
        (SOURCE_STAGE, HOST_STAGE, BUNDLED_STAGE) if buildkit else (TOOLCHAIN_STAGE, HOST_STAGE)
    )
    host_steps = [(n, stage, title) for n, (stage, title) in numbered if stage in host_stages]
    parts = _host_parts(host_steps)
    image = plan.builder_image
    rows = [StageRow(f"toolchain  {image}", tuple(parts["toolchain"]))]
    if parts["modules"]:
        rows.append(StageRow("modules", tuple(parts["modules"])))
    if parts["build"]:
        rows.append(StageRow("host build", tuple(parts["build"])))
    if bundled:
        bundled_steps = [
            n for n, _stage, t in host_steps if n in parts["bundled"] and t.startswith("RUN")
        ]
        if not bundled_steps:
            # Classic: built by the same RUN as the host, shown under its own name.
            bundled_steps = [
                n for n, _stage, t in host_steps if n in parts["build"] and t.startswith("RUN")
            ][-1:]
        if bundled_steps:
            rows.append(StageRow("bundled  " + ", ".join(bundled), tuple(bundled_steps)))
    stages.append(
        PlannedStage(
            HOST_KEY,
            "host",
            StageKind.HOST,
            HOST_STAGE,
            tuple(r for r in rows if r.steps),
            bundled=bundled,
            more_stages=tuple(s for s in host_stages if s != HOST_STAGE),
        )
    )
    for planned in plan.plugins:
        if not planned.index:
            continue
        plugin = project.plugins[planned.index - 1]
        key = f"plugin:{planned.name}"
        label = f"plugin {planned.name}"
        source_path = str(project.source_path(plugin.source))
        if not planned.build_path:
            # Prebuilt: copied into the check stage, built by nobody.
            continue
        plugin_rows = tuple(
            StageRow(_plugin_row(title, plugin.source, planned.file_name), (number,))
            for number, title in steps_of(planned.stage)
        )
        stages.append(
            PlannedStage(
                key,
                label,
                StageKind.PLUGIN,
                planned.stage,
                plugin_rows,
                plugin=planned.name,
                source=plugin.source,
                source_path=source_path,
            )
        )
    check_rows = tuple(
        StageRow("open every plugin" if t.startswith("RUN") else short_title(t), (n,))
        for n, t in steps_of(CHECK_STAGE)
    )
    stages.append(PlannedStage(CHECK_KEY, "load check", StageKind.CHECK, CHECK_STAGE, check_rows))
    runtime_rows = tuple(StageRow(short_title(t), (n,)) for n, t in steps_of(""))
    stages.append(PlannedStage(RUNTIME_KEY, "runtime image", StageKind.RUNTIME, "", runtime_rows))
    return tuple(stages)


# -- the timeline -------------------------------------------------------------------------------


class BuildTimeline:
    """What happened to each stage and step of one build, from its events.

    Feed every event (`apply`), in order; ask for a stage's status at a time `now` (a running
    stage's duration grows with it). Times are seconds since the epoch (the events' `at`).
    `overlapping`: steps may run at once (BuildKit), so only a StepFinished (or the build's
    end) ends one; otherwise a step ends at the latest when the next one starts.
    """

    def __init__(self, stages: Sequence[PlannedStage] = (), *, overlapping: bool = False) -> None:
        self.stages: list[PlannedStage] = list(stages)
        self.overlapping = overlapping
        self.records: dict[int, StepRecord] = {}
        self.started = 0.0
        self.ended = 0.0
        self.outcome = ""  # "", succeeded, failed, cancelled, or another end the caller gives
        self.failed_step = 0
        self.total = 0  # steps the builder announced
        self.smoke: SmokeRun | None = None
        self._stage_of_step: dict[int, str] = {}  # step number -> stage key
        self._index_steps()

    def _index_steps(self) -> None:
        self._stage_of_step = {}
        for stage in self.stages:
            for number in stage.steps:
                self._stage_of_step.setdefault(number, stage.key)

    def use_stages(self, stages: Sequence[PlannedStage], *, overlapping: bool) -> None:
        """Plan the build anew before its first step (the backend, and so the layout, became
        known); the smoke stage, if any, stays."""
        smoke = [s for s in self.stages if s.kind is StageKind.SMOKE]
        self.stages = [*stages, *smoke]
        self.overlapping = overlapping
        self._index_steps()

    # -- feeding --------------------------------------------------------------------------------

    def begin(self, at: float) -> None:
        """The build started at `at` (before its first step)."""
        self.started = at

    def apply(self, event: BuildEvent) -> bool:
        """Take one event; True when it changed anything the tree shows."""
        if isinstance(event, StepStarted):
            self._step_started(event)
            return True
        if isinstance(event, StepFinished):
            record = self.records.get(event.number)
            if record is None or record.finished:
                return False
            record.finished = event.at or record.started
            record.cached = event.cached
            if event.seconds is not None and record.finished:
                # The backend's own measure (BuildKit): its progress output can show a step
                # late, when another one was printing, but says how long the step ran.
                record.started = record.finished - event.seconds
                if self.started and record.started < self.started:
                    self.started = record.started  # it ran before its first line came
            return True
        if isinstance(event, BuildFailed):
            self.failed_step = event.step
            record = self.records.get(event.step)
            if record is not None and not record.finished:
                record.failed = True
                record.finished = event.at or record.started
            self.end("failed", event.at)
            return True
        if isinstance(event, BuildFinished):
            self.end("succeeded", event.at)
            return True
        if isinstance(event, BuildCancelled):
            self.end("cancelled", event.at)
            return True
        return False

    def end(self, outcome: str, at: float) -> None:
        """The build ended (`succeeded`, `failed`, `cancelled`, `crashed`...) at `at`."""
        if self.ended:
            return
        self.outcome = outcome
        self.ended = at or self._last_time()
        if not self.started:
            self.started = self._first_time() or self.ended

    def record_smoke(self, run: SmokeRun) -> None:
        """The image was run once after the build."""
        self.smoke = run
        if not any(s.kind is StageKind.SMOKE for s in self.stages):
            self.stages.append(
                PlannedStage(
                    SMOKE_KEY, "smoke run", StageKind.SMOKE, "", (StageRow("run the image", ()),)
                )
            )

    def _step_started(self, event: StepStarted) -> None:
        self.total = max(self.total, event.total)
        at = event.at
        if not self.started:
            self.started = at
        if not self.overlapping:
            # One step at a time: a step that the backend did not close ended here.
            for record in self.records.values():
                if record.started and not record.finished and record.number != event.number:
                    record.finished = at
        self.records[event.number] = StepRecord(event.number, event.title, event.stage, at)
        stage = self._stage_for(event.stage)
        known = self._stage_of_step.get(event.number)
        if known != stage.key:
            # A step the plan did not know (the daemon's own LABEL step at the end), or one a
            # builder put in another stage: the events are the truth.
            self._move_step(event.number, event.title, stage)

    def _stage_for(self, builder_stage: str) -> PlannedStage:
        for stage in self.stages:
            if builder_stage in stage.builder_stages and stage.kind is not StageKind.SMOKE:
                return stage
        label = builder_stage or "final stage"
        stage = PlannedStage(f"stage:{builder_stage}", label, StageKind.OTHER, builder_stage)
        index = len(self.stages)
        if self.stages and self.stages[-1].kind is StageKind.SMOKE:
            index -= 1
        self.stages.insert(index, stage)
        return stage

    def _move_step(self, number: int, title: str, target: PlannedStage) -> None:
        old = self._stage_of_step.get(number)
        for index, stage in enumerate(self.stages):
            if stage.key == old:
                rows = tuple(
                    replace(row, steps=tuple(n for n in row.steps if n != number))
                    for row in stage.rows
                )
                self.stages[index] = replace(stage, rows=tuple(r for r in rows if r.steps))
        for index, stage in enumerate(self.stages):
            if stage.key == target.key:
                row = StageRow(short_title(title), (number,))
                self.stages[index] = replace(stage, rows=(*stage.rows, row))
        self._stage_of_step[number] = target.key

    # -- reading --------------------------------------------------------------------------------

    def stage(self, key: str) -> PlannedStage | None:
        """The stage with `key`, if the build has one."""
        return next((s for s in self.stages if s.key == key), None)

    def stage_of_step(self, number: int) -> PlannedStage | None:
        """The stage step `number` belongs to."""
        key = self._stage_of_step.get(number)
        return self.stage(key) if key else None

    @property
    def current_step(self) -> int:
        """The newest step that started (0 before the first)."""
        started = [r.number for r in self.records.values() if r.started]
        return max(started, default=0)

    def step_end(self, record: StepRecord, now: float) -> float:
        """When a step ended: its own end, the next step's start, the build's end, or now."""
        if record.finished:
            return record.finished
        later = [r.started for r in self.records.values() if r.number > record.number]
        if later and not self.overlapping:
            return min(later)
        return self.ended or now

    def step_status(self, number: int) -> Status:
        """The state of one step."""
        record = self.records.get(number)
        if record is None:
            return Status.NOT_RUN if self.ended else Status.WAITING
        if record.failed:
            return Status.FAILED
        if record.finished:
            return Status.CACHED if record.cached else Status.DONE
        if self.ended:
            if self.outcome == "succeeded":
                return Status.DONE
            return Status.STOPPED
        if not self.overlapping and any(r.number > number for r in self.records.values()):
            return Status.DONE  # a later step started, so this one ended
        return Status.RUNNING

    def is_base(self, number: int) -> bool:
        """True for a FROM step: builders report them differently (the classic one never as
        cached, BuildKit not at all for a FROM of an earlier stage), so they do not decide
        whether a stage came from the cache."""
        record = self.records.get(number)
        return record is not None and record.title.lstrip().upper().startswith("FROM ")

    def status_of(self, steps: Iterable[int], now: float) -> StageStatus:
        """The state of a group of steps (a stage, or a row of one)."""
        numbers = sorted(set(steps))
        records = [self.records[n] for n in numbers if n in self.records]
        if not records:
            status = Status.NOT_RUN if self.ended else Status.WAITING
            return StageStatus(status, 0.0, 0.0, 0, 0)
        statuses = [self.step_status(n) for n in numbers]
        started = min(r.started for r in records)
        end = max(self.step_end(r, now) for r in records)
        counted = [n for n in numbers if not self.is_base(n)] or numbers
        cached = sum(1 for n in counted if n in self.records and self.records[n].cached)
        if Status.FAILED in statuses:
            status = Status.FAILED
        elif Status.RUNNING in statuses:
            status = Status.RUNNING
        elif Status.STOPPED in statuses:
            status = Status.STOPPED
        elif Status.WAITING in statuses:
            status = Status.RUNNING  # between two of its steps
        elif Status.NOT_RUN in statuses:
            status = Status.STOPPED
        elif cached == len(counted):
            status = Status.CACHED
        else:
            status = Status.DONE
        if status is Status.RUNNING:
            end = max(end, now)
        seconds = end - started
        if self.overlapping:
            # Steps of other stages ran in between (BuildKit waits for what a step copies
            # from): the time its own steps ran, not the span from the first to the last.
            seconds = _covered([(r.started, self.step_end(r, now)) for r in records])
        return StageStatus(status, started, max(0.0, seconds), len(records), cached)

    def stage_status(self, stage: PlannedStage, now: float) -> StageStatus:
        """The state of a stage at time `now`."""
        if stage.kind is StageKind.SMOKE:
            run = self.smoke
            if run is None:
                return StageStatus(Status.WAITING, 0.0, 0.0, 0, 0)
            if not run.finished:
                return StageStatus(Status.RUNNING, run.started, max(0.0, now - run.started), 1, 0)
            status = Status.DONE if run.ok else Status.FAILED
            return StageStatus(status, run.started, max(0.0, run.finished - run.started), 1, 0)
        return self.status_of(stage.steps, now)

    def row_status(self, stage: PlannedStage, row: StageRow, now: float) -> StageStatus:
        """The state of one row of a stage at time `now`."""
        if stage.kind is StageKind.SMOKE:
            return self.stage_status(stage, now)
        return self.status_of(row.steps, now)

    def seconds(self, now: float) -> float:
        """How long the build took (so far)."""
        if not self.started:
            return 0.0
        return max(0.0, (self.ended or now) - self.started)

    def cached_share(self) -> tuple[int, int]:
        """(steps that came from the cache, steps that could have), FROM steps left out."""
        cached = could = 0
        for stage in self.stages:
            for number in stage.steps:
                record = self.records.get(number)
                if record is None or record.failed or self.is_base(number):
                    continue
                could += 1
                cached += record.cached
        return cached, could

    def _first_time(self) -> float:
        return min((r.started for r in self.records.values() if r.started), default=0.0)

    def _last_time(self) -> float:
        times = [t for r in self.records.values() for t in (r.started, r.finished) if t]
        return max(times, default=self.started)

    # -- storing --------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict that `from_json` reads back."""
        return {
            "started": self.started,
            "ended": self.ended,
            "outcome": self.outcome,
            "failed_step": self.failed_step,
            "total": self.total,
            "overlapping": self.overlapping,
            "stages": [_stage_json(s) for s in self.stages],
            "steps": [
                {
                    "number": r.number,
                    "title": r.title,
                    "stage": r.stage,
                    "started": r.started,
                    "finished": r.finished,
                    "cached": r.cached,
                    "failed": r.failed,
                }
                for r in sorted(self.records.values(), key=lambda r: r.number)
            ],
            "smoke": None
            if self.smoke is None
            else {
                "started": self.smoke.started,
                "finished": self.smoke.finished,
                "ok": self.smoke.ok,
                "detail": self.smoke.detail,
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BuildTimeline:
        """A timeline from `to_json`'s dict; raises ValueError when it is not one."""
        try:
            timeline = cls(
                [_stage_from_json(s) for s in data.get("stages", [])],
                overlapping=bool(data.get("overlapping", False)),
            )
            for item in data.get("steps", []):
                record = StepRecord(
                    int(item["number"]),
                    str(item["title"]),
                    str(item["stage"]),
                    float(item["started"]),
                    float(item["finished"]),
                    bool(item["cached"]),
                    bool(item["failed"]),
                )
                timeline.records[record.number] = record
            timeline.started = float(data.get("started", 0.0))
            timeline.ended = float(data.get("ended", 0.0))
            timeline.outcome = str(data.get("outcome", ""))
            timeline.failed_step = int(data.get("failed_step", 0))
            timeline.total = int(data.get("total", 0))
            smoke = data.get("smoke")
            if isinstance(smoke, dict):
                timeline.smoke = SmokeRun(
                    float(smoke["started"]),
                    float(smoke["finished"]),
                    bool(smoke["ok"]),
                    str(smoke.get("detail", "")),
                )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a build timeline: {exc}") from None
        return timeline


def _covered(spans: Iterable[tuple[float, float]]) -> float:
    """How long at least one of `spans` (start, end) lasted."""
    total = 0.0
    current: tuple[float, float] | None = None
    for a, b in sorted(spans):
        if current is not None and a <= current[1]:
            current = (current[0], max(current[1], b))
            continue
        if current is not None:
            total += current[1] - current[0]
        current = (a, max(a, b))
    if current is not None:
        total += current[1] - current[0]
    return total


def _stage_json(stage: PlannedStage) -> dict[str, Any]:
    return {
        "key": stage.key,
        "label": stage.label,
        "kind": stage.kind.value,
        "builder_stage": stage.builder_stage,
        "rows": [{"label": r.label, "steps": list(r.steps)} for r in stage.rows],
        "plugin": stage.plugin,
        "source": stage.source,
        "source_path": stage.source_path,
        "bundled": list(stage.bundled),
        "more_stages": list(stage.more_stages),
    }


def _stage_from_json(data: dict[str, Any]) -> PlannedStage:
    return PlannedStage(
        key=str(data["key"]),
        label=str(data["label"]),
        kind=StageKind(data["kind"]),
        builder_stage=str(data["builder_stage"]),
        rows=tuple(
            StageRow(str(r["label"]), tuple(int(n) for n in r["steps"])) for r in data["rows"]
        ),
        plugin=str(data.get("plugin", "")),
        source=str(data.get("source", "")),
        source_path=str(data.get("source_path", "")),
        bundled=tuple(str(b) for b in data.get("bundled", [])),
        more_stages=tuple(str(s) for s in data.get("more_stages", [])),
    )


# -- words --------------------------------------------------------------------------------------


def format_seconds(seconds: float) -> str:
    """A duration for a person: `0.4s`, `12s`, `1:05`, `1:02:03`."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}:{secs:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def compare_timelines(before: BuildTimeline, after: BuildTimeline) -> list[StageDelta]:
    """Each stage of either build with its seconds in both, in the newer build's order."""
    keys: list[str] = []
    labels: dict[str, str] = {}
    for stage in [*after.stages, *before.stages]:
        if stage.key not in labels:
            keys.append(stage.key)
            labels[stage.key] = stage.label

    def seconds(timeline: BuildTimeline, key: str) -> float | None:
        stage = timeline.stage(key)
        if stage is None:
            return None
        status = timeline.stage_status(stage, timeline.ended or timeline.started)
        if status.status in (Status.WAITING, Status.NOT_RUN):
            return None
        return status.seconds

    return [StageDelta(k, labels[k], seconds(before, k), seconds(after, k)) for k in keys]


def slowest_change(deltas: Iterable[StageDelta]) -> StageDelta | None:
    """The stage that got slower by the most seconds (None when none did)."""
    slower = [d for d in deltas if (d.change or 0.0) > 0.05]
    return max(slower, key=lambda d: d.change or 0.0, default=None)


def format_timings(timeline: BuildTimeline, now: float) -> str:
    """The per-stage summary `plugwiz build --timings` prints."""
    lines: list[str] = []
    cached, could = timeline.cached_share()
    total = format_seconds(timeline.seconds(now))
    lines.append(
        f"timings: {total} from the first step to the end, {cached} of {could} steps from the cache"
    )
    width = max((len(s.label) for s in timeline.stages), default=10)
    for stage in timeline.stages:
        status = timeline.stage_status(stage, now)
        seconds = (
            format_seconds(status.seconds)
            if status.status not in (Status.WAITING, Status.NOT_RUN)
            else "-"
        )
        where = f"  {stage.source}" if stage.source else ""
        lines.append(f"  {stage.label:<{width}}  {status.status.value:<8} {seconds:>7}{where}")
    return "\n".join(lines)


__all__ = [
    "CHECK_KEY",
    "HOST_KEY",
    "RUNTIME_KEY",
    "SMOKE_KEY",
    "BuildTimeline",
    "PlannedStage",
    "SmokeRun",
    "StageDelta",
    "StageKind",
    "StageRow",
    "StageStatus",
    "Status",
    "StepRecord",
    "compare_timelines",
    "dockerfile_steps",
    "format_seconds",
    "format_timings",
    "plan_stages",
    "short_title",
    "slowest_change",
]
