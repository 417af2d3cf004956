"""Where plugwiz keeps its cache and state on the user's machine."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """`$PLUGWIZ_CACHE_DIR`, else `$XDG_CACHE_HOME/plugwiz`, else `~/.cache/plugwiz`."""
    explicit = os.environ.get("PLUGWIZ_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "plugwiz"


def demo_plugins_dir() -> Path:
    """Where the embedded demo's sample plugins are (`plugwiz/demo/plugins`)."""
    return Path(__file__).resolve().parent.parent / "demo" / "plugins"
