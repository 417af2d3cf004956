"""Resolving a project: its host through the repository port, its plugins on disk.

The CLI and the wizard both go through here, so they resolve refs and detect the same way.
Which repository adapter answers is the caller's choice (`plugwiz.service.open_repo`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from plugwiz.core.context import inspect_plugins
from plugwiz.core.detect import detect_host
from plugwiz.core.model import (
    DEMO_REPO,
    DEMO_SOURCE_PREFIX,
    Host,
    PluginSource,
    Project,
    ResolvedHost,
    ResolvedProject,
    host_revision,
)
from plugwiz.core.modsource import module_environment
from plugwiz.core.ports import HostRepository

DEMO_TAG = "plugwiz-demo:latest"


def resolve_host(host: Host, repo: HostRepository) -> ResolvedHost:
    """Resolve the host's pinned commit (else its ref, else HEAD) and detect its facts;
    raises HostRepoError or DetectError for a person."""
    revision = host_revision(host)
    commit = repo.resolve(revision)
    sha = commit.sha
    facts = detect_host(repo.files(sha), lambda path: repo.read(sha, path))
    links = tuple(repo.gitlinks(sha))
    if links:
        facts = replace(facts, submodules=links)
    return ResolvedHost(repo=host.repo, ref=revision, commit=commit, facts=facts)


def resolve_project(
    project: Project, repo: HostRepository, environ: Mapping[str, str] | None = None
) -> ResolvedProject:
    """The project with its host resolved, its plugin sources looked at on disk, and the
    module settings of `environ` (default: this process's environment)."""
    environment = module_environment(os.environ if environ is None else environ)
    host = resolve_host(project.host, repo)
    plugins = inspect_plugins(project, host.facts.gomod.module)
    return ResolvedProject(project, host, plugins, environment)


def demo_project(base_dir: Path | None = None) -> Project:
    """The embedded demo host, with the sample custom plugin."""
    return Project(
        host=Host(repo=DEMO_REPO, ref="main"),
        plugins=(PluginSource(source=f"{DEMO_SOURCE_PREFIX}hello.go"),),
        tag=DEMO_TAG,
        base_dir=base_dir or Path.cwd(),
    )


def with_host_ref(project: Project, ref: str) -> Project:
    """The project with a new ref; a pinned commit is dropped so the ref is what counts."""
    return replace(project, host=replace(project.host, ref=ref, commit=""))
