"""The host as plugwiz would build it, predicted from the project before any build.

Used by `plugwiz explain PLUGIN.so PROJECT.yaml` when the project's image does not exist yet.
What is predicted: the Go release (the builder image's), `-trimpath` and the other GOFLAGS,
CGO_ENABLED=1, GOOS/GOARCH and GOAMD64 (the build environment's, else the defaults), the
main module and the versions of the modules its go.mod requires (with its replace lines).
What cannot be: package hashes, which of those modules the host really links, and the
glibc the binaries need (taken as the builder's, which matches the runtime image plugwiz
picks).
"""

from __future__ import annotations

from plugwiz.core.buildinfo import BinaryFacts, Module

PREDICTED = (
    "Go release of the builder image",
    "-trimpath and the other build flags plugwiz passes (GOFLAGS)",
    "CGO_ENABLED=1, GOOS=linux, GOARCH and GOAMD64 of the build environment",
    "module versions from the host's go.mod (require and replace lines)",
)


def _strip_comment(line: str) -> str:
    return line.split("//", 1)[0].strip()


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in '"`':
        return token[1:-1]
    return token


def gomod_modules(text: str) -> tuple[Module, ...]:
    """The modules go.mod requires, with versions and replacements (`replace` lines).

    Lenient: a line it does not understand is skipped (plugwiz's go.mod parser has already
    refused a malformed file before this runs).
    """
    requires: dict[str, str] = {}
    replaces: dict[tuple[str, str], Module] = {}
    block = ""
    for raw in text.splitlines():
        line = _strip_comment(raw)
        if not line:
            continue
        if block:
            if line == ")":
                block = ""
                continue
            words = line.split()
        else:
            words = line.split()
            if len(words) >= 2 and words[1] == "(":
                block = words[0]
                continue
            if words[0] not in ("require", "replace"):
                continue
            block_verb, words = words[0], words[1:]
            _apply(block_verb, words, requires, replaces)
            continue
        _apply(block, words, requires, replaces)
    modules = []
    for path, version in sorted(requires.items()):
        replacement = replaces.get((path, version)) or replaces.get((path, ""))
        modules.append(Module(path, version, "", replacement))
    return tuple(modules)


def _apply(
    verb: str,
    words: list[str],
    requires: dict[str, str],
    replaces: dict[tuple[str, str], Module],
) -> None:
    words = [_unquote(w) for w in words]
    if verb == "require" and len(words) >= 2:
        requires[words[0]] = words[1]
    elif verb == "replace" and "=>" in words:
        arrow = words.index("=>")
        left, right = words[:arrow], words[arrow + 1 :]
        if not left or not right:
            return
        old_version = left[1] if len(left) > 1 else ""
        # A directory replacement has no version: Go records it as `(devel)`.
        target = Module(right[0], right[1] if len(right) > 1 else "(devel)")
        replaces[(left[0], old_version)] = target


def _goflag_value(goflags: tuple[str, ...], name: str) -> str | None:
    for flag in goflags:
        if flag.startswith(f"{name}="):
            return flag.split("=", 1)[1]
    return None


def predict_host_facts(
    *,
    module: str,
    main_package: str,
    gomod_text: str,
    goflags: tuple[str, ...],
    build_env: tuple[tuple[str, str], ...],
    go_version: str,
    goarch: str = "amd64",
) -> BinaryFacts:
    """The facts a host built by plugwiz would have (no package hashes: nothing is built).

    `go_version` is `go1.19.8`, or `go1.19` when only the minor is known; `main_package` is
    `./cmd/x` or `.`.
    """
    env = dict(build_env)
    settings: list[tuple[str, str]] = [("-buildmode", "exe"), ("-compiler", "gc")]
    for name in ("-asmflags", "-gcflags", "-ldflags", "-tags"):
        value = _goflag_value(goflags, name)
        if value is not None:
            settings.append((name, value))
    if "-trimpath" in goflags:
        settings.append(("-trimpath", "true"))
    settings.append(("CGO_ENABLED", env.get("CGO_ENABLED", "1")))
    arch = env.get("GOARCH", goarch)
    settings += [("GOARCH", arch), ("GOOS", env.get("GOOS", "linux"))]
    if "GOEXPERIMENT" in env:
        settings.append(("GOEXPERIMENT", env["GOEXPERIMENT"]))
    if arch == "amd64":
        settings.append(("GOAMD64", env.get("GOAMD64", "v1")))
    rel = main_package.removeprefix("./").strip("/")
    path = module if rel in ("", ".") else f"{module}/{rel}"
    return BinaryFacts(
        kind="executable",
        go_version=go_version,
        go_version_hint="",
        has_build_info=True,
        path=path,
        main=Module(module, "(devel)"),
        deps=gomod_modules(gomod_text),
        settings=tuple(settings),
        machine=arch,
        bits=32 if arch in ("386", "arm", "mips", "mipsle") else 64,
        big_endian=arch in ("mips", "mips64", "ppc64", "s390x"),
        needed_libraries=(),
        needed_versions=(),
        package_hashes=(),
    )
