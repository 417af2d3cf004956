"""The demo host: the Go tree shipped inside plugwiz, turned into a reproducible git repository.

A user without a host of their own can try the wizard on it; since its commit SHA is the same on
every machine, docs, tests and bug reports can name it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from datetime import datetime
from importlib.abc import Traversable
from importlib.resources import files
from pathlib import Path

from plugwiz.adapters.git import create_snapshot_repo, open_git_host_repo
from plugwiz.core.paths import cache_dir
from plugwiz.core.ports import HostRepoError

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
    try:
        with open_git_host_repo(str(repo_dir)) as repo:
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
