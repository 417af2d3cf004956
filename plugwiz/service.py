"""Opening a project's host repository: the one place that picks the git adapter.

The CLI (and through it the wizard) calls `open_repo`; everything after that goes through the
`HostRepository` port (`plugwiz.core.resolve`).
"""

from __future__ import annotations

from pathlib import Path

from plugwiz.core.model import DEMO_REPO, Project, ResolvedProject
from plugwiz.core.ports import HostRepository
from plugwiz.core.resolve import demo_project, resolve_project, with_host_ref

__all__ = ["demo_project", "open_repo", "resolve", "with_host_ref"]


def open_repo(project: Project) -> HostRepository:
    """The host repository of `project` (a relative local path is relative to its base dir;
    `demo` is the embedded demo host)."""
    repo = project.host.repo
    if repo == DEMO_REPO:
        from plugwiz.adapters.demo import ensure_demo_repo, open_demo_repo

        # The cached demo answers without GitPython: `plugwiz render` starts faster.
        path = ensure_demo_repo()
        demo = open_demo_repo(path)
        if demo is not None:
            return demo
        repo = str(path)
    elif repo and "://" not in repo and not _is_scp_url(repo):
        path = Path(repo).expanduser()
        repo = str(path if path.is_absolute() else project.base_dir / path)
    from plugwiz.adapters.git import open_host_repo

    return open_host_repo(repo)


def _is_scp_url(repo: str) -> bool:
    # `git@host:owner/repo.git`: a colon before any slash, and not a Windows drive letter.
    head = repo.split("/", 1)[0]
    return ":" in head and len(head.split(":", 1)[0]) > 1


def resolve(project: Project) -> ResolvedProject:
    """Open the project's host repository and resolve the project against it."""
    return resolve_project(project, open_repo(project))
