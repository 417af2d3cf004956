"""Helpers shared by the test suites (not fixtures: plain functions)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

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
