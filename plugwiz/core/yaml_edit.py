"""Minimal patches to YAML text: a changed value changes its own bytes, and nothing else moves.

`patch_yaml(text, data)` returns text that loads as `data`. It composes `text` (PyYAML nodes
carry the start and end index of every value), compares the document it holds with `data`, and
edits only where they differ:

- an unchanged value keeps its exact text: quotes, comments, blank lines, flow or block style,
  indentation and key order;
- a changed scalar is replaced in place, in its quote style when that style can hold the value;
- a removed key or item takes its lines with it (block style), or its entry and comma (flow);
- a new key goes after the key that precedes it in `data`, a new item where the diff of the
  items puts it, both in the style of their neighbours;
- a value whose type changes is written again in the style of its context.

The result is checked by loading it; if an unusual construct defeats the patcher (anchors, tags,
complex keys...), the changed top-level values are written whole, and as a last resort the
document is dumped again below its leading comments.
"""

from __future__ import annotations

import bisect
import difflib
import io
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.emitter import Emitter
from yaml.resolver import Resolver

_STR_TAG = "tag:yaml.org,2002:str"
# Characters a YAML stream may hold raw; everything else goes into a double-quoted escape.
_UNPRINTABLE = {"\x85", "\u2028", "\u2029", "\ufeff", "\ufffe", "\uffff"}


class YamlEditError(ValueError):
    """The text cannot be patched to hold the wanted document."""


class _Unsupported(Exception):
    """A construct this patcher does not edit in place (the caller falls back)."""


def patch_yaml(text: str, data: Any, *, fallback: bool = True) -> str:
    """`text` edited so that it loads as `data`, changing only what differs.

    `data` is plain data: dicts, lists, str, int, float, bool and None. With `fallback` False,
    a document the patcher cannot edit in place raises YamlEditError instead of being written
    less carefully (tests use it to prove that the careful path was taken).
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise YamlEditError(f"the text is not valid YAML: {exc}") from None
    if root is None:
        if not fallback:
            raise YamlEditError("the text holds no document")
        return _dump_below(text, data)
    for shallow in (False, True):
        try:
            result = _Patcher(text, shallow=shallow).patch(data)
        except _Unsupported as exc:
            if not fallback:
                raise YamlEditError(f"cannot patch in place: {exc}") from None
            continue
        if _loads_as(result, data):
            return result
        if not fallback:
            raise YamlEditError("the patched text does not load as the wanted document")
    return _dump_below(text, data)


def same_data(a: Any, b: Any) -> bool:
    """Whether two loaded documents are equal, telling `1`, `1.0` and `true` apart."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_data(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_data(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _fingerprint(value: Any) -> Hashable:
    """A hashable stand-in for a loaded value, equal exactly when `same_data` holds."""
    if isinstance(value, dict):
        items = sorted(((_fingerprint(k), _fingerprint(v)) for k, v in value.items()), key=repr)
        return ("map", tuple(items))
    if isinstance(value, list):
        return ("seq", tuple(_fingerprint(v) for v in value))
    return (type(value).__name__, repr(value))


def match_items(
    old: Sequence[Hashable], new: Sequence[Hashable], similar: Callable[[int, int], bool]
) -> list[tuple[int | None, int | None]]:
    """Align two lists by a diff of their keys: `(i, j)` pairs in order, where `(i, None)` is
    an old item removed, `(None, j)` a new item added, and `(i, j)` an old item kept (equal
    keys) or changed into a new one. Where the diff replaces a run of items, an old item is
    paired with the first `similar` new one (a plugin that gained a name), and what is left
    over is paired by position."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    out: list[tuple[int | None, int | None]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += [(i1 + t, j1 + t) for t in range(i2 - i1)]
            continue
        anchors: list[tuple[int, int]] = []
        next_new = j1
        for i in range(i1, i2):
            for j in range(next_new, j2):
                if similar(i, j):
                    anchors.append((i, j))
                    next_new = j + 1
                    break
        start_old, start_new = i1, j1
        for i, j in [*anchors, (i2, j2)]:
            gap_old, gap_new = range(start_old, i), range(start_new, j)
            paired = min(len(gap_old), len(gap_new))
            out += [(gap_old[t], gap_new[t]) for t in range(paired)]
            out += [(x, None) for x in gap_old[paired:]]
            out += [(None, y) for y in gap_new[paired:]]
            if i < i2:
                out.append((i, j))
            start_old, start_new = i + 1, j + 1
    return out


def _similar(a: Any, b: Any) -> bool:
    """Whether two items look like one edited into the other: they share a key and value, or
    one is a value of the other (`hello.go` -> `{source: hello.go, name: hi}`)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return any(k in b and same_data(v, b[k]) for k, v in a.items())
    if isinstance(a, dict):
        return any(same_data(v, b) for v in a.values())
    if isinstance(b, dict):
        return any(same_data(a, v) for v in b.values())
    return False


def _loads_as(text: str, data: Any) -> bool:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return same_data(loaded, data)


def _dump_below(text: str, data: Any) -> str:
    """`data` dumped afresh, below the comments and blank lines that open `text`."""
    nl = "\r\n" if "\r\n" in text else "\n"
    head: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        head.append(line)
    if head and not head[-1].endswith("\n"):
        head[-1] += nl
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1_000_000)
    return "".join(head) + body.replace("\n", nl)


@dataclass(frozen=True)
class _Ctx:
    """Where a value sits: the root, a mapping's value (with its key) or a sequence item."""

    kind: str  # "root", "map" or "seq"
    flow: bool  # inside a flow collection
    parent: yaml.Node | None = None
    key: yaml.Node | None = None


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str


class _Patcher:
    """One pass over one text: collects edits against the original indexes, then applies them."""

    def __init__(self, text: str, *, shallow: bool = False) -> None:
        self.nl = "\r\n" if "\r\n" in text else "\n"
        # A last line without a newline is given one while editing and loses it at the end, so
        # every entry ends with a line break and new lines can always go after one.
        self.added_newline = bool(text) and not text.endswith("\n")
        self.text = text + self.nl if self.added_newline else text
        self.root: yaml.Node | None = yaml.compose(self.text, Loader=yaml.SafeLoader)
        self.shallow = shallow
        self.edits: list[_Edit] = []
        self.line_starts = [0] + [i + 1 for i, ch in enumerate(self.text) if ch == "\n"]
        self.constructor = SafeConstructor()
        self.emitter = Emitter(io.StringIO(), allow_unicode=True)
        self.resolver = Resolver()
        self.step = 2
        self.seq_offset = 0
        self.flow_items: bool | None = None
        if self.root is not None:
            self._detect_style(self.root)

    # ---- the document as it is -------------------------------------------------------------

    def _detect_style(self, root: yaml.Node) -> None:
        """Indentation step, sequence offset and style of mapping items, as the text uses them."""
        step: int | None = None
        offset: int | None = None
        seen: set[int] = set()
        stack = [root]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                raise _Unsupported("anchors and aliases")
            seen.add(id(node))
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    stack += [key, value]
                    if _is_flow(node) or not _is_block(value) or not value.value:
                        continue
                    indent = value.start_mark.column - key.start_mark.column
                    if isinstance(value, yaml.MappingNode) and step is None and 0 < indent <= 8:
                        step = indent
                    if isinstance(value, yaml.SequenceNode) and offset is None and indent >= 0:
                        offset = indent
            elif isinstance(node, yaml.SequenceNode):
                stack += node.value
                for item in node.value:
                    if (
                        not _is_flow(node)
                        and self.flow_items is None
                        and isinstance(item, yaml.MappingNode)
                        and item.value
                    ):
                        self.flow_items = bool(item.flow_style)
        self.step = step or 2
        self.seq_offset = offset if offset is not None and offset <= 8 else 0

    def data_of(self, node: yaml.Node) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise _Unsupported(str(exc)) from None

    def line_start(self, index: int) -> int:
        return self.line_starts[bisect.bisect_right(self.line_starts, index) - 1]

    def after_line(self, index: int) -> int:
        """The index just after the line break that ends the line holding `index`."""
        end = self.text.find("\n", index)
        return len(self.text) if end < 0 else end + 1

    def at_line_start(self, index: int) -> bool:
        return not self.text[self.line_start(index) : index].strip(" \t\ufeff")

    def blank_line_at(self, index: int) -> bool:
        """Whether the line starting at `index` is empty (or only blanks)."""
        return index < len(self.text) and not self.text[index : self.after_line(index)].strip()

    def rest_is_comment(self, index: int) -> bool:
        """Whether only blanks or a comment follow `index` on its line."""
        rest = self.text[index : self.after_line(index)].strip(" \t\r\n")
        return not rest or rest.startswith("#")

    def content_end(self, node: yaml.Node) -> int:
        """Where the node's own text ends (block collections end with their last value)."""
        if isinstance(node, yaml.ScalarNode):
            end = int(node.end_mark.index)
            if node.style in ("|", ">"):
                start = int(node.start_mark.index)
                while end > start and self.text[end - 1] in " \t\r\n":
                    end -= 1
            return end
        if _is_block(node):
            last = node.value[-1]
            return self.content_end(last[1] if isinstance(node, yaml.MappingNode) else last)
        return int(node.end_mark.index)

    def colon_end(self, key: yaml.Node) -> int:
        """The index just after the `:` that follows a mapping key."""
        index = int(key.end_mark.index)
        while index < len(self.text) and self.text[index] in " \t":
            index += 1
        if index >= len(self.text) or self.text[index] != ":":
            raise _Unsupported("a mapping key that is not followed by `:`")
        return index + 1

    def entry_start(self, node: yaml.Node, index: int) -> int:
        """Where entry `index` of a collection starts: its key, its item, or its `-`."""
        if isinstance(node, yaml.MappingNode):
            return int(node.value[index][0].start_mark.index)
        item = node.value[index]
        if _is_flow(node):
            return int(item.start_mark.index)
        if index == 0:
            return int(node.start_mark.index)
        column = node.start_mark.column
        line = item.start_mark.line
        while line > node.start_mark.line:
            start = self.line_starts[line]
            if self.text[start + column : start + column + 1] == "-" and not self.text[
                start : start + column
            ].strip(" "):
                return int(start + column)
            line -= 1
        raise _Unsupported("a sequence item without its `-`")

    def entry_end(self, node: yaml.Node, index: int) -> int:
        value = node.value[index]
        return self.content_end(value[1] if isinstance(node, yaml.MappingNode) else value)

    def entry_column(self, node: yaml.Node) -> int:
        first = node.value[0][0] if isinstance(node, yaml.MappingNode) else node
        return int(first.start_mark.column)

    def block_start(self, node: yaml.Node, index: int) -> int:
        """The first line of a block entry, with the comment lines just above it (same column,
        no blank line between) that describe it. Comments above the document's first key are
        the file's, not that key's."""
        start = self.line_start(self.entry_start(node, index))
        if index == 0 and node is self.root:
            return start
        floor = self.after_line(self.entry_end(node, index - 1)) if index else 0
        column = self.entry_column(node)
        while start > floor:
            above = self.line_start(start - 1)
            line = self.text[above:start]
            stripped = line.lstrip(" ")
            if not stripped.startswith("#") or len(line) - len(stripped) != column:
                break
            start = above
        return start

    # ---- comparing and editing -------------------------------------------------------------

    def patch(self, data: Any) -> str:
        if self.root is None:
            raise _Unsupported("no document")
        self.patch_node(self.root, data, _Ctx("root", False))
        return self.result()

    def result(self) -> str:
        out: list[str] = []
        pos = 0
        for edit in sorted(self.edits, key=lambda e: (e.start, e.end)):
            if edit.start < pos:
                raise _Unsupported("overlapping edits")
            out += [self.text[pos : edit.start], edit.text]
            pos = edit.end
        out.append(self.text[pos:])
        text = "".join(out)
        if self.added_newline and text.endswith(self.nl):
            text = text[: -len(self.nl)]
        return text

    def edit(self, start: int, end: int, text: str) -> None:
        self.edits.append(_Edit(start, end, text))

    def patch_node(self, node: yaml.Node, new: Any, ctx: _Ctx) -> None:
        if same_data(self.data_of(node), new):
            return
        if isinstance(node, yaml.ScalarNode) and _is_scalar(new):
            self.replace_scalar(node, new, ctx)
        elif self.shallow and ctx.kind != "root":
            self.replace_value(node, new, ctx)
        elif isinstance(node, yaml.MappingNode) and isinstance(new, dict) and node.value and new:
            self.patch_mapping(node, new, ctx)
        elif isinstance(node, yaml.SequenceNode) and isinstance(new, list) and node.value and new:
            self.patch_sequence(node, new, ctx)
        else:
            self.replace_value(node, new, ctx)

    def replace_scalar(self, node: yaml.ScalarNode, new: Any, ctx: _Ctx) -> None:
        start, end = int(node.start_mark.index), self.content_end(node)
        style = node.style if node.style in ("'", '"') else None
        text = self.scalar(new, ctx.flow, style)
        self.edit(start, end, " " + text if start == end else text)

    def replace_value(self, node: yaml.Node, new: Any, ctx: _Ctx) -> None:
        """Write `new` in place of the whole of `node`, in the style of its context."""
        start, end = int(node.start_mark.index), self.content_end(node)
        if ctx.kind == "root":
            if _is_scalar(new) or not new or _is_flow(node):
                self.edit(start, end, self.inline(new, False))
            else:
                lines = self.block_lines(new, self.column_of(start))
                self.edit(start, end, lines[0] + "".join(self.nl + line for line in lines[1:]))
            return
        block_node = _is_block(node)
        # Flow stays flow: `plugins: []` that gains an item becomes `plugins: [a.go]`.
        inline = ctx.flow or _is_scalar(new) or not new or _is_flow(node)
        if (
            not inline
            and ctx.kind == "seq"
            and isinstance(new, dict)
            and ctx.parent is not None
            and self.items_in_flow(ctx.parent)
        ):
            inline = True
        if inline:
            text = self.inline(new, ctx.flow)
            if ctx.kind == "map" and block_node and ctx.key is not None:
                self.edit(self.colon_end(ctx.key), end, " " + text)
            elif start == end:
                self.edit(start, end, " " + text)
            else:
                self.edit(start, end, text)
            return
        if ctx.kind == "map":
            if ctx.key is None:
                raise _Unsupported("a mapping value without its key")
            key_column = int(ctx.key.start_mark.column)
            column = key_column + (self.step if isinstance(new, dict) else self.seq_offset)
            block = self.indented(self.block_lines(new, column), column)
            colon = self.colon_end(ctx.key)
            if not block_node and self.rest_is_comment(end):
                # `key: x  # why` keeps its comment on the key's line.
                self.edit(colon, end, "")
                self.edit(self.after_line(end), self.after_line(end), block + self.nl)
            else:
                self.edit(colon, end, self.nl + block)
            return
        column = int(node.start_mark.column) + (1 if start == end else 0)
        lines = self.block_lines(new, column)
        text = lines[0] + "".join(self.nl + line for line in lines[1:])
        self.edit(start, end, " " + text if start == end else text)

    def patch_mapping(self, node: yaml.MappingNode, new: dict[Any, Any], ctx: _Ctx) -> None:
        keys = [self.data_of(key) for key, _ in node.value]
        if not all(isinstance(k, Hashable) for k in keys) or len(set(keys)) != len(keys):
            raise _Unsupported("duplicate or unhashable keys")
        kept = {k: i for i, k in enumerate(keys) if k in new}
        if not kept:
            self.replace_value(node, new, ctx)
            return
        flow = ctx.flow or _is_flow(node)
        for key_node, value_node in node.value:
            key = self.data_of(key_node)
            if key in new:
                self.patch_node(value_node, new[key], _Ctx("map", flow, node, key_node))
        self.delete_entries(node, [i for i, k in enumerate(keys) if k not in new])
        inserts: dict[int, list[tuple[Any, Any]]] = {}
        anchor = -1
        for key, value in new.items():
            if key in kept:
                anchor = kept[key]
            else:
                inserts.setdefault(anchor, []).append((key, value))
        for after, entries in inserts.items():
            if flow:
                texts = [
                    f"{self.scalar(k, True, None)}: {self.inline(v, True)}" for k, v in entries
                ]
                self.insert_flow(node, after, texts)
            else:
                column = self.entry_column(node)
                self.insert_block(node, after, [self.block_lines(dict(entries), column)])

    def patch_sequence(self, node: yaml.SequenceNode, new: list[Any], ctx: _Ctx) -> None:
        items = node.value
        old_values = [self.data_of(item) for item in items]
        old = [_fingerprint(value) for value in old_values]
        alignment = match_items(
            old,
            [_fingerprint(v) for v in new],
            lambda i, j: _similar(old_values[i], new[j]),
        )
        pairs: list[tuple[int, int]] = []
        deleted: list[int] = []
        inserts: dict[int, list[Any]] = {}
        anchor = -1
        for i, j in alignment:
            if i is None:
                assert j is not None
                inserts.setdefault(anchor, []).append(new[j])
            elif j is None:
                deleted.append(i)
            else:
                anchor = i
                if old[i] != _fingerprint(new[j]):
                    pairs.append((i, j))
        if len(deleted) == len(items):
            self.replace_value(node, new, ctx)
            return
        flow = ctx.flow or _is_flow(node)
        for i, j in pairs:
            self.patch_node(items[i], new[j], _Ctx("seq", flow, node))
        # An item that only moved takes its own text (and comments) along.
        moved = {old[i]: i for i in reversed(deleted)}
        self.delete_entries(node, deleted)
        for after, values in inserts.items():
            if flow:
                texts = []
                for value in values:
                    source = moved.pop(_fingerprint(value), None)
                    if source is not None:
                        texts.append(
                            self.text[self.entry_start(node, source) : self.entry_end(node, source)]
                        )
                    else:
                        texts.append(self.inline(value, True))
                self.insert_flow(node, after, texts)
            else:
                column = self.entry_column(node)
                chunks: list[list[str] | str] = []
                line_mode = after >= 0 or self.at_line_start(self.entry_start(node, 0))
                for value in values:
                    source = moved.pop(_fingerprint(value), None) if line_mode else None
                    if source is not None and self.at_line_start(self.entry_start(node, source)):
                        chunks.append(
                            self.text[
                                self.block_start(node, source) : self.after_line(
                                    self.entry_end(node, source)
                                )
                            ]
                        )
                    else:
                        chunks.append(self.item_lines(value, column, self.items_in_flow(node)))
                self.insert_block(node, after, chunks)

    def delete_entries(self, node: yaml.Node, indexes: Sequence[int]) -> None:
        """Remove entries (never all of them), run by run of neighbouring entries."""
        runs: list[list[int]] = []
        for i in sorted(indexes):
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        count = len(node.value)
        for run in runs:
            first, last = run[0], run[-1]
            if _is_flow(node):
                self.delete_flow(node, first, last, count)
            elif first == 0 and not self.at_line_start(self.entry_start(node, 0)):
                # `- a: 1` loses `a`: the next entry moves up onto the `- ` line.
                self.edit(self.entry_start(node, 0), self.entry_start(node, last + 1), "")
            else:
                start = self.block_start(node, first)
                end = self.after_line(self.entry_end(node, last))
                if first > 0 and (last == count - 1 or self.blank_line_at(end)):
                    # A blank line that set the removed entries apart goes with them.
                    above = self.line_start(start - 1)
                    floor = self.after_line(self.entry_end(node, first - 1))
                    if above >= floor and self.blank_line_at(above):
                        start = above
                self.edit(start, end, "")

    def delete_flow(self, node: yaml.Node, first: int, last: int, count: int) -> None:
        if last < count - 1:
            self.edit(self.entry_start(node, first), self.entry_start(node, last + 1), "")
            return
        end = self.entry_end(node, last)
        after = end
        while self.text[after : after + 1] in (" ", "\t"):
            after += 1
        if self.text[after : after + 1] == ",":
            after += 1
        start = self.entry_start(node, first)
        if self.at_line_start(start) and self.rest_is_comment(after):
            # One entry per line: its lines go; the comma before them stays as a trailing one.
            self.edit(self.line_start(start), self.after_line(after), "")
        else:
            self.edit(self.entry_end(node, first - 1), end, "")

    def insert_block(self, node: yaml.Node, after: int, chunks: list[list[str] | str]) -> None:
        """Insert entries after entry `after` (-1: before the first) of a block collection.

        A chunk is either the lines of a new entry (the first without indentation) or the
        original full-line text of a moved entry."""
        column = self.entry_column(node)
        text = "".join(
            chunk if isinstance(chunk, str) else self.indented(chunk, column) + self.nl
            for chunk in chunks
        )
        if after >= 0:
            at = self.after_line(self.entry_end(node, after))
            self.edit(at, at, text)
            return
        first = self.entry_start(node, 0)
        if self.at_line_start(first):
            at = self.block_start(node, 0)
            self.edit(at, at, text)
        else:
            self.edit(first, first, text[column:] + " " * column)

    def insert_flow(self, node: yaml.Node, after: int, texts: list[str]) -> None:
        """Insert entries after entry `after` (-1: before the first) of a flow collection."""
        count = len(node.value)
        if after < 0:
            first = self.entry_start(node, 0)
            if self.at_line_start(first):
                indent = " " * self.column_of(first)
                lines = "".join(indent + t + "," + self.nl for t in texts)
                self.edit(self.line_start(first), self.line_start(first), lines)
            else:
                self.edit(first, first, "".join(t + ", " for t in texts))
            return
        end = self.entry_end(node, after)
        comma = end
        while self.text[comma : comma + 1] in (" ", "\t"):
            comma += 1
        has_comma = self.text[comma : comma + 1] == ","
        start = self.entry_start(node, after)
        next_on_own_line = after == count - 1 or self.at_line_start(
            self.entry_start(node, after + 1)
        )
        if (
            self.at_line_start(start)
            and next_on_own_line
            and self.rest_is_comment(comma + 1 if has_comma else end)
        ):
            indent = " " * self.column_of(start)
            trailing = has_comma or after < count - 1
            body = (
                ("," + self.nl).join(indent + t for t in texts)
                + ("," if trailing else "")
                + self.nl
            )
            if not has_comma:
                self.edit(end, end, ",")
            at = self.after_line(comma + 1 if has_comma else end)
            self.edit(at, at, body)
        else:
            self.edit(end, end, "".join(", " + t for t in texts))

    def column_of(self, index: int) -> int:
        return index - self.line_start(index)

    # ---- writing new values ----------------------------------------------------------------

    def items_in_flow(self, sequence: yaml.Node) -> bool:
        """Whether a mapping item of this block sequence is written `{k: v, ...}` on one line:
        as its sibling mappings are, else on one line (a plugin that gains a name changes one
        line, not one line into two)."""
        for item in sequence.value if isinstance(sequence, yaml.SequenceNode) else ():
            if isinstance(item, yaml.MappingNode) and item.value:
                return bool(item.flow_style)
        return True

    def indented(self, lines: list[str], column: int) -> str:
        return " " * column + lines[0] + "".join(self.nl + line for line in lines[1:])

    def block_lines(self, value: Any, column: int) -> list[str]:
        """A non-empty collection in block style at `column`: the first line without its
        indentation (it goes where the value starts), the others fully indented."""
        entries: list[list[str]] = []
        if isinstance(value, list):
            default_flow = True if self.flow_items is None else self.flow_items
            entries = [self.item_lines(item, column, default_flow) for item in value]
        else:
            for key, item in value.items():
                name = self.scalar(key, False, None)
                if isinstance(item, dict | list) and item:
                    inner = column + (self.step if isinstance(item, dict) else self.seq_offset)
                    child = self.block_lines(item, inner)
                    entries.append([f"{name}:", " " * inner + child[0], *child[1:]])
                else:
                    entries.append([f"{name}: {self.inline(item, False)}"])
        lines = list(entries[0])
        for entry in entries[1:]:
            lines += [" " * column + entry[0], *entry[1:]]
        return lines

    def item_lines(self, item: Any, column: int, flow_mapping: bool) -> list[str]:
        """One block sequence item at `column` (the `-`'s), first line without indentation."""
        if isinstance(item, dict) and item and not flow_mapping:
            child = self.block_lines(item, column + 2)
            return ["- " + child[0], *child[1:]]
        return ["- " + self.inline(item, False)]

    def inline(self, value: Any, flow: bool) -> str:
        """A value on one line: a scalar, or a flow collection."""
        if isinstance(value, dict):
            inner = ", ".join(
                f"{self.scalar(k, True, None)}: {self.inline(v, True)}" for k, v in value.items()
            )
            return "{" + inner + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self.inline(v, True) for v in value) + "]"
        return self.scalar(value, flow, None)

    def scalar(self, value: Any, flow: bool, style: str | None) -> str:
        """A scalar on one line: plain when that reads back as the same value, else quoted
        (in `style` when it can hold the value)."""
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if not isinstance(value, str):
            dumped = yaml.safe_dump(value, default_flow_style=True, width=1_000_000)
            return dumped.split("\n", 1)[0]
        analysis = self.emitter.analyze_scalar(value)
        single = analysis.allow_single_quoted and not analysis.multiline
        plain = (
            value != ""
            and not analysis.multiline
            and (analysis.allow_flow_plain if flow else analysis.allow_block_plain)
            and self.resolver.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
            == _STR_TAG
        )
        if style == '"':
            return _double_quoted(value)
        if style == "'" or not plain:
            return "'" + value.replace("'", "''") + "'" if single else _double_quoted(value)
        return value


def _double_quoted(value: str) -> str:
    """A double-quoted YAML scalar on one line, escaping what a stream may not hold raw."""
    named = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}
    out = []
    for ch in value:
        code = ord(ch)
        if ch in named:
            out.append(named[ch])
        elif code < 0x20 or 0x7F <= code < 0xA0 or ch in _UNPRINTABLE or 0xD800 <= code < 0xE000:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _is_flow(node: yaml.Node) -> bool:
    return bool(getattr(node, "flow_style", False))


def _is_block(node: yaml.Node) -> bool:
    return isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not _is_flow(node)
