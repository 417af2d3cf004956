"""A git smart-HTTP server on 127.0.0.1 with basic auth, for the secrets and auth-failure tests.

`git http-backend` runs as a CGI for each request; requests without the expected
`user:password` get 401, as a private GitHub or GitLab repository would answer.
"""

from __future__ import annotations

import base64
import http.server
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers import git


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _GitServer

    def _serve(self) -> None:
        expected = base64.b64encode(self.server.credentials.encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(length),
            "REMOTE_USER": self.server.credentials.split(":", 1)[0],
            "REMOTE_ADDR": "127.0.0.1",
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        result = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        status = 200
        headers: list[tuple[str, str]] = []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _serve  # noqa: N815 (http.server's naming)
    do_POST = _serve  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _GitServer(http.server.ThreadingHTTPServer):
    root: Path
    credentials: str


@contextmanager
def serve_git(repo: Path, user: str, password: str) -> Iterator[str]:
    """Serve a bare copy of the work-tree repository `repo`; yield `http://127.0.0.1:PORT/NAME.git`
    (without credentials: the caller adds the right or wrong ones)."""
    root = repo.parent / f"{repo.name}-served"
    root.mkdir()
    bare = root / f"{repo.name}.git"
    subprocess.run(
        ["git", "clone", "--bare", "--quiet", str(repo), str(bare)], check=True, capture_output=True
    )
    git(bare, "config", "http.receivepack", "false")
    server = _GitServer(("127.0.0.1", 0), _Handler)
    server.root = root
    server.credentials = f"{user}:{password}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{bare.name}"
    finally:
        server.shutdown()
        server.server_close()
