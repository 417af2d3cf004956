"""Turning a project as the user wrote it into a resolved one: the glue between core and git.

The CLI and the wizard both go through here, so they resolve refs and detect the same way.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from plugwiz.core.detect import detect_host
from plugwiz.core.model import Host, PluginSource, Project
from plugwiz.core.ports import CommitInfo, HostRepository
from plugwiz.core.repo_url import RepoKind, classify_repo


def open_repo(project: Project) -> HostRepository:
    """The host repository of `project`: a URL, the embedded demo (`demo`), or a local path
    (a relative one is relative to the project's base dir). See `classify_repo`."""
    repo = project.host.repo.strip()
    kind = classify_repo(repo, exists=lambda text: _local_path(project, text).exists())
    if kind is RepoKind.DEMO:
        from plugwiz.adapters.demo import ensure_demo_repo

        repo = str(ensure_demo_repo())
    elif kind is RepoKind.LOCAL and repo:
        repo = str(_local_path(project, repo))
    if kind is not RepoKind.URL and Path(repo).name.startswith("demo-host-"):
        from plugwiz.adapters.demo import open_demo_repo

        # The cached demo answers without GitPython: `plugwiz render` starts faster.
        demo = open_demo_repo(Path(repo))
        if demo is not None:
            return demo
    from plugwiz.adapters.git import open_host_repo

    return open_host_repo(repo)


def _local_path(project: Project, repo: str) -> Path:
    # os.path.expanduser leaves an unknown `~user` alone; Path.expanduser would raise.
    path = Path(os.path.expanduser(repo))
    return path if path.is_absolute() else project.base_dir / path


def resolve_commit(project: Project, repo: HostRepository) -> CommitInfo:
    """The commit to build: the pinned one if the project has it, else the ref's."""
    return repo.resolve(project.host.commit or project.host.ref or "HEAD")


def resolve_project(
    project: Project, repo: HostRepository | None = None
) -> tuple[Project, CommitInfo]:
    """Pin the host commit and detect the host's facts; raises HostRepoError or DetectError."""
    repo = repo or open_repo(project)
    commit = resolve_commit(project, repo)
    sha = commit.sha
    facts = detect_host(repo.files(sha), lambda path: repo.read(sha, path))
    return project.with_facts(facts, sha), commit


def demo_project(base_dir: Path | None = None) -> Project:
    """The embedded demo host at its fixed commit, with the sample custom plugin."""
    from plugwiz.adapters.demo import demo_plugin_path, ensure_demo_repo

    repo = ensure_demo_repo()
    return Project(
        host=Host(repo=str(repo), ref="main"),
        plugins=(PluginSource(source=str(demo_plugin_path())),),
        tag="plugwiz-demo:latest",
        base_dir=base_dir or Path.cwd(),
    )


def with_host_ref(project: Project, ref: str) -> Project:
    """The project with a new ref; the pinned commit is dropped so the ref is resolved again."""
    return replace(project, host=replace(project.host, ref=ref, commit=""))
