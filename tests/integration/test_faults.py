"""Bad input and faults without Docker: every case ends in a message, exit 2, nothing lost.

Issue 6. Each test runs the real command line (in process, through `plugwiz.cli.main`, which
re-raises anything that is not a user error, so a bug fails the test with its traceback) and
checks the message a person sees, the exit code, and that their files are untouched.
The Docker cases that need a daemon are in test_faults_docker.py; docs/errors.md lists them all.
"""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from plugwiz.cli import main
from plugwiz.core.images import (
    ToolchainTooOldError,
    check_builder_toolchain,
    go_version_from_image_tag,
)
from plugwiz.core.project_file import load_project
from tests.gitserver import serve_git
from tests.helpers import make_git_repo

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ghp_plugwizFAULTtoken1234567890"

HOST_FILES = {
    "go.mod": "module example.com/h\n\ngo 1.19\n",
    "cmd/h/main.go": "package main\n\nfunc main() {}\n",
    "plugins/up/up.go": 'package main\n\nfunc New() string { return "up" }\n',
}
GOOD_PLUGIN = 'package main\n\nfunc New() string { return "ok" }\n'


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGWIZ_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.chdir(tmp_path)


def host_repo(tmp_path: Path, files: dict[str, str], name: str = "host") -> Path:
    """A git repository with `files` in one commit on `main`."""
    src = tmp_path / f"{name}-tree"
    for rel, text in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    make_git_repo(src, tmp_path / name)
    return tmp_path / name


@pytest.fixture
def host(tmp_path: Path) -> Path:
    return host_repo(tmp_path, HOST_FILES)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run plugwiz in process; (exit code, everything it printed)."""
    code = main(list(args))
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text
    return code, text


def snapshot(root: Path) -> dict[str, str]:
    """Path -> sha256 of every file under `root` (symlinks by target), to prove nothing changed."""
    result: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            result[str(path)] = "link:" + os.readlink(path)
        elif path.is_file():
            result[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return result


# -- host --------------------------------------------------------------------------------------


def test_host_path_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = cli(capsys, "init", "--host", str(tmp_path / "nope"), "-o", "p.yaml")
    assert code == 2
    assert f"plugwiz: error: host repository path {tmp_path / 'nope'} does not exist" in text
    assert not (tmp_path / "p.yaml").exists()


def test_host_directory_that_is_not_a_repo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    code, text = cli(capsys, "render", "--host", str(plain))
    assert code == 2
    assert f"{plain} is not a git repository" in text


def test_host_unreachable_url(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = cli(capsys, "render", "--host", f"http://user:{TOKEN}@127.0.0.1:9/h.git")
    assert code == 2
    assert "plugwiz: error: cannot reach the host repository http://127.0.0.1:9/h.git" in text
    assert TOKEN not in text


def test_host_authentication_failure_never_echoes_credentials(
    host: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLUGWIZ_TEST_TOKEN", TOKEN)
    with serve_git(host, "alice", TOKEN) as url:
        wrong = url.replace("http://", "http://alice:wrong-Pa55word-0123@")
        for command in (["render", "--host", wrong], ["init", "--host", wrong, "-o", "p.yaml"]):
            code, text = cli(capsys, *command)
            assert code == 2
            assert f"plugwiz: error: authentication failed for {url}" in text
            assert "wrong-Pa55word-0123" not in text and TOKEN not in text
        # The right credentials work, so the failure above was really about them.
        right = url.replace("http://", f"http://alice:{TOKEN}@")
        code, text = cli(capsys, "render", "--host", right)
        assert code == 0, text
        assert TOKEN not in text
    assert not (tmp_path / "p.yaml").exists()
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_host_ref_that_does_not_exist(host: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = cli(capsys, "render", "--host", str(host), "--ref", "mian")
    assert code == 2
    assert "ref 'mian' not found in the host repository; did you mean main?" in text


def test_host_empty_repo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    subprocess.run(["git", "init", "-q", str(empty)], check=True)
    code, text = cli(capsys, "render", "--host", str(empty))
    assert code == 2
    assert f"host repository {empty} is empty (no commits yet)" in text


def test_host_without_gomod(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = host_repo(tmp_path, {"main.go": "package main\n\nfunc main() {}\n"})
    code, text = cli(capsys, "render", "--host", str(repo))
    assert code == 2
    assert "the host has no go.mod at its root; plugwiz builds Go modules only" in text


def test_host_unparseable_gomod(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = host_repo(tmp_path, {**HOST_FILES, "go.mod": "module example.com/h\ngo one.two\n"})
    code, text = cli(capsys, "render", "--host", str(repo))
    assert code == 2
    assert (
        "plugwiz: error: the host's go.mod line 2: expected `go 1.N`, got 'go one.two': fix it "
        "in the host repository, or choose another ref"
    ) in text


def test_host_go_version_newer_than_builder_is_explained() -> None:
    # The Docker side (the engine refusing before it builds) is in test_faults_docker.py.
    assert go_version_from_image_tag("golang:1.19-bookworm") == "1.19"
    assert go_version_from_image_tag("registry:5000/x/golang:1.22.3-alpine3.19") == "1.22.3"
    assert go_version_from_image_tag("mygo:1.22") is None
    assert go_version_from_image_tag("golang:latest") is None
    with pytest.raises(ToolchainTooOldError) as caught:
        check_builder_toolchain("1.21", "golang:1.19-bookworm", "1.19")
    assert str(caught.value) == (
        "the host's go.mod says `go 1.21` but the builder image golang:1.19-bookworm has Go "
        "1.19, which cannot build it: use --builder-image golang:1.21-bookworm "
        "(images.builder in plugwiz.yaml), or lower the `go` line"
    )
    with pytest.raises(ToolchainTooOldError, match="golang:1.22-alpine"):
        check_builder_toolchain("1.22.5", "golang:1.22-alpine", "go1.22.1")
    check_builder_toolchain("1.19", "golang:1.19-bookworm", "1.19")
    check_builder_toolchain("1.21.9", "golang:1.21-bookworm", "1.21")  # patch unknown: fine
    check_builder_toolchain("1.18", "x", "1.19.8")


def test_host_without_main_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = {k: v for k, v in HOST_FILES.items() if not k.startswith("cmd/")}
    repo = host_repo(tmp_path, files)
    code, text = cli(capsys, "render", "--host", str(repo))
    assert code == 2
    assert "no main package found in the host" in text
    assert "--main ./cmd/myhost" in text


def test_host_with_several_main_packages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        **{k: v for k, v in HOST_FILES.items() if not k.startswith("cmd/")},
        "cmd/server/main.go": "package main\n\nfunc main() {}\n",
        "cmd/tool/main.go": "package main\n\nfunc main() {}\n",
    }
    repo = host_repo(tmp_path, files)
    code, text = cli(capsys, "init", "--host", str(repo), "-o", "p.yaml")
    assert code == 2
    assert (
        "the host has 2 main packages (./cmd/server, ./cmd/tool) and none is obviously "
        "the host: choose one with --main ./cmd/server (or host.main in plugwiz.yaml)"
    ) in text
    assert not (tmp_path / "p.yaml").exists()
    code, text = cli(capsys, "render", "--host", str(repo), "--main", "./cmd/server")
    assert code == 0
    assert "go build -o /out/server ./cmd/server" in text


# -- plugins -----------------------------------------------------------------------------------


def _bad_plugins(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """id -> (plugin source, expected message fragment)."""
    d = tmp_path / "plugins"
    d.mkdir()
    (d / "notgo.go").write_text("Dear diary, today I wrote a plugin.\n")
    (d / "lib.go").write_text("package helpers\n\nfunc New() {}\n")
    (d / "empty.go").write_text("  \n\n")
    (d / "junk.go").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8)
    with (d / "huge.go").open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)  # sparse: the size check runs before any read
    (d / "escape").mkdir()
    (d / "escape" / "ok.go").write_text(GOOD_PLUGIN)
    secret = tmp_path / "outside.go"
    secret.write_text(GOOD_PLUGIN)
    (d / "escape" / "link.go").symlink_to(secret)
    (d / "nogo").mkdir()
    (d / "nogo" / "README.md").write_text("no Go here\n")
    return {
        "missing": (d / "missing.go", f"plugin 'missing': {d / 'missing.go'} does not exist"),
        "not-go": (d / "notgo.go", "has no `package` clause; is it Go source?"),
        "not-main": (d / "lib.go", "is `package helpers`; a Go plugin must be `package main`"),
        "empty": (d / "empty.go", f"plugin 'empty': {d / 'empty.go'} is empty"),
        "binary": (d / "junk.go", "is a binary file, not Go source"),
        "huge": (d / "huge.go", "is 17 MiB, too large for Go source"),
        "symlink-outside": (d / "escape", f"links outside {d / 'escape'} (to {secret})"),
        "no-go-files": (d / "nogo", f"plugin 'nogo': {d / 'nogo'} holds no .go files"),
    }


@pytest.mark.parametrize(
    "case",
    ["missing", "not-go", "not-main", "empty", "binary", "huge", "symlink-outside", "no-go-files"],
)
def test_unusable_plugin_source(
    case: str, host: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, message = _bad_plugins(tmp_path)[case]
    before = snapshot(tmp_path / "plugins")
    code, text = cli(
        capsys, "context", "--host", str(host), "--plugin", str(source), "-o", "ctx.tar"
    )
    assert code == 2
    assert "plugwiz: error: plugin " in text and message in text
    assert snapshot(tmp_path / "plugins") == before
    # No context and no half-written temporary next to it.
    assert not list(tmp_path.glob("*ctx.tar*"))
    # `init` refuses to write a project whose plugin cannot be used.
    code, text = cli(capsys, "init", "--host", str(host), "--plugin", str(source), "-o", "p.yaml")
    assert code == 2
    assert message in text
    assert not (tmp_path / "p.yaml").exists()
    assert snapshot(tmp_path / "plugins") == before


def test_two_plugins_with_the_same_name(
    host: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "hello.go").write_text(GOOD_PLUGIN)
    args = ["--host", str(host), "--plugin", "a/hello.go", "--plugin", "b/hello.go"]
    code, text = cli(capsys, "render", *args)
    assert code == 2
    assert (
        "two plugins would be written to hello.so: 'hello' collides with another plugin; "
        "rename one (plugins: name: ...)"
    ) in text


def test_plugin_colliding_with_a_bundled_one(
    host: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "up.go").write_text(GOOD_PLUGIN)
    code, text = cli(capsys, "render", "--host", str(host), "--plugin", "up.go")
    assert code == 2
    assert "two plugins would be written to up.so: 'up' collides with a bundled plugin" in text


@pytest.mark.parametrize(
    "name",
    ["we ird", "it's", 'say "hi"', "two\nlines", "$(reboot)", "`id`", "..", "../../etc/x", "ünï"],
)
def test_plugin_names_that_cannot_be_used(
    name: str, host: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.go").write_text(GOOD_PLUGIN)
    project = tmp_path / "plugwiz.yaml"
    project.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "host": {"repo": str(host)},
                "plugins": [{"source": "p.go", "name": name}],
            }
        )
    )
    before = project.read_bytes()
    code, text = cli(capsys, "render", str(project))
    assert code == 2
    assert f"plugin name {name!r} is not allowed: use letters, digits, '.', '_' and '-'" in text
    assert project.read_bytes() == before


WEIRD_DIR = "we ird $(touch PWNED) `touch PWNED` 'q' \"dq\" é ..\nnl"


def test_plugin_paths_with_odd_characters_are_quoted_not_run(
    host: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plugin whose path has spaces, quotes, a newline, `$()`, backticks, `..` and non-ASCII
    gets a plain name and a context path; the real build is in test_faults_docker.py."""
    weird = tmp_path / WEIRD_DIR
    weird.mkdir()
    (weird / "plugin.go").write_text(GOOD_PLUGIN)
    weird_file = tmp_path / "ü $(x) `y`.go"
    weird_file.write_text(GOOD_PLUGIN)
    args = ["--host", str(host), "--plugin", str(weird), "--plugin", str(weird_file)]
    code, text = cli(capsys, "render", *args)
    assert code == 0, text
    # One path component (no `/`), so a `..` inside it climbs nowhere.
    assert "COPY plugins/we-ird-touch-PWNED-touch-PWNED-q-dq-..-nl/" in text
    assert "/out/plugins/x-y.so" in text
    assert "$(" not in text and "`" not in text
    code, text = cli(capsys, "context", *args, "-o", "ctx.tar")
    assert code == 0, text
    assert not list(tmp_path.rglob("PWNED"))


# -- project file ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1\nhost: {repo: x\n", "plugwiz.yaml:3:1: invalid YAML"),
        ("version: 1\nhost:\n  reff: main\n", "plugwiz.yaml:3:3: unknown key `reff` in `host`"),
        ("version: 1\nplugins: hello.go\n", "plugwiz.yaml:2:10: `plugins` must be a list"),
        ("version: 1\ntag: [a, b]\n", "plugwiz.yaml:2:6: `tag` must be a string"),
        ("version: 7\n", "plugwiz.yaml:1:10: unsupported `version: 7`"),
        (
            "version: 1\na: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a]\n"
            "c: [*b, *b, *b, *b, *b, *b, *b, *b]\n",
            "YAML anchors and aliases are not supported in plugwiz.yaml",
        ),
    ],
    ids=["invalid-yaml", "unknown-key", "wrong-type-list", "wrong-type-string", "version", "bomb"],
)
def test_broken_project_file(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "plugwiz.yaml"
    project.write_text(text)
    code, out = cli(capsys, "render", "plugwiz.yaml")
    assert code == 2
    assert message in out
    if "reff" in text:
        assert "did you mean `ref`?" in out
    assert project.read_text() == text


def test_killed_init_leaves_the_old_project_file_whole(host: Path, tmp_path: Path) -> None:
    """`plugwiz init --force` killed (SIGKILL) in the middle of its save: old file intact."""
    project = tmp_path / "plugwiz.yaml"
    project.write_text("version: 1\nhost: {repo: ./mine}\n# my notes\n")
    before = project.read_bytes()
    # Kill the process right after the new content is written and synced, before the rename.
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        real_fsync = os.fsync
        def fsync_then_die(fd):
            real_fsync(fd)
            os.kill(os.getpid(), signal.SIGKILL)
        os.fsync = fsync_then_die
        from plugwiz.cli import main
        sys.exit(main(["init", "--force", "--host", {str(host)!r}, "-o", {str(project)!r}]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert project.read_bytes() == before
    # Same command, not killed: the file is replaced whole.
    assert main(["init", "--force", "--host", str(host), "-o", str(project)]) == 0
    saved = load_project(project)
    assert (saved.base_dir / saved.host.repo).resolve() == host.resolve()  # written relative


# -- docker, without a daemon ------------------------------------------------------------------


def test_docker_daemon_not_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    where = f"unix://{tmp_path}/no-such-docker.sock"
    monkeypatch.setenv("DOCKER_HOST", where)
    code, text = cli(capsys, "build", "--tag", "plugwiz-fault-test:never", "--log", "b.log")
    assert code == 2
    assert (
        f"error: the Docker daemon is not reachable at {where}: start it (`sudo systemctl "
        "start docker`, or run `dockerd`), or point DOCKER_HOST at a running daemon"
    ) in text
    code, text = cli(capsys, "inspect", "plugwiz-fault-test:never")
    assert code == 2
    assert f"the Docker daemon is not reachable at {where}" in text


@pytest.mark.parametrize("how", ["simulated-eacces", "real-socket-mode-000"])
def test_docker_socket_permission_denied(
    how: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "docker.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    try:
        if how == "real-socket-mode-000":
            path.chmod(0)
            # Root ignores file modes through CAP_DAC_OVERRIDE; drop it (setpriv, util-linux)
            # so the kernel really answers EACCES, as it does for a user not in `docker`.
            prefix = (
                ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
                if os.geteuid() == 0
                else []
            )
            result = subprocess.run(
                [
                    *prefix,
                    sys.executable,
                    "-m",
                    "plugwiz.cli",
                    "build",
                    "--tag",
                    "plugwiz-fault-test:never",
                    "--log",
                    str(tmp_path / "b.log"),
                ],
                capture_output=True,
                text=True,
                timeout=120,
                env={**os.environ, "DOCKER_HOST": f"unix://{path}"},
                cwd=Path(__file__).resolve().parents[2],
            )
            code, text = result.returncode, result.stdout + result.stderr
            assert "Traceback" not in text
        else:
            # As root the kernel never says EACCES for a unix socket, so make connect() say it,
            # under the docker SDK, requests and urllib3, as it does for a user not in `docker`.
            real_connect = socket.socket.connect

            def connect(sock: socket.socket, address: object) -> None:
                if address == str(path):
                    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
                real_connect(sock, address)  # type: ignore[arg-type]

            monkeypatch.setattr(socket.socket, "connect", connect)
            monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
            code, text = cli(capsys, "build", "--tag", "plugwiz-fault-test:never", "--log", "b.log")
    finally:
        listener.close()
    assert code == 2
    assert (
        f"error: permission denied talking to the Docker daemon at unix://{path}: add your user "
        "to the `docker` group (`sudo usermod -aG docker $USER`, then log in again) or run as root"
    ) in text
