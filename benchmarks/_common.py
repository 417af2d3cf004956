"""Helpers shared by the benchmark scripts: medians, git fixtures and Docker cleanup."""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BUILDER_IMAGE = "plugwiz-offline/golang:1.19-bookworm"  # scripts/make-go-image
RUNTIME_IMAGE = "plugwiz-offline/debian:bookworm-slim"
# Images the benchmarks use but never create, so never remove.
BASE_IMAGES = (BUILDER_IMAGE, RUNTIME_IMAGE)

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "plugwiz benchmarks",
    "GIT_AUTHOR_EMAIL": "bench@plugwiz.invalid",
    "GIT_AUTHOR_DATE": "1704067200 +0000",
    "GIT_COMMITTER_NAME": "plugwiz benchmarks",
    "GIT_COMMITTER_EMAIL": "bench@plugwiz.invalid",
    "GIT_COMMITTER_DATE": "1704067200 +0000",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def median(values: Iterable[float]) -> float:
    """The median of `values`."""
    return float(statistics.median(list(values)))


def fmt_s(seconds: float) -> str:
    """Seconds with two decimals and a unit."""
    return f"{seconds:.2f} s"


def mib(size: int) -> str:
    """A byte count in MiB."""
    return f"{size / 1024 / 1024:.1f} MiB"


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, **_GIT_ENV}
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def make_git_repo(source: Path | None, dest: Path) -> str:
    """Copy `source` to `dest` (None: `dest` is written already) and commit it on `main` with
    a fixed identity; return the SHA."""
    if source is not None:
        shutil.copytree(source, dest)
    _git(dest, "init", "--quiet", "--template=")
    _git(dest, "symbolic-ref", "HEAD", "refs/heads/main")
    return commit_all(dest, "benchmark fixture")


def commit_all(repo: Path, message: str) -> str:
    """Commit every change in `repo` (fixed identity and date); return the new SHA."""
    _git(repo, "add", "--all")
    _git(repo, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


def say(text: str = "") -> None:
    """Print a line now (benchmarks run for minutes; show progress as it happens)."""
    print(text, flush=True)


class ImageJanitor:
    """Remembers the images and tags a benchmark created and removes exactly those.

    Never `docker image prune`: other people share the daemon. An image that existed before
    the benchmark started (a base image, someone else's layer the cache reused) is never
    touched; removal is without force, so a layer another build now depends on stays.
    """

    def __init__(self, api: Any) -> None:
        self.api = api
        self.before = {image["Id"] for image in api.images(all=True)}
        for name in BASE_IMAGES:
            with contextlib.suppress(Exception):
                self.before.add(api.inspect_image(name)["Id"])
        self.tags: list[str] = []
        self.ids: list[str] = []

    def add_tag(self, tag: str) -> None:
        """Remember a tag this benchmark gave."""
        self.tags.append(tag)

    def add_ids(self, ids: Iterable[str]) -> None:
        """Remember image IDs (full or short) a build of this benchmark printed."""
        for short in ids:
            with contextlib.suppress(Exception):
                full = self.api.inspect_image(short)["Id"]
                if full not in self.before and full not in self.ids:
                    self.ids.append(full)

    def cleanup(self) -> int:
        """Remove the remembered tags, then the images, children first; return how many left.

        An untagged image that did not exist before and descends from a remembered one is
        removed too: only a build from this benchmark's layers can have made it (the builder's
        output does not always name every intermediate image).
        """
        for tag in self.tags:
            with contextlib.suppress(Exception):
                self.api.remove_image(tag, noprune=True)
        images = {image["Id"]: image for image in self.api.images(all=True)}
        children: dict[str, list[str]] = {}
        for image in images.values():
            children.setdefault(image.get("ParentId") or "", []).append(image["Id"])
        ours = {image_id for image_id in self.ids if image_id in images}
        pending = list(ours)
        while pending:
            for child in children.get(pending.pop(), []):
                tags = [t for t in images[child].get("RepoTags") or [] if t != "<none>:<none>"]
                if child not in ours and child not in self.before and not tags:
                    ours.add(child)
                    pending.append(child)
        for _ in range(len(ours) + 1):  # leaves first; each pass frees their parents
            removed = False
            for image_id in sorted(ours):
                if any(child in ours for child in children.get(image_id, [])):
                    continue
                try:
                    self.api.remove_image(image_id, noprune=True)
                except Exception:  # noqa: BLE001 - already gone, or another build uses it now
                    with contextlib.suppress(Exception):
                        self.api.inspect_image(image_id)
                        continue
                ours.discard(image_id)
                removed = True
            if not removed:
                break
        return len(ours)


def quick_flag(argv: list[str] | None = None) -> bool:
    """True when `--quick` was given (small sizes for the CI smoke test)."""
    return "--quick" in (sys.argv[1:] if argv is None else argv)
