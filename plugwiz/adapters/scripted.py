"""A build engine that replays a script instead of talking to Docker.

The one fake behind the engine port (`plugwiz.core.engine.BuildEngine`) that tests,
screenshots and benchmarks share. A script is a list of events, or a function of the
resolved project and tag that yields them; the engine can hold a build at a given event until
it is released or cancelled, and records what it was asked to do. With a `FakeClock` it stamps
events with made-up times (a fixed start, so much per line and per step), so durations on
screen are the same on every run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from plugwiz.core.buildinfo import BinaryFacts, Module
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
    OutputLines,
    SourceLocation,
    StepFinished,
    StepStarted,
    stamped,
)
from plugwiz.core.explain import Explanation, HostContext, explain
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
from plugwiz.core.render import emit_dockerfile
from plugwiz.core.report import ImageReport, PluginFile
from plugwiz.core.smoke import run_smoke
from plugwiz.core.timeline import dockerfile_steps

Script = Callable[[ResolvedProject, str], Iterable[BuildEvent]]

SAMPLE_IMAGE_ID = "sha256:" + "3f9c2a" * 10 + "0b1d"
SAMPLE_PUSH_DIGEST = "sha256:" + "7d41e0" * 10 + "c3a8"
# 2026-03-02 09:30:00 UTC: where a FakeClock starts.
FAKE_START = 1_772_443_800.0


@dataclass
class FakeClock:
    """A clock that moves only when told: `ScriptedEngine(clock=...)` moves it by
    `line_seconds` per output line and `step_seconds` per other event."""

    now: float = FAKE_START
    line_seconds: float = 0.05
    step_seconds: float = 0.4

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock on by `seconds`."""
        self.now += seconds


@dataclass
class ScriptedEngine:
    """Replays `events` (or what `script` yields) as a build.

    - `hold_at`: before yielding event number `hold_at`, set `holding` and wait until
      `release` or the build's cancel event is set (a cancel then ends the build with
      BuildCancelled, as the real engine does). `hold_when` does the same before the first
      event it says True of.
    - `ping_error`: raised by ping (and so by a build's own ping).
    - `reports`: what `inspect` returns, by tag; a missing tag raises ImageNotFoundError.
      A finished build adds a report for its tag from `report_for` when none is set.
    - `clock`: stamps the events (`at`) and moves on with each one; without it the events
      carry no times (the session stamps them as they come).
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
    hold_when: Callable[[BuildEvent], bool] | None = None
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
    clock: FakeClock | None = None

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
        clock = self.clock
        with log_path.open("w", encoding="utf-8") as log:
            hold_when = self.hold_when
            for index, event in enumerate(events):
                held = hold_when is not None and hold_when(event)
                if held:
                    hold_when = None
                if held or (self.hold_at is not None and index == self.hold_at):
                    self.holding.set()
                    while not (self.release.is_set() or cancel.is_set()):
                        self.release.wait(0.02)
                if cancel.is_set():
                    log.write("# build cancelled\n")
                    yield BuildCancelled(at=clock() if clock is not None else 0.0)
                    return
                if type(event) is OutputLines:
                    log.write("\n".join(event.lines) + "\n")
                elif isinstance(event, StepStarted):
                    log.write(f"Step {event.number}/{event.total} : {event.title}\n")
                elif isinstance(event, StepFinished) and event.cached:
                    log.write(" ---> Using cache\n")
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
                if clock is not None:
                    if type(event) is OutputLines:
                        clock.advance(clock.line_seconds * len(event.lines))
                    else:
                        clock.advance(clock.step_seconds)
                        event = stamped(event, clock())
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
    cached_stages: Collection[str] = (),
    refuse_plugin: str = "",
    buildkit: bool = False,
) -> Iterator[BuildEvent]:
    """A build that looks like the real one for `resolved`: every instruction of its
    Dockerfile as a step, in its stage, its RUN steps with compiler-like output (with
    `buildkit`, BuildKit's layout and its steps, one at a time).

    - a custom plugin named `fail_plugin` fails to compile (at line 9 of its file);
    - the steps of the stages named in `cached_stages` (builder stage names: "toolchain",
      "host", "plugin-1", "check", "" for the runtime; BuildKit's "source", "bundled")
      come from the cache, with no output;
    - the load check refuses the plugin named `refuse_plugin`, with an explanation (built
      with another Go release).
    """
    plan = plan_build(resolved)
    steps = dockerfile_steps(emit_dockerfile(resolved, plan, buildkit=buildkit), buildkit=buildkit)
    total = len(steps)
    by_stage = {p.stage: p for p in plan.plugins if p.index}
    for number, (stage, title) in enumerate(steps, start=1):
        yield StepStarted(number, total, title, stage)
        base = title.startswith("FROM ")
        cached = stage in cached_stages and not base
        if not cached and title.startswith("RUN "):  # only commands print anything
            for i in range(lines_per_step):
                yield OutputLines((f"go: compiling package {i:02d} for step {number}",), number)
        planned = by_stage.get(stage)
        if (
            not cached
            and planned is not None
            and fail_plugin
            and planned.name == fail_plugin
            and title.startswith("RUN ")
        ):
            source = resolved.project.source_path(
                resolved.project.plugins[planned.index - 1].source
            )
            line = f"plugwiz_plugins/{fail_plugin}/{source.name}:9:51: undefined: undefinedHelper"
            header = f"# example.com/x/plugwiz_plugins/{fail_plugin}"
            yield OutputLines((header,), number)
            yield OutputLines((line,), number)
            yield BuildFailed(
                message=f"`{title.removeprefix('RUN ')}` exited with code 1",
                step=number,
                title=title,
                last_lines=(header, line),
                locations=(SourceLocation(str(source), 9, 51, "undefined: undefinedHelper"),),
                plugin=fail_plugin,
            )
            return
        if stage == "check" and title.startswith("RUN ") and refuse_plugin and not cached:
            path = f"/out/plugins/{refuse_plugin}{resolved.project.loading.extension}"
            go_line = (
                f'plugin.Open("{path}"): plugin was built with a different version of '
                "package internal/goarch"
            )
            line = f"plugwiz-loadcheck: FAIL {path}: {go_line}"
            yield OutputLines((line,), number)
            yield BuildFailed(
                message=go_line,
                step=number,
                title=title,
                last_lines=(line,),
                locations=(),
                plugin=refuse_plugin,
                explanation=sample_explanation(refuse_plugin),
            )
            return
        yield StepFinished(number, cached)
    yield BuildFinished(SAMPLE_IMAGE_ID, tag)


def sample_explanation(plugin: str) -> Explanation:
    """What `plugwiz explain` says of a plugin built with Go 1.22 for a Go 1.19 host."""
    settings = (
        ("-buildmode", "exe"),
        ("-compiler", "gc"),
        ("-trimpath", "true"),
        ("CGO_ENABLED", "1"),
        ("GOARCH", "amd64"),
        ("GOOS", "linux"),
    )
    hashes = (("runtime", "aa"), ("errors", "bb"), ("internal/goarch", "cc"))
    host = BinaryFacts(
        kind="executable",
        go_version="go1.19.8",
        go_version_hint="",
        has_build_info=True,
        path="example.com/plugwiz-demo/cmd/demo-host",
        main=Module("example.com/plugwiz-demo", "(devel)"),
        deps=(),
        settings=settings,
        machine="amd64",
        bits=64,
        big_endian=False,
        needed_libraries=("libc.so.6",),
        needed_versions=(("libc.so.6", ("GLIBC_2.2.5", "GLIBC_2.34")),),
        package_hashes=(*hashes, ("plugin", "dd")),
    )
    plugin_facts = replace(
        host,
        kind="plugin",
        go_version="go1.22.12",
        path=f"example.com/plugwiz-demo/plugwiz_plugins/{plugin}",
        settings=tuple((k, "plugin" if k == "-buildmode" else v) for k, v in settings),
        package_hashes=(*((p, h + "0") for p, h in hashes), (f"plugwiz_plugins/{plugin}", "ee")),
    )
    context = HostContext(
        label="the host (example.com/plugwiz-demo)", runtime_glibc="2.36", modified=False
    )
    return explain(plugin_facts, host, context, plugin_label=plugin)


def successful_events(tag: str, steps: int = 3, lines: int = 20) -> list[BuildEvent]:
    """A small successful build: `steps` steps of `lines` lines each, then BuildFinished."""
    events: list[BuildEvent] = []
    for step in range(1, steps + 1):
        events.append(StepStarted(step, steps, f"RUN step {step}"))
        events.extend(OutputLines((f"step {step} line {i}",), step) for i in range(lines))
    events.append(BuildFinished(SAMPLE_IMAGE_ID, tag))
    return events


__all__ = [
    "FAKE_START",
    "SAMPLE_IMAGE_ID",
    "SAMPLE_PUSH_DIGEST",
    "FakeClock",
    "ScriptedEngine",
    "realistic_build",
    "report_for",
    "sample_explanation",
    "successful_events",
    "unavailable",
]
