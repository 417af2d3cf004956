"""Recently used host repositories, offered as suggestions on the Host step."""

from __future__ import annotations

import json
from pathlib import Path

from plugwiz.core.atomic import atomic_write
from plugwiz.core.paths import cache_dir
from plugwiz.core.redact import redact_url

MAX_RECENT = 10


def recent_path() -> Path:
    """`cache_dir()/recent.json`."""
    return cache_dir() / "recent.json"


def load_recent() -> list[str]:
    """The recently used host repositories, newest first; [] if the file is missing or bad."""
    try:
        data = json.loads(recent_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, list):
        return []
    return [item for item in data if isinstance(item, str) and item][:MAX_RECENT]


def remember_recent(repo: str) -> list[str]:
    """Put `repo` first in the recent list (credentials removed) and return the new list."""
    # A token in a URL must never be written to the cache.
    clean = redact_url(repo.strip())
    items = [clean, *(r for r in load_recent() if r != clean)][:MAX_RECENT]
    try:
        path = recent_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(items, indent=1) + "\n")
    except OSError:
        pass  # a cache we cannot write is not worth bothering the user about
    return items
