"""Real Go binaries for the explain tests, built once per session in the offline builders.

One container per builder image (Go 1.19 bookworm, Go 1.22 bookworm-backports, Go 1.24
trixie) compiles the fixture host `tests/fixtures/explain/host` and plugins that differ from
it in one way each. Modules come from a file-based module proxy the tests write (no network):
`example.org/colors` at v1.0.0 (the host's) and v1.1.0. The containers are removed after.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

from tests.helpers import FIXTURES, OFFLINE_BUILDER

EXPLAIN = FIXTURES / "explain"
GO119 = OFFLINE_BUILDER
GO122 = "plugwiz-offline/golang:1.22-bookworm"
GO124_TRIXIE = "plugwiz-offline/golang:1.24-trixie"
EXTRA_IMAGES = (GO122, GO124_TRIXIE, "plugwiz-offline/debian:trixie-slim")

_COLORS = {
    "v1.0.0": 'package colors\n\n// Name is the colour.\nfunc Name() string { return "red" }\n',
    "v1.1.0": 'package colors\n\n// Name is the colour.\nfunc Name() string { return "crimson" }\n',
}

_ENV = (
    "export GOPROXY=file:///work/proxy GOSUMDB=off GOFLAGS=-mod=mod CGO_ENABLED=1 "
    "GOTOOLCHAIN=local GOWORK=off GOCACHE=/tmp/gocache GOMODCACHE=/tmp/gomod HOME=/tmp\n"
    "set -eu\nmkdir -p /out\n"
)

# Go 1.19: the host (committed to git, so it records vcs.revision), stripped and not; a
# matching plugin (stripped and not); one without -trimpath; one against colors v1.1.0; one
# against a changed host package at the same module version.
SCRIPT_119 = (
    _ENV
    + """
cd /work/host
go list ./... >/dev/null   # writes go.sum before the commit, so the tree is clean
git init -q && git add -A && git -c user.name=t -c user.email=t@t.invalid commit -qm host
go build -trimpath -o /out/host ./cmd/xhost
go build -trimpath -ldflags='-s -w' -o /out/host-stripped ./cmd/xhost
cp -r /work/host /work/plugin && cd /work/plugin
mkdir -p plugwiz_plugins/p && cp /work/plugins/p/plugin.go plugwiz_plugins/p/
go build -trimpath -buildmode=plugin -o /out/match.so ./plugwiz_plugins/p
go build -trimpath -buildmode=plugin -ldflags='-s -w' -o /out/match-stripped.so ./plugwiz_plugins/p
go build -buildmode=plugin -o /out/notrim.so ./plugwiz_plugins/p
cp -r /work/plugin /work/dep && cd /work/dep
go mod edit -require=example.org/colors@v1.1.0
go build -trimpath -buildmode=plugin -o /out/dep.so ./plugwiz_plugins/p
cp -r /work/plugin /work/changed && cd /work/changed
sed -i 's/const Version = "1.0"/const Version = "2.0"/' provider/provider.go
go build -trimpath -buildmode=plugin -o /out/changed.so ./plugwiz_plugins/p
"""
)
SCRIPT_122 = (
    _ENV
    + """
cd /work/host && mkdir -p plugwiz_plugins/p && cp /work/plugins/p/plugin.go plugwiz_plugins/p/
go build -trimpath -buildmode=plugin -o /out/go122.so ./plugwiz_plugins/p
"""
)
SCRIPT_TRIXIE = (
    _ENV
    + """
cd /work/host && mkdir -p plugwiz_plugins/c && cp /work/plugins/c/plugin.go plugwiz_plugins/c/
go build -trimpath -buildmode=plugin -o /out/glibc.so ./plugwiz_plugins/c
"""
)


def _proxy_files() -> dict[str, bytes]:
    """A file-based Go module proxy (`GOPROXY=file://...`) holding example.org/colors."""
    module = "example.org/colors"
    gomod = f"module {module}\n\ngo 1.19\n".encode()
    files: dict[str, bytes] = {f"proxy/{module}/@v/list": "\n".join(_COLORS).encode() + b"\n"}
    for version, source in _COLORS.items():
        info = {"Version": version, "Time": "2024-01-01T00:00:00Z"}
        files[f"proxy/{module}/@v/{version}.info"] = json.dumps(info).encode()
        files[f"proxy/{module}/@v/{version}.mod"] = gomod
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(f"{module}@{version}/go.mod", gomod)
            archive.writestr(f"{module}@{version}/colors.go", source)
        files[f"proxy/{module}/@v/{version}.zip"] = buffer.getvalue()
    return files


def _work_files() -> dict[str, bytes]:
    files = _proxy_files()
    for path in sorted(EXPLAIN.rglob("*")):
        if path.is_file():
            files[str(path.relative_to(EXPLAIN))] = path.read_bytes()
    return files


def _tar(files: dict[str, bytes], prefix: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{prefix}/{name}")
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def run_in_builder(client: Any, image: str, script: str) -> dict[str, bytes]:
    """Run `script` in a fresh container of `image` with /work filled; return /out's files."""
    api = client.api
    container = api.create_container(image, command=["bash", "-c", script], entrypoint=[])
    cid = container["Id"]
    try:
        api.put_archive(cid, "/", _tar(_work_files(), "work"))
        api.start(cid)
        status = api.wait(cid, timeout=900)["StatusCode"]
        if status != 0:
            logs = api.logs(cid).decode("utf-8", "replace")
            raise AssertionError(f"building in {image} failed ({status}):\n{logs}")
        stream, _ = api.get_archive(cid, "/out")
        out: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            for member in tar:
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is not None:
                    out[member.name.removeprefix("out/")] = handle.read()
        return out
    finally:
        api.remove_container(cid, force=True)


def build_all(client: Any, dest: Path) -> dict[str, Path]:
    """Every binary the explain tests use, written under `dest`; prints the time each took."""
    paths: dict[str, Path] = {}
    for image, script in ((GO119, SCRIPT_119), (GO122, SCRIPT_122), (GO124_TRIXIE, SCRIPT_TRIXIE)):
        started = time.monotonic()
        for name, data in run_in_builder(client, image, script).items():
            path = dest / name
            path.write_bytes(data)
            paths[name] = path
        print(f"[timing] explain binaries in {image}: {time.monotonic() - started:.1f}s")
    return paths
