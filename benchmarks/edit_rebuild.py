"""Edit-rebuild benchmark: plugwiz's Dockerfile against a seed-style one, on the same daemon.

The host is `benchmarks/fixtures/heavyhost` (net/http, encoding/json, text/template, crypto/tls,
internal packages, main in cmd/, two bundled plugins) with two custom plugins. For each layout,
interleaved (plugwiz, seed, plugwiz, seed, ...), median of N runs:

- cold: a no-cache build (`nocache=True` on the low-level build, for both layouts);
- rebuild: a build after changing one line of one custom plugin. plugwiz's goes through the
  real engine (`DockerEngine.build`: context, stream parsing, retag), the seed's through the
  low-level build of its Dockerfile.

The seed-style Dockerfile follows the reference (../shared/reference): copy the plugin files into
the host tree, then ONE `RUN` that builds host, bundled plugins and custom plugins; same base
image and the same `-trimpath`. The reference clones the host inside the build; no registry or
git server is reachable here, so the host tree is COPYed instead (a clone would be cached the
same way, so the rebuild comparison does not change).

The floor: in a container made from plugwiz's `plugin-1` stage (whose Go build cache is warm),
`go build -buildmode=plugin` of the plugin after the same one-line change.

Usage: python benchmarks/edit_rebuild.py [--runs N] [--steps] [--quick]
(--quick, the CI smoke test: one plugwiz build that may use the cache, one rebuild and the
floor; no seed-style builds, so no ratios).
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import sys
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    BUILDER_IMAGE,
    FIXTURES,
    RUNTIME_IMAGE,
    ImageJanitor,
    fmt_s,
    make_git_repo,
    median,
    say,
)

HOST_MAIN = "./cmd/heavyhost"
BUNDLED = ("plugins/jsonfmt", "plugins/tmplfmt")
CUSTOM = ("stamp", "headers")
EDITED = "stamp"  # the custom plugin whose one line changes
_LAYER_RE = re.compile(r"^ ---> ([0-9a-f]{12,64})$")
_STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")

TARGET_REBUILD_RATIO = 0.15
TARGET_COLD_RATIO = 1.05
TARGET_FLOOR_MARGIN_S = 3.0


@dataclass
class Timed:
    """One build: wall seconds, per-step seconds, and the image IDs it printed."""

    seconds: float
    steps: list[tuple[str, float]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    image_id: str = ""


def _step_durations(marks: list[tuple[float, str]], end: float) -> list[tuple[str, float]]:
    return [
        (title, (marks[i + 1][0] if i + 1 < len(marks) else end) - at)
        for i, (at, title) in enumerate(marks)
    ]


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


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def seed_dockerfile() -> str:
    """The reference's layout for the heavy host: copy plugins in, then one RUN builds all."""
    bundled = " && ".join(f"go build -buildmode=plugin -o {Path(p).name}.so ./{p}" for p in BUNDLED)
    custom = " && ".join(
        f"go build -buildmode=plugin -o {name}.so ./bundled_plugins/{name}" for name in CUSTOM
    )
    copies = "\n".join(
        f"COPY plugins/{name}.go ./heavyhost/bundled_plugins/{name}/{name}.go" for name in CUSTOM
    )
    sos = [f"{Path(p).name}.so" for p in BUNDLED] + [f"{n}.so" for n in CUSTOM]
    cmd = ", ".join(['"./heavyhost"'] + [f'"--prov", "{so}"' for so in sos])
    return (
        f"FROM {BUILDER_IMAGE} AS builder\n"
        "WORKDIR /src/\n"
        "# The reference clones the host here; offline, the same tree is copied in.\n"
        "COPY host/ ./heavyhost/\n"
        f"RUN mkdir -p {' '.join(f'heavyhost/bundled_plugins/{n}' for n in CUSTOM)}\n"
        f"{copies}\n"
        'ENV CGO_ENABLED=1 GOOS=linux GOFLAGS="-trimpath"\n'
        f"RUN cd heavyhost && go build -o heavyhost {HOST_MAIN} && {bundled} && {custom}\n"
        "\n"
        f"FROM {RUNTIME_IMAGE} AS deploy\n"
        "WORKDIR /app/\n"
        f"COPY --from=builder /src/heavyhost/heavyhost "
        + " ".join(f"/src/heavyhost/{so}" for so in sos)
        + " ./\n"
        f"CMD [{cmd}]\n"
    )


def seed_context(host_dir: Path, plugins_dir: Path) -> bytes:
    """The seed layout's build context: its Dockerfile, the host tree and the plugin files."""
    files = {"Dockerfile": seed_dockerfile().encode()}
    for path in sorted(host_dir.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(host_dir).parts:
            files[f"host/{path.relative_to(host_dir).as_posix()}"] = path.read_bytes()
    for name in CUSTOM:
        files[f"plugins/{name}.go"] = (plugins_dir / f"{name}.go").read_bytes()
    return _tar(files)


def edit_plugin(plugins_dir: Path, value: str) -> None:
    """Change one line of the edited plugin (its Stamp constant)."""
    path = plugins_dir / f"{EDITED}.go"
    text = re.sub(r'const Stamp = "[^"]*"', f'const Stamp = "{value}"', path.read_text())
    path.write_text(text)


class Bench:
    """The fixture repository, the plugwiz project and the two layouts' builds."""

    def __init__(self, work: Path, janitor: ImageJanitor, engine: Any) -> None:
        from plugwiz.core.model import Host, Images, PluginSource, Project
        from plugwiz.service import open_repo, resolve

        self.work = work
        self.janitor = janitor
        self.engine = engine
        self.api = engine.client.api
        self.host_dir = work / "heavyhost"
        make_git_repo(FIXTURES / "heavyhost", self.host_dir)
        self.plugins_dir = work / "plugins"
        self.plugins_dir.mkdir()
        for name in CUSTOM:
            shutil.copy(FIXTURES / "plugins" / name / f"{name}.go", self.plugins_dir)
        self.run_id = uuid.uuid4().hex[:10]
        project = Project(
            host=Host(repo=str(self.host_dir), ref="main", main_package=HOST_MAIN),
            plugins=tuple(PluginSource(source=str(self.plugins_dir / f"{n}.go")) for n in CUSTOM),
            images=Images(builder=BUILDER_IMAGE, runtime=RUNTIME_IMAGE),
            tag=f"plugwiz-bench-{self.run_id}:plugwiz",
            base_dir=work,
        )
        self.project = resolve(project)
        self.repo = open_repo(project)
        self.plugwiz_tag = project.tag
        self.seed_tag = f"plugwiz-bench-{self.run_id}:seed"
        janitor.add_tag(self.plugwiz_tag)
        janitor.add_tag(self.seed_tag)
        self.edits = 0

    def plugwiz_context(self) -> bytes:
        """plugwiz's build context (with its Dockerfile) for the current plugin sources."""
        from plugwiz.core.context import write_context

        buffer = io.BytesIO()
        write_context(self.project, self.repo, buffer)
        return buffer.getvalue()

    def cold_plugwiz(self) -> Timed:
        """A no-cache build of plugwiz's Dockerfile."""
        timed = low_level_build(self.api, self.plugwiz_context(), self.plugwiz_tag, nocache=True)
        self.janitor.add_ids(timed.ids)
        return timed

    def cold_seed(self) -> Timed:
        """A no-cache build of the seed-style Dockerfile."""
        context = seed_context(self.host_dir, self.plugins_dir)
        timed = low_level_build(self.api, context, self.seed_tag, nocache=True)
        self.janitor.add_ids(timed.ids)
        return timed

    def edit(self) -> None:
        """The one-line plugin change both layouts' next rebuilds see."""
        self.edits += 1
        edit_plugin(self.plugins_dir, f"stamp-{self.run_id}-{self.edits}")

    def rebuild_plugwiz(self) -> Timed:
        """plugwiz's rebuild through the real engine, as `plugwiz build` runs it."""
        from plugwiz.core.events import BuildFailed, BuildFinished, StepStarted

        started = time.monotonic()
        marks: list[tuple[float, str]] = []
        image_id = ""
        for event in self.engine.build(
            self.project, self.repo, tag=self.plugwiz_tag, log_path=self.work / "build.log"
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
        return Timed(seconds, _step_durations(marks, seconds), ids, image_id)

    def rebuild_seed(self) -> Timed:
        """The seed layout's rebuild (its cache holds up to the plugin COPY)."""
        context = seed_context(self.host_dir, self.plugins_dir)
        timed = low_level_build(self.api, context, self.seed_tag, nocache=False)
        self.janitor.add_ids(timed.ids)
        return timed

    def stage_image(self, stage: str = "plugin-1") -> str:
        """The image of a stage of plugwiz's Dockerfile (`FROM ... AS stage`), as last built."""
        from plugwiz.core.render import render_dockerfile

        # A stage's image is the layer after its last step: replay a cached low-level build
        # (instant) and read the layer ID printed after each step.
        dockerfile = render_dockerfile(self.project)
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
    say(f"    {label} steps (s):")
    for title, seconds in timed.steps:
        if seconds >= 0.3:
            say(f"      {seconds:6.2f}  {title[:100]}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; 0 when every target is met."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement")
    parser.add_argument("--quick", action="store_true", help="CI smoke: plugwiz only, 1 run")
    parser.add_argument("--steps", action="store_true", help="print per-step times")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else max(1, args.runs)

    from plugwiz.adapters.docker_engine import DockerEngine

    engine = DockerEngine()
    engine.ping()
    janitor = ImageJanitor(engine.client.api)
    work = Path(tempfile.mkdtemp(prefix="plugwiz-bench-"))
    results: dict[str, list[float]] = {
        "cold_plugwiz": [],
        "cold_seed": [],
        "rebuild_plugwiz": [],
        "rebuild_seed": [],
    }
    floor_s: list[float] = []
    try:
        bench = Bench(work, janitor, engine)
        say(
            f"edit-rebuild: heavyhost, {len(BUNDLED)} bundled + {len(CUSTOM)} custom plugins, "
            f"{runs} run(s) each, interleaved"
        )
        if args.quick:
            # Seed both layouts' caches once (cached if a previous run left layers behind).
            bench.cold_plugwiz = lambda: low_level_build(  # type: ignore[method-assign]
                bench.api, bench.plugwiz_context(), bench.plugwiz_tag, nocache=False
            )
        for run in range(1, runs + 1):
            colds = (("cold_plugwiz", bench.cold_plugwiz), ("cold_seed", bench.cold_seed))
            for name, step in colds:
                if args.quick and name == "cold_seed":
                    continue
                timed = step()
                results[name].append(timed.seconds)
                say(f"  run {run} {name:<16} {fmt_s(timed.seconds)}")
                if args.steps:
                    _print_steps(name, timed)
            bench.edit()
            timed = bench.rebuild_plugwiz()
            results["rebuild_plugwiz"].append(timed.seconds)
            say(f"  run {run} rebuild_plugwiz  {fmt_s(timed.seconds)}")
            if args.steps:
                _print_steps("rebuild_plugwiz", timed)
            if not args.quick:
                timed = bench.rebuild_seed()
                results["rebuild_seed"].append(timed.seconds)
                say(f"  run {run} rebuild_seed     {fmt_s(timed.seconds)}")
            stage = bench.stage_image("plugin-1")
            floor_s.append(bench.floor(stage))
            say(f"  run {run} floor            {fmt_s(floor_s[-1])}")
    finally:
        left = janitor.cleanup()
        shutil.rmtree(work, ignore_errors=True)
        if left:
            say(f"  note: {left} image(s) still used by other builds were left")

    m = {name: median(values) for name, values in results.items() if values}
    floor_m = median(floor_s)
    say("")
    say(f"{'measurement':<34}{'plugwiz':>10}{'seed':>10}{'ratio':>8}  target")
    ok = True
    if "cold_plugwiz" in m and "cold_seed" in m:
        ratio = m["cold_plugwiz"] / m["cold_seed"]
        met = ratio <= TARGET_COLD_RATIO
        ok &= met
        say(
            f"{'cold build (median)':<34}{m['cold_plugwiz']:>9.2f}s{m['cold_seed']:>9.2f}s"
            f"{ratio:>8.2f}  <= {TARGET_COLD_RATIO} {'met' if met else 'NOT met'}"
        )
    if "rebuild_seed" in m:
        ratio = m["rebuild_plugwiz"] / m["rebuild_seed"]
        met = ratio <= TARGET_REBUILD_RATIO
        ok &= met
        say(
            f"{'rebuild after 1-line edit (median)':<34}{m['rebuild_plugwiz']:>9.2f}s"
            f"{m['rebuild_seed']:>9.2f}s{ratio:>8.2f}  <= {TARGET_REBUILD_RATIO} "
            f"{'met' if met else 'NOT met'}"
        )
    else:
        say(f"{'rebuild after 1-line edit':<34}{m['rebuild_plugwiz']:>9.2f}s")
    over = m["rebuild_plugwiz"] - floor_m
    met = over <= TARGET_FLOOR_MARGIN_S
    ok &= met
    say(f"{'floor: warm go build of the plugin':<34}{floor_m:>9.2f}s")
    say(
        f"{'plugwiz rebuild - floor':<34}{over:>9.2f}s{'':>18}  <= {TARGET_FLOOR_MARGIN_S} s "
        f"{'met' if met else 'NOT met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
