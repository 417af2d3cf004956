"""A small, defensive ELF reader: sections, segments, dynamic symbols, needed libraries and
GNU symbol versions, for 32- and 64-bit files of either byte order.

Pure Python and read-only. Every malformed or truncated input raises `ElfError` (a ValueError)
with a message for a person; nothing else escapes, because the files come from users.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

ELF_MAGIC = b"\x7fELF"

SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_DYNAMIC = 6
SHT_NOBITS = 8
SHT_DYNSYM = 11
SHT_GNU_VERDEF = 0x6FFFFFFD
SHT_GNU_VERNEED = 0x6FFFFFFE
PT_LOAD = 1
PT_DYNAMIC = 2
PF_X = 1
PF_W = 2
DT_NULL = 0
DT_NEEDED = 1
DT_RPATH = 15
DT_RUNPATH = 29
DT_SONAME = 14
ET_EXEC = 2
ET_DYN = 3

# A chain of version records longer than this is a loop in a corrupt file, not a real one.
_MAX_CHAIN = 100_000

MACHINES = {
    3: "386",
    8: "mips",
    20: "ppc",
    21: "ppc64",
    22: "s390x",
    40: "arm",
    62: "amd64",
    183: "arm64",
    243: "riscv64",
    258: "loong64",
}


class ElfError(ValueError):
    """The bytes are not a readable ELF file; the message says why, for a person."""


@dataclass(frozen=True)
class Section:
    """One section header."""

    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    entsize: int


@dataclass(frozen=True)
class Segment:
    """One program header."""

    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int


@dataclass(frozen=True)
class Symbol:
    """One symbol table entry."""

    name: str
    value: int
    size: int
    section_index: int


class ElfFile:
    """An ELF file held in memory; parsing happens on construction, lookups on demand."""

    def __init__(self, data: bytes) -> None:
        """Parse the ELF header, section and program headers of `data`; ElfError if not ELF."""
        if len(data) < 16 or data[:4] != ELF_MAGIC:
            raise ElfError("not an ELF file (no \\x7fELF magic at the start)")
        elf_class, byte_order = data[4], data[5]
        if elf_class not in (1, 2):
            raise ElfError(f"unknown ELF class {elf_class} (expected 32- or 64-bit)")
        if byte_order not in (1, 2):
            raise ElfError(f"unknown ELF byte order {byte_order}")
        self.data = data
        self.bits = 32 if elf_class == 1 else 64
        self.big_endian = byte_order == 2
        self._end = ">" if self.big_endian else "<"
        self.ptr_size = self.bits // 8
        word = "I" if self.bits == 32 else "Q"
        header = f"{self._end}HHI{word}{word}{word}IHHHHHH"
        (
            self.type,
            machine,
            _version,
            _entry,
            phoff,
            shoff,
            _flags,
            _ehsize,
            phentsize,
            phnum,
            shentsize,
            shnum,
            shstrndx,
        ) = self._unpack(header, 16, "ELF header")
        self.machine = MACHINES.get(machine, f"machine {machine}")
        self.segments = self._read_segments(phoff, phentsize, phnum)
        self.sections = self._read_sections(shoff, shentsize, shnum, shstrndx)

    # -- raw access -------------------------------------------------------------------------

    def _unpack(self, fmt: str, offset: int, what: str) -> tuple[int, ...]:
        size = struct.calcsize(fmt)
        if offset < 0 or offset + size > len(self.data):
            raise ElfError(f"truncated file: the {what} runs past its end")
        return struct.unpack_from(fmt, self.data, offset)

    def uint(self, offset: int, size: int, what: str = "data") -> int:
        """An unsigned integer of `size` bytes (1, 2, 4, 8) at file `offset`."""
        code = {1: "B", 2: "H", 4: "I", 8: "Q"}[size]
        return self._unpack(self._end + code, offset, what)[0]

    def slice(self, offset: int, size: int, what: str) -> bytes:
        """`size` bytes at file `offset`; ElfError if the file is shorter."""
        if offset < 0 or size < 0 or offset + size > len(self.data):
            raise ElfError(f"truncated file: the {what} runs past its end")
        return self.data[offset : offset + size]

    def _read_segments(self, phoff: int, entsize: int, count: int) -> tuple[Segment, ...]:
        if not phoff or not count:
            return ()
        fmt = self._end + ("IIIIIIII" if self.bits == 32 else "IIQQQQQQ")
        if entsize < struct.calcsize(fmt):
            raise ElfError("corrupt ELF: program header entries are too small")
        segments = []
        for index in range(count):
            values = self._unpack(fmt, phoff + index * entsize, "program header table")
            if self.bits == 32:
                p_type, offset, vaddr, _paddr, filesz, memsz, flags, _align = values
            else:
                p_type, flags, offset, vaddr, _paddr, filesz, memsz, _align = values
            segments.append(Segment(p_type, flags, offset, vaddr, filesz, memsz))
        return tuple(segments)

    def _read_sections(
        self, shoff: int, entsize: int, count: int, strndx: int
    ) -> tuple[Section, ...]:
        if not shoff or not count:
            return ()  # sections are optional: a loader needs only the segments
        fmt = self._end + ("IIIIIIIIII" if self.bits == 32 else "IIQQQQIIQQ")
        if entsize < struct.calcsize(fmt):
            raise ElfError("corrupt ELF: section header entries are too small")
        raw = []
        for index in range(count):
            raw.append(self._unpack(fmt, shoff + index * entsize, "section header table"))
        names = b""
        if 0 <= strndx < len(raw):
            _n, s_type, _f, _a, offset, size, *_rest = raw[strndx]
            if s_type != SHT_NOBITS:
                names = self.slice(offset, size, "section name table")
        sections = []
        for name_off, s_type, flags, addr, offset, size, link, _info, _align, entsize_ in raw:
            sections.append(
                Section(
                    _cstring(names, name_off), s_type, flags, addr, offset, size, link, entsize_
                )
            )
        return tuple(sections)

    # -- lookups ------------------------------------------------------------------------------

    def section(self, name: str) -> Section | None:
        """The first section called `name`, or None."""
        return next((s for s in self.sections if s.name == name), None)

    def section_data(self, section: Section) -> bytes:
        """A section's bytes (empty for SHT_NOBITS)."""
        if section.type == SHT_NOBITS:
            return b""
        return self.slice(section.offset, section.size, f"section {section.name or '?'}")

    def file_offset(self, vaddr: int, size: int = 1) -> int | None:
        """The file offset of virtual address `vaddr` (with `size` bytes backed by the file)."""
        for seg in self.segments:
            if (
                seg.type == PT_LOAD
                and seg.vaddr <= vaddr
                and vaddr + size <= seg.vaddr + seg.filesz
            ):
                return seg.offset + (vaddr - seg.vaddr)
        for sec in self.sections:
            if (
                sec.addr
                and sec.type != SHT_NOBITS
                and sec.addr <= vaddr
                and vaddr + size <= sec.addr + sec.size
            ):
                return sec.offset + (vaddr - sec.addr)
        return None

    def read_at(self, vaddr: int, size: int, what: str) -> bytes:
        """`size` bytes at virtual address `vaddr`; ElfError if the file does not hold them."""
        offset = self.file_offset(vaddr, max(size, 1))
        if offset is None:
            raise ElfError(f"corrupt file: the {what} points outside the file")
        return self.slice(offset, size, what)

    def symbols(self, table: str = ".dynsym") -> Iterator[Symbol]:
        """Entries of the symbol table section `table` (`.dynsym` survives `strip`)."""
        section = self.section(table)
        if section is None or section.type not in (SHT_DYNSYM, SHT_SYMTAB):
            return
        if not 0 <= section.link < len(self.sections):
            raise ElfError(f"corrupt ELF: {table} names no string table")
        strings = self.section_data(self.sections[section.link])
        data = self.section_data(section)
        fmt = self._end + ("IIIBBH" if self.bits == 32 else "IBBHQQ")
        entsize = struct.calcsize(fmt)
        for offset in range(entsize, len(data) - entsize + 1, entsize):  # entry 0 is null
            values = struct.unpack_from(fmt, data, offset)
            if self.bits == 32:
                name, value, size, _info, _other, shndx = values
            else:
                name, _info, _other, shndx, value, size = values
            yield Symbol(_cstring(strings, name), value, size, shndx)

    def _dynamic_entries(self) -> list[tuple[int, int]]:
        section = self.section(".dynamic")
        if section is None or section.type != SHT_DYNAMIC:
            return []
        data = self.section_data(section)
        fmt = self._end + ("ii" if self.bits == 32 else "qQ")
        size = struct.calcsize(fmt)
        entries = []
        for offset in range(0, len(data) - size + 1, size):
            tag, value = struct.unpack_from(fmt, data, offset)
            if tag == DT_NULL:
                break
            entries.append((tag, value))
        return entries

    def _dynamic_strings(self) -> bytes:
        section = self.section(".dynamic")
        if section is None or not 0 <= section.link < len(self.sections):
            return b""
        return self.section_data(self.sections[section.link])

    def needed_libraries(self) -> tuple[str, ...]:
        """DT_NEEDED entries: the shared libraries the loader must find (e.g. libc.so.6)."""
        strings = self._dynamic_strings()
        return tuple(_cstring(strings, v) for tag, v in self._dynamic_entries() if tag == DT_NEEDED)

    def run_paths(self) -> tuple[str, ...]:
        """DT_RUNPATH, else DT_RPATH: where the loader looks for needed libraries first."""
        strings = self._dynamic_strings()
        entries = self._dynamic_entries()
        for wanted in (DT_RUNPATH, DT_RPATH):
            found = tuple(_cstring(strings, v) for tag, v in entries if tag == wanted)
            if found:
                return found
        return ()

    def soname(self) -> str:
        """DT_SONAME, or ""."""
        strings = self._dynamic_strings()
        return next(
            (_cstring(strings, v) for tag, v in self._dynamic_entries() if tag == DT_SONAME), ""
        )

    def needed_versions(self) -> dict[str, tuple[str, ...]]:
        """`.gnu.version_r`: for each needed library, the symbol versions it must provide
        (`{"libc.so.6": ("GLIBC_2.2.5", "GLIBC_2.34")}`), sorted."""
        section = next((s for s in self.sections if s.type == SHT_GNU_VERNEED), None)
        if section is None:
            return {}
        strings = self._linked_strings(section)
        data = self.section_data(section)
        if not data:
            return {}
        found: dict[str, set[str]] = {}
        offset = 0
        for _ in range(_MAX_CHAIN):
            _ver, count, file_off, aux, next_off = _unpack_in(data, self._end + "HHIII", offset)
            names = found.setdefault(_cstring(strings, file_off), set())
            aux_off = offset + aux
            for _ in range(min(count, _MAX_CHAIN)):
                _hash, _flags, _other, name_off, aux_next = _unpack_in(
                    data, self._end + "IHHII", aux_off
                )
                names.add(_cstring(strings, name_off))
                if not aux_next:
                    break
                aux_off += aux_next
            if not next_off:
                break
            offset += next_off
        return {lib: tuple(sorted(v, key=version_key)) for lib, v in found.items()}

    def defined_versions(self) -> tuple[str, ...]:
        """`.gnu.version_d`: the symbol versions this file defines (a libc: GLIBC_2.x)."""
        section = next((s for s in self.sections if s.type == SHT_GNU_VERDEF), None)
        if section is None:
            return ()
        strings = self._linked_strings(section)
        data = self.section_data(section)
        if not data:
            return ()
        names: set[str] = set()
        offset = 0
        for _ in range(_MAX_CHAIN):
            _ver, flags, _ndx, count, _hash, aux, next_off = _unpack_in(
                data, self._end + "HHHHIII", offset
            )
            if count and not flags & 1:  # VER_FLG_BASE names the file itself, not a version
                (name_off, _aux_next) = _unpack_in(data, self._end + "II", offset + aux)
                names.add(_cstring(strings, name_off))
            if not next_off:
                break
            offset += next_off
        return tuple(sorted(names, key=version_key))

    def _linked_strings(self, section: Section) -> bytes:
        if not 0 <= section.link < len(self.sections):
            raise ElfError(f"corrupt ELF: {section.name} names no string table")
        return self.section_data(self.sections[section.link])


def _unpack_in(data: bytes, fmt: str, offset: int) -> tuple[int, ...]:
    if offset < 0 or offset + struct.calcsize(fmt) > len(data):
        raise ElfError("truncated file: a version record runs past its section")
    return struct.unpack_from(fmt, data, offset)


def _cstring(table: bytes, offset: int) -> str:
    """The NUL-terminated string at `offset` in a string table ("" when out of range)."""
    if not 0 <= offset < len(table):
        return ""
    end = table.find(b"\0", offset)
    return table[offset : end if end >= 0 else len(table)].decode("utf-8", "replace")


def version_key(version: str) -> tuple[str, tuple[int, ...]]:
    """Sort key for symbol versions: `GLIBC_2.9` before `GLIBC_2.34`."""
    prefix, _, number = version.partition("_")
    parts: list[int] = []
    for part in number.split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return prefix, tuple(parts)


def glibc_versions(versions: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The `GLIBC_x.y` names among `versions`, oldest first (GLIBC_PRIVATE left out)."""
    return tuple(
        sorted(
            (v for v in versions if v.startswith("GLIBC_") and v[6:7].isdigit()), key=version_key
        )
    )


def newest_glibc(versions: tuple[str, ...] | list[str]) -> str | None:
    """`2.34` for the newest `GLIBC_2.34` in `versions`, or None."""
    found = glibc_versions(versions)
    return found[-1].removeprefix("GLIBC_") if found else None


def libc_version(data: bytes) -> str:
    """The glibc release a `libc.so.6` file provides (`2.36`): its newest GLIBC_x.y version.

    Raises ElfError when `data` is not an ELF file that defines GLIBC versions.
    """
    try:
        versions = ElfFile(data).defined_versions()
    except (struct.error, IndexError, OverflowError) as error:
        raise ElfError(f"corrupt ELF: {error}") from None
    newest = newest_glibc(versions)
    if newest is None:
        raise ElfError("this ELF file defines no GLIBC_x.y symbol versions: not a glibc libc.so.6")
    return newest
