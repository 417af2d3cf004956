"""The host repository adapter: GitPython over a local repository or a cached bare clone of a URL.

This is the only module that imports GitPython. Everything is read from the object database
(no checkout, no work tree); URLs are listed with `git ls-remote` so a wizard can show branches
and tags before anything is cloned.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

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

from plugwiz.core.paths import cache_dir  # noqa: E402
from plugwiz.core.ports import (  # noqa: E402
    CommitInfo,
    GitRef,
    HostRepoError,
    HostRepository,
    RefNotFoundError,
)
from plugwiz.core.redact import redact_url, scrub  # noqa: E402

__all__ = [
    "GitHostRepository",
    "create_snapshot_repo",
    "is_url",
    "open_host_repo",
]

_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# git's scp-like syntax `[user@]host:path`; the host needs 2+ characters so that a Windows
# drive letter (`C:\x`) is not taken for a host.
_SCP_RE = re.compile(r"^(?:[^@/:\s]+@)?(?:\[[^\]/]+\]|[^@/:\s]{2,}):")
_HEX_RE = re.compile(r"^[0-9a-fA-F]{4,40}$")
# Refs we never pass to git: option-looking (argument injection) or with whitespace/control
# characters, which no valid ref name contains.
_BAD_REF_RE = re.compile(r"^-|[\x00-\x20\x7f]")
# Characters of revision expressions (`main~2`, `v1^{}`, `@{u}`): only a real repo can answer.
_REV_EXPR_CHARS = frozenset("~^@:{")

_FETCH_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
# ls-remote is a single round trip; a minute without an answer means the server is not coming.
_LS_REMOTE_TIMEOUT_S = 60.0
_SYMLINK_MODE = 0o120000
_MAX_DETAIL_CHARS = 400

# stderr fragments (lower case) that mean "the server wants credentials we do not have".
_AUTH_MARKERS = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "permission denied (publickey",
    "access denied",
    "invalid username or password",
    "invalid credentials",
    "returned error: 401",
    "returned error: 403",
)
_BOILERPLATE = (
    "could not read from remote repository.",
    "please make sure you have the correct access rights",
    "and the repository exists.",
)


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


def _stderr(error: GitCommandError) -> str:
    raw = error.stderr
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
    # GitPython wraps stderr as "\n  stderr: '...'"; keep what git said.
    text = text.strip()
    if text.startswith("stderr:"):
        text = text[len("stderr:") :].strip()
    return text.strip("'\"").strip()


def _detail(stderr: str, url: str | None) -> str:
    """git's stderr as one line for a person: scrubbed of credentials and boilerplate."""
    text = scrub(stderr, url) if url else stderr
    lines = []
    for line in text.splitlines():
        line = line.strip().removeprefix("fatal: ").removeprefix("error: ")
        if not line or line.lower().startswith(_BOILERPLATE):
            continue
        lines.append(line)
    detail = " ".join(lines) or "no details from git"
    if len(detail) > _MAX_DETAIL_CHARS:
        detail = detail[: _MAX_DETAIL_CHARS - 1] + "…"
    # Scrub again: truncation or prefix removal cannot reveal anything, but the rejoined text
    # could in principle re-form a `scheme://user@` pattern split across lines.
    return scrub(detail, url) if url else detail


def _network_error(error: GitCommandError, display: str, url: str) -> HostRepoError:
    """A person-readable error for a failed ls-remote/clone/fetch of `url`."""
    detail = _detail(_stderr(error), url)
    low = detail.lower()
    if any(marker in low for marker in _AUTH_MARKERS):
        return HostRepoError(
            f"authentication failed for {display}: git could not log in (plugwiz never prompts "
            f"for passwords). Use an SSH URL with a key in ssh-agent, a git credential helper, "
            f"or a token. git said: {detail}"
        )
    if "host key verification failed" in low:
        return HostRepoError(
            f"cannot reach {display}: the server's SSH host key is not trusted yet; connect "
            f"once with `ssh` to accept it. git said: {detail}"
        )
    if low.startswith("timeout:"):
        return HostRepoError(f"cannot reach {display}: the server did not answer in time")
    return HostRepoError(f"cannot reach the host repository {display}: {detail}")


def _git_missing() -> HostRepoError:
    return HostRepoError("git is not installed or not on PATH; plugwiz needs it to read the host")


def is_url(repo: str) -> bool:
    """True if `repo` is a URL (`scheme://...` or scp-like `user@host:path`), not a local path."""
    if _SCHEME_RE.match(repo):
        return True
    if repo.startswith("-") or os.path.exists(repo):
        return False
    return bool(_SCP_RE.match(repo))


def _parse_ref_listing(text: str) -> dict[str, str]:
    """`<sha> <refname>` lines (ls-remote or show-ref -d) -> refname: peeled sha."""
    refs: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(None, 1)
        if len(parts) != 2:
            continue
        sha, name = parts[0], parts[1].strip()
        if name.endswith("^{}"):
            # The peeled line of an annotated tag: the commit wins over the tag object.
            refs[name[:-3]] = sha
        else:
            refs.setdefault(name, sha)
    return refs


def _to_git_refs(refs: Mapping[str, str]) -> list[GitRef]:
    """Branches first, then tags, each sorted by name."""
    out: list[GitRef] = []
    for prefix, kind in (("refs/heads/", "branch"), ("refs/tags/", "tag")):
        names = sorted(n[len(prefix) :] for n in refs if n.startswith(prefix))
        kind_: Literal["branch", "tag"] = "branch" if kind == "branch" else "tag"
        out.extend(GitRef(name=n, kind=kind_, sha=refs[prefix + n]) for n in names)
    return out


def _match_ref(ref: str, refs: Mapping[str, str]) -> str | None:
    """The sha `ref` names among full refnames, in git's order (a tag beats a branch)."""
    for candidate in (ref, f"refs/{ref}", f"refs/tags/{ref}", f"refs/heads/{ref}"):
        if candidate.startswith("refs/") and candidate in refs:
            return refs[candidate]
    return None


def _suggestions(ref: str, refs: Mapping[str, str]) -> list[str]:
    names = [ref.name for ref in _to_git_refs(refs)]
    return difflib.get_close_matches(ref, list(dict.fromkeys(names)), n=3, cutoff=0.6)


def _commit_info(commit: git.Commit) -> CommitInfo:
    message = commit.message
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return CommitInfo(
        sha=commit.hexsha,
        subject=text.split("\n", 1)[0].strip(),
        author=commit.author.name or "",
        date=commit.authored_datetime.isoformat(),
    )


def _blobs(commit: git.Commit) -> list[tuple[str, git.Blob]]:
    """(path, blob) for every file and symlink (not gitlinks) of the commit's tree, by path."""
    blobs = [
        (str(item.path), item) for item in commit.tree.traverse() if isinstance(item, git.Blob)
    ]
    return sorted(blobs, key=lambda pair: pair[0])


class GitHostRepository:
    """A host repository: a local path read in place, or a URL behind a cached bare clone.

    Satisfies `HostRepository`. For URLs nothing touches the network until a method needs it;
    `list_refs` only runs `git ls-remote`, and the clone is made on the first `resolve` (or
    `files`/`read`/`export`) and then fetched incrementally when the remote has moved.
    """

    def __init__(
        self,
        *,
        path: Path | None = None,
        url: str | None = None,
        clone_dir: Path | None = None,
    ) -> None:
        """Use `open_host_repo`; this takes either a validated `path` or a `url` + `clone_dir`."""
        if (path is None) == (url is None) or (url is not None and clone_dir is None):
            raise ValueError("GitHostRepository needs either path, or url and clone_dir")
        self._path = path
        self._url = url
        self._clone_dir = clone_dir
        self._repo: git.Repo | None = None
        # Commits by full SHA: one names the same commit forever, so it is looked up once
        # (a render reads several files at one SHA; each lookup was a `git rev-parse`).
        self._commits: dict[str, git.Commit] = {}
        if path is not None:
            self._repo = self._open_local(path)

    # -- public ------------------------------------------------------------------------------

    @property
    def display_url(self) -> str:
        """The repository as shown to a person: the path, or the URL without credentials."""
        return redact_url(self._url) if self._url is not None else str(self._path)

    @property
    def is_remote(self) -> bool:
        """True for a URL (cached clone), False for a local path read in place."""
        return self._url is not None

    @property
    def clone_dir(self) -> Path | None:
        """Where the bare clone of a URL lives (it may not exist yet); None for a local path."""
        return self._clone_dir

    def list_refs(self) -> list[GitRef]:
        """Branches and tags (annotated tags peeled), branches first, each sorted by name."""
        if self._url is not None:
            return _to_git_refs(self._remote_refs())
        return _to_git_refs(self._local_refs(self._local_repo()))

    def resolve(self, ref: str) -> CommitInfo:
        """The commit `ref` (branch, tag, `HEAD`, full or abbreviated SHA) names right now.

        For a URL the remote is asked first, so a branch that moved since the clone was made
        resolves to its new commit (the clone is fetched to get it).
        """
        if not ref or _BAD_REF_RE.search(ref):
            raise RefNotFoundError(ref, [])
        if self._url is None:
            repo = self._local_repo()
            sha = self._rev_parse(repo, ref)
            if sha is None:
                raise RefNotFoundError(ref, _suggestions(ref, self._local_refs(repo)))
            return _commit_info(repo.commit(sha))
        return self._resolve_remote(ref)

    def files(self, sha: str) -> list[str]:
        """Every file path (including symlinks, excluding submodules) in the tree at `sha`."""
        return [path for path, _ in _blobs(self._commit(sha))]

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
        0755 from git (symlinks 0777 as tar does), entries in path order. Submodules are skipped.
        """
        base = prefix.strip("/")
        for path, blob in _blobs(self._commit(sha)):
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

    def refresh(self) -> None:
        """Fetch new commits, branches and tags into the cached clone (no-op for a local path)."""
        if self._url is None:
            return
        repo, fresh = self._ensure_clone()
        if not fresh:
            self._fetch(repo)

    def close(self) -> None:
        """Stop the git helper processes GitPython keeps running for the repository."""
        self._commits.clear()
        if self._repo is not None:
            self._repo.close()
            if self._url is not None:
                self._repo = None

    def __enter__(self) -> GitHostRepository:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GitHostRepository({self.display_url!r})"

    # -- local repositories ------------------------------------------------------------------

    @staticmethod
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
            raise _git_missing() from None
        _pin_git_dir(repo)
        if (
            not GitHostRepository._local_refs(repo)
            and GitHostRepository._rev_parse(repo, "HEAD") is None
        ):
            repo.close()
            raise HostRepoError(f"host repository {path} is empty (no commits yet)")
        return repo

    def _local_repo(self) -> git.Repo:
        assert self._repo is not None, "local repositories are opened in __init__"
        return self._repo

    @staticmethod
    def _local_refs(repo: git.Repo) -> dict[str, str]:
        try:
            out = repo.git.show_ref("--heads", "--tags", "--dereference")
        except GitCommandNotFound:
            raise _git_missing() from None
        except GitCommandError as error:
            stderr = _stderr(error)
            if error.status == 1 and not stderr:
                return {}  # show-ref's way of saying "no refs"
            raise HostRepoError(
                f"cannot read the refs of {repo.git_dir}: {_detail(stderr, None)}"
            ) from None
        return _parse_ref_listing(_text(out))

    @staticmethod
    def _rev_parse(repo: git.Repo, ref: str) -> str | None:
        """The commit sha `ref` names in `repo`, or None (unknown, ambiguous, not a commit)."""
        try:
            out = repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
        except GitCommandNotFound:
            raise _git_missing() from None
        except GitCommandError:
            return None
        sha = _text(out).strip()
        return sha or None

    # -- URLs --------------------------------------------------------------------------------

    def _url_checked(self) -> str:
        assert self._url is not None
        return self._url

    def _network(self, args: Sequence[str], *, git_dir: Path | None, timeout: float | None) -> str:
        """Run a git command that talks to the remote; errors become HostRepoError."""
        url = self._url_checked()
        assert self._clone_dir is not None
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
            failure = _git_missing()
        except GitCommandError as error:
            failure = _network_error(error, self.display_url, url)
        else:
            return _text(out)
        # Raised outside the `except`, so the GitCommandError (whose stderr can hold the raw
        # URL with its token) is not kept as __context__; `from None` only hides it.
        raise failure

    def _remote_refs(self) -> dict[str, str]:
        url = self._url_checked()
        out = self._network(
            ["ls-remote", "--heads", "--tags", "--", url],
            git_dir=None,
            timeout=_LS_REMOTE_TIMEOUT_S,
        )
        refs = _parse_ref_listing(out)
        if not refs:
            raise HostRepoError(
                f"host repository {self.display_url} is empty (no branches or tags)"
            )
        return refs

    def _open_clone(self) -> git.Repo | None:
        """The existing cached clone, or None (a broken one is removed to be made again)."""
        if self._repo is not None:
            return self._repo
        assert self._clone_dir is not None
        if not self._clone_dir.exists():
            return None
        try:
            repo = git.Repo(self._clone_dir)
        except (InvalidGitRepositoryError, NoSuchPathError):
            # Clones are renamed into place only when complete, so this was damaged by hand.
            shutil.rmtree(self._clone_dir, ignore_errors=True)
            return None
        except GitCommandNotFound:
            raise _git_missing() from None
        _pin_git_dir(repo)
        self._repo = repo
        return repo

    def _ensure_clone(self) -> tuple[git.Repo, bool]:
        """The cached clone and whether it was just made (so a fetch would be redundant)."""
        existing = self._open_clone()
        if existing is not None:
            return existing, False
        url = self._url_checked()
        assert self._clone_dir is not None
        parent = self._clone_dir.parent
        parent.mkdir(parents=True, exist_ok=True)
        # Clone next to the target and rename: a crash or Ctrl-C never leaves a half clone
        # where the next run would trust it.
        tmp = Path(tempfile.mkdtemp(prefix=f".{self._clone_dir.name}.", suffix=".tmp", dir=parent))
        try:
            self._network(
                ["clone", "--bare", "--quiet", "--", url, str(tmp)], git_dir=None, timeout=None
            )
            # The clone stored the URL as given; keep credentials out of the cache on disk.
            # Fetches pass the URL explicitly, so they still authenticate.
            self._network(
                ["remote", "set-url", "origin", redact_url(url)], git_dir=tmp, timeout=None
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
            ["fetch", "--prune", "--quiet", "--", self._url_checked(), *_FETCH_REFSPECS],
            git_dir=Path(repo.git_dir),
            timeout=None,
        )

    def _sync(self, remote: Mapping[str, str]) -> git.Repo:
        """The clone, fetched if any branch or tag differs from what the remote advertises."""
        repo, fresh = self._ensure_clone()
        if not fresh and self._local_refs(repo) != dict(remote):
            self._fetch(repo)
        return repo

    def _resolve_remote(self, ref: str) -> CommitInfo:
        remote = self._remote_refs()
        sha = _match_ref(ref, remote)
        if sha is not None:
            repo, fresh = self._ensure_clone()
            if not fresh and self._rev_parse(repo, sha) is None:
                self._fetch(repo)
            if self._rev_parse(repo, sha) is None:
                raise HostRepoError(
                    f"{self.display_url} advertises {ref!r} at {sha[:12]}, but that commit "
                    f"could not be fetched"
                )
            return _commit_info(repo.commit(sha))
        if ref == "HEAD" or _HEX_RE.match(ref) or _REV_EXPR_CHARS & set(ref):
            repo = self._sync(remote)
            found = self._rev_parse(repo, ref)
            if found is None and _HEX_RE.match(ref) and len(ref) == 40:
                found = self._fetch_commit(repo, ref)
            if found is not None:
                return _commit_info(repo.commit(found))
        raise RefNotFoundError(ref, _suggestions(ref, remote))

    def _fetch_commit(self, repo: git.Repo, sha: str) -> str | None:
        """Fetch one commit no branch or tag reaches (servers may allow it), or None."""
        try:
            self._network(
                ["fetch", "--quiet", "--", self._url_checked(), sha],
                git_dir=Path(repo.git_dir),
                timeout=None,
            )
        except HostRepoError:
            return None
        return self._rev_parse(repo, sha)

    def _commit(self, sha: str) -> git.Commit:
        """The commit object for `sha`, fetching a URL's clone once if it is missing."""
        if not sha or _BAD_REF_RE.search(sha):
            raise RefNotFoundError(sha, [])
        known = self._commits.get(sha)
        if known is not None:
            return known
        if self._url is None:
            repo = self._local_repo()
            found = self._rev_parse(repo, sha)
        else:
            repo, fresh = self._ensure_clone()
            found = self._rev_parse(repo, sha)
            if found is None and not fresh:
                self._fetch(repo)
                found = self._rev_parse(repo, sha)
        if found is None:
            raise RefNotFoundError(sha, [])
        commit = repo.commit(found)
        if found == sha:  # a full SHA, not a prefix or a name
            self._commits[sha] = commit
        return commit


def _pin_git_dir(repo: git.Repo) -> None:
    """Make every command GitPython runs for `repo` use its git dir, whatever the environment."""
    repo.git.update_environment(GIT_DIR=str(repo.git_dir), **_prompt_free_env())


def _not_a_repo_message(path: Path) -> str:
    try:
        outer = git.Repo(path, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError, GitCommandNotFound):
        return f"{path} is not a git repository"
    top = outer.working_tree_dir or outer.git_dir
    outer.close()
    return f"{path} is not a git repository; it is inside the repository at {top}, use that path"


def _clone_dir_for(url: str, cache: Path | None) -> Path:
    # Keyed by the credential-free URL: the same repository with or without a token shares
    # one clone, and the token never appears in a directory name.
    key = hashlib.sha256(redact_url(url).encode("utf-8")).hexdigest()[:16]
    return (cache or cache_dir()) / "repos" / key


def open_host_repo(repo: str, cache: Path | None = None) -> HostRepository:
    """Open a host repository from a local path (work tree or bare) or a URL.

    Local paths are checked now (exists, is a repository, has commits). URLs are checked on
    first use; their bare clone lives in `(cache or cache_dir())/repos/<hash of the URL>`.
    Raises HostRepoError with a message for a person.
    """
    return open_git_host_repo(repo, cache)


def open_git_host_repo(repo: str, cache: Path | None = None) -> GitHostRepository:
    """`open_host_repo` typed as the concrete class, for callers that need `refresh()` etc."""
    text = repo.strip()
    if not text:
        raise HostRepoError("no host repository given")
    if is_url(text):
        return GitHostRepository(url=text, clone_dir=_clone_dir_for(text, cache))
    return GitHostRepository(path=Path(text).expanduser())


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
            raise _git_missing() from None
        except GitCommandError as error:
            raise HostRepoError(
                f"could not create the repository at {dest}: {_detail(_stderr(error), None)}"
            ) from None
