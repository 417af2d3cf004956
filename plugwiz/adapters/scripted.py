"""A build engine that replays a script instead of talking to Docker.

The one fake behind the engine port (`plugwiz.core.engine.BuildEngine`) that tests,
screenshots and benchmarks share. A script is a list of events, or a function of the
resolved project and tag that yields them; the engine can hold a build at a given event until
it is released or cancelled, and records what it was asked to do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from plugwiz.core.engine import (
    EngineUnavailableError,
    ImageFileError,
    ImageNotFoundError,
    PruneResult,
    PublishedPort,
    RunEvent,
    RunExited,
    RunOutput,
    RunResult,
    RunSpec,
    RunStarted,
)
from plugwiz.core.events import (
    BuildCancelled,
    BuildEvent,
    BuildFailed,
    BuildFinished,
    OutputLine,
    SourceLocation,
    StepStarted,
)
from plugwiz.core.image_refs import parse_image_ref
from plugwiz.core.model import ResolvedProject
from plugwiz.core.plan import plan_build
from plugwiz.core.ports import HostRepository
from plugwiz.core.push import (
    LayerProgress,
    PushEvent,
    PushFinished,
    PushStarted,
    PushTargetError,
    push_target_problem,
    pushed_reference,
)
from plugwiz.core.report import ImageReport, PluginFile
from plugwiz.core.smoke import run_smoke

Script = Callable[[ResolvedProject, str], Iterable[BuildEvent]]

SAMPLE_IMAGE_ID = "sha256:" + "3f9c2a" * 10 + "0b1d"
SAMPLE_PUSH_DIGEST = "sha256:" + "7d41e0" * 10 + "c3a8"


@dataclass
class ScriptedEngine:
    """Replays `events` (or what `script` yields) as a build.

    - `hold_at`: before yielding event number `hold_at`, set `holding` and wait until
      `release` or the build's cancel event is set (a cancel then ends the build with
      BuildCancelled, as the real engine does).
    - `ping_error`: raised by ping (and so by a build's own ping).
    - `reports`: what `inspect` returns, by tag; a missing tag raises ImageNotFoundError.
      A finished build adds a report for its tag from `report_for` when none is set.
    - `files`: the files of images (by image, then absolute path), for `read_image_file`;
      `go_versions` and `glibc` what builder and runtime images have.
    - `digests`: the registry digests `registry_digest` gives ("" for none; an image not
      listed is not known: None).
    - `push_error`: raised by `push` after its first layer; `pushes` records the tags pushed.
    """

    events: list[BuildEvent] = field(default_factory=list)
    script: Script | None = None
    ping_error: Exception | None = None
    reports: dict[str, ImageReport] = field(default_factory=dict)
    run_result: RunResult = field(
        default_factory=lambda: RunResult(0, "host: every plugin loaded\n", False)
    )
    hold_at: int | None = None
    hold_run: int | None = None
    buildkit: bool = False  # what uses_buildkit answers
    prune_result: PruneResult = field(default_factory=lambda: PruneResult(0, 0))
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)
    go_versions: dict[str, str] = field(default_factory=lambda: {"golang:1.19-bookworm": "1.19.8"})
    glibc: dict[str, str] = field(default_factory=lambda: {"debian:bookworm-slim": "2.36"})
    builds: list[ResolvedProject] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)
    push_error: Exception | None = None
    pushes: list[str] = field(default_factory=list)
    run_specs: list[RunSpec] = field(default_factory=list)
    # What a run publishes (RunStarted.ports), and how long it waits before each line.
    run_ports: tuple[PublishedPort, ...] = ()
    run_line_delay: float = 0.0
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def ping(self) -> None:
        """Raise `ping_error` if one is set."""
        if self.ping_error is not None:
            raise self.ping_error

    def build(
        self,
        resolved: ResolvedProject,
        repo: HostRepository,
        *,
        tag: str,
        log_path: Path,
        cancel: threading.Event,
    ) -> Iterator[BuildEvent]:
        """Yield the script's events; write them to `log_path` like a real build log."""
        self.builds.append(resolved)
        events = self.script(resolved, tag) if self.script is not None else self.events
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("w", encoding="utf-8") as log:
            for index, event in enumerate(events):
                if self.hold_at is not None and index == self.hold_at:
                    self.holding.set()
                    while not (self.release.is_set() or cancel.is_set()):
                        self.release.wait(0.02)
                if cancel.is_set():
                    log.write("# build cancelled\n")
                    yield BuildCancelled()
                    return
                if isinstance(event, OutputLine):
                    log.write(event.text + "\n")
                elif isinstance(event, StepStarted):
                    log.write(f"Step {event.number}/{event.total} : {event.title}\n")
                if isinstance(event, BuildFinished) and resolved.project.smoke is not None:
                    # As the real engines do: the image runs before its tag moves.
                    self.reports.setdefault(
                        event.image_id, report_for(resolved, event.image_id, event.image_id)
                    )
                    passed = yield from run_smoke(
                        self,
                        event.image_id,
                        resolved.project.smoke,
                        cancel,
                        tuple(plan_build(resolved).cmd(resolved.project)),
                        event.tag,
                    )
                    if passed is None:
                        yield BuildCancelled()
                        return
                    if not passed:
                        return
                if isinstance(event, BuildFinished) and event.tag not in self.reports:
                    self.reports[event.tag] = report_for(resolved, event.tag, event.image_id)
                yield event

    def uses_buildkit(self, resolved: ResolvedProject) -> bool:
        """`buildkit` (a real engine asks the project and this machine)."""
        return self.buildkit

    def inspect(self, image: str) -> ImageReport:
        """The report set for `image`; ImageNotFoundError when there is none."""
        self.ping()
        report = self.reports.get(image)
        if report is None:
            raise ImageNotFoundError(f"no image {image!r} here: build it first")
        return report

    def run_once(self, image: str, timeout: float = 30.0) -> RunResult:
        """`run_result`, after checking the image exists."""
        self.inspect(image)
        self.runs.append(image)
        return self.run_result

    def run(self, spec: RunSpec, *, cancel: threading.Event) -> Iterator[RunEvent]:
        """RunStarted, `run_result`'s output line by line, RunExited with its exit code
        (a hold at `hold_run` lines waits for the cancel, like a server that keeps running)."""
        self.inspect(spec.image)
        self.runs.append(spec.image)
        self.run_specs.append(spec)
        yield RunStarted("0" * 64, self.run_ports)
        for index, line in enumerate(self.run_result.output.splitlines()):
            if self.hold_run is not None and index == self.hold_run:
                while not cancel.is_set():
                    cancel.wait(0.02)
            elif self.run_line_delay:
                cancel.wait(self.run_line_delay)
            if cancel.is_set():
                yield RunExited(None, stopped=True)
                return
            yield RunOutput(line)
        yield RunExited(self.run_result.exit_code, timed_out=self.run_result.timed_out)

    def prune(self) -> PruneResult:
        """`prune_result`."""
        self.ping()
        return self.prune_result

    def registry_digest(self, image: str) -> str | None:
        """From `digests`."""
        return self.digests.get(image)

    def push(self, tag: str, *, cancel: threading.Event) -> Iterator[PushEvent]:
        """Two layers pushed, then the tag's digest (`push_error` after the first layer)."""
        problem = push_target_problem(tag)
        if problem:
            raise PushTargetError(problem)
        self.inspect(tag)
        self.pushes.append(tag)
        registry = parse_image_ref(tag).registry
        yield PushStarted(tag, registry)
        for layer in ("4f1c2a9e0b7d", "9a0e3c5d1f2b"):
            yield LayerProgress(layer, "Preparing")
        yield LayerProgress("4f1c2a9e0b7d", "Pushing", 12_000_000, 46_600_000)
        if self.push_error is not None:
            raise self.push_error
        yield LayerProgress("4f1c2a9e0b7d", "Pushed")
        yield LayerProgress("9a0e3c5d1f2b", "Layer already exists")
        digest = SAMPLE_PUSH_DIGEST
        yield PushFinished(tag, digest, pushed_reference(tag, digest), 1_234)

    # -- reading images ----------------------------------------------------------------------

    def image_exists(self, image: str) -> bool:
        """True for a tag with a report, an image with files, or a known builder/runtime."""
        return (
            image in self.reports
            or image in self.files
            or image in self.go_versions
            or image in self.glibc
        )

    def image_command(self, image: str) -> tuple[list[str], str, dict[str, str]]:
        """The report's CMD, workdir and labels."""
        report = self.inspect(image)
        return [*report.entrypoint, *report.cmd], report.workdir, dict(report.labels)

    def read_image_file(self, image: str, path: str) -> bytes:
        """A file from `files`."""
        if not self.image_exists(image):
            raise ImageNotFoundError(f"no image {image!r} here")
        try:
            return self.files[image][path]
        except KeyError:
            raise ImageFileError(f"{path} is not in {image}") from None

    def first_image_file(self, image: str, paths: list[str]) -> tuple[str, bytes] | None:
        """The first of `paths` in `files`."""
        for path in paths:
            if path in self.files.get(image, {}):
                return path, self.files[image][path]
        return None

    def image_glibc(self, image: str) -> str | None:
        """From `glibc`."""
        return self.glibc.get(image)

    def image_arch(self, image: str) -> str | None:
        """Always amd64."""
        return "amd64" if self.image_exists(image) else None

    def builder_go_version(self, image: str) -> str | None:
        """From `go_versions`."""
        return self.go_versions.get(image)


def unavailable(message: str = "the Docker daemon is not reachable") -> EngineUnavailableError:
    """The error a daemon that is down gives (for `ping_error`)."""
    return EngineUnavailableError(message)


def report_for(resolved: ResolvedProject, tag: str, image_id: str = SAMPLE_IMAGE_ID) -> ImageReport:
    """A plausible report of the image `resolved` builds: its CMD and plugin files."""
    plan = plan_build(resolved)
    project = resolved.project
    paths = plan.runtime_plugin_paths
    return ImageReport(
        tag=tag,
        image_id=image_id,
        size=96_312_448,
        cmd=plan.cmd(project),
        entrypoint=[],
        workdir="/app",
        host_repo=project.host.repo,
        host_commit=resolved.sha,
        host_module=resolved.facts.gomod.module,
        go_version="go1.19.8",
        plugins=[
            PluginFile(path, 2_280_000 + 1000 * i, f"{i}e7b1c9" * 9 + "aa", True)
            for i, path in enumerate(paths)
        ],
        labels={"dev.plugwiz.plugins": ",".join(paths)},
        user=plan.runtime_user,
    )


def realistic_build(
    resolved: ResolvedProject,
    tag: str,
    *,
    lines_per_step: int = 40,
    fail_plugin: str = "broken",
) -> Iterator[BuildEvent]:
    """A build that looks like the real one for `resolved`: the steps of its Dockerfile with
    compiler-like output; a custom plugin named `fail_plugin` fails to compile."""
    plan = plan_build(resolved)
    steps: list[tuple[str, str]] = [
        ("host", f"FROM {plan.builder_image} AS host"),
        ("host", "COPY host/ ./"),
        ("host", "RUN mkdir -p /out/plugins && { go build ... & go build -buildmode=plugin ...; }"),
    ]
    for planned in plan.plugins:
        if planned.index and planned.build_path:
            steps.append((planned.stage, f"FROM host AS {planned.stage}"))
            steps.append(
                (
                    planned.stage,
                    f"RUN go build -buildmode=plugin -o {planned.out_path} {planned.build_path}",
                )
            )
    steps += [
        ("check", "RUN PLUGWIZ_LOADCHECK=... /plugwiz/loadcheck"),
        ("", f"FROM {plan.runtime_image}"),
        ("", f"CMD {plan.cmd(resolved.project)}"),
    ]
    total = len(steps)
    for number, (stage, title) in enumerate(steps, start=1):
        yield StepStarted(number, total, title, stage)
        for i in range(lines_per_step):
            yield OutputLine(f"go: compiling package {i:02d} for step {number}", number)
        if fail_plugin and f"/{fail_plugin} " in title + " " and "plugwiz_plugins" in title:
            index = next(
                i for i, p in enumerate(resolved.project.plugins) if p.output_name == fail_plugin
            )
            source = resolved.project.source_path(resolved.project.plugins[index].source)
            line = f"plugwiz_plugins/{fail_plugin}/{source.name}:9:51: undefined: undefinedHelper"
            yield OutputLine(line, number)
            yield BuildFailed(
                message=f"`{title.removeprefix('RUN ')}` exited with code 1",
                step=number,
                title=title,
                last_lines=(f"# example.com/x/plugwiz_plugins/{fail_plugin}", line),
                locations=(SourceLocation(str(source), 9, 51, "undefined: undefinedHelper"),),
                plugin=fail_plugin,
            )
            return
    yield BuildFinished(SAMPLE_IMAGE_ID, tag)


def successful_events(tag: str, steps: int = 3, lines: int = 20) -> list[BuildEvent]:
    """A small successful build: `steps` steps of `lines` lines each, then BuildFinished."""
    events: list[BuildEvent] = []
    for step in range(1, steps + 1):
        events.append(StepStarted(step, steps, f"RUN step {step}"))
        events.extend(OutputLine(f"step {step} line {i}", step) for i in range(lines))
    events.append(BuildFinished(SAMPLE_IMAGE_ID, tag))
    return events


__all__ = [
    "SAMPLE_IMAGE_ID",
    "SAMPLE_PUSH_DIGEST",
    "ScriptedEngine",
    "realistic_build",
    "report_for",
    "successful_events",
    "unavailable",
]
