"""go.mod parsing and detection of the host's main package and bundled plugins."""

from __future__ import annotations

import pytest

from plugwiz.core.detect import DetectError, detect_host, go_package_name
from plugwiz.core.gomod import GoModError, go_minor, parse_gomod
from plugwiz.core.images import pick_builder_image
from plugwiz.core.model import GoMod, pick_main_package


def test_parse_modern_gomod() -> None:
    mod = parse_gomod(
        "// comment\nmodule example.com/host // trailing\n\ngo 1.22.3\n\ntoolchain go1.22.5\n\n"
        "require (\n\tgithub.com/a/b v1.0.0\n\tgithub.com/c/d v0.1.0 // indirect\n)\n"
        "require example.org/e v1.2.3\nreplace github.com/a/b => ../b\n"
    )
    assert mod == GoMod(
        module="example.com/host",
        go="1.22.3",
        toolchain="go1.22.5",
        requires=("github.com/a/b", "github.com/c/d", "example.org/e"),
    )


def test_parse_old_style_gomod() -> None:
    mod = parse_gomod('module "example.com/old"\n\ngo 1.12\n\nrequire example.org/colors v1.0.0\n')
    assert (mod.module, mod.go, mod.toolchain) == ("example.com/old", "1.12", "")
    assert pick_builder_image(mod) == "golang:1.19-bookworm"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("go 1.20\n", "no `module` line"),
        ("module a b\n", "line 1: expected `module PATH`"),
        ("module a\ngo one.two\n", "line 2: expected `go 1.N`"),
        ("module a\ntoolchain 1.22\n", "line 2: expected `toolchain go1.N.P`"),
        ("module a\nrequire (\n x v1\n", "never closed"),
        ("module a\nfrobnicate x\n", "line 2: unknown directive 'frobnicate'"),
    ],
)
def test_bad_gomod_names_the_line(text: str, message: str) -> None:
    with pytest.raises(GoModError, match=message.replace("(", r"\(").replace("`", "`")):
        parse_gomod(text)


def test_go_minor() -> None:
    assert go_minor("1.22.3") == (1, 22)
    assert go_minor("go1.21rc2") == (1, 21)
    assert go_minor("banana") is None


def test_package_name_ignores_comments() -> None:
    src = b"// package notme\n/* package nope\n*/\n// +build linux\n\n"
    src += b"package main\n\nfunc main() {}\n"
    assert go_package_name(src) == "main"
    assert go_package_name(b"no package here") is None


TREE = {
    "go.mod": b"module example.com/host\n\ngo 1.21\n",
    "go.sum": b"",
    "cmd/host/main.go": b"package main\n\nfunc main() {}\n",
    "cmd/tool/main.go": b"package main\n\nfunc main() {}\n",
    "plugins/a/a.go": b"package main\n\nfunc New() {}\n",
    "plugins/b/b.go": b"package main\n",
    "plugins/b/b_test.go": b"package main\n\nfunc main() {}\n",
    "internal/x/x.go": b"package x\n",
    "vendor/example.org/y/main.go": b"package main\n\nfunc main() {}\n",
    "testdata/p/p.go": b"package main\n",
    "_examples/e/e.go": b"package main\n",
    "README.md": b"# host\n",
}


def test_detect_main_and_bundled_plugins() -> None:
    facts = detect_host(sorted(TREE), TREE.get)
    assert facts.gomod.module == "example.com/host"
    assert facts.main_packages == ("cmd/host", "cmd/tool")
    assert facts.plugin_packages == ("plugins/a", "plugins/b")
    assert facts.has_go_sum and not facts.vendored
    assert pick_main_package(facts.main_packages, facts.gomod.module) == "cmd/host"


def test_detect_root_main_and_vendor() -> None:
    tree = {
        "go.mod": b"module m\n",
        "main.go": b"package main\nfunc main() {}\n",
        "vendor/modules.txt": b"",
    }
    facts = detect_host(sorted(tree), tree.get)
    assert facts.main_packages == (".",)
    assert facts.vendored


def test_detect_without_gomod() -> None:
    with pytest.raises(DetectError, match="no go.mod"):
        detect_host(["main.go"], {"main.go": b"package main"}.get)


@pytest.mark.parametrize(
    ("candidates", "module", "expected"),
    [
        (("cmd/a", "cmd/b"), "example.com/b", "cmd/b"),
        ((".", "cmd/a"), "m", "."),
        (("main", "tools/x"), "m", "main"),
        (("cmd/z", "cmd/y"), "m", "cmd/y"),
    ],
)
def test_pick_main_package(candidates: tuple[str, ...], module: str, expected: str) -> None:
    assert pick_main_package(candidates, module) == expected
