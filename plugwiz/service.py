"""Opening a project's host repository: the one place that picks the git adapter.

The CLI (and through it the wizard) calls `open_repo`; everything after that goes through the
`HostRepository` port (`plugwiz.core.resolve`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from plugwiz.core.image_refs import IMAGE_MAP_ENV, parse_image_map
from plugwiz.core.model import BaseImages, Project, ResolvedProject
from plugwiz.core.ports import HostRepository
from plugwiz.core.repo_url import RepoKind, classify_repo
from plugwiz.core.resolve import demo_project, resolve_project, with_host_ref

__all__ = ["demo_project", "machine_base_images", "open_repo", "resolve", "with_host_ref"]


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


def machine_base_images(environ: Mapping[str, str] | None = None) -> BaseImages:
    """What this machine says about base images: its map of local stand-ins
    (`PLUGWIZ_IMAGE_MAP=golang=plugwiz-offline/golang,...`). Raises ProjectError for a
    malformed map."""
    env = os.environ if environ is None else environ
    text = env.get(IMAGE_MAP_ENV, "")
    return BaseImages(local=parse_image_map(text)) if text.strip() else BaseImages()


def resolve(project: Project, base: BaseImages | None = None) -> ResolvedProject:
    """Open the project's host repository and resolve the project against it, with this
    machine's base images (`machine_base_images`) unless `base` is given."""
    resolved = resolve_project(project, open_repo(project))
    return replace(resolved, base=machine_base_images() if base is None else base)
