"""`plugwiz build`, `inspect` and `prune`: stream a build to a terminal, summarise an image,
clean up after builds.

The CLI parses options and resolves the project; these functions do the rest and return the
process exit code, printing only messages meant for a person (never a traceback).
"""

from __future__ import annotations

import json
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from plugwiz.core.engine import BuildEngine, EngineError
from plugwiz.core.events import (
    BuildCancelled,
    BuildFailed,
    BuildFinished,
    BuildWarning,
    OutputLines,
    SmokeRunFinished,
    SmokeRunOutput,
    SmokeRunStarted,
    StepFinished,
    StepStarted,
    stamped,
)
from plugwiz.core.model import Project, ProjectError, ResolvedProject
from plugwiz.core.paths import cache_dir
from plugwiz.core.ports import HostRepoError, HostRepository
from plugwiz.core.timeline import BuildTimeline, format_timings, plan_stages

if TYPE_CHECKING:
    from plugwiz.core.watch import FileWatcher

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNAVAILABLE = 2
EXIT_CANCELLED = 130

# Of a failed step's output, how many trailing lines the terminal gets (the log has them all).
_SHOWN_LINES = 15


def default_log_path() -> Path:
    """`cache_dir()/logs/build-<timestamp>.log`."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return cache_dir() / "logs" / f"build-{stamp}.log"


def _print_failure(event: BuildFailed, total: int, log_path: Path, out: TextIO) -> None:
    where = f"step {event.step}/{total}" if event.step else "the build"
    print(f"error: {where} failed: {event.title or event.message}", file=out)
    if event.plugin:
        print(f"plugin: {event.plugin}", file=out)
    if event.title:
        print(f"reason: {event.message}", file=out)
    if event.explanation is not None:
        # The explainer and the image report (and the ELF readers under them) are imported
        # where they are printed: the wizard imports this module before its first paint.
        from plugwiz.core.explain import format_explanation

        # Go's one line says which package; this says why, and what to do.
        print("why:", file=out)
        print(textwrap.indent(format_explanation(event.explanation, title=False), "    "), file=out)
    for loc in event.locations:
        column = f":{loc.column}" if loc.column else ""
        print(f"{loc.path}:{loc.line}{column}: {loc.message}", file=out)
    if event.last_lines and not event.locations:
        print("last output:", file=out)
        for line in event.last_lines[-_SHOWN_LINES:]:
            print(f"    {line}", file=out)
    print(f"full log: {log_path}", file=out)


def default_engine() -> BuildEngine:
    """The real Docker engine (imported late: the docker SDK is slow to import)."""
    from plugwiz.adapters.docker_engine import DockerEngine

    return DockerEngine()


def build_command(
    resolved: ResolvedProject,
    *,
    tag: str | None = None,
    log_path: Path | None = None,
    out: TextIO | None = None,
    engine: BuildEngine | None = None,
    push: bool = False,
    timings: bool = False,
) -> int:
    """Build `resolved` as `tag` (default: the project's), streaming progress to `out`, and
    with `push`, push it to its registry (see `push_command`).

    A step whose result came from the builder's cache ends its line with `cached`. With
    `timings`, a summary of each stage's state and duration follows the outcome.

    Returns 0 on success (after printing the image summary), 1 if the build failed (or lost its
    daemon), 2 if the project cannot be built as given or Docker or an image it needs is
    unavailable, 130 if interrupted.
    """
    from plugwiz.core.report import format_report
    from plugwiz.service import open_repo

    # Looked up per call, not bound at import: a caller (or test) may have replaced sys.stdout.
    out = out or sys.stdout
    docker_engine = engine or default_engine()
    tag = tag or resolved.project.tag
    log_path = log_path or default_log_path()
    cancel = threading.Event()
    if push:
        from plugwiz.core.push import push_target_problem

        problem = push_target_problem(tag)
        if problem:
            # Said before minutes of building, not after.
            print(f"error: cannot push: {problem}", file=out)
            return EXIT_UNAVAILABLE
    try:
        repo = open_repo(resolved.project)
    except HostRepoError as error:
        print(f"error: {error}", file=out)
        return EXIT_UNAVAILABLE
    total = 0
    try:
        buildkit = docker_engine.uses_buildkit(resolved)
    except EngineError:
        buildkit = False  # the build says what is wrong
    # Its times are the events' own; BuildKit numbers steps its own way and runs them at once.
    timeline = BuildTimeline(plan_stages(resolved, buildkit=buildkit), overlapping=buildkit)
    # A step's line is left open until the step's next event, so that a step the cache
    # answered ends its own line with "cached" (backends say so when the step ends).
    open_line = False
    open_step = 0

    def end_line(suffix: str = "") -> None:
        nonlocal open_line
        if open_line:
            print(suffix, file=out)
            open_line = False

    def summary() -> None:
        if timings:
            timeline.end(timeline.outcome or "stopped", time.time())
            print(format_timings(timeline, time.time()), file=out)

    events = iter(docker_engine.build(resolved, repo, tag=tag, log_path=log_path, cancel=cancel))
    try:
        for event in events:
            if type(event) is not OutputLines:
                event = stamped(event, time.time())
                timeline.apply(event)
            if isinstance(event, StepFinished):
                if open_line and event.number == open_step:
                    end_line("  cached" if event.cached else "")
                elif event.cached:
                    # BuildKit: a step that started before the one shown last (they overlap).
                    end_line()
                    width = len(str(total))
                    print(f"[{event.number:>{width}}/{total}] cached", file=out)
                continue
            end_line()
            if isinstance(event, StepStarted):
                total = event.total
                width = len(str(total))
                print(f"[{event.number:>{width}}/{total}] {event.title}", end="", file=out)
                out.flush()
                open_line = True
                open_step = event.number
            elif isinstance(event, OutputLines):
                print("\n".join(f"    {line}" for line in event.lines), file=out)
            elif isinstance(event, BuildWarning):
                print(f"warning: {event.text}", file=out)
            elif isinstance(event, SmokeRunStarted | SmokeRunOutput | SmokeRunFinished):
                _print_smoke(event, out)
            elif isinstance(event, BuildFailed):
                _print_failure(event, total, log_path, out)
                summary()
                return EXIT_FAILED
            elif isinstance(event, BuildCancelled):
                print("build cancelled", file=out)
                summary()
                return EXIT_CANCELLED
            elif isinstance(event, BuildFinished):
                print(
                    f"built {event.tag} ({event.image_id.removeprefix('sha256:')[:12]})", file=out
                )
                report = docker_engine.inspect(event.tag)
                print(format_report(report), file=out)
                print(f"full log: {log_path}", file=out)
                summary()
                if push:
                    return push_command(event.tag, out=out, engine=docker_engine)
                return EXIT_OK
    except KeyboardInterrupt:
        # Closing the generator stops the build and removes its containers before we return.
        cancel.set()
        _close(events)
        end_line()
        print("build cancelled", file=out)
        timeline.end("cancelled", time.time())
        summary()
        return EXIT_CANCELLED
    except EngineError as error:
        end_line()
        print(f"error: {error}", file=out)
        return EXIT_UNAVAILABLE
    except (ProjectError, HostRepoError) as error:
        # Raised before anything is built (a plugin source, the builder's Go, a module no
        # source has, a submodule that cannot be fetched): the user's to fix.
        end_line()
        print(f"error: {error}", file=out)
        return EXIT_UNAVAILABLE
    finally:
        _close(events)
    end_line()
    print(f"error: the build ended without a result; see {log_path}", file=out)
    return EXIT_FAILED


def _print_smoke(event: SmokeRunStarted | SmokeRunOutput | SmokeRunFinished, out: TextIO) -> None:
    """The smoke run as it happens: its command, its output, its verdict."""
    if isinstance(event, SmokeRunStarted):
        print(f"[smoke] {' '.join(event.command)}  (must {event.expectation})", file=out)
    elif isinstance(event, SmokeRunOutput):
        print(f"    {event.text}", file=out)
    else:
        verdict = "passed" if event.passed else "failed"
        print(f"smoke run {verdict} ({event.seconds:.1f} s): {event.reason}", file=out)


def _close(events: object) -> None:
    close = getattr(events, "close", None)
    if close is not None:
        close()


def inspect_command(
    image: str,
    *,
    as_json: bool = False,
    out: TextIO = sys.stdout,
    engine: BuildEngine | None = None,
) -> int:
    """Print what `image` holds; 0 if consistent, 1 if CMD and plugins disagree, 2 if no image."""
    from plugwiz.core.report import format_report

    docker_engine = engine or default_engine()
    try:
        report = docker_engine.inspect(image)
    except EngineError as error:
        if as_json:
            print(json.dumps({"error": str(error)}), file=out)
        else:
            print(f"error: {error}", file=out)
        return EXIT_UNAVAILABLE
    if as_json:
        print(json.dumps(report.to_json(), indent=2), file=out)
    else:
        print(format_report(report), file=out)
    return EXIT_OK if report.ok else EXIT_FAILED


def push_command(tag: str, *, out: TextIO | None = None, engine: BuildEngine | None = None) -> int:
    """Push `tag` to its registry, printing each layer's progress and then the pushed
    reference with its digest (what a deployment should pin). 0 when pushed; 2 when the
    image, the engine, the registry or its credentials are not right (the message says
    which); 1 for another push failure; 130 if interrupted."""
    from plugwiz.core.push import (
        LayerProgress,
        PushError,
        PushFinished,
        PushStarted,
        PushTargetError,
        RegistryAuthError,
        RegistryUnreachableError,
    )
    from plugwiz.core.report import human_size

    out = out or sys.stdout
    docker_engine = engine or default_engine()
    cancel = threading.Event()
    shown: dict[str, str] = {}
    events = iter(docker_engine.push(tag, cancel=cancel))
    try:
        for event in events:
            if isinstance(event, PushStarted):
                print(f"pushing {event.tag} to {event.registry}", file=out)
            elif isinstance(event, LayerProgress):
                # One line per change of a layer's state, not per chunk of bytes.
                if shown.get(event.layer) == event.status:
                    continue
                shown[event.layer] = event.status
                size = f" ({human_size(event.total)})" if event.total else ""
                print(f"    {event.layer[:12]}  {event.status}{size}", file=out)
            elif isinstance(event, PushFinished):
                print(f"pushed {event.reference}", file=out)
                return EXIT_OK
    except KeyboardInterrupt:
        cancel.set()
        _close(events)
        print("push cancelled", file=out)
        return EXIT_CANCELLED
    except (PushTargetError, RegistryAuthError, RegistryUnreachableError) as error:
        print(f"error: {error}", file=out)
        return EXIT_UNAVAILABLE
    except PushError as error:
        print(f"error: {error}", file=out)
        return EXIT_FAILED
    except EngineError as error:
        # No engine, or no such image.
        print(f"error: {error}", file=out)
        return EXIT_UNAVAILABLE
    finally:
        _close(events)
    print(f"error: the push of {tag} ended without a digest", file=out)
    return EXIT_FAILED


def prune_command(*, out: TextIO | None = None, engine: BuildEngine | None = None) -> int:
    """Remove what earlier builds left behind and say how much that freed; 2 without Docker."""
    from plugwiz.core.report import human_size

    out = out or sys.stdout
    try:
        result = (engine or default_engine()).prune()
    except EngineError as error:
        print(f"error: {error}", file=out)
        return EXIT_UNAVAILABLE
    if not result.images:
        print("nothing to remove: no image left behind by earlier builds", file=out)
    else:
        print(
            f"removed {result.images} image(s) left behind by earlier builds, "
            f"freed {human_size(result.freed_bytes)}",
            file=out,
        )
    return EXIT_OK


def explain_command(
    plugin: Path,
    *,
    image: str | None = None,
    host_file: Path | None = None,
    project: ResolvedProject | None = None,
    runtime_image: str | None = None,
    as_json: bool = False,
    out: TextIO | None = None,
    engine: BuildEngine | None = None,
) -> int:
    """Explain whether `plugin` would load into a host given as an image, a file or a resolved
    project. Returns 0 (nothing would stop it), 1 (something would) or 2 (an input is not a Go
    binary, cannot be read, or Docker/an image is unavailable), printing a message, never a
    traceback."""
    from plugwiz.core.buildinfo import NotAGoBinaryError
    from plugwiz.core.explain import format_explanation
    from plugwiz.core.hosts import (
        explain_plugin,
        host_for_project,
        host_from_file,
        host_from_image,
        read_plugin,
    )

    out = out or sys.stdout

    def fail(message: str) -> int:
        if as_json:
            print(json.dumps({"error": message}), file=out)
        else:
            print(f"error: {message}", file=out)
        return EXIT_UNAVAILABLE

    def docker() -> BuildEngine:
        return engine or default_engine()

    try:
        plugin_facts = read_plugin(plugin)
        if host_file is not None:
            glibc = None
            label = ""
            if runtime_image:
                glibc = docker().image_glibc(runtime_image)
                label = f"the runtime image {runtime_image}"
            host = host_from_file(host_file, glibc, label)
        elif image is not None:
            host = host_from_image(docker(), image)
        elif project is not None:
            from plugwiz.service import open_repo

            host = host_for_project(docker(), project, open_repo(project.project))
        else:
            return fail("no host given: --image IMAGE, --host FILE or PROJECT.yaml")
    except (NotAGoBinaryError, OSError, EngineError, ProjectError, HostRepoError) as error:
        return fail(str(error))
    explanation = explain_plugin(plugin_facts, host, plugin.name)
    if as_json:
        print(json.dumps(explanation.to_json(), indent=2), file=out)
    else:
        print(format_explanation(explanation), file=out)
    return explanation.exit_code


# -- watch ---------------------------------------------------------------------------------------

# How often `plugwiz watch` polls its sessions (output reaches the terminal within this).
WATCH_POLL_S = 0.05


def watch_command(
    project: Project,
    *,
    engine: BuildEngine,
    repo_opener: Callable[[Project], HostRepository],
    watcher: FileWatcher,
    rounds: int | None = None,
    out: TextIO | None = None,
    history_key: str = "",
) -> int:
    """Build, load-check and run `project`'s image, and again at every save of a custom
    plugin's source, until interrupted (or `rounds` rounds have ended). Prints the host's
    output as it comes, and the compile errors of a failed build. With a `history_key` (the
    project file's path, as the wizard keys it), each build and its run are kept in the build
    history, where the wizard's explorer shows them. 0 when stopped, 2 when the engine or the
    host cannot be reached."""
    from plugwiz.core.context import inspect_plugins
    from plugwiz.core.history import BuildHistory
    from plugwiz.core.plan import plan_build
    from plugwiz.core.resolve import resolve_host
    from plugwiz.core.run_session import RunSession, RunState, run_spec_for
    from plugwiz.core.session import BuildSession, BuildState
    from plugwiz.core.watch import Prepared, WatchLoop, watch_targets

    out = out or sys.stdout

    def say(text: str) -> None:
        print(f"[{datetime.now():%H:%M:%S}] {text}", file=out, flush=True)

    targets = watch_targets(project)
    if not targets:
        print(
            "error: no custom plugin source to watch (prebuilt plugins are not rebuilt): "
            "add one with `plugwiz new NAME` or --plugin PATH",
            file=out,
        )
        return EXIT_UNAVAILABLE
    try:
        engine.ping()
    except EngineError as error:
        print(f"error: {error}", file=out)
        return EXIT_UNAVAILABLE
    try:
        repo = repo_opener(project)
        host = resolve_host(project.host, repo)
    except HostRepoError as error:
        print(f"error: {error}", file=out)
        return EXIT_UNAVAILABLE

    def prepare() -> Prepared:
        resolved = ResolvedProject(project, host, inspect_plugins(project))
        plan_build(resolved)  # a project problem is said before a build starts
        settings = project.run
        spec = run_spec_for(project.tag, settings.args, settings.env, settings.ports)
        return Prepared(resolved, repo, project.tag, default_log_path(), spec, history_key)

    history = BuildHistory(cache_dir() / "history") if history_key else None
    build = BuildSession(lambda: engine, history=history)
    run = RunSession(lambda: engine)
    loop = WatchLoop(build, run, prepare)
    names = ", ".join(f"{t.name} ({t.path})" for t in targets)
    say(f"watching {names}; ctrl+c stops")
    loop.start()
    loop.watch_files(watcher, project)
    ended = 0
    build_state = build.state
    run_state = run.state
    try:
        while rounds is None or ended < rounds:
            for event in build.poll(budget_s=0.2).events:
                if isinstance(event, StepStarted):
                    title = event.title if len(event.title) <= 96 else event.title[:95] + "…"
                    print(f"    [{event.number}/{event.total}] {title}", file=out)
                elif isinstance(event, BuildFailed) and loop.active:
                    _print_failure(event, build.total, build.log_path or Path(), out)
            for line in run.poll().lines:
                print(f"  | {line}", file=out, flush=True)
            if build.state is not build_state:
                build_state = build.state
                if build_state is BuildState.SUCCEEDED:
                    say(f"built {build.tag} in {build.elapsed():.1f} s: every plugin loads")
                elif build_state in (BuildState.FAILED, BuildState.CRASHED):
                    say("the build failed" + (f": {build.message}" if build.message else ""))
                    say("waiting for a save (the host's last output is above)")
                    ended += 1
                elif build_state is BuildState.UNAVAILABLE:
                    say(f"the engine is not reachable: {build.message}")
                    ended += 1
            for message in loop.tick():
                say(message)
            if run.state is not run_state:
                run_state = run.state
                build.record_run(run)  # the build's smoke run, in the history
                if run_state is RunState.RUNNING and run.ports:
                    ports = ", ".join(f"http://{p.address}" for p in run.ports)
                    say(f"the host runs; published: {ports}")
                elif run_state is RunState.EXITED and run.exit is not None:
                    code = run.exit.exit_code
                    say(
                        f"the host exited with code {code}; waiting for a save"
                        if not run.exit.timed_out
                        else "the host was stopped at its time limit"
                    )
                    ended += 1
                elif run_state is RunState.FAILED:
                    say(f"could not run the image: {run.message}")
                    ended += 1
                elif run_state is RunState.STOPPED:
                    ended += 0  # stopped for a rebuild: the round goes on
            out.flush()
            time.sleep(WATCH_POLL_S)
    except KeyboardInterrupt:
        pass
    finally:
        loop.close()
        run.poll()
        build.poll()
    say("stopped; nothing is left running")
    return EXIT_OK


# -- serve ---------------------------------------------------------------------------------------


def is_loopback(address: str) -> bool:
    """Whether `address` is this machine only (`localhost`, 127.0.0.0/8, ::1)."""
    import ipaddress

    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def serve_command(
    wizard_argv: list[str],
    *,
    bind: str,
    port: int,
    allow_remote: bool = False,
    out: TextIO | None = None,
) -> int:
    """Serve the wizard (started with `wizard_argv`) to browsers on `bind:port` until
    interrupted; refuses an address other machines can reach unless `allow_remote`."""
    import shlex

    out = out or sys.stdout
    if not allow_remote and not is_loopback(bind):
        print(
            f"error: {bind} can be reached from other machines, and the wizard runs builds and "
            "containers here for whoever opens it: add --allow-remote to serve it there anyway",
            file=out,
        )
        return EXIT_UNAVAILABLE
    if not 0 < port < 65536:
        print(f"error: port {port} is not a TCP port (1-65535)", file=out)
        return EXIT_UNAVAILABLE
    from textual_serve.server import Server

    # One wizard process per browser tab; every word quoted (textual-serve runs it in a shell).
    command = shlex.join([sys.executable, "-m", "plugwiz.cli", *wizard_argv])
    Server(command, host=bind, port=port, title="plugwiz").serve()
    return EXIT_OK
