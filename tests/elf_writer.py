"""A tiny ELF writer for the reader's unit tests: the layouts Go and glibc write, in 32- and
64-bit and both byte orders, without a Go toolchain.

Only what the reader looks at: sections, one PT_LOAD segment mapping the whole file, a
`.go.buildinfo` section (inline strings, Go 1.18+, or the older pointer form), `.dynsym` with
package-hash symbols, `.dynamic` with DT_NEEDED, `.gnu.version_r` and `.gnu.version_d`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

BASE = 0x400000
MAGIC = b"\xff Go buildinf:"
INFO_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
INFO_END = bytes.fromhex("f932433186182072008242104116d8f2")


def uvarint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


@dataclass
class _Section:
    name: str
    type: int
    data: bytes
    link: int = 0
    entsize: int = 0
    flags: int = 2  # SHF_ALLOC
    offset: int = 0


@dataclass
class ElfSpec:
    """What to put in the file."""

    bits: int = 64
    big_endian: bool = False
    machine: int = 62  # EM_X86_64
    type: int = 2  # ET_EXEC; 3 = ET_DYN
    go_version: str | None = "go1.21.5"
    modinfo: str | None = None
    pointer_form: bool = False  # Go before 1.18: pointers to string headers
    package_hashes: dict[str, bytes] = field(default_factory=dict)
    needed: tuple[str, ...] = ()
    needed_versions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    defined_versions: tuple[str, ...] = ()  # a libc: its GLIBC_x.y versions
    soname: str = ""


class _Strtab:
    def __init__(self) -> None:
        self.data = bytearray(b"\0")

    def add(self, text: str) -> int:
        offset = len(self.data)
        self.data += text.encode() + b"\0"
        return offset


def build_elf(spec: ElfSpec) -> bytes:
    """The bytes of an ELF file as `spec` describes."""
    end = ">" if spec.big_endian else "<"
    word = "I" if spec.bits == 32 else "Q"
    ptr = spec.bits // 8
    header_size = 52 if spec.bits == 32 else 64
    phentsize = 32 if spec.bits == 32 else 56
    shentsize = 40 if spec.bits == 32 else 64
    sections: list[_Section] = [_Section("", 0, b"", flags=0)]
    dynstr = _Strtab()

    # Layout is decided up front: data starts after the headers, each section 16-aligned.
    cursor = header_size + phentsize

    def place(section: _Section) -> int:
        nonlocal cursor
        cursor = (cursor + 15) & ~15
        section.offset = cursor
        cursor += len(section.data)
        sections.append(section)
        return len(sections) - 1

    rodata = bytearray()
    hash_addrs: dict[str, int] = {}
    rodata_index = 0
    if spec.package_hashes:
        # .rodata holds the hash bytes; its address is known once placed.
        for name, digest in spec.package_hashes.items():
            hash_addrs[name] = len(rodata)
            rodata += digest
        rodata_index = place(_Section(".rodata", 1, bytes(rodata)))
        rodata_addr = BASE + sections[rodata_index].offset
    if spec.go_version is not None:
        modinfo = spec.modinfo
        mod_bytes = (INFO_START + modinfo.encode() + INFO_END) if modinfo is not None else b""
        version = spec.go_version.encode()
        flags = (1 if spec.big_endian else 0) | (0 if spec.pointer_form else 2)
        if not spec.pointer_form:
            body = MAGIC + bytes([ptr, flags]) + b"\0" * 16
            body += uvarint(len(version)) + version + uvarint(len(mod_bytes)) + mod_bytes
            place(_Section(".go.buildinfo", 1, body, flags=3))
        else:
            # Strings first (their address goes into the headers), then the headers.
            strings = _Section(".go.strings", 1, version + mod_bytes)
            place(strings)
            strings_addr = BASE + strings.offset
            headers = struct.pack(
                f"{end}{word}{word}{word}{word}",
                strings_addr,
                len(version),
                strings_addr + len(version),
                len(mod_bytes),
            )
            head_section = _Section(".go.headers", 1, headers, flags=3)
            place(head_section)
            head_addr = BASE + head_section.offset
            body = MAGIC + bytes([ptr, flags])
            body += struct.pack(f"{end}{word}{word}", head_addr, head_addr + 2 * ptr)
            body += b"\0" * (32 - len(body))
            place(_Section(".go.buildinfo", 1, body, flags=3))

    dynsym_entries: list[bytes] = []
    if spec.package_hashes or spec.needed or spec.needed_versions or spec.defined_versions:
        sym_fmt = f"{end}IIIBBH" if spec.bits == 32 else f"{end}IBBHQQ"
        dynsym_entries.append(b"\0" * struct.calcsize(sym_fmt))
        for name in spec.package_hashes:
            name_off = dynstr.add(f"go:link.pkghashbytes.{name}")
            value = rodata_addr + hash_addrs[name]
            size = len(spec.package_hashes[name])
            if spec.bits == 32:
                entry = struct.pack(sym_fmt, name_off, value, size, 0x11, 0, rodata_index)
            else:
                entry = struct.pack(sym_fmt, name_off, 0x11, 0, rodata_index, value, size)
            dynsym_entries.append(entry)
        dyn_fmt = f"{end}ii" if spec.bits == 32 else f"{end}qQ"
        dynamic = b"".join(struct.pack(dyn_fmt, 1, dynstr.add(lib)) for lib in spec.needed)
        if spec.soname:
            dynamic += struct.pack(dyn_fmt, 14, dynstr.add(spec.soname))
        dynamic += struct.pack(dyn_fmt, 0, 0)
        verneed = _verneed(end, spec.needed_versions, dynstr)
        verdef = _verdef(end, spec.soname or "libc.so.6", spec.defined_versions, dynstr)
        dynstr_index = len(sections) + 4  # dynsym, dynamic, verneed, verdef, then dynstr
        place(
            _Section(
                ".dynsym",
                11,
                b"".join(dynsym_entries),
                link=dynstr_index,
                entsize=len(dynsym_entries[0]),
            )
        )
        place(_Section(".dynamic", 6, dynamic, link=dynstr_index))
        place(_Section(".gnu.version_r", 0x6FFFFFFE, verneed, link=dynstr_index))
        place(_Section(".gnu.version_d", 0x6FFFFFFD, verdef, link=dynstr_index))
        place(_Section(".dynstr", 3, bytes(dynstr.data)))

    shstr = _Strtab()
    names = [shstr.add(s.name) if s.name else 0 for s in sections]
    shstrtab = _Section(".shstrtab", 3, b"", flags=0)
    names.append(shstr.add(".shstrtab"))
    shstrtab.data = bytes(shstr.data)
    place(shstrtab)
    cursor = (cursor + 15) & ~15
    shoff = cursor
    file_size = shoff + shentsize * len(sections)

    out = bytearray(file_size)
    ident = b"\x7fELF" + bytes([1 if spec.bits == 32 else 2, 2 if spec.big_endian else 1, 1])
    out[: len(ident)] = ident
    struct.pack_into(
        f"{end}HHI{word}{word}{word}IHHHHHH",
        out,
        16,
        spec.type,
        spec.machine,
        1,
        BASE,
        header_size,
        shoff,
        0,
        header_size,
        phentsize,
        1,
        shentsize,
        len(sections),
        len(sections) - 1,
    )
    if spec.bits == 32:
        struct.pack_into(
            f"{end}IIIIIIII", out, header_size, 1, 0, BASE, BASE, file_size, file_size, 6, 16
        )
    else:
        struct.pack_into(
            f"{end}IIQQQQQQ", out, header_size, 1, 6, 0, BASE, BASE, file_size, file_size, 16
        )
    for index, section in enumerate(sections):
        out[section.offset : section.offset + len(section.data)] = section.data
        addr = BASE + section.offset if section.type and section.flags & 2 else 0
        sh_fmt = f"{end}IIIIIIIIII" if spec.bits == 32 else f"{end}IIQQQQIIQQ"
        struct.pack_into(
            sh_fmt,
            out,
            shoff + index * shentsize,
            names[index],
            section.type,
            section.flags,
            addr,
            section.offset,
            len(section.data),
            section.link,
            0,
            16,
            section.entsize,
        )
    return bytes(out)


def _verneed(end: str, needed: dict[str, tuple[str, ...]], strtab: _Strtab) -> bytes:
    out = bytearray()
    libs = list(needed.items())
    for lib_index, (lib, versions) in enumerate(libs):
        aux_size = 16 * len(versions)
        next_off = 16 + aux_size if lib_index + 1 < len(libs) else 0
        out += struct.pack(f"{end}HHIII", 1, len(versions), strtab.add(lib), 16, next_off)
        for index, version in enumerate(versions):
            nxt = 16 if index + 1 < len(versions) else 0
            out += struct.pack(f"{end}IHHII", 0, 0, index + 2, strtab.add(version), nxt)
    return bytes(out)


def _verdef(end: str, soname: str, versions: tuple[str, ...], strtab: _Strtab) -> bytes:
    if not versions:
        return b""
    out = bytearray()
    names = [(soname, 1), *((v, 0) for v in versions)]
    for index, (name, flags) in enumerate(names):
        nxt = 28 if index + 1 < len(names) else 0
        out += struct.pack(f"{end}HHHHIII", 1, flags, index + 1, 1, 0, 20, nxt)
        out += struct.pack(f"{end}II", strtab.add(name), 0)
    return bytes(out)
