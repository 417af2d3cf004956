"""Image size: plugwiz's runtime image against its builder and the reference's layout.

Builds the heavyhost fixture (see edit_rebuild.py) with plugwiz's Dockerfile through the real
engine and with the seed-style Dockerfile, then reports (docker's image Size: all layers):

- plugwiz's runtime image (host, plugins, no toolchain);
- the builder: the base image, and plugwiz's `check` stage (base + sources + Go build cache +
  every binary), which is what an image that kept the toolchain would weigh;
- the reference layout's final image: the reference copies the binaries into `alpine`; no
  registry is reachable here, so the seed-style build copies them into `debian:bookworm-slim`
  (the same runtime base plugwiz uses, so the two differ only in what they copy).

Usage: python benchmarks/image_size.py [--quick]   (--quick: the same, for the CI smoke test)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import BUILDER_IMAGE, RUNTIME_IMAGE, ImageJanitor, mib, say  # noqa: E402
from benchmarks.edit_rebuild import Bench  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Build both layouts, print the sizes; 0 when the runtime image holds no toolchain."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="accepted for the smoke test")
    parser.parse_args(argv)

    from plugwiz.adapters.docker_engine import DockerEngine

    engine = DockerEngine()
    engine.ping()
    api = engine.client.api
    janitor = ImageJanitor(api)
    work = Path(tempfile.mkdtemp(prefix="plugwiz-bench-size-"))
    try:
        bench = Bench(work, janitor, engine)
        bench.rebuild_plugwiz()  # the real engine (cached layers are reused when present)
        bench.rebuild_seed()
        check_stage = bench.stage_image("check")
        sizes = {
            "plugwiz runtime image": int(api.inspect_image(bench.plugwiz_tag)["Size"]),
            f"seed-style final image ({RUNTIME_IMAGE})": int(
                api.inspect_image(bench.seed_tag)["Size"]
            ),
            f"runtime base ({RUNTIME_IMAGE})": int(api.inspect_image(RUNTIME_IMAGE)["Size"]),
            f"builder base ({BUILDER_IMAGE})": int(api.inspect_image(BUILDER_IMAGE)["Size"]),
            "builder: plugwiz `check` stage": int(api.inspect_image(check_stage)["Size"]),
        }
        # Is there a toolchain in the runtime image? Ask it (no `go`, no gcc expected).
        container = api.create_container(
            bench.plugwiz_tag,
            command=["sh", "-c", "command -v go gcc || echo none"],
            network_disabled=True,
        )
        try:
            api.start(container["Id"])
            api.wait(container["Id"], timeout=60)
            toolchain = api.logs(container["Id"]).decode().strip()
        finally:
            api.remove_container(container["Id"], force=True)
    finally:
        left = janitor.cleanup()
        shutil.rmtree(work, ignore_errors=True)
        if left:
            say(f"  note: {left} image(s) still used by other builds were left")

    runtime = sizes["plugwiz runtime image"]
    say("image size: heavyhost with 2 bundled + 2 custom plugins")
    for name, size in sizes.items():
        ratio = f"{size / runtime:5.1f}x" if name != "plugwiz runtime image" else "  1.0x"
        say(f"  {name:<48}{mib(size):>12}  {ratio}")
    payload = runtime - sizes[f"runtime base ({RUNTIME_IMAGE})"]
    say(f"  plugwiz payload over its base (host + plugins) {mib(payload):>12}")
    say(f"  toolchain in the runtime image: {toolchain}")
    return 0 if toolchain == "none" else 1


if __name__ == "__main__":
    sys.exit(main())
