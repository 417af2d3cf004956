"""The git host adapter against real repositories made with the git CLI in tmp_path."""

from __future__ import annotations

import http.server
import io
import os
import shutil
import subprocess
import tarfile
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from plugwiz.adapters.demo import DemoHostRepository, demo_plugin_path, ensure_demo_repo
from plugwiz.adapters.git import (
    ClonedGitRepository,
    LocalGitRepository,
    create_snapshot_repo,
    open_host_repo,
)
from plugwiz.core.model import DEMO_REPO, Host, Project
from plugwiz.core.ports import Gitlink, HostRepoError, HostRepository, RefNotFoundError
from plugwiz.service import open_repo

GitRepository = LocalGitRepository | ClonedGitRepository

SECRET = "s3cr3tTOKEN"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No user config, a fixed identity, and the plugwiz cache inside tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("PLUGWIZ_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    for var, value in {
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.invalid",
        "GIT_COMMITTER_NAME": "Test Committer",
        "GIT_COMMITTER_EMAIL": "committer@example.invalid",
        "GIT_AUTHOR_DATE": "2024-02-03T04:05:06+00:00",
        "GIT_COMMITTER_DATE": "2024-02-03T04:05:06+00:00",
    }.items():
        monkeypatch.setenv(var, value)
    # Running under a git hook must not point these tests at the hook's repository.
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "cache"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def commit_file(repo: Path, rel: str, content: str, message: str) -> str:
    target = repo / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    git(repo, "add", "--", rel)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@dataclass
class Source:
    path: Path
    first: str  # commit 1: main at v1.0 (lightweight)
    second: str  # commit 2: main, v2.0 (annotated)
    feature: str  # commit 3, on branch feature only

    @property
    def url(self) -> str:
        return self.path.as_uri()


@pytest.fixture
def source(tmp_path: Path) -> Source:
    repo = tmp_path / "src"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (repo / "run.sh").chmod(0o755)
    (repo / "go.mod").write_text("module example.com/host\n")
    (repo / "cmd" / "host").mkdir(parents=True)
    (repo / "cmd" / "host" / "main.go").write_text("package main\n\nfunc main() {}\n")
    os.symlink("go.mod", repo / "link.mod")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "first commit\n\nwith a body")
    first = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "v1.0")
    # A submodule entry (gitlink) without a submodule: export and files() skip it.
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{first},vendor/sub")
    second = commit_file(repo, "README.md", "# host\n", "second commit")
    git(repo, "tag", "-a", "v2.0", "-m", "release 2.0")
    git(repo, "checkout", "-q", "-b", "feature")
    feature = commit_file(repo, "feature.txt", "new\n", "feature work")
    git(repo, "checkout", "-q", "main")
    return Source(repo, first, second, feature)


def opened(spec: str) -> GitRepository:
    """open_host_repo(spec), checked to be one of the git adapter's classes."""
    repo = open_host_repo(spec)
    assert isinstance(repo, LocalGitRepository | ClonedGitRepository)
    return repo


def cloned(url: str, cache: Path | None = None) -> ClonedGitRepository:
    repo = open_host_repo(url, cache)
    assert isinstance(repo, ClonedGitRepository)
    return repo


@pytest.fixture(params=["path", "file-url"])
def host(request: pytest.FixtureRequest, source: Source) -> Iterator[GitRepository]:
    spec = str(source.path) if request.param == "path" else source.url
    with opened(spec) as repo:
        yield repo


# -- opening and listing -----------------------------------------------------------------------


def test_open_host_repo_satisfies_protocol(source: Source) -> None:
    repo: HostRepository = open_host_repo(str(source.path))
    assert isinstance(repo, LocalGitRepository)
    assert repo.resolve("main").sha == source.second
    remote: HostRepository = open_host_repo(f"  {source.url}\n")
    assert isinstance(remote, ClonedGitRepository)
    assert remote.resolve("main").sha == source.second


def test_open_host_repo_classifies_like_git_clone(
    source: Source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # `a:b` that exists here is this directory's repository; one that does not is ssh's.
    shutil.copytree(source.path, tmp_path / "a:b")
    local = opened("a:b")
    assert isinstance(local, LocalGitRepository)
    assert local.resolve("main").sha == source.second
    assert isinstance(opened("./a:b"), LocalGitRepository)
    assert isinstance(opened("nothere:b"), ClonedGitRepository)  # nothing touched yet
    # `~` is expanded for paths; an unknown `~user` is a path that does not exist, not a crash.
    monkeypatch.setenv("HOME", str(tmp_path))
    assert isinstance(opened("~/a:b"), LocalGitRepository)
    with pytest.raises(HostRepoError, match="does not exist"):
        open_host_repo("~no-such-user-plugwiz/x")
    with pytest.raises(HostRepoError, match="no host repository given"):
        open_host_repo("  ")
    # Option-looking text is a path, never passed to git.
    with pytest.raises(HostRepoError, match="does not exist"):
        open_host_repo("-uhttps://evil")


def test_open_host_repo_demo(isolated_env: Path) -> None:
    with opened(DEMO_REPO) as demo:
        assert isinstance(demo, LocalGitRepository)
        assert demo.path == ensure_demo_repo()
        assert [r.name for r in demo.list_refs()] == ["main", "v0.1.0"]


def test_open_repo_resolves_against_the_project_directory(
    source: Source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    base = tmp_path / "project"
    shutil.copytree(source.path, base / "hosts" / "x:y")

    def project(repo: str) -> Project:
        return Project(host=Host(repo=repo), base_dir=base)

    for repo in ("hosts/x:y", str(base / "hosts" / "x:y")):
        local = open_repo(project(repo))
        assert isinstance(local, LocalGitRepository)
        assert local.path == base / "hosts" / "x:y"
    shutil.copytree(source.path, base / "h:y")
    assert isinstance(open_repo(project("h:y")), LocalGitRepository)  # exists beside the project
    assert isinstance(open_repo(project("g:y")), ClonedGitRepository)  # does not: scp-like URL
    assert isinstance(open_repo(project(source.url)), ClonedGitRepository)
    assert isinstance(open_repo(project(DEMO_REPO)), DemoHostRepository)


def test_list_refs_sorted_and_peeled(host: GitRepository, source: Source) -> None:
    refs = [(r.kind, r.name, r.sha) for r in host.list_refs()]
    assert refs == [
        ("branch", "feature", source.feature),
        ("branch", "main", source.second),
        ("tag", "v1.0", source.first),
        ("tag", "v2.0", source.second),  # annotated: the commit, not the tag object
    ]


def test_list_refs_of_url_does_not_clone(source: Source) -> None:
    repo = cloned(source.url)
    assert repo.list_refs()
    assert not repo.clone_dir.exists()


# -- resolve -----------------------------------------------------------------------------------


def test_resolve_names(host: GitRepository, source: Source) -> None:
    assert host.resolve("main").sha == source.second
    assert host.resolve("feature").sha == source.feature
    assert host.resolve("refs/heads/feature").sha == source.feature
    assert host.resolve("v1.0").sha == source.first
    assert host.resolve("v2.0").sha == source.second
    assert host.resolve("HEAD").sha == source.second
    assert host.resolve(source.first).sha == source.first
    assert host.resolve(source.feature[:7]).sha == source.feature


def test_resolve_commit_info(host: GitRepository, source: Source) -> None:
    info = host.resolve("v1.0")
    assert info.subject == "first commit"
    assert info.author == "Test Author"
    assert info.date == "2024-02-03T04:05:06+00:00"
    assert info.short_sha == source.first[:12]


def test_ref_not_found_suggests_close_names(host: GitRepository) -> None:
    with pytest.raises(RefNotFoundError) as caught:
        host.resolve("mian")
    assert caught.value.suggestions[0] == "main"
    assert "did you mean main" in str(caught.value)
    with pytest.raises(RefNotFoundError):
        host.resolve("0" * 40)
    with pytest.raises(RefNotFoundError):
        host.resolve("--output=/tmp/x")


def test_moved_branch_resolves_to_new_commit_reusing_clone(source: Source) -> None:
    repo = cloned(source.url)
    assert repo.resolve("main").sha == source.second
    clone = repo.clone_dir
    assert (clone / "HEAD").is_file()
    marker = clone / "plugwiz-test-marker"
    marker.write_text("still here")
    inode = clone.stat().st_ino

    moved = commit_file(source.path, "later.txt", "later\n", "moved main")
    assert repo.resolve("main").sha == moved
    # a fresh adapter on the same URL sees it too, from the same cache
    again = cloned(source.url)
    assert again.resolve("main").sha == moved
    assert again.read(moved, "later.txt") == b"later\n"
    # HEAD is answered by the clone, which is fetched first when the remote differs
    head_moved = commit_file(source.path, "later2.txt", "more\n", "moved main again")
    assert again.resolve("HEAD").sha == head_moved
    assert marker.read_text() == "still here"
    assert clone.stat().st_ino == inode
    repo.close()
    again.close()


def test_new_ref_and_refresh(source: Source) -> None:
    repo = cloned(source.url)
    repo.resolve("main")
    git(source.path, "tag", "late-tag", source.first)
    git(source.path, "checkout", "-q", "-b", "late")
    late = commit_file(source.path, "late.txt", "x\n", "late branch")
    # an abbreviated SHA only the remote has: fetched on demand
    assert repo.resolve(late[:10]).sha == late
    assert repo.resolve("late-tag").sha == source.first
    git(source.path, "branch", "-q", "-D", "feature")
    repo.refresh()
    assert not (repo.clone_dir / "refs" / "heads" / "feature").exists()
    assert "feature" not in git(repo.clone_dir, "branch", "--list")  # pruned
    repo.close()


def test_url_with_token_shares_clone_and_is_not_stored(source: Source, tmp_path: Path) -> None:
    with_token = cloned(f"https://user:{SECRET}@example.invalid/x.git")
    plain = cloned("https://example.invalid/x.git")
    assert with_token.clone_dir == plain.clone_dir
    assert SECRET not in str(with_token.clone_dir)
    assert with_token.display_url == "https://example.invalid/x.git"
    assert SECRET not in repr(with_token)
    # the clone of a file:// URL keeps the (credential-free) URL as origin
    repo = cloned(source.url)
    repo.resolve("main")
    assert git(repo.clone_dir, "remote", "get-url", "origin") == source.url


def test_clone_goes_to_explicit_cache(source: Source, tmp_path: Path) -> None:
    repo = cloned(source.url, tmp_path / "other-cache")
    repo.resolve("main")
    assert repo.clone_dir.parent == tmp_path / "other-cache" / "repos"
    assert repo.clone_dir.is_dir()
    # no temporary clone directories are left behind
    assert [p.name for p in repo.clone_dir.parent.iterdir()] == [repo.clone_dir.name]


# -- errors ------------------------------------------------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(HostRepoError, match="does not exist"):
        open_host_repo(str(tmp_path / "nope"))


def test_not_a_repository(tmp_path: Path, source: Source) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(HostRepoError, match="is not a git repository"):
        open_host_repo(str(plain))
    with pytest.raises(HostRepoError, match=f"inside the repository at {source.path}"):
        open_host_repo(str(source.path / "cmd"))
    with pytest.raises(HostRepoError, match="is a file"):
        open_host_repo(str(source.path / "go.mod"))


def test_empty_repository(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    with pytest.raises(HostRepoError, match="empty"):
        open_host_repo(str(empty))
    bare = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    remote = open_host_repo(bare.as_uri())
    with pytest.raises(HostRepoError, match="empty"):
        remote.list_refs()
    with pytest.raises(HostRepoError, match="empty"):
        remote.resolve("main")


def test_bare_local_repository(source: Source, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(source.path), str(bare))
    repo = open_host_repo(str(bare))
    assert repo.resolve("v2.0").sha == source.second
    assert repo.read(source.second, "README.md") == b"# host\n"


@pytest.mark.parametrize(
    "url",
    ["file:///nonexistent/x.git", "https://127.0.0.1:9/x.git"],
)
def test_unreachable_url(url: str) -> None:
    repo = open_host_repo(url)
    with pytest.raises(HostRepoError, match="cannot reach") as caught:
        repo.list_refs()
    assert not isinstance(caught.value, RefNotFoundError)
    assert "Could not read from remote" not in str(caught.value)  # git's boilerplate dropped
    with pytest.raises(HostRepoError, match="cannot reach"):
        repo.resolve("main")


def _all_text(error: BaseException) -> str:
    """Everything a person or a log could see of the error, including chained exceptions."""
    seen = "".join(traceback.format_exception(error))
    chain: BaseException | None = error
    while chain is not None:
        seen += repr(chain) + str(chain)
        chain = chain.__cause__ or chain.__context__
    return seen


def test_unreachable_url_with_token_never_shows_it() -> None:
    repo = cloned(f"https://user:{SECRET}@127.0.0.1:9/x.git")
    for action in (repo.list_refs, lambda: repo.resolve("main"), repo.refresh):
        with pytest.raises(HostRepoError) as caught:
            action()
        assert SECRET not in _all_text(caught.value)
        assert "127.0.0.1:9" in str(caught.value)


class _AuthRequired(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def auth_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AuthRequired)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("userinfo", ["", f"user:{SECRET}@", f"{SECRET}@"])
def test_authentication_failed(auth_server: str, userinfo: str) -> None:
    repo = open_host_repo(f"http://{userinfo}{auth_server}/x.git")
    with pytest.raises(HostRepoError, match="^authentication failed for http://127") as caught:
        repo.list_refs()
    assert SECRET not in _all_text(caught.value)


# -- reading and exporting -----------------------------------------------------------------------


def test_files_and_read(host: GitRepository, source: Source) -> None:
    assert host.files(source.first) == ["cmd/host/main.go", "go.mod", "link.mod", "run.sh"]
    assert host.files(source.second) == [
        "README.md",
        "cmd/host/main.go",
        "go.mod",
        "link.mod",
        "run.sh",
    ]  # vendor/sub is a gitlink, not a file
    assert host.read(source.second, "go.mod") == b"module example.com/host\n"
    assert host.read(source.second, "/cmd/host/main.go") == b"package main\n\nfunc main() {}\n"
    assert host.read(source.first, "README.md") is None
    assert host.read(source.second, "cmd") is None
    assert host.read(source.second, "vendor/sub") is None
    assert host.read(source.second, "link.mod") == b"go.mod"
    with pytest.raises(RefNotFoundError):
        host.files("f" * 40)


def test_gitlinks_are_reported(host: GitRepository, source: Source) -> None:
    # The fixture's gitlink has no .gitmodules entry: it is still reported, from the tree.
    assert host.gitlinks(source.first) == []
    assert host.gitlinks(source.second) == [Gitlink("vendor/sub", source.first)]
    with pytest.raises(RefNotFoundError):
        host.gitlinks("f" * 40)


@pytest.mark.parametrize("how", ["path", "file-url"])
def test_a_real_submodule_is_reported_not_exported(how: str, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    git(lib, "init", "-q", "-b", "main")
    lib_sha = commit_file(lib, "lib.go", "package lib\n", "lib")
    top = tmp_path / "top"
    top.mkdir()
    git(top, "init", "-q", "-b", "main")
    commit_file(top, "go.mod", "module example.com/top\n", "top")
    # file:// submodules are refused by default since git 2.38.1; this test's own repo is fine.
    git(top, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "deps/lib")
    git(top, "commit", "-q", "-m", "add lib")
    sha = git(top, "rev-parse", "HEAD")
    with opened(str(top) if how == "path" else top.as_uri()) as repo:
        assert repo.gitlinks(sha) == [Gitlink("deps/lib", lib_sha)]
        assert repo.files(sha) == [".gitmodules", "go.mod"]
        assert repo.read(sha, "deps/lib") is None
        assert repo.read(sha, "deps/lib/lib.go") is None
        with tarfile.open(fileobj=io.BytesIO(_export(repo, sha, "src"))) as tar:
            assert tar.getnames() == ["src/.gitmodules", "src/go.mod"]


def _export(repo: GitRepository, sha: str, prefix: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        repo.export(sha, tar, prefix)
    return buffer.getvalue()


def test_export_is_deterministic(host: GitRepository, source: Source) -> None:
    first = _export(host, source.second, "src")
    # same content from a separate clone of the source: byte-identical archives
    other_path = source.path.parent / "other"
    git(source.path.parent, "clone", "-q", str(source.path), str(other_path))
    (other_path / "run.sh").touch()
    with LocalGitRepository(other_path) as other:
        assert _export(other, source.second, "src/") == first
    assert _export(host, source.second, "src") == first

    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names)
        assert names == [
            "src/README.md",
            "src/cmd/host/main.go",
            "src/go.mod",
            "src/link.mod",
            "src/run.sh",
        ]
        assert not any(".git" in n.split("/") for n in names)
        by_name = {m.name: m for m in members}
        assert by_name["src/run.sh"].mode == 0o755
        assert by_name["src/go.mod"].mode == 0o644
        assert by_name["src/link.mod"].issym()
        assert by_name["src/link.mod"].linkname == "go.mod"
        for member in members:
            assert (member.mtime, member.uid, member.gid) == (0, 0, 0)
            assert (member.uname, member.gname) == ("", "")
        extracted = tar.extractfile("src/cmd/host/main.go")
        assert extracted is not None
        assert extracted.read() == b"package main\n\nfunc main() {}\n"


def test_export_without_prefix(host: GitRepository, source: Source) -> None:
    with tarfile.open(fileobj=io.BytesIO(_export(host, source.first, ""))) as tar:
        assert tar.getnames() == ["cmd/host/main.go", "go.mod", "link.mod", "run.sh"]


# -- the demo host -------------------------------------------------------------------------------


def test_demo_repo_is_reproducible(tmp_path: Path) -> None:
    one = ensure_demo_repo(tmp_path / "cache-one")
    two = ensure_demo_repo(tmp_path / "cache-two")
    assert one.name == two.name and one.name.startswith("demo-host-")
    with LocalGitRepository(one) as a, LocalGitRepository(two) as b:
        info = a.resolve("main")
        assert info == b.resolve("main")
        assert a.resolve("v0.1.0").sha == info.sha
        assert info.author == "plugwiz demo"
        assert info.date == "2024-01-01T00:00:00+00:00"
        assert [(r.kind, r.name) for r in a.list_refs()] == [("branch", "main"), ("tag", "v0.1.0")]
        assert a.files(info.sha)
    assert git(one, "rev-list", "--count", "HEAD") == "1"
    assert git(one, "log", "-1", "--format=%cn <%ce> %cI") == (
        "plugwiz demo <demo@plugwiz.invalid> 2024-01-01T00:00:00+00:00"
    )
    assert git(one, "status", "--porcelain") == ""
    assert set(git(one, "ls-files", "-s").split()[::4]) == {"100644"}


def test_demo_repo_reused_and_repaired(isolated_env: Path) -> None:
    first = ensure_demo_repo()
    assert first.parent == isolated_env
    marker = first / ".git" / "plugwiz-test-marker"
    marker.write_text("x")
    assert ensure_demo_repo() == first
    assert marker.exists()  # reused, not rebuilt
    # a damaged repository (not complete) is rebuilt in place
    shutil.rmtree(first / ".git" / "refs" / "tags")
    assert ensure_demo_repo() == first
    assert not marker.exists()
    assert git(first, "tag", "--list") == "v0.1.0"
    assert sorted(p.name for p in isolated_env.iterdir()) == [first.name]


def test_demo_plugin_path() -> None:
    path = demo_plugin_path()
    assert path.name == "hello.go"
    assert path.is_file()


def test_create_snapshot_repo_ignores_modes_and_location(tmp_path: Path) -> None:
    def make(dest: Path) -> str:
        return create_snapshot_repo(
            dest,
            {"a/b.txt": b"hello\n", "run.sh": b"#!/bin/sh\n"},
            branch="trunk",
            tag="t1",
            message="snapshot",
            name="n",
            email="e@x.invalid",
            date=datetime(2024, 1, 1, tzinfo=UTC),
        )

    assert make(tmp_path / "one") == make(tmp_path / "deeper" / "two")
    assert git(tmp_path / "one", "symbolic-ref", "HEAD") == "refs/heads/trunk"
