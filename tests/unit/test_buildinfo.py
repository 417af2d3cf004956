"""The build-facts reader on ELF files written by tests/elf_writer.py (every layout Go uses,
32/64-bit, both byte orders, both build-info forms) and on arbitrary bytes (Hypothesis).

The same reader on real binaries built by Go: tests/integration/test_explain_docker.py.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugwiz.core.buildinfo import NotAGoBinaryError, parse_modinfo, read_binary_facts
from plugwiz.core.elf import ElfError, libc_version
from plugwiz.core.report import go_version_from_binary
from tests.elf_writer import ElfSpec, build_elf

MODINFO = (
    "path\texample.com/host/cmd/host\n"
    "mod\texample.com/host\t(devel)\t\n"
    "dep\tgithub.com/a/b\tv1.2.0\th1:abc=\n"
    "dep\tgithub.com/c/d\tv0.3.0\th1:def=\n"
    "=>\t../d\t(devel)\t\n"
    "build\t-buildmode=exe\n"
    "build\t-compiler=gc\n"
    'build\t-ldflags="-s -w -X \\"main.v=1 2\\""\n'
    "build\t-tags=netgo,osusergo\n"
    "build\t-trimpath=true\n"
    "build\tCGO_ENABLED=1\n"
    "build\tGOARCH=amd64\n"
    "build\tGOOS=linux\n"
    "build\tGOAMD64=v3\n"
    "build\tGOEXPERIMENT=loopvar\n"
    "build\tvcs=git\n"
    "build\tvcs.revision=0123456789abcdef0123456789abcdef01234567\n"
    "build\tvcs.time=2024-01-01T00:00:00Z\n"
    "build\tvcs.modified=true\n"
)
HASHES = {"runtime": b"\x01" * 8, "plugin": b"\x02" * 8, "example.com/host/api": b"\x03" * 8}


def spec(**changes: object) -> ElfSpec:
    values: dict[str, object] = {
        "modinfo": MODINFO,
        "package_hashes": dict(HASHES),
        "needed": ("libc.so.6",),
        "needed_versions": {"libc.so.6": ("GLIBC_2.2.5", "GLIBC_2.34", "GLIBC_2.3.2")},
    }
    values.update(changes)
    return ElfSpec(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("bits", [32, 64])
@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("pointer_form", [False, True])
def test_every_layout_gives_the_same_facts(bits: int, big_endian: bool, pointer_form: bool) -> None:
    data = build_elf(spec(bits=bits, big_endian=big_endian, pointer_form=pointer_form))
    facts = read_binary_facts(data)
    assert facts.bits == bits and facts.big_endian is big_endian
    assert facts.go_version == "go1.21.5" and facts.has_build_info
    assert facts.path == "example.com/host/cmd/host"
    assert facts.main is not None and facts.main.path == "example.com/host"
    a, d = facts.deps
    assert (a.path, a.version, a.sum, a.replace) == ("github.com/a/b", "v1.2.0", "h1:abc=", None)
    assert d.replace is not None and (d.replace.path, d.replace.version) == ("../d", "(devel)")
    assert d.describe() == "v0.3.0 => ../d (devel)"
    assert facts.setting("-ldflags") == '-s -w -X "main.v=1 2"'
    assert facts.setting("-tags") == "netgo,osusergo"
    assert facts.trimpath is True and facts.cgo_enabled is True
    assert facts.arch_level == ("GOAMD64", "v3")
    assert facts.setting("GOEXPERIMENT") == "loopvar"
    assert facts.setting("vcs.modified") == "true"
    assert facts.needed_libraries == ("libc.so.6",)
    assert facts.glibc_needed == ("GLIBC_2.2.5", "GLIBC_2.3.2", "GLIBC_2.34")
    assert facts.glibc_required == "2.34"
    assert facts.hashes == {k: v.hex() for k, v in HASHES.items()}
    assert facts.can_load_plugins
    assert facts.module_of("github.com/a/b/sub") == a
    assert facts.module_of("example.com/host/api") == facts.main
    assert facts.module_of("fmt") is None
    assert go_version_from_binary(data) == "go1.21.5"


def test_plugin_kind_and_json() -> None:
    modinfo = MODINFO.replace("-buildmode=exe", "-buildmode=plugin")
    facts = read_binary_facts(build_elf(spec(type=3, modinfo=modinfo)))
    assert facts.kind == "plugin" and facts.is_plugin
    data = facts.to_json()
    assert data["go_version"] == "go1.21.5" and data["settings"]["-buildmode"] == "plugin"
    assert data["deps"][1]["replace"] == {"path": "../d", "version": "(devel)", "sum": ""}
    assert data["glibc_required"] == "2.34" and data["trimpath"] is True


def test_a_go_plugin_without_build_info_still_has_its_hashes() -> None:
    # Go 1.19 writes no .go.buildinfo into plugins: the package hashes are what is left.
    facts = read_binary_facts(build_elf(spec(type=3, go_version=None)))
    assert facts.kind == "plugin" and not facts.has_build_info and facts.go_version == ""
    assert facts.hashes["runtime"] == "01" * 8
    assert go_version_from_binary(build_elf(spec(type=3, go_version=None))) is None


def test_libc_version_from_its_version_definitions() -> None:
    libc = build_elf(
        ElfSpec(
            type=3,
            go_version=None,
            soname="libc.so.6",
            defined_versions=("GLIBC_2.2.5", "GLIBC_2.36", "GLIBC_2.9", "GLIBC_PRIVATE"),
        )
    )
    assert libc_version(libc) == "2.36"
    with pytest.raises(ElfError, match="defines no GLIBC"):
        libc_version(build_elf(spec()))
    with pytest.raises(ElfError, match="not an ELF file"):
        libc_version(b"hello")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not an ELF file"),
        (b"#!/bin/sh\necho hi\n", "not an ELF file"),
        (b"\x7fELF\x03\x01", "not an ELF file"),
        (b"\x7fELF\x05\x01\x01" + b"\0" * 60, "unknown ELF class 5"),
        (b"\x7fELF\x02\x01\x01" + b"\0" * 20, "truncated file"),
    ],
)
def test_clear_errors_for_what_is_not_a_go_binary(data: bytes, message: str) -> None:
    with pytest.raises(NotAGoBinaryError, match=message) as info:
        read_binary_facts(data)
    assert str(info.value).startswith("the file: ")


def test_an_elf_file_go_did_not_build() -> None:
    with pytest.raises(NotAGoBinaryError, match="not one Go built"):
        read_binary_facts(build_elf(ElfSpec(go_version=None, needed=("libc.so.6",))))


def test_truncated_real_layout() -> None:
    data = build_elf(spec())
    with pytest.raises(NotAGoBinaryError, match="truncated"):
        read_binary_facts(data[: len(data) // 2])


def test_parse_modinfo_is_lenient() -> None:
    info = parse_modinfo(
        "go1.22.1",
        'path\tx\nbuild\t=novalue\nbuild\tnoequals\nbuild\t"we ird"="a b"\n'
        "build\tK=`raw v`\ndep\t\nweird line\n",
    )
    assert info.path == "x"
    assert info.settings == (("we ird", "a b"), ("K", "raw v"))
    assert info.deps == ()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    try:
        read_binary_facts(data)
    except NotAGoBinaryError as error:
        assert str(error).startswith("the file: ")


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=256), st.integers(min_value=0))
def test_arbitrary_bytes_after_an_elf_header_never_crash(tail: bytes, seed: int) -> None:
    head = b"\x7fELF" + bytes([1 + seed % 2, 1 + (seed // 2) % 2, 1]) + b"\0" * 9
    with contextlib.suppress(NotAGoBinaryError):
        read_binary_facts(head + tail)


_VALID = [
    build_elf(spec(bits=64)),
    build_elf(spec(bits=32, big_endian=True, pointer_form=True)),
    build_elf(spec(type=3, go_version=None)),
]


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_mutated_files_never_crash(data: st.DataObject) -> None:
    blob = bytearray(data.draw(st.sampled_from(_VALID)))
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        index = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
        blob[index] = data.draw(st.integers(min_value=0, max_value=255))
    if data.draw(st.booleans()):
        blob = blob[: data.draw(st.integers(min_value=0, max_value=len(blob)))]
    try:
        read_binary_facts(bytes(blob))
    except NotAGoBinaryError as error:
        assert str(error).startswith("the file: ")
