"""Module proxies for the tests: a file-based one made from the fixture modules, and an HTTP one
(basic auth optional) served from a thread on a local port. No test needs the internet.

Fixture modules live in `tests/fixtures/modules/PATH/VERSION/` (the module's files as its
author has them: a nested module and a vendor directory included, which the zip leaves out).
"""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from plugwiz.core.modzip import (
    hash_gomod,
    hash_zip,
    info_json,
    proxy_files,
    zip_dir,
)

MODULES = Path(__file__).parent / "fixtures" / "modules"


def fixture_modules(root: Path = MODULES) -> dict[tuple[str, str], Path]:
    """(module path, version) -> its directory, for every fixture module."""
    found: dict[tuple[str, str], Path] = {}
    for gomod in sorted(root.rglob("go.mod")):
        version_dir = gomod.parent
        if not version_dir.name.startswith("v") or version_dir.parent == root:
            continue
        module = version_dir.parent.relative_to(root).as_posix()
        if (version_dir.parent / "go.mod").exists():
            continue
        found[(module, version_dir.name)] = version_dir
    return found


def module_blobs(root: Path = MODULES) -> dict[tuple[str, str], tuple[bytes, bytes, bytes]]:
    """(module, version) -> (info, go.mod, zip) of every fixture module."""
    blobs: dict[tuple[str, str], tuple[bytes, bytes, bytes]] = {}
    for (module, version), directory in fixture_modules(root).items():
        blobs[(module, version)] = (
            info_json(version),
            (directory / "go.mod").read_bytes(),
            zip_dir(module, version, directory),
        )
    return blobs


def write_file_proxy(dest: Path, only: set[str] | None = None, root: Path = MODULES) -> Path:
    """A file-based module proxy of the fixture modules (only the modules in `only`, if given)
    at `dest`; returns `dest`."""
    blobs = {
        key: (info, mod, data)
        for key, (info, mod, data) in module_blobs(root).items()
        if only is None or key[0] in only
    }
    for item in proxy_files(blobs):
        target = dest / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.data)
    dest.mkdir(parents=True, exist_ok=True)
    return dest


def sum_lines(module: str, version: str, root: Path = MODULES) -> list[str]:
    """The two go.sum lines of a fixture module."""
    _info, mod, data = module_blobs(root)[(module, version)]
    return [
        f"{module} {version} {hash_zip(data)}",
        f"{module} {version}/go.mod {hash_gomod(mod)}",
    ]


@dataclass
class HTTPProxy:
    """A module proxy served over HTTP from a directory, with optional basic auth."""

    root: Path
    user: str = ""
    password: str = ""
    port: int = 0
    requests: list[str] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The proxy's URL without credentials."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url_with_credentials(self) -> str:
        return f"http://{self.user}:{self.password}@127.0.0.1:{self.port}"


@contextmanager
def serve_proxy(root: Path, user: str = "", password: str = "") -> Iterator[HTTPProxy]:
    """Serve `root` as a module proxy on 127.0.0.1 (a free port) until the block ends; with
    `user`, every request needs basic auth."""
    proxy = HTTPProxy(root, user, password)
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode() if user else ""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            proxy.requests.append(self.path)

        def _authorized(self) -> bool:
            given = self.headers.get("Authorization", "")
            proxy.authorizations.append(given)
            if not expected or given == expected:
                return True
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="test proxy"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False

        def do_GET(self) -> None:
            if self._authorized():
                super().do_GET()

        def do_HEAD(self) -> None:
            if self._authorized():
                super().do_HEAD()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    proxy.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="test-goproxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
