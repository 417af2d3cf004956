"""Protocols the adapters implement, so core, the CLI and the UI can swap real ones for fakes."""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from typing import Literal, Protocol


class HostRepoError(Exception):
    """The host repository cannot be used; the message is for a person (no credentials)."""


class RefNotFoundError(HostRepoError):
    """A ref that does not exist, with the closest existing names."""

    def __init__(self, ref: str, suggestions: list[str]) -> None:
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"ref {ref!r} not found in the host repository{hint}")
        self.ref = ref
        self.suggestions = suggestions


@dataclass(frozen=True)
class GitRef:
    """A branch or tag and the commit it points at (annotated tags peeled)."""

    name: str
    kind: Literal["branch", "tag"]
    sha: str


@dataclass(frozen=True)
class Gitlink:
    """A submodule entry (gitlink) of a tree: its path and the commit the tree records for it."""

    path: str
    sha: str


@dataclass(frozen=True)
class CommitInfo:
    """A resolved commit."""

    sha: str
    subject: str
    author: str
    date: str  # ISO 8601

    @property
    def short_sha(self) -> str:
        return self.sha[:12]


class HostRepository(Protocol):
    """A host git repository (local path or URL), read without touching a work tree."""

    def list_refs(self) -> list[GitRef]:
        """Branches and tags, sorted: branches first, then tags, each by name."""
        ...

    def resolve(self, ref: str) -> CommitInfo:
        """The commit a branch, tag, `HEAD` or (abbreviated) SHA names; RefNotFoundError if none."""
        ...

    def files(self, sha: str) -> list[str]:
        """Every file path in the tree at `sha` (posix, relative, sorted)."""
        ...

    def read(self, sha: str, path: str) -> bytes | None:
        """A file's content at `sha`, or None if it does not exist."""
        ...

    def export(self, sha: str, tar: tarfile.TarFile, prefix: str) -> None:
        """Add the tree at `sha` to `tar` under `prefix/` (no .git, deterministic headers;
        submodules are left out: see `gitlinks`)."""
        ...

    def gitlinks(self, sha: str) -> list[Gitlink]:
        """The submodules (path and recorded commit) of the tree at `sha`, sorted by path."""
        ...

    def open_submodule(self, sha: str, link: Gitlink) -> HostRepository:
        """The repository of submodule `link` of the tree at `sha` (its URL from .gitmodules at
        `sha`, relative URLs resolved against this repository), holding `link.sha`; raises
        HostRepoError naming the submodule and its URL when it cannot be reached."""
        ...
