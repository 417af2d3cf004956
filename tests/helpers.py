"""Helpers shared by the test suites (not fixtures: plain functions)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest

from plugwiz.core.model import (
    HostFacts,
    PluginFacts,
    PluginKind,
    Project,
    ResolvedHost,
    ResolvedProject,
    guess_plugin_kind,
)
from plugwiz.core.ports import CommitInfo

FIXTURES = Path(__file__).parent / "fixtures"

# Fixed identity and dates, so a fixture repository gets the same SHA on every machine.
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "plugwiz tests",
    "GIT_AUTHOR_EMAIL": "tests@plugwiz.invalid",
    "GIT_AUTHOR_DATE": "1704067200 +0000",
    "GIT_COMMITTER_NAME": "plugwiz tests",
    "GIT_COMMITTER_EMAIL": "tests@plugwiz.invalid",
    "GIT_COMMITTER_DATE": "1704067200 +0000",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` without the user's config; return stdout."""
    env = {**os.environ, **_GIT_ENV}
    result = subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    )
    return result.stdout.strip()


def make_git_repo(source: Path, dest: Path, *, branch: str = "main") -> str:
    """Copy the tree at `source` to `dest`, commit it on `branch`; return the commit SHA."""
    shutil.copytree(source, dest)
    git(dest, "init", "--quiet", "--template=")
    git(dest, "symbolic-ref", "HEAD", f"refs/heads/{branch}")
    git(dest, "add", "--all")
    git(dest, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", "fixture")
    return git(dest, "rev-parse", "HEAD")


def commit_all(repo: Path, message: str) -> str:
    """Commit every change in `repo`; return the new SHA."""
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message)
    return git(repo, "rev-parse", "HEAD")


# Image ids the classic builder prints for each step ("---> abc123", "Successfully built ...").
_IMAGE_ID_RE = re.compile(r"(?:---> |Successfully built )([0-9a-f]{12})\b")


class ImageTracker:
    """Tags and image ids a test module made; `cleanup` removes them (base images never)."""

    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.tags: list[str] = []
        self.images: list[str] = []

    def tag(self, what: str = "") -> str:
        """A fresh unique tag, removed at cleanup."""
        middle = f"{what}-" if what else ""
        tag = f"{self.prefix}-{middle}{uuid.uuid4().hex[:12]}:latest"
        self.tags.append(tag)
        return tag

    def from_log(self, log: Path) -> None:
        """Remember the intermediate images a build log names."""
        if log.exists():
            self.images.extend(_IMAGE_ID_RE.findall(log.read_text(errors="replace")))

    def cleanup(self) -> None:
        """Remove the tags, then the untagged images, children first."""
        api = self.client.api
        for tag in self.tags:
            with contextlib.suppress(Exception):  # never built, or already gone
                api.remove_image(tag)
        # An image that still has a tag (the base images!) or children stays. Two passes:
        # several builds share layers, so one order cannot suit them all.
        for _ in range(2):
            for image in reversed(list(dict.fromkeys(self.images))):
                with contextlib.suppress(Exception):  # gone already, or shared and in use
                    if not api.inspect_image(image).get("RepoTags"):
                        api.remove_image(image)


TEST_SHA = "0123456789abcdef0123456789abcdef01234567"


def resolved_for(
    project: Project,
    facts: HostFacts,
    *,
    sha: str = TEST_SHA,
    kinds: list[PluginKind] | None = None,
) -> ResolvedProject:
    """`project` as resolved against a host with `facts` at `sha`, each plugin's kind guessed
    from its name (or `kinds`), without touching git or the disk."""

    host = ResolvedHost(
        repo=project.host.repo,
        ref=project.host.commit or project.host.ref or "HEAD",
        commit=CommitInfo(sha, "fixture", "plugwiz tests", "2024-01-01T00:00:00+00:00"),
        facts=facts,
    )
    plugin_kinds = kinds or [guess_plugin_kind(p.source) for p in project.plugins]
    return ResolvedProject(project, host, tuple(PluginFacts(k) for k in plugin_kinds))


def processes_with(text: str) -> list[int]:
    """PIDs of the processes on this machine whose command line holds `text` (a build step's
    process, whether the classic builder runs it in a container or BuildKit without one)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if text.encode() in cmdline:
            found.append(int(entry.name))
    return found


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    """Poll `predicate` until it holds or `timeout` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def skip_or_fail(reason: str) -> NoReturn:
    """Skip a test that needs something missing here; in CI (`CI` set), fail it instead."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
