"""Git submodules: reading .gitmodules and resolving a submodule's URL. Pure."""

from __future__ import annotations

import posixpath
import re

_SECTION_RE = re.compile(r'^\s*\[\s*submodule\s+"((?:[^"\\]|\\.)*)"\s*\]\s*$')
_KEY_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]*)\s*=\s*(.*?)\s*$")


def parse_gitmodules(text: str) -> dict[str, str]:
    """Submodule path -> URL, from a .gitmodules file (git-config syntax; `#`/`;` comments)."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        section = _SECTION_RE.match(line)
        if section:
            current = sections.setdefault(section.group(1), {})
            continue
        if line.startswith("["):
            current = None
            continue
        pair = _KEY_RE.match(line)
        if pair and current is not None:
            value = pair.group(2)
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            current[pair.group(1).lower()] = value
    return {
        entry["path"].strip("/"): entry["url"]
        for entry in sections.values()
        if entry.get("path") and entry.get("url")
    }


def resolve_submodule_url(url: str, base: str) -> str:
    """A submodule URL as git resolves it: `./x` and `../x` are relative to the superproject's
    own location `base` (a URL or a local path); anything else stands as it is."""
    if not url.startswith(("./", "../")):
        return url
    scheme, sep, rest = base.partition("://")
    if sep:
        host, slash, path = rest.partition("/")
        joined = posixpath.normpath(posixpath.join("/" + path.rstrip("/"), url))
        return f"{scheme}://{host}{joined if slash or joined != '/' else ''}"
    scp = re.match(r"^([^/:]+@[^/:]+|[^/:]{2,}):(.*)$", base)
    if scp and not base.startswith("/"):
        joined = posixpath.normpath(posixpath.join("/" + scp.group(2).rstrip("/"), url))
        return f"{scp.group(1)}:{joined.lstrip('/')}"
    return posixpath.normpath(posixpath.join(base.rstrip("/"), url))
