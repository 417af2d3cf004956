"""The BuildKit backend: builds through the docker CLI, whose progress output feeds the same
typed events as the classic builder's stream.

The Docker SDK (and the Engine API it speaks without a BuildKit session) drives only the
classic builder. BuildKit is reached through the docker CLI instead:

- `docker buildx build --load` where the buildx plugin exists (with `--builder NAME` for a
  named or remote builder: its cache is that builder's, wherever it runs);
- otherwise a docker CLI older than 23 (which has BuildKit built in) with
  `DOCKER_BUILDKIT=1 docker build`; newer CLIs hand `docker build` to buildx and fail
  without it.

The image is never tagged by the CLI: it writes the image ID to a file (`--iidfile`) and the
engine tags it only once the build succeeded, so a failed or cancelled build leaves no tag.
BuildKit's steps are not containers: a cancel (SIGINT to the CLI, which cancels the solve)
leaves nothing behind but BuildKit's cache.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import threading
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from plugwiz.core.atomic import atomic_write
from plugwiz.core.engine import EngineError
from plugwiz.core.paths import cache_dir

if TYPE_CHECKING:
    from plugwiz.core.events import BuildEvent
    from plugwiz.core.model import ResolvedProject

# How often the build loop looks at the cancel flag while the CLI is silent.
_POLL_S = 0.2
# The most the reader takes from the CLI's output at once.
_READ_BYTES = 65536
# After SIGINT, how long the CLI gets to cancel the solve before it is killed. Killing it is
# as good (the daemon sees its session go and cancels the steps: measured, their processes go
# within 0.1 s), so the grace is short: a cancel must end within a few seconds.
_CANCEL_GRACE_S = 2.0
# The CLI that ships with dockerd 20.10 (Debian's docker.io): BuildKit built in.
_LEGACY_MAX_MAJOR = 22
_PROBE_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class BuildKitCli:
    """How to run a BuildKit build: `argv` before the build's own arguments, with `env`."""

    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    description: str

    def command(self, *args: str) -> list[str]:
        """The full command line for a build with `args`."""
        return [*self.argv, *args]

    def environment(self) -> dict[str, str]:
        """The process environment for the CLI (ours plus `env`)."""
        return {**os.environ, **dict(self.env)}


class BuildKitUnavailableError(EngineError):
    """BuildKit was asked for and no docker CLI here can drive it."""


def _run(argv: list[str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _candidates() -> list[str]:
    """docker CLIs to try: PLUGWIZ_DOCKER, then `docker` on PATH, then the usual places."""
    found: list[str] = []
    for candidate in (
        os.environ.get("PLUGWIZ_DOCKER", ""),
        shutil.which("docker") or "",
        "/usr/bin/docker",
        "/usr/local/bin/docker",
    ):
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        real = os.path.realpath(candidate)
        if all(os.path.realpath(f) != real for f in found):
            found.append(candidate)
    return found


def _major(version: str) -> int | None:
    head = version.strip().lstrip("v").split(".", 1)[0]
    return int(head) if head.isdigit() else None


_found: dict[str, BuildKitCli | None] = {}
_found_lock = threading.Lock()


def find_buildkit(builder: str = "") -> BuildKitCli | None:
    """The way to build with BuildKit here (buildx first, with `builder` if given), or None.

    Probing runs a few `docker ... version` commands (~0.1 s); the answer is kept for the
    process, and on disk for as long as the docker binaries it looked at stay the same."""
    with _found_lock:
        if builder not in _found:
            key = _probe_key(builder)
            cached = _load_probe(key)
            if cached is _MISSING:
                cached = probe_buildkit(_candidates(), builder)
                _save_probe(key, cached)
            _found[builder] = cast("BuildKitCli | None", cached)
        return _found[builder]


_MISSING = object()


def _probe_key(builder: str) -> str:
    parts = [builder, os.environ.get("DOCKER_HOST", ""), os.environ.get("DOCKER_CONTEXT", "")]
    for path in _candidates():
        with contextlib.suppress(OSError):
            stat = os.stat(path)
            parts.append(f"{os.path.realpath(path)}:{stat.st_mtime_ns}:{stat.st_size}")
    return "|".join(parts)


def _probe_file() -> Path:
    return cache_dir() / "buildkit-cli.json"


def _load_probe(key: str) -> object:
    try:
        data = json.loads(_probe_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return _MISSING
    entry = data.get(key) if isinstance(data, dict) else None
    if not isinstance(entry, dict):
        return _MISSING
    if not entry.get("argv"):
        return None
    return BuildKitCli(
        tuple(str(a) for a in entry["argv"]),
        tuple((str(k), str(v)) for k, v in entry.get("env", [])),
        str(entry.get("description", "")),
    )


def _save_probe(key: str, cli: BuildKitCli | None) -> None:
    entry: dict[str, Any] = {"argv": []}
    if cli is not None:
        entry = {
            "argv": list(cli.argv),
            "env": [list(pair) for pair in cli.env],
            "description": cli.description,
        }
    with contextlib.suppress(OSError):
        path = _probe_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps({key: entry}, indent=1) + "\n")


def probe_buildkit(candidates: list[str], builder: str = "") -> BuildKitCli | None:
    """The first of the docker CLIs `candidates` that can build with BuildKit (buildx, with
    `builder` if given; else a CLI older than 23 with DOCKER_BUILDKIT=1), or None."""
    for docker in candidates:
        buildx = _run([docker, "buildx", "version"])
        if buildx is not None and buildx.returncode == 0:
            argv = [docker, "buildx", "build", "--load"]
            if builder:
                argv += ["--builder", builder]
            version = buildx.stdout.strip().split("\n", 1)[0]
            return BuildKitCli(tuple(argv), (), f"{docker} buildx build ({version})")
        if builder:
            continue  # a named builder needs buildx
        client = _run([docker, "version", "--format", "{{.Client.Version}}"])
        # The client's version is printed even when the daemon (DOCKER_HOST, a context) cannot
        # be reached and the command fails: what the CLI can do does not depend on the daemon.
        major = _major(client.stdout) if client is not None else None
        if major is not None and major <= _LEGACY_MAX_MAJOR:
            return BuildKitCli(
                (docker, "build"),
                (("DOCKER_BUILDKIT", "1"),),
                f"DOCKER_BUILDKIT=1 {docker} build (docker {client.stdout.strip()})"
                if client is not None
                else f"DOCKER_BUILDKIT=1 {docker} build",
            )
    return None


def require_buildkit(builder: str = "") -> BuildKitCli:
    """`find_buildkit`, or BuildKitUnavailableError saying what to install."""
    cli = find_buildkit(builder)
    if cli is not None:
        return cli
    if builder:
        raise BuildKitUnavailableError(
            f"the buildx builder {builder!r} needs the docker buildx plugin, and no docker CLI "
            "here has it: install it (Debian: docker-buildx), or drop --builder"
        )
    raise BuildKitUnavailableError(
        "BuildKit needs `docker buildx` or a docker CLI older than 23 (which has BuildKit built "
        "in), and neither was found: install the buildx plugin (Debian: docker-buildx), set "
        "PLUGWIZ_DOCKER to such a docker, or build with --backend classic"
    )


def _stop(process: subprocess.Popen[Any]) -> None:
    """Cancel the CLI as Ctrl-C would (it cancels the solve), then kill it if it lingers
    (the daemon cancels a build whose client has gone)."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=_CANCEL_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@dataclass
class BuildKitRun:
    """The outcome of one CLI build: `outcome` is finished, failed, cancelled or running (the
    consumer stopped early); `image_id` is set when it finished."""

    outcome: str = "running"
    image_id: str = ""
    exit_code: int | None = None
    # (plugin path in the builder, Go's message) for each plugin the load check refused.
    loadcheck_failures: tuple[tuple[str, str], ...] = ()


def run_buildkit_build(
    cli: BuildKitCli,
    resolved: ResolvedProject,
    dockerfile: str,
    context: IO[bytes],
    *,
    args: list[str],
    iidfile: Path,
    log: Any,
    cancel: threading.Event,
    result: BuildKitRun,
) -> Generator[BuildEvent, None, None]:
    """Run one BuildKit build of `context` (a tar holding `dockerfile`) and yield its events.

    `result` says how it ended; the caller tags the image. Closing the generator or setting
    `cancel` stops the CLI (and so the build) before it returns.
    """
    # Imported here: `render` and `context` import this module only for `find_buildkit`, and
    # the progress parser (with the build events it makes) was four fifths of its import.
    from plugwiz.core.buildkit_events import BuildKitProgressParser

    parser = BuildKitProgressParser(resolved, dockerfile)
    command = cli.command("--progress=plain", "--iidfile", str(iidfile), *args, "-")
    log.write(f"# {cli.description}\n")
    log.flush()
    try:
        process = subprocess.Popen(
            command,
            stdin=context,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=cli.environment(),
            start_new_session=True,  # its own group: a Ctrl-C in our terminal is ours to pass
        )
    except OSError as error:
        raise BuildKitUnavailableError(f"cannot run {command[0]}: {error}") from None
    blocks: queue.Queue[Any] = queue.Queue()
    done = object()

    def reader() -> None:
        # Whole lines of what each read got: in a flood a read holds hundreds, and they go
        # to the parser (and on to the screen) together.
        assert process.stdout is not None
        output = process.stdout.fileno()
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        partial = ""
        try:
            while block := os.read(output, _READ_BYTES):  # what is there, once there is some
                *complete, partial = (partial + decoder.decode(block)).split("\n")
                if complete:
                    blocks.put(complete)
            partial += decoder.decode(b"", final=True)
            if partial:
                blocks.put([partial])
        finally:
            blocks.put(done)

    thread = threading.Thread(target=reader, name="plugwiz-buildkit", daemon=True)
    thread.start()
    try:
        while True:
            if cancel.is_set():
                result.outcome = "cancelled"
                break
            try:
                item = blocks.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if item is done:
                break
            log.write("\n".join(item) + "\n")
            log.flush()
            for event in parser.feed_lines(item):
                if parser.failed:
                    result.outcome = "failed"
                    result.loadcheck_failures = parser.loadcheck_failures
                yield event
        if result.outcome == "running":
            result.exit_code = process.wait()
            for event in parser.finish(result.exit_code):
                result.outcome = "failed"
                yield event
            if result.outcome == "running":
                image_id = _read_iid(iidfile)
                if result.exit_code == 0 and image_id:
                    result.outcome, result.image_id = "finished", image_id
                else:
                    result.outcome = "failed"
    finally:
        _stop(process)
        thread.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


def _read_iid(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(encoding="utf-8").strip()
    return ""


__all__ = [
    "BuildKitCli",
    "BuildKitRun",
    "BuildKitUnavailableError",
    "find_buildkit",
    "probe_buildkit",
    "require_buildkit",
    "run_buildkit_build",
]
