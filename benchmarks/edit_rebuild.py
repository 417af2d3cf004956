"""Build-time benchmark: plugwiz's Dockerfile against a seed-style one, on the same daemon.

Two hosts, two backends, interleaved (plugwiz, seed, plugwiz, seed...), median of N runs:

- hosts: `heavyhost` (benchmarks/fixtures/heavyhost: net/http, encoding/json, text/template,
  crypto/tls, internal packages, main in cmd/, two bundled plugins) and `realhost`
  (benchmarks/realhost.py: a `go 1.12` module with a vendor/ of five third-party-like
  modules, about 58,000 lines, main in main/, two bundled `.prov` plugins, config and static
  files); each with two custom plugins.
- backends: `classic` (the daemon's classic builder, through the API) and `buildkit` (the
  docker CLI with BuildKit); the seed-style Dockerfile is built with the same backend.

Measured, for each host and backend:

- cold: no cache at all (`nocache` / `--no-cache`, and for BuildKit a Go cache mount of a new
  name) for both layouts;
- new commit: the first plugwiz build of a new host commit (one exported function added to a
  host package), the builder's cache warm (earlier commits built), through the real engine;
  compared with the seed-style cold build, as the issue's target is;
- edit: a build after changing one line of one custom plugin, plugwiz through the real engine
  (`DockerEngine.build`: context, events, tagging), the seed through the same backend;
- floor: in a container made from plugwiz's classic `plugin-1` stage (whose Go build cache is
  warm), `go build -buildmode=plugin` of the plugin after the same one-line change.

The seed-style Dockerfile follows the reference (../shared/reference): copy the plugin files
into the host tree, then ONE `RUN` that builds host, bundled plugins and custom plugins (the
custom ones with `-ldflags="-s -w"`, as the reference does), no other flags (no `-trimpath`;
`-mod=vendor` where the host's own Makefile passes it). The reference clones the host inside
the build; no git server is reachable here, so the host tree is COPYed instead (a clone is
cached the same way).

Usage: python benchmarks/edit_rebuild.py [--runs N] [--hosts heavyhost,realhost]
                                         [--backends classic,buildkit] [--steps] [--quick]
(--quick, the CI smoke test: heavyhost, classic, one plugwiz build that may use the cache, one
rebuild and the floor; no seed-style builds, so no ratios).
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    BUILDER_IMAGE,
    FIXTURES,
    RUNTIME_IMAGE,
    ImageJanitor,
    commit_all,
    fmt_s,
    make_git_repo,
    median,
    say,
)
from benchmarks.realhost import (  # noqa: E402
    CONFIG_TARGET,
    plugin_source,
    write_realhost,
)

_LAYER_RE = re.compile(r"^ ---> ([0-9a-f]{12,64})$")
_STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_BK_HEADER_RE = re.compile(r"^#(\d+) \[([^\]]+)\] (.*)$")
_BK_DONE_RE = re.compile(r"^#(\d+) DONE (\d+(?:\.\d+)?)s$")

# The targets, by backend.
TARGETS: dict[str, dict[str, float | None]] = {
    "classic": {"cold": 1.0, "commit": 0.6, "edit": 0.10, "floor": 2.0},
    "buildkit": {"cold": 0.8, "commit": 0.4, "edit": None, "floor": 1.5},
}


@dataclass
class Timed:
    """One build: wall seconds, per-step seconds, and the image IDs it printed."""

    seconds: float
    steps: list[tuple[str, float]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    image_id: str = ""


@dataclass(frozen=True)
class HostSpec:
    """A benchmark host: how to write it, build it by hand (seed) and change it."""

    name: str
    write: Callable[[Path], None]
    main: str
    bundled: tuple[str, ...]
    custom: tuple[str, ...]
    write_plugin: Callable[[Path, str], None]  # (directory, name): writes NAME.go there
    commit_file: str  # a host file a "new commit" adds a function to
    extension: str = ".so"
    goflags: str = ""  # what the host's own build passes (the seed uses it too)
    extra_args: tuple[str, ...] = ()
    files: tuple[tuple[str, str], ...] = ()  # (source, target); "host:PATH" from the tree


def _copy_fixture_plugin(directory: Path, name: str) -> None:
    shutil.copy(FIXTURES / "plugins" / name / f"{name}.go", directory / f"{name}.go")


def _write_real_plugin(directory: Path, name: str) -> None:
    std = ("net/http",) if name == "notify" else ()
    (directory / f"{name}.go").write_text(plugin_source(name, f"{name}-0", (), std))


HOSTS = {
    "heavyhost": HostSpec(
        name="heavyhost",
        write=lambda dest: None if shutil.copytree(FIXTURES / "heavyhost", dest) else None,
        main="./cmd/heavyhost",
        bundled=("plugins/jsonfmt", "plugins/tmplfmt"),
        custom=("stamp", "headers"),
        write_plugin=_copy_fixture_plugin,
        commit_file="internal/api/api.go",
    ),
    "realhost": HostSpec(
        name="realhost",
        write=write_realhost,
        main="./main",
        bundled=("plugins/webhook", "plugins/audit"),
        custom=("stamp", "notify"),
        write_plugin=_write_real_plugin,
        commit_file="internal/api/doc.go",
        extension=".prov",
        goflags="-mod=vendor",
        extra_args=("--config", CONFIG_TARGET),
        files=(("host:config.sample.json", CONFIG_TARGET), ("host:static", "/app/static")),
    ),
}
EDITED = "stamp"  # the custom plugin whose one line changes


def _step_durations(marks: list[tuple[float, str]], end: float) -> list[tuple[str, float]]:
    return [
        (title, (marks[i + 1][0] if i + 1 < len(marks) else end) - at)
        for i, (at, title) in enumerate(marks)
    ]


def buildkit_step_durations(log: str) -> list[tuple[str, float]]:
    """Per-step seconds from BuildKit's plain progress (`#N [stage k/n] TITLE` ... `#N DONE
    1.2s`); steps run in parallel, so these add up to more than the wall time."""
    titles: dict[str, str] = {}
    steps: list[tuple[str, float]] = []
    for line in log.splitlines():
        header = _BK_HEADER_RE.match(line)
        if header and header.group(1) not in titles:
            titles[header.group(1)] = f"[{header.group(2)}] {header.group(3)}"
            continue
        done = _BK_DONE_RE.match(line)
        if done and done.group(1) in titles:
            steps.append((titles[done.group(1)], float(done.group(2))))
    return steps


def low_level_build(api: Any, context: bytes, tag: str, *, nocache: bool) -> Timed:
    """Build a context tar with the classic builder; raise RuntimeError on a build error."""
    started = time.monotonic()
    marks: list[tuple[float, str]] = []
    ids: list[str] = []
    image_id = ""
    pending = ""
    for chunk in api.build(
        fileobj=io.BytesIO(context),
        custom_context=True,
        tag=tag,
        nocache=nocache,
        rm=True,
        forcerm=True,
        pull=False,
        decode=True,
    ):
        if "error" in chunk:
            raise RuntimeError(f"build of {tag} failed: {chunk['error']}")
        if "aux" in chunk and isinstance(chunk["aux"], dict):
            image_id = chunk["aux"].get("ID", image_id)
        text = chunk.get("stream")
        if not isinstance(text, str):
            continue
        pending += text
        *lines, pending = pending.split("\n")
        for line in lines:
            step = _STEP_RE.match(line)
            if step:
                marks.append((time.monotonic() - started, step.group(3)))
            layer = _LAYER_RE.match(line)
            if layer:
                ids.append(layer.group(1))
    seconds = time.monotonic() - started
    return Timed(seconds, _step_durations(marks, seconds), ids, image_id)


def buildkit_build(context: bytes, *, nocache: bool) -> Timed:
    """Build a context tar with BuildKit through the docker CLI (untagged; its image ID)."""
    from plugwiz.adapters.buildkit import require_buildkit

    cli = require_buildkit()
    with tempfile.TemporaryDirectory(prefix="plugwiz-bench-bk-") as scratch:
        iid = Path(scratch) / "iid"
        args = ["--progress=plain", "--iidfile", str(iid), *(["--no-cache"] if nocache else [])]
        started = time.monotonic()
        done = subprocess.run(
            cli.command(*args, "-"),
            input=context,
            capture_output=True,
            env=cli.environment(),
            check=False,
        )
        seconds = time.monotonic() - started
        log = done.stdout.decode("utf-8", "replace") + done.stderr.decode("utf-8", "replace")
        if done.returncode != 0 or not iid.exists():
            raise RuntimeError(f"BuildKit build failed:\n{log[-3000:]}")
        image_id = iid.read_text().strip()
    return Timed(seconds, buildkit_step_durations(log), [image_id], image_id)


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def seed_dockerfile(spec: HostSpec) -> str:
    """The reference's layout for `spec`: copy plugins into the tree, then one RUN builds all."""
    name, ext = spec.name, spec.extension
    flags = f"{spec.goflags} " if spec.goflags else ""
    bundled = " && ".join(
        f"go build {flags}-buildmode=plugin -o {Path(p).name}{ext} ./{p}" for p in spec.bundled
    )
    custom = " && ".join(
        f'go build {flags}-ldflags="-s -w" -buildmode=plugin -o {n}{ext} bundled_plugins/{n}/{n}.go'
        for n in spec.custom
    )
    copies = "\n".join(
        f"COPY plugins/{n}.go ./{name}/bundled_plugins/{n}/{n}.go" for n in spec.custom
    )
    outputs = [f"{Path(p).name}{ext}" for p in spec.bundled] + [f"{n}{ext}" for n in spec.custom]
    cmd = ", ".join(
        [f'"./{name}"', *(f'"{a}"' for a in spec.extra_args)]
        + [f'"--prov", "{so}"' for so in outputs]
    )
    extra = "".join(
        f"COPY --from=builder /src/{name}/{source.removeprefix('host:')} {target}\n"
        for source, target in spec.files
    )
    return (
        f"FROM {BUILDER_IMAGE} AS builder\n"
        "WORKDIR /src/\n"
        "# The reference clones the host here; offline, the same tree is copied in.\n"
        f"COPY host/ ./{name}/\n"
        f"RUN mkdir -p {' '.join(f'{name}/bundled_plugins/{n}' for n in spec.custom)}\n"
        f"{copies}\n"
        "ENV CGO_ENABLED=1 GOOS=linux\n"
        f"RUN cd {name} && go build {flags}-o {name} {spec.main} && {bundled} && {custom}\n"
        "\n"
        f"FROM {RUNTIME_IMAGE} AS deploy\n"
        "WORKDIR /app/\n"
        f"COPY --from=builder /src/{name}/{name} "
        + " ".join(f"/src/{name}/{out}" for out in outputs)
        + " ./\n"
        + extra
        + f"CMD [{cmd}]\n"
    )


def seed_context(spec: HostSpec, host_dir: Path, plugins_dir: Path) -> bytes:
    """The seed layout's build context: its Dockerfile, the host tree and the plugin files."""
    files = {"Dockerfile": seed_dockerfile(spec).encode()}
    for path in sorted(host_dir.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(host_dir).parts:
            files[f"host/{path.relative_to(host_dir).as_posix()}"] = path.read_bytes()
    for name in spec.custom:
        files[f"plugins/{name}.go"] = (plugins_dir / f"{name}.go").read_bytes()
    return _tar(files)


def edit_plugin(plugins_dir: Path, value: str) -> None:
    """Change one line of the edited plugin (its Stamp constant)."""
    path = plugins_dir / f"{EDITED}.go"
    text = re.sub(r'const Stamp = "[^"]*"', f'const Stamp = "{value}"', path.read_text())
    path.write_text(text)


class Bench:
    """One host's repository, the plugwiz project and both layouts' builds."""

    def __init__(
        self,
        work: Path,
        janitor: ImageJanitor,
        engine: Any,
        spec: HostSpec | None = None,
        backend: str = "classic",
    ) -> None:
        from plugwiz.core.model import (
            BuildSettings,
            ExtraFile,
            Host,
            Images,
            PluginLoading,
            PluginSource,
            Project,
        )

        self.spec = spec = spec or HOSTS["heavyhost"]
        self.work = work / spec.name
        self.work.mkdir(parents=True)
        self.janitor = janitor
        self.engine = engine
        self.api = engine.client.api
        self.host_dir = self.work / spec.name
        spec.write(self.host_dir)
        make_git_repo(None, self.host_dir)
        self.plugins_dir = self.work / "plugins"
        self.plugins_dir.mkdir()
        for name in spec.custom:
            spec.write_plugin(self.plugins_dir, name)
        self.run_id = uuid.uuid4().hex[:10]
        self.project = Project(
            host=Host(repo=str(self.host_dir), ref="main", main_package=spec.main),
            plugins=tuple(
                PluginSource(source=str(self.plugins_dir / f"{n}.go")) for n in spec.custom
            ),
            images=Images(builder=BUILDER_IMAGE, runtime=RUNTIME_IMAGE),
            loading=PluginLoading(extension=spec.extension, extra_args=spec.extra_args),
            files=tuple(ExtraFile(source, target) for source, target in spec.files),
            tag=f"plugwiz-bench-{self.run_id}:plugwiz",
            build=BuildSettings(backend=backend),
            base_dir=self.work,
        )
        self.plugwiz_tag = self.project.tag
        self.seed_tag = f"plugwiz-bench-{self.run_id}:seed"
        janitor.add_tag(self.plugwiz_tag)
        janitor.add_tag(self.seed_tag)
        self.edits = 0
        self.commits = 0
        self.cache_id = f"plugwiz-bench-{self.run_id}"
        self._resolve()

    def _resolve(self) -> None:
        from plugwiz.service import open_repo, resolve

        self.resolved = resolve(self.project)
        self.repo = open_repo(self.project)

    def set_backend(self, backend: str) -> None:
        """Build through `backend` from now on (the project's `build.backend`)."""
        self.project = replace(self.project, build=replace(self.project.build, backend=backend))
        self._resolve()

    @property
    def backend(self) -> str:
        return self.project.build.backend

    def plugwiz_context(self, *, buildkit: bool = False) -> bytes:
        """plugwiz's build context (with its Dockerfile) for the current sources."""
        from plugwiz.core.context import write_context

        buffer = io.BytesIO()
        write_context(self.resolved, self.repo, buffer, buildkit=buildkit, cache_id=self.cache_id)
        return buffer.getvalue()

    def _build(self, context: bytes, tag: str, *, nocache: bool) -> Timed:
        if self.backend == "buildkit":
            timed = buildkit_build(context, nocache=nocache)
            self.api.tag(timed.image_id, *tag.rsplit(":", 1), force=True)
        else:
            timed = low_level_build(self.api, context, tag, nocache=nocache)
        self.janitor.add_ids(timed.ids)
        return timed

    def cold_plugwiz(self) -> Timed:
        """A build of plugwiz's Dockerfile with no cache at all (BuildKit: a new Go cache)."""
        if self.backend == "buildkit":
            self.cache_id = f"plugwiz-bench-{uuid.uuid4().hex[:12]}"
        buildkit = self.backend == "buildkit"
        return self._build(self.plugwiz_context(buildkit=buildkit), self.plugwiz_tag, nocache=True)

    def cold_seed(self) -> Timed:
        """A no-cache build of the seed-style Dockerfile."""
        context = seed_context(self.spec, self.host_dir, self.plugins_dir)
        return self._build(context, self.seed_tag, nocache=True)

    def new_commit(self) -> None:
        """A new host commit: one exported function added to a host package."""
        self.commits += 1
        path = self.host_dir / self.spec.commit_file
        path.write_text(
            path.read_text()
            + f"\n// BenchCommit{self.commits} is what commit {self.commits} added.\n"
            f"func BenchCommit{self.commits}() int {{ return {self.commits} }}\n"
        )
        commit_all(self.host_dir, f"benchmark commit {self.commits}")
        self._resolve()

    def edit(self) -> None:
        """The one-line plugin change both layouts' next rebuilds see."""
        self.edits += 1
        edit_plugin(self.plugins_dir, f"stamp-{self.run_id}-{self.edits}")

    def build_plugwiz(self) -> Timed:
        """plugwiz's build through the real engine, as `plugwiz build` runs it."""
        from plugwiz.core.events import BuildFailed, BuildFinished, StepStarted

        self.engine.cache_id = self.cache_id
        started = time.monotonic()
        marks: list[tuple[float, str]] = []
        image_id = ""
        log = self.work / "build.log"
        for event in self.engine.build(
            self.resolved, self.repo, tag=self.plugwiz_tag, log_path=log
        ):
            if isinstance(event, StepStarted):
                marks.append((time.monotonic() - started, event.title))
            elif isinstance(event, BuildFailed):
                raise RuntimeError(f"plugwiz build failed: {event.title}: {event.message}")
            elif isinstance(event, BuildFinished):
                image_id = event.image_id
        seconds = time.monotonic() - started
        ids = list(self.engine.last_build_images)
        self.janitor.add_ids(ids)
        steps = (
            buildkit_step_durations(log.read_text())
            if self.backend == "buildkit"
            else _step_durations(marks, seconds)
        )
        return Timed(seconds, steps, ids, image_id)

    rebuild_plugwiz = build_plugwiz

    def rebuild_seed(self) -> Timed:
        """The seed layout's rebuild (its cache holds up to the plugin COPY)."""
        context = seed_context(self.spec, self.host_dir, self.plugins_dir)
        return self._build(context, self.seed_tag, nocache=False)

    def stage_image(self, stage: str = "plugin-1") -> str:
        """The image of a stage of plugwiz's classic Dockerfile, as last built (classic)."""
        from plugwiz.core.render import render_dockerfile

        # A stage's image is the layer after its last step: replay a cached low-level build
        # (instant once built) and read the layer ID printed after each step.
        dockerfile = render_dockerfile(self.resolved)
        steps = [line for line in dockerfile.splitlines() if re.match(r"^[A-Z]+ ", line)]
        start = next(i for i, s in enumerate(steps) if s.endswith(f" AS {stage}"))
        end = next(
            (i for i in range(start + 1, len(steps)) if steps[i].startswith("FROM ")), len(steps)
        )
        timed = low_level_build(self.api, self.plugwiz_context(), self.plugwiz_tag, nocache=False)
        self.janitor.add_ids(timed.ids)
        # One " ---> ID" per step (cached steps print "Using cache" then the ID).
        return timed.ids[end - 1]

    def floor(self, stage_image: str) -> float:
        """`go build -buildmode=plugin` of the edited plugin after a one-line change, warm."""
        plugin_dir = f"./plugwiz_plugins/{EDITED}"
        build = f"go build -buildmode=plugin -o /tmp/{EDITED}.so {plugin_dir}"
        script = (
            f"{build} && "
            f"sed -i 's/const Stamp = .*/const Stamp = \"floor-{uuid.uuid4().hex[:8]}\"/' "
            f"{plugin_dir}/{EDITED}.go && "
            "a=$(date +%s.%N) && "
            f"{build} && "
            "b=$(date +%s.%N) && echo FLOOR $a $b"
        )
        container = self.api.create_container(
            stage_image, command=["sh", "-c", script], network_disabled=True
        )
        try:
            self.api.start(container["Id"])
            status = self.api.wait(container["Id"], timeout=600)["StatusCode"]
            output = self.api.logs(container["Id"]).decode("utf-8", "replace")
        finally:
            self.api.remove_container(container["Id"], force=True)
        match = re.search(r"FLOOR (\S+) (\S+)", output)
        if status != 0 or not match:
            raise RuntimeError(f"floor build failed: {output[-2000:]}")
        return float(match.group(2)) - float(match.group(1))


def _print_steps(label: str, timed: Timed) -> None:
    say(f"      {label} steps (s):")
    for title, seconds in timed.steps:
        if seconds >= 0.3:
            say(f"        {seconds:6.2f}  {title[:100]}")


def _measure(results: dict[str, list[float]], key: str, timed: Timed, steps: bool) -> None:
    results.setdefault(key, []).append(timed.seconds)
    say(f"    {key:<34} {fmt_s(timed.seconds)}")
    if steps:
        _print_steps(key, timed)


def _ratio_row(label: str, ours: float, theirs: float, target: float | None) -> tuple[str, bool]:
    ratio = ours / theirs
    met = target is None or ratio <= target
    goal = f"<= {target} {'met' if met else 'NOT met'}" if target is not None else ""
    return f"| {label} | {ours:.2f} s / {theirs:.2f} s = **{ratio:.2f}** | {goal} |", met


def report(host: str, backend: str, m: dict[str, float], floor_s: float) -> tuple[list[str], bool]:
    """Markdown rows (and whether every target was met) for one host and backend."""
    targets = TARGETS[backend]
    rows: list[str] = []
    ok = True
    if "cold_seed" in m:
        row, met = _ratio_row(
            "cold, plugwiz / seed", m["cold_plugwiz"], m["cold_seed"], targets["cold"]
        )
        rows.append(row)
        ok &= met
        row, met = _ratio_row(
            "new host commit, plugwiz / seed cold",
            m["commit_plugwiz"],
            m["cold_seed"],
            targets["commit"],
        )
        rows.append(row)
        ok &= met
        row, met = _ratio_row(
            "one-line plugin edit, plugwiz / seed",
            m["edit_plugwiz"],
            m["edit_seed"],
            targets["edit"],
        )
        rows.append(row)
        ok &= met
    else:
        rows.append(f"| one-line plugin edit | {m['edit_plugwiz']:.2f} s | |")
    over = m["edit_plugwiz"] - floor_s
    met = over <= float(targets["floor"] or 0)
    ok &= met
    rows.append(
        f"| edit minus the floor ({floor_s:.2f} s) | **{over:.2f} s** | "
        f"<= {targets['floor']} s {'met' if met else 'NOT met'} |"
    )
    return [f"| **{host}, {backend}** | | |", *rows], ok


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; 0 when every target is met."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement")
    parser.add_argument("--hosts", default="heavyhost,realhost", help="comma-separated hosts")
    parser.add_argument("--backends", default="classic,buildkit", help="comma-separated")
    parser.add_argument("--quick", action="store_true", help="CI smoke: plugwiz only, 1 run")
    parser.add_argument("--steps", action="store_true", help="print per-step times")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else max(1, args.runs)
    hosts = ["heavyhost"] if args.quick else args.hosts.split(",")
    backends = ["classic"] if args.quick else args.backends.split(",")
    for name in hosts:
        if name not in HOSTS:
            parser.error(f"unknown host {name!r} (known: {', '.join(HOSTS)})")
    for backend in backends:
        if backend not in TARGETS:
            parser.error(f"unknown backend {backend!r} (classic, buildkit)")

    from plugwiz.adapters.docker_engine import DockerEngine

    engine = DockerEngine()
    engine.ping()
    janitor = ImageJanitor(engine.client.api)
    caches_before = buildkit_cache_ids()
    work = Path(tempfile.mkdtemp(prefix="plugwiz-bench-"))
    results: dict[tuple[str, str], dict[str, list[float]]] = {}
    floors: dict[str, list[float]] = {}
    started = time.monotonic()
    try:
        benches = {name: Bench(work, janitor, engine, HOSTS[name]) for name in hosts}
        say(
            f"build times: {', '.join(hosts)} x {', '.join(backends)}, {runs} run(s) each, "
            "interleaved (plugwiz, seed, ...)"
        )
        for run in range(1, runs + 1):
            for name, bench in benches.items():
                for backend in backends:
                    bench.set_backend(backend)
                    say(f"  run {run}: {name}, {backend}")
                    got = results.setdefault((name, backend), {})
                    if args.quick:
                        bench.build_plugwiz()  # may be cached from an earlier run
                    else:
                        _measure(got, "cold_plugwiz", bench.cold_plugwiz(), args.steps)
                        _measure(got, "cold_seed", bench.cold_seed(), args.steps)
                        bench.new_commit()
                        _measure(got, "commit_plugwiz", bench.build_plugwiz(), args.steps)
                    bench.edit()
                    _measure(got, "edit_plugwiz", bench.build_plugwiz(), args.steps)
                    if not args.quick:
                        _measure(got, "edit_seed", bench.rebuild_seed(), args.steps)
                bench.set_backend("classic")
                floor = bench.floor(bench.stage_image("plugin-1"))
                floors.setdefault(name, []).append(floor)
                say(f"    floor (warm go build of the plugin) {fmt_s(floor)}")
    finally:
        left = janitor.cleanup()
        prune_buildkit_caches(caches_before)
        shutil.rmtree(work, ignore_errors=True)
        if left:
            say(f"  note: {left} image(s) still used by other builds were left")

    ok = True
    say("")
    say("| host, backend: measurement | median | target |")
    say("|---|---|---|")
    for (name, backend), got in results.items():
        medians = {key: median(values) for key, values in got.items()}
        rows, met = report(name, backend, medians, median(floors[name]))
        ok &= met
        for row in rows:
            say(row)
    if args.quick:
        m = results[(hosts[0], backends[0])]
        say(f"{'rebuild after 1-line edit':<34}{median(m['edit_plugwiz']):>9.2f}s")
        say(f"{'floor: warm go build of the plugin':<34}{median(floors[hosts[0]]):>9.2f}s")
    say(f"(edit_rebuild took {time.monotonic() - started:.0f} s)")
    return 0 if ok else 1


def buildkit_cache_ids() -> set[str] | None:
    """The IDs of BuildKit's cache records now (None when BuildKit cannot be asked)."""
    from plugwiz.adapters.buildkit import find_buildkit

    cli = find_buildkit()
    if cli is None:
        return None
    done = subprocess.run(
        [cli.argv[0], "system", "df", "-v", "--format", "{{json .BuildCache}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    ids = set(re.findall(r'"ID":"([^"]+)"', done.stdout))
    return ids if done.returncode == 0 else None


def prune_buildkit_caches(before: set[str] | None) -> None:
    """Remove the Go cache mounts this run made (cold builds use a new one each time):
    BuildKit cache records of type exec.cachemount that did not exist before."""
    if before is None:
        return
    from plugwiz.adapters.buildkit import find_buildkit

    cli = find_buildkit()
    if cli is None:
        return
    done = subprocess.run(
        [cli.argv[0], "system", "df", "-v", "--format", "{{json .BuildCache}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    records = re.findall(r'\{[^{}]*"ID":"([^"]+)"[^{}]*"CacheType":"exec.cachemount"', done.stdout)
    for record in records:
        if record not in before:
            subprocess.run(
                [cli.argv[0], "builder", "prune", "--force", "--filter", f"id={record}"],
                capture_output=True,
                check=False,
            )


if __name__ == "__main__":
    sys.exit(main())
