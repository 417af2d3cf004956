"""The host repository adapter: GitPython over a local repository or a cached bare clone of a URL.

This is the only module that imports GitPython. Two classes satisfy `HostRepository`:
`LocalGitRepository` reads a local path in place; `ClonedGitRepository` lists a URL with
`git ls-remote` (so a wizard can show branches and tags before anything is cloned) and reads
from a bare clone in the cache, fetched incrementally. Both read the object database only (no
checkout, no work tree). Text rules (ref listings, name lookup, error messages, what is a URL)
are pure functions in `plugwiz.core.git_refs`, `plugwiz.core.git_errors` and
`plugwiz.core.repo_url`.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

# Without this, importing GitPython on a machine without git raises ImportError and the whole
# app fails to start; with it, the first git call fails and we explain that git is missing.
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import git  # noqa: E402
from git.exc import (  # noqa: E402
    GitCommandError,
    GitCommandNotFound,
    InvalidGitRepositoryError,
    NoSuchPathError,
)

from plugwiz.core.git_errors import (  # noqa: E402
    git_detail,
    git_missing,
    network_error,
    stderr_text,
)
from plugwiz.core.git_refs import (  # noqa: E402
    is_bad_ref,
    is_full_sha,
    match_ref,
    needs_object_lookup,
    parse_ref_listing,
    sorted_refs,
    suggest_refs,
)
from plugwiz.core.paths import cache_dir  # noqa: E402
from plugwiz.core.ports import (  # noqa: E402
    CommitInfo,
    Gitlink,
    GitRef,
    HostRepoError,
    HostRepository,
    RefNotFoundError,
)
from plugwiz.core.redact import redact_url  # noqa: E402
from plugwiz.core.repo_url import RepoKind, classify_repo  # noqa: E402
from plugwiz.core.submodules import parse_gitmodules, resolve_submodule_url  # noqa: E402

__all__ = [
    "ClonedGitRepository",
    "LocalGitRepository",
    "create_snapshot_repo",
    "open_host_repo",
]

_FETCH_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
# ls-remote is a single round trip; a minute without an answer means the server is not coming.
_LS_REMOTE_TIMEOUT_S = 60.0
_SYMLINK_MODE = 0o120000


def _prompt_free_env() -> dict[str, str]:
    """Environment that makes git fail instead of asking for credentials on the terminal."""
    # An empty GIT_ASKPASS also stops git falling back to core.askPass or SSH_ASKPASS, so with
    # prompts disabled the error says "could not read Username", which we report as auth failure.
    return {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": ""}


def _text(output: object) -> str:
    """GitPython's `execute` result as text (it is typed as a union of every mode)."""
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return output if isinstance(output, str) else ""


# -- helpers over one git.Repo (both classes use them) ---------------------------------------------


def _pin_git_dir(repo: git.Repo) -> None:
    """Make every command GitPython runs for `repo` use its git dir, whatever the environment."""
    repo.git.update_environment(GIT_DIR=str(repo.git_dir), **_prompt_free_env())


def _show_refs(repo: git.Repo) -> dict[str, str]:
    """Full refname -> commit sha of every branch and tag in `repo` (annotated tags peeled)."""
    try:
        out = repo.git.show_ref("--heads", "--tags", "--dereference")
    except GitCommandNotFound:
        raise git_missing() from None
    except GitCommandError as error:
        stderr = stderr_text(error.stderr)
        if error.status == 1 and not stderr:
            return {}  # show-ref's way of saying "no refs"
        raise HostRepoError(
            f"cannot read the refs of {repo.git_dir}: {git_detail(stderr, None)}"
        ) from None
    return parse_ref_listing(_text(out))


def _rev_parse(repo: git.Repo, ref: str) -> str | None:
    """The commit sha `ref` names in `repo`, or None (unknown, ambiguous, not a commit)."""
    try:
        out = repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
    except GitCommandNotFound:
        raise git_missing() from None
    except GitCommandError:
        return None
    sha = _text(out).strip()
    return sha or None


def _commit_info(commit: git.Commit) -> CommitInfo:
    message = commit.message
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return CommitInfo(
        sha=commit.hexsha,
        subject=text.split("\n", 1)[0].strip(),
        author=commit.author.name or "",
        date=commit.authored_datetime.isoformat(),
    )


def _tree_entries(commit: git.Commit) -> tuple[list[tuple[str, git.Blob]], list[Gitlink]]:
    """(path, blob) for every file and symlink of the commit's tree, and every submodule
    entry (gitlink), each by path: one walk of the tree for both."""
    blobs: list[tuple[str, git.Blob]] = []
    links: list[Gitlink] = []
    for item in commit.tree.traverse():
        if isinstance(item, git.Blob):
            blobs.append((str(item.path), item))
        elif isinstance(item, git.Submodule):
            # GitPython turns mode-160000 entries into Submodule objects (and does not descend
            # into them); path and hexsha come from the tree entry, not from .gitmodules.
            links.append(Gitlink(path=str(item.path), sha=item.hexsha))
    blobs.sort(key=lambda pair: pair[0])
    links.sort(key=lambda link: link.path)
    return blobs, links


# -- the shared reading side -----------------------------------------------------------------------


class _GitRepository(ABC):
    """What both repositories share: reading trees at a commit, and closing.

    Subclasses say how a SHA is found (`_lookup`) and how refs are listed and resolved.
    """

    def __init__(self) -> None:
        # Commits by full SHA: one names the same commit forever, so it is looked up once
        # (a render reads several files at one SHA; each lookup was a `git rev-parse`).
        self._commits: dict[str, git.Commit] = {}
        self._walked: dict[str, tuple[list[tuple[str, git.Blob]], list[Gitlink]]] = {}

    @property
    @abstractmethod
    def display_url(self) -> str:
        """The repository as shown to a person (never with credentials)."""

    @abstractmethod
    def list_refs(self) -> list[GitRef]:
        """Branches and tags (annotated tags peeled), branches first, each sorted by name."""

    @abstractmethod
    def resolve(self, ref: str) -> CommitInfo:
        """The commit `ref` (branch, tag, `HEAD`, full or abbreviated SHA) names right now."""

    @abstractmethod
    def _lookup(self, sha: str) -> tuple[git.Repo, str | None]:
        """The repository holding `sha` and the full SHA it names there (None if unknown)."""

    @abstractmethod
    def _close_repo(self) -> None:
        """Stop the repository's git helper processes."""

    @abstractmethod
    def refresh(self) -> None:
        """Bring the repository up to date with where it comes from."""

    def _entries(self, sha: str) -> tuple[list[tuple[str, git.Blob]], list[Gitlink]]:
        """The tree at `sha`, walked once (a resolve lists its files, then its gitlinks)."""
        known = self._walked.get(sha)
        if known is None:
            known = _tree_entries(self._commit(sha))
            if is_full_sha(sha):
                self._walked[sha] = known
        return known

    def files(self, sha: str) -> list[str]:
        """Every file path (including symlinks, excluding submodules) in the tree at `sha`."""
        return [path for path, _ in self._entries(sha)[0]]

    def gitlinks(self, sha: str) -> list[Gitlink]:
        """The submodules (path and recorded commit) in the tree at `sha`, sorted by path.

        `files`, `read` and `export` skip them: a build of a host that has submodules lacks
        their content; this lets a caller notice (and refuse or warn).
        """
        return list(self._entries(sha)[1])

    def open_submodule(self, sha: str, link: Gitlink) -> HostRepository:
        """The repository of submodule `link` at `sha`, holding its recorded commit (its URL
        from .gitmodules; relative URLs resolved against this repository). HostRepoError names
        the submodule and its URL (without credentials) when it cannot be used."""
        text = (self.read(sha, ".gitmodules") or b"").decode("utf-8", "replace")
        url = parse_gitmodules(text).get(link.path)
        if url is None:
            raise HostRepoError(
                f"the host's submodule {link.path} has no URL in .gitmodules at {sha[:12]}: "
                "fix .gitmodules in the host repository"
            )
        location = resolve_submodule_url(url, self._location_url())
        shown = redact_url(location)
        try:
            repo = open_host_repo(location)
            repo.resolve(link.sha)
        except HostRepoError as error:
            raise HostRepoError(
                f"the host's submodule {link.path} ({shown}) cannot be fetched at "
                f"{link.sha[:12]}: {error}. Make that URL reachable from here (or change the "
                "submodule's URL in the host's .gitmodules), or build a host commit without it"
            ) from None
        return repo

    def _location_url(self) -> str:
        """Where this repository is, for resolving relative submodule URLs."""
        return self.display_url

    def read(self, sha: str, path: str) -> bytes | None:
        """The content of `path` at `sha` (a symlink's target for a symlink), or None."""
        clean = path.strip().lstrip("/").removeprefix("./").rstrip("/")
        if not clean:
            return None
        try:
            item = self._commit(sha).tree / clean
        except KeyError:
            return None
        if not isinstance(item, git.Blob):
            return None
        data: bytes = item.data_stream.read()
        return data

    def export(self, sha: str, tar: tarfile.TarFile, prefix: str) -> None:
        """Add every blob at `sha` to `tar` under `prefix/`, byte-for-byte reproducibly.

        Headers carry no time, owner or umask: mtime 0, uid/gid 0, empty names, mode 0644 or
        0755 from git (symlinks 0777 as tar does), entries in path order. Submodules are skipped
        (see `gitlinks`).
        """
        base = prefix.strip("/")
        for path, blob in self._entries(sha)[0]:
            # Read whole blobs: GitPython's streams share one `cat-file --batch` process and
            # must be drained before the next object is requested.
            data: bytes = blob.data_stream.read()
            info = tarfile.TarInfo(f"{base}/{path}" if base else path)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if blob.mode == _SYMLINK_MODE:
                info.type = tarfile.SYMTYPE
                info.linkname = data.decode("utf-8", "surrogateescape")
                info.mode = 0o777
                tar.addfile(info)
                continue
            info.mode = 0o755 if blob.mode & 0o111 else 0o644
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

    def close(self) -> None:
        """Stop the git helper processes GitPython keeps running for the repository."""
        self._commits.clear()
        self._walked.clear()
        self._close_repo()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display_url!r})"

    def _commit(self, sha: str) -> git.Commit:
        """The commit object `sha` names; RefNotFoundError if there is none."""
        if is_bad_ref(sha):
            raise RefNotFoundError(sha, [])
        known = self._commits.get(sha)
        if known is not None:
            return known
        repo, found = self._lookup(sha)
        if found is None:
            raise RefNotFoundError(sha, [])
        commit = repo.commit(found)
        if found == sha:  # a full SHA, not a prefix or a name
            self._commits[sha] = commit
        return commit


# -- a local path --------------------------------------------------------------------------------


class LocalGitRepository(_GitRepository):
    """A local repository (work tree or bare), read in place. Satisfies `HostRepository`."""

    def __init__(self, path: Path) -> None:
        """Open `path`; HostRepoError if it does not exist, is not a repository or is empty."""
        super().__init__()
        self._path = path
        self._repo = _open_local(path)

    @property
    def path(self) -> Path:
        """The repository's path as given."""
        return self._path

    @property
    def display_url(self) -> str:
        """The path."""
        return str(self._path)

    def list_refs(self) -> list[GitRef]:
        """Branches and tags (annotated tags peeled), branches first, each sorted by name."""
        return sorted_refs(_show_refs(self._repo))

    def resolve(self, ref: str) -> CommitInfo:
        """The commit `ref` names, as `git rev-parse` finds it; RefNotFoundError with the
        closest branch and tag names if none."""
        if is_bad_ref(ref):
            raise RefNotFoundError(ref, [])
        sha = _rev_parse(self._repo, ref)
        if sha is None:
            raise RefNotFoundError(ref, suggest_refs(ref, _show_refs(self._repo)))
        return _commit_info(self._repo.commit(sha))

    def refresh(self) -> None:
        """Nothing to do: a local repository is read in place, always current."""

    def _lookup(self, sha: str) -> tuple[git.Repo, str | None]:
        return self._repo, _rev_parse(self._repo, sha)

    def _close_repo(self) -> None:
        # GitPython restarts its helpers on the next call, so a closed local repo still works.
        self._repo.close()


def _open_local(path: Path) -> git.Repo:
    if not path.exists():
        raise HostRepoError(f"host repository path {path} does not exist")
    if not path.is_dir():
        raise HostRepoError(f"{path} is a file, not a git repository")
    try:
        repo = git.Repo(path)
    except (InvalidGitRepositoryError, NoSuchPathError):
        raise HostRepoError(_not_a_repo_message(path)) from None
    except GitCommandNotFound:
        raise git_missing() from None
    _pin_git_dir(repo)
    if not _show_refs(repo) and _rev_parse(repo, "HEAD") is None:
        repo.close()
        raise HostRepoError(f"host repository {path} is empty (no commits yet)")
    return repo


def _not_a_repo_message(path: Path) -> str:
    try:
        outer = git.Repo(path, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError, GitCommandNotFound):
        return f"{path} is not a git repository"
    top = outer.working_tree_dir or outer.git_dir
    outer.close()
    return f"{path} is not a git repository; it is inside the repository at {top}, use that path"


# -- a URL ---------------------------------------------------------------------------------------


class ClonedGitRepository(_GitRepository):
    """A URL behind a cached bare clone. Satisfies `HostRepository`.

    Nothing touches the network until a method needs it: `list_refs` only runs `git ls-remote`;
    the clone is made on the first `resolve` (or `files`/`read`/`export`) in
    `(cache or cache_dir())/repos/<hash of the URL without credentials>`, and fetched when the
    remote has moved. Credentials in the URL are used for each command but never stored in the
    clone, never in a directory name and never in a message.
    """

    def __init__(self, url: str, cache: Path | None = None) -> None:
        """Take `url` (not checked until first use) and the cache directory for its clone."""
        super().__init__()
        self._url = url
        self._clone_dir = _clone_dir_for(url, cache)
        self._repo: git.Repo | None = None

    @property
    def display_url(self) -> str:
        """The URL without credentials."""
        return redact_url(self._url)

    def _location_url(self) -> str:
        # With its credentials: a relative submodule on the same server needs them too.
        return self._url

    @property
    def clone_dir(self) -> Path:
        """Where the bare clone lives (it may not exist yet)."""
        return self._clone_dir

    def list_refs(self) -> list[GitRef]:
        """The remote's branches and tags (annotated tags peeled), from `git ls-remote`."""
        return sorted_refs(self._remote_refs())

    def resolve(self, ref: str) -> CommitInfo:
        """The commit `ref` names on the remote right now.

        The remote is asked first, so a branch that moved since the clone was made resolves to
        its new commit (the clone is fetched to get it). `HEAD`, SHAs and revision expressions
        are answered by the clone, fetched first if the remote's refs differ from it.
        """
        if is_bad_ref(ref):
            raise RefNotFoundError(ref, [])
        remote = self._remote_refs()
        sha = match_ref(ref, remote)
        if sha is not None:
            repo, fresh = self._ensure_clone()
            if not fresh and _rev_parse(repo, sha) is None:
                self._fetch(repo)
            if _rev_parse(repo, sha) is None:
                raise HostRepoError(
                    f"{self.display_url} advertises {ref!r} at {sha[:12]}, but that commit "
                    f"could not be fetched"
                )
            return _commit_info(repo.commit(sha))
        if needs_object_lookup(ref):
            repo = self._sync(remote)
            found = _rev_parse(repo, ref)
            if found is None and is_full_sha(ref):
                found = self._fetch_commit(repo, ref)
            if found is not None:
                return _commit_info(repo.commit(found))
        raise RefNotFoundError(ref, suggest_refs(ref, remote))

    def refresh(self) -> None:
        """Fetch new commits, branches and tags into the cached clone (made if missing)."""
        repo, fresh = self._ensure_clone()
        if not fresh:
            self._fetch(repo)

    def _lookup(self, sha: str) -> tuple[git.Repo, str | None]:
        # A SHA from an earlier run may be newer than the clone: fetch once before giving up.
        repo, fresh = self._ensure_clone()
        found = _rev_parse(repo, sha)
        if found is None and not fresh:
            self._fetch(repo)
            found = _rev_parse(repo, sha)
        return repo, found

    def _close_repo(self) -> None:
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    def _network(self, args: Sequence[str], *, git_dir: Path | None, timeout: float | None) -> str:
        """Run a git command that talks to the remote; errors become HostRepoError."""
        cwd = git_dir or self._clone_dir.parent
        cwd.mkdir(parents=True, exist_ok=True)
        runner = git.Git(cwd)
        env = _prompt_free_env()
        if git_dir is not None:
            # Pin the repo: an inherited GIT_DIR (e.g. running under a git hook) would win.
            env["GIT_DIR"] = str(git_dir)
        runner.update_environment(**env)
        extra: dict[str, Any] = {}
        if os.name == "posix":
            # No controlling terminal: ssh cannot prompt for a passphrase or host key over
            # the wizard's screen; it fails, and we say why.
            extra["start_new_session"] = True
        failure: HostRepoError
        try:
            out = runner.execute(
                [runner.GIT_PYTHON_GIT_EXECUTABLE or "git", *args],
                kill_after_timeout=timeout,
                **extra,
            )
        except GitCommandNotFound:
            failure = git_missing()
        except GitCommandError as error:
            failure = network_error(stderr_text(error.stderr), self._url)
        else:
            return _text(out)
        # Raised outside the `except`, so the GitCommandError (whose stderr can hold the raw
        # URL with its token) is not kept as __context__; `from None` only hides it.
        raise failure

    def _remote_refs(self) -> dict[str, str]:
        out = self._network(
            ["ls-remote", "--heads", "--tags", "--", self._url],
            git_dir=None,
            timeout=_LS_REMOTE_TIMEOUT_S,
        )
        refs = parse_ref_listing(out)
        if not refs:
            raise HostRepoError(
                f"host repository {self.display_url} is empty (no branches or tags)"
            )
        return refs

    def _open_clone(self) -> git.Repo | None:
        """The existing cached clone, or None (a broken one is removed to be made again)."""
        if self._repo is not None:
            return self._repo
        if not self._clone_dir.exists():
            return None
        try:
            repo = git.Repo(self._clone_dir)
        except (InvalidGitRepositoryError, NoSuchPathError):
            # Clones are renamed into place only when complete, so this was damaged by hand.
            shutil.rmtree(self._clone_dir, ignore_errors=True)
            return None
        except GitCommandNotFound:
            raise git_missing() from None
        _pin_git_dir(repo)
        self._repo = repo
        return repo

    def _ensure_clone(self) -> tuple[git.Repo, bool]:
        """The cached clone and whether it was just made (so a fetch would be redundant)."""
        existing = self._open_clone()
        if existing is not None:
            return existing, False
        parent = self._clone_dir.parent
        parent.mkdir(parents=True, exist_ok=True)
        # Clone next to the target and rename: a crash or Ctrl-C never leaves a half clone
        # where the next run would trust it.
        tmp = Path(tempfile.mkdtemp(prefix=f".{self._clone_dir.name}.", suffix=".tmp", dir=parent))
        try:
            self._network(
                ["clone", "--bare", "--quiet", "--", self._url, str(tmp)],
                git_dir=None,
                timeout=None,
            )
            # The clone stored the URL as given; keep credentials out of the cache on disk.
            # Fetches pass the URL explicitly, so they still authenticate.
            self._network(
                ["remote", "set-url", "origin", redact_url(self._url)], git_dir=tmp, timeout=None
            )
            try:
                os.rename(tmp, self._clone_dir)
            except OSError:
                # Another plugwiz made the same clone meanwhile; theirs is as good as ours.
                if not self._clone_dir.is_dir():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        repo = self._open_clone()
        if repo is None:
            raise HostRepoError(f"could not create the cached clone of {self.display_url}")
        return repo, True

    def _fetch(self, repo: git.Repo) -> None:
        # The URL, not the name `origin`: the stored origin URL has its credentials removed.
        self._network(
            ["fetch", "--prune", "--quiet", "--", self._url, *_FETCH_REFSPECS],
            git_dir=Path(repo.git_dir),
            timeout=None,
        )

    def _sync(self, remote: Mapping[str, str]) -> git.Repo:
        """The clone, fetched if any branch or tag differs from what the remote advertises."""
        repo, fresh = self._ensure_clone()
        if not fresh and _show_refs(repo) != dict(remote):
            self._fetch(repo)
        return repo

    def _fetch_commit(self, repo: git.Repo, sha: str) -> str | None:
        """Fetch one commit no branch or tag reaches (servers may allow it), or None."""
        try:
            self._network(
                ["fetch", "--quiet", "--", self._url, sha],
                git_dir=Path(repo.git_dir),
                timeout=None,
            )
        except HostRepoError:
            return None
        return _rev_parse(repo, sha)


def _clone_dir_for(url: str, cache: Path | None) -> Path:
    # Keyed by the credential-free URL: the same repository with or without a token shares
    # one clone, and the token never appears in a directory name.
    key = hashlib.sha256(redact_url(url).encode("utf-8")).hexdigest()[:16]
    return (cache or cache_dir()) / "repos" / key


# -- the entry point -----------------------------------------------------------------------------


def open_host_repo(repo: str, cache: Path | None = None) -> HostRepository:
    """Open a host repository: a URL, `demo` (the embedded demo host) or a local path.

    `plugwiz.core.repo_url.classify_repo` decides which (a relative path is relative to the
    current directory). Local paths are checked now (exists, is a repository, has commits);
    URLs on first use, their bare clone living in `(cache or cache_dir())/repos/`. Raises
    HostRepoError with a message for a person.
    """
    text = repo.strip()
    if not text:
        raise HostRepoError("no host repository given")
    # os.path.expanduser leaves an unknown `~user` alone; Path.expanduser would raise.
    kind = classify_repo(
        text, exists=lambda candidate: os.path.exists(os.path.expanduser(candidate))
    )
    if kind is RepoKind.URL:
        return ClonedGitRepository(text, cache)
    if kind is RepoKind.DEMO:
        from plugwiz.adapters.demo import ensure_demo_repo

        return LocalGitRepository(ensure_demo_repo(cache))
    return LocalGitRepository(Path(os.path.expanduser(text)))


# -- making a repository -------------------------------------------------------------------------


def create_snapshot_repo(
    dest: Path,
    files: Mapping[str, bytes],
    *,
    branch: str,
    tag: str | None,
    message: str,
    name: str,
    email: str,
    date: datetime,
) -> str:
    """Create a fresh work-tree repository at `dest` with one commit of `files`; return its SHA.

    The SHA depends only on the arguments: files are written 0644, and git runs without the
    user's or system's config (no autocrlf, signing, hooks, templates), so it is the same on
    every machine. `dest` must not exist. `date` must be timezone-aware.
    """
    if date.tzinfo is None:
        raise ValueError("date must be timezone-aware")
    dest.mkdir(parents=True)
    for rel, data in files.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(0o644)
    raw_date = f"{int(date.timestamp())} +0000"
    with tempfile.TemporaryDirectory(prefix="plugwiz-git-home-") as home:
        git_dir = dest / ".git"
        env = {
            **_prompt_free_env(),
            "HOME": home,
            "XDG_CONFIG_HOME": home,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_DIR": str(git_dir),
            "GIT_WORK_TREE": str(dest),
            "GIT_INDEX_FILE": str(git_dir / "index"),
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_AUTHOR_DATE": raw_date,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": raw_date,
        }
        runner = git.Git(dest)
        runner.update_environment(**env)
        try:
            # `--template=`: no hooks or other files from a user's template directory.
            runner.init("--quiet", "--template=")
            # Not `init -b`: symbolic-ref works on every git version.
            runner.symbolic_ref("HEAD", f"refs/heads/{branch}")
            runner.add("--all")
            runner.commit("--quiet", "--no-verify", "--no-gpg-sign", "-m", message)
            if tag:
                runner.tag(tag)
            return _text(runner.rev_parse("HEAD")).strip()
        except GitCommandNotFound:
            raise git_missing() from None
        except GitCommandError as error:
            detail = git_detail(stderr_text(error.stderr), None)
            raise HostRepoError(f"could not create the repository at {dest}: {detail}") from None
