"""Writing YAML the way people do, in mixed styles, for the round-trip editing properties.

`StyledWriter(draw).document(data)` writes `data` with choices drawn from Hypothesis: block or
flow collections (some flow ones over several lines, with or without a trailing comma), plain,
single- or double-quoted scalars, indentation 2 or 4, sequences indented under their key or
not, comments after values and on their own lines, blank lines, a header comment, `---` and
`...`, CRLF line ends, and a last line with or without its line break.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import yaml
from hypothesis import strategies as st

Draw = Callable[[st.SearchStrategy[Any]], Any]

_TRUE = ("true", "True", "yes", "on")
_FALSE = ("false", "False", "no", "off")


@functools.lru_cache(maxsize=4096)
def plain_ok(value: str) -> bool:
    """Whether `value` reads back as itself written plain, as a key, a value, an item and in
    a flow collection."""
    if not value or value != value.strip() or any(ch in value for ch in "\n\r\t\x85"):
        return False
    try:
        return bool(
            yaml.safe_load(f"k: {value}\n") == {"k": value}
            and yaml.safe_load(f"{value}: k\n") == {value: "k"}
            and yaml.safe_load(f"- {value}\n") == [value]
            and yaml.safe_load(f"[{value}, x]\n") == [value, "x"]
            and yaml.safe_load(f"{{{value}: {value}}}\n") == {value: value}
        )
    except yaml.YAMLError:
        return False


class StyledWriter:
    """Writes one document; every style choice is drawn, so Hypothesis can shrink it."""

    def __init__(self, draw: Draw) -> None:
        self.draw = draw
        self.step: int = draw(st.sampled_from([2, 4]))
        self.seq_under_key: bool = draw(st.booleans())

    def pick(self, *options: Any) -> Any:
        return self.draw(st.sampled_from(options))

    def often(self) -> bool:
        return bool(self.draw(st.sampled_from([True, True, False])))

    def rarely(self) -> bool:
        return bool(self.draw(st.sampled_from([False, False, False, True])))

    def document(self, data: dict[str, Any]) -> str:
        lines: list[str] = []
        if self.rarely():
            lines.append("# a project file, written by hand")
        if self.rarely():
            lines.append("---")
        if self.rarely():
            lines.append(self.flow(data) + self.comment())
        else:
            lines += self.block_map(data, 0, first=not lines)
        if self.rarely():
            lines.append("...")
        elif self.rarely():
            lines.append("# the end")
        nl = str(self.pick("\n", "\r\n"))
        return nl.join(lines) + (nl if self.often() else "")

    def comment(self) -> str:
        return str(self.pick("", "", "", "  # note", "   # why: [this], {that}"))

    def extras(self, pad: str) -> list[str]:
        """Blank lines and comment lines people put between entries."""
        out = []
        if self.rarely():
            out.append("")
        if self.rarely():
            out.append(pad + "# about the next one")
        return out

    def block_map(self, mapping: dict[Any, Any], column: int, first: bool = False) -> list[str]:
        pad = " " * column
        out: list[str] = []
        for key, value in mapping.items():
            if out or not first:
                out += self.extras(pad)
            name = self.scalar(key)
            if isinstance(value, dict) and value and self.often():
                out.append(f"{pad}{name}:{self.comment()}")
                out += self.block_map(value, column + self.step)
            elif isinstance(value, list) and value and self.often():
                out.append(f"{pad}{name}:{self.comment()}")
                out += self.block_seq(value, column + (self.step if self.seq_under_key else 0))
            elif isinstance(value, dict | list) and value and self.often():
                out += self.multiline_flow(f"{pad}{name}: ", value, column)
            elif value is None and self.often():
                out.append(f"{pad}{name}:{self.comment()}")
            else:
                out.append(f"{pad}{name}: {self.flow(value)}{self.comment()}")
        return out

    def block_seq(self, items: list[Any], column: int) -> list[str]:
        pad = " " * column
        out: list[str] = []
        for item in items:
            if out:
                out += self.extras(pad)
            if isinstance(item, dict) and item and self.often():
                inner = self.block_map(item, column + 2, first=True)
                out += [f"{pad}- {inner[0].lstrip(' ')}", *inner[1:]]
            elif isinstance(item, list) and item and self.rarely():
                inner = self.block_seq(item, column + 2)
                out += [f"{pad}- {inner[0].lstrip(' ')}", *inner[1:]]
            elif item is None and self.rarely():
                out.append(f"{pad}-{self.comment()}")
            else:
                out.append(f"{pad}- {self.flow(item)}{self.comment()}")
        return out

    def multiline_flow(
        self, head: str, value: dict[Any, Any] | list[Any], column: int
    ) -> list[str]:
        """`key: [` then one entry a line, then `]` (a trailing comma or not)."""
        inner = " " * (column + self.step)
        if isinstance(value, dict):
            entries = [f"{self.scalar(k, True)}: {self.flow(v)}" for k, v in value.items()]
            opening, closing = "{", "}"
        else:
            entries = [self.flow(v) for v in value]
            opening, closing = "[", "]"
        trailing = self.often()
        out = [head + opening + self.comment()]
        for i, entry in enumerate(entries):
            comma = "," if i < len(entries) - 1 or trailing else ""
            out.append(f"{inner}{entry}{comma}{self.comment()}")
        out.append(" " * column + closing)
        return out

    def flow(self, value: Any) -> str:
        if isinstance(value, dict):
            inner = ", ".join(f"{self.scalar(k, True)}: {self.flow(v)}" for k, v in value.items())
            return "{" + inner + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self.flow(v) for v in value) + "]"
        return self.scalar(value, True)

    def scalar(self, value: Any, flow: bool = False) -> str:
        if value is None:
            return str(self.pick("null", "~", "Null"))
        if isinstance(value, bool):
            return str(self.pick(*(_TRUE if value else _FALSE)))
        if isinstance(value, int):
            return str(value)
        assert isinstance(value, str)
        options = [json.dumps(value)]
        if not any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in value):
            options.append("'" + value.replace("'", "''") + "'")
        if plain_ok(value):
            options += [value, value]
        return str(self.pick(*options))


TRICKY_STRINGS = (
    "a",
    "hello.go",
    "./plugins/x.go",
    "yes",
    "no",
    "on",
    "1.20",
    "null",
    "~",
    "",
    " lead",
    "trail ",
    "a: b",
    "#x",
    "a #b",
    "a#b",
    "- x",
    "-mod=vendor",
    "*x",
    "&x",
    "!x",
    "{x",
    "[x]",
    "x, y",
    "it's",
    'say "hi"',
    "multi\nline",
    "tab\there",
    "ünïcödé",
    "0x1F",
    "2024-01-01",
    "true",
    "%x",
    "@x",
    "`x`",
    "? x",
    "---",
    "a\\b",
    "\x85",
)

scalars = (
    st.sampled_from(TRICKY_STRINGS)
    | st.text(alphabet="ab -:#,'\"[]{}.é", max_size=6)
    | st.integers(-3, 300)
    | st.booleans()
    | st.none()
)
keys = st.sampled_from(["a", "b", "c", "plugins", "host", "x y", "yes", "1", "k: v", "#k", "é"])
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=12,
)


def mutate(draw: Draw, value: Any, depth: int = 0) -> Any:
    """`value` after one random edit somewhere inside it (a new value; `value` is untouched)."""
    if isinstance(value, dict):
        ops = ["edit", "delete", "add", "replace"] if value else ["add", "replace"]
        op = draw(st.sampled_from(ops if depth < 4 else ["replace"]))
        out = dict(value)
        if op == "edit":
            key = draw(st.sampled_from(list(out)))
            out[key] = mutate(draw, out[key], depth + 1)
        elif op == "delete":
            del out[draw(st.sampled_from(list(out)))]
        elif op == "add":
            out[draw(keys)] = draw(values)
        else:
            return draw(values)
        return out
    if isinstance(value, list):
        ops = ["edit", "delete", "insert", "move", "replace"] if value else ["insert", "replace"]
        op = draw(st.sampled_from(ops if depth < 4 else ["replace"]))
        out_list = list(value)
        if op == "edit":
            i = draw(st.integers(0, len(out_list) - 1))
            out_list[i] = mutate(draw, out_list[i], depth + 1)
        elif op == "delete":
            del out_list[draw(st.integers(0, len(out_list) - 1))]
        elif op == "insert":
            out_list.insert(draw(st.integers(0, len(out_list))), draw(values))
        elif op == "move":
            item = out_list.pop(draw(st.integers(0, len(out_list) - 1)))
            out_list.insert(draw(st.integers(0, len(out_list))), item)
        else:
            return draw(values)
        return out_list
    return draw(values)
