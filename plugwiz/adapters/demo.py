"""The demo host: the Go tree shipped inside plugwiz, turned into a reproducible git repository.

A user without a host of their own can try the wizard on it; since its commit SHA is the same on
every machine, docs, tests and bug reports can name it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from datetime import datetime
from importlib.abc import Traversable
from importlib.resources import files
from pathlib import Path

from plugwiz.core.paths import cache_dir
from plugwiz.core.ports import CommitInfo, Gitlink, GitRef, HostRepoError, HostRepository

DEMO_BRANCH = "main"
DEMO_TAG = "v0.1.0"
DEMO_AUTHOR_NAME = "plugwiz demo"
DEMO_AUTHOR_EMAIL = "demo@plugwiz.invalid"
DEMO_DATE = "2024-01-01T00:00:00Z"
DEMO_MESSAGE = "plugwiz demo host"

# Part of the cache key: bump it when the way the repository is built changes, so caches made
# by an older plugwiz (same files, different commit) are not reused.
_BUILD_VERSION = "1"
# Never part of the demo, even if a developer's checkout has them lying around.
_SKIP_NAMES = frozenset({".git", "__pycache__", ".DS_Store"})


def _package_root() -> Traversable:
    try:
        return files("plugwiz")
    except (NotADirectoryError, TypeError, ModuleNotFoundError):
        # An editable install made before plugwiz/__init__.py existed imports plugwiz as a
        # namespace package that importlib.resources cannot list; the files are next to us.
        return Path(__file__).resolve().parent.parent


def demo_host_source() -> Traversable:
    """The demo host tree inside the installed package (`plugwiz/demo/host/`)."""
    return _package_root() / "demo" / "host"


def demo_plugin_path() -> Path:
    """The path of the demo plugin source, `plugwiz/demo/plugins/hello.go`."""
    return Path(str(_package_root() / "demo" / "plugins" / "hello.go"))


def _collect(node: Traversable, prefix: str, out: dict[str, bytes]) -> None:
    # Traversable rather than os.walk: works for any importlib resource loader.
    for child in node.iterdir():
        if child.name in _SKIP_NAMES:
            continue
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            _collect(child, rel + "/", out)
        elif child.is_file():
            out[rel] = child.read_bytes()


def demo_host_files(source: Traversable | None = None) -> dict[str, bytes]:
    """Every file of the demo host tree: posix relative path -> content, sorted by path."""
    out: dict[str, bytes] = {}
    _collect(source if source is not None else demo_host_source(), "", out)
    return dict(sorted(out.items()))


def _tree_hash(tree: dict[str, bytes]) -> str:
    digest = hashlib.sha256(f"plugwiz-demo-host/{_BUILD_VERSION}\0".encode())
    for rel, data in sorted(tree.items()):
        # Length-prefixed, so no two different trees can produce the same byte stream.
        encoded = rel.encode("utf-8")
        digest.update(f"{len(encoded)}\0".encode() + encoded + f"{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:16]


def _is_complete(repo_dir: Path) -> bool:
    if _cached_demo_sha(repo_dir) is not None:
        return True
    # GitPython is imported only when the quick look at the refs is not enough (start-up time).
    from plugwiz.adapters.git import LocalGitRepository

    try:
        with LocalGitRepository(repo_dir) as repo:
            return repo.resolve(DEMO_BRANCH).sha == repo.resolve(DEMO_TAG).sha
    except HostRepoError:
        return False


def ensure_demo_repo(cache: Path | None = None) -> Path:
    """The demo host as a git repository, made on first use: `<cache>/demo-host-<tree hash>`.

    One commit on `main`, tagged `v0.1.0`, with fixed author, committer, date and file modes,
    so the SHA is the same everywhere. `cache` defaults to `cache_dir()`. An existing complete
    repository is reused; it is built in a temporary directory and renamed into place, so an
    interrupted run never leaves a half-made one.
    """
    tree = demo_host_files()
    if not tree:
        raise HostRepoError("the demo host tree is missing from this plugwiz installation")
    base = cache or cache_dir()
    dest = base / f"demo-host-{_tree_hash(tree)}"
    if dest.exists():
        if _is_complete(dest):
            return dest
        shutil.rmtree(dest)
    base.mkdir(parents=True, exist_ok=True)
    from plugwiz.adapters.git import create_snapshot_repo

    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=base))
    try:
        create_snapshot_repo(
            staging / "repo",
            tree,
            branch=DEMO_BRANCH,
            tag=DEMO_TAG,
            message=DEMO_MESSAGE,
            name=DEMO_AUTHOR_NAME,
            email=DEMO_AUTHOR_EMAIL,
            date=datetime.fromisoformat(DEMO_DATE.replace("Z", "+00:00")),
        )
        try:
            os.rename(staging / "repo", dest)
        except OSError:
            # Another plugwiz built it at the same moment; the content is identical.
            if not _is_complete(dest):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


# -- a fast path for the demo ---------------------------------------------------------------
# `plugwiz render` on the demo, and the wizard's first screen, only resolve the demo's one
# commit and read its files. Those are known without GitPython (about 100 ms to import, plus
# a dozen git processes): the SHA is in the ref files of the repository ensure_demo_repo made,
# and the files are the embedded tree that repository was made from (its name is the tree's
# hash). Everything else (refs, export, other commits) goes to the real git adapter.

_SHA_CHARS = frozenset("0123456789abcdef")


def _read_ref(git_dir: Path, name: str) -> str | None:
    try:
        text = (git_dir / name).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if len(text) == 40 and set(text) <= _SHA_CHARS else None


def _cached_demo_sha(repo_dir: Path) -> str | None:
    """The demo commit if `repo_dir` is plainly complete (HEAD on main, main == tag, commit
    object present, nothing packed), read from the files git wrote; None when unsure."""
    git_dir = repo_dir / ".git"
    try:
        head = (git_dir / "HEAD").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if head != f"ref: refs/heads/{DEMO_BRANCH}":
        return None
    sha = _read_ref(git_dir, f"refs/heads/{DEMO_BRANCH}")
    if sha is None or sha != _read_ref(git_dir, f"refs/tags/{DEMO_TAG}"):
        return None
    if not (git_dir / "objects" / sha[:2] / sha[2:]).is_file():
        return None
    return sha


class DemoHostRepository:
    """The cached demo repository, answering for its one commit from the embedded tree.

    Satisfies `HostRepository`; `resolve`, `files` and `read` of the demo commit give exactly
    what the git adapter gives (tests compare them), anything else is delegated to it.
    """

    def __init__(self, path: Path, sha: str, tree: dict[str, bytes]) -> None:
        """Use `open_demo_repo`."""
        self._path = path
        self._sha = sha
        self._tree = tree
        self._git: HostRepository | None = None

    def _real(self) -> HostRepository:
        if self._git is None:
            from plugwiz.adapters.git import LocalGitRepository

            self._git = LocalGitRepository(self._path)
        return self._git

    def _names_demo_commit(self, ref: str) -> bool:
        if ref in ("HEAD", DEMO_BRANCH, DEMO_TAG, f"refs/heads/{DEMO_BRANCH}"):
            return True
        return 4 <= len(ref) <= 40 and self._sha.startswith(ref.lower()) and ref.isalnum()

    def resolve(self, ref: str) -> CommitInfo:
        """The demo commit for main, v0.1.0, HEAD or its SHA; the git adapter otherwise."""
        if self._names_demo_commit(ref):
            date = datetime.fromisoformat(DEMO_DATE.replace("Z", "+00:00"))
            return CommitInfo(
                sha=self._sha, subject=DEMO_MESSAGE, author=DEMO_AUTHOR_NAME, date=date.isoformat()
            )
        return self._real().resolve(ref)

    def list_refs(self) -> list[GitRef]:
        """main and v0.1.0 when they are the only refs (as made), else the git adapter's."""
        git_dir = self._path / ".git"
        try:
            only_ours = (
                not (git_dir / "packed-refs").exists()
                and [p.name for p in (git_dir / "refs" / "heads").iterdir()] == [DEMO_BRANCH]
                and [p.name for p in (git_dir / "refs" / "tags").iterdir()] == [DEMO_TAG]
            )
        except OSError:
            only_ours = False
        if not only_ours:
            return self._real().list_refs()
        return [GitRef(DEMO_BRANCH, "branch", self._sha), GitRef(DEMO_TAG, "tag", self._sha)]

    def files(self, sha: str) -> list[str]:
        """Every file path at `sha` (the embedded tree for the demo commit)."""
        if sha == self._sha:
            return list(self._tree)
        return self._real().files(sha)

    def read(self, sha: str, path: str) -> bytes | None:
        """A file's content at `sha`, or None (the embedded tree for the demo commit)."""
        if sha != self._sha:
            return self._real().read(sha, path)
        clean = path.strip().lstrip("/").removeprefix("./").rstrip("/")
        return self._tree.get(clean) if clean else None

    def export(self, sha: str, tar: tarfile.TarFile, prefix: str) -> None:
        """The git adapter's export (the build context is not on the start-up path)."""
        self._real().export(sha, tar, prefix)

    def gitlinks(self, sha: str) -> list[Gitlink]:
        """None for the demo commit (it has no submodules); the git adapter's otherwise."""
        if sha == self._sha:
            return []
        return self._real().gitlinks(sha)

    def open_submodule(self, sha: str, link: Gitlink) -> HostRepository:
        """The git adapter's."""
        return self._real().open_submodule(sha, link)

    def __getattr__(self, name: str) -> object:
        # list_refs, export, refresh, close, display_url...: the real adapter's.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._real(), name)


def open_demo_repo(repo_dir: Path) -> DemoHostRepository | None:
    """A fast repository for `repo_dir` if it is the complete cached demo of this plugwiz's
    embedded tree (`<cache>/demo-host-<tree hash>`), else None."""
    if not repo_dir.name.startswith("demo-host-"):
        return None
    tree = demo_host_files()
    if repo_dir.name != f"demo-host-{_tree_hash(tree)}":
        return None
    sha = _cached_demo_sha(repo_dir)
    return DemoHostRepository(repo_dir, sha, tree) if sha else None
