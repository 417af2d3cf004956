"""Renaming a Go plugin package: a tokenizer that knows comments, strings and Go's automatic
semicolons, and a rename that changes only what names the plugin.

What `plugwiz new` renames when it copies a bundled plugin (`rename_package`):

- unexported package-level identifiers (types, functions, variables, constants) whose name
  holds the old plugin name as a word (`reverse`, `reverseRunes`, `newReverse`), everywhere
  they are used; never an exported one (in a plugin's `package main` those are what the host
  looks up), never a struct field, an interface method, a method or a selector (`x.reverse`);
- string literals whose value is exactly the old name (the plugin's ID: `return "reverse"`).

Comments, other strings and everything else stay byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

KEYWORDS = frozenset(
    (
        "break",
        "case",
        "chan",
        "const",
        "continue",
        "default",
        "defer",
        "else",
        "fallthrough",
        "for",
        "func",
        "go",
        "goto",
        "if",
        "import",
        "interface",
        "map",
        "package",
        "range",
        "return",
        "select",
        "struct",
        "switch",
        "type",
        "var",
    )
)
PREDECLARED = frozenset(
    (
        "any",
        "append",
        "bool",
        "byte",
        "cap",
        "clear",
        "close",
        "comparable",
        "complex",
        "complex64",
        "complex128",
        "copy",
        "delete",
        "error",
        "false",
        "float32",
        "float64",
        "imag",
        "int",
        "int8",
        "int16",
        "int32",
        "int64",
        "iota",
        "len",
        "make",
        "max",
        "min",
        "new",
        "nil",
        "panic",
        "print",
        "println",
        "real",
        "recover",
        "rune",
        "string",
        "true",
        "uint",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "uintptr",
    )
)

# Kinds of token.
IDENT = "ident"
STRING = "string"  # "..." or `...`
RUNE = "rune"
NUMBER = "number"
COMMENT = "comment"
OP = "op"
SEMI = "semi"  # an explicit `;` or one Go inserts at a newline

_SEMI_AFTER_OPS = frozenset({")", "]", "}", "++", "--"})
_SEMI_AFTER_WORDS = frozenset({"break", "continue", "fallthrough", "return"})
_TWO_CHAR_OPS = frozenset({":=", "++", "--", "<-", "&&", "||", "==", "!=", "<=", ">=", "&^"})
_IDENT_START = re.compile(r"[^\W\d]", re.UNICODE)
_IDENT_CHAR = re.compile(r"\w", re.UNICODE)


class GoSourceError(ValueError):
    """Go source plugwiz cannot read (an unterminated string or comment)."""


@dataclass(frozen=True)
class Token:
    """One token: its kind, its text, and where it is in the source (`end` exclusive). An
    inserted semicolon has empty text at the newline."""

    kind: str
    text: str
    start: int
    end: int


def tokenize(source: str) -> list[Token]:
    """The tokens of Go `source`, comments included, with the semicolons Go inserts at line
    ends (the spec's rule: after an identifier, a literal, `)`, `]`, `}`, `++`, `--`, and
    `break`, `continue`, `fallthrough`, `return`)."""
    tokens: list[Token] = []
    i, n = 0, len(source)

    def newline(at: int) -> None:
        last = next((t for t in reversed(tokens) if t.kind != COMMENT), None)
        if last is None or last.kind == SEMI:
            return
        if (
            last.kind in (IDENT, STRING, RUNE, NUMBER)
            and (last.kind != IDENT or last.text not in KEYWORDS or last.text in _SEMI_AFTER_WORDS)
        ) or (last.kind == OP and last.text in _SEMI_AFTER_OPS):
            tokens.append(Token(SEMI, "", at, at))

    while i < n:
        c = source[i]
        if c == "\n":
            newline(i)
            i += 1
        elif c in " \t\r\ufeff":
            i += 1
        elif source.startswith("//", i):
            end = source.find("\n", i)
            end = n if end < 0 else end
            tokens.append(Token(COMMENT, source[i:end], i, end))
            i = end
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            if end < 0:
                raise GoSourceError("a /* comment is not closed")
            end += 2
            if "\n" in source[i:end]:
                newline(i)
            tokens.append(Token(COMMENT, source[i:end], i, end))
            i = end
        elif c == '"' or c == "'":
            j = i + 1
            while j < n and source[j] != c:
                if source[j] == "\n":
                    raise GoSourceError(f"a {c} literal is not closed on its line")
                j += 2 if source[j] == "\\" else 1
            if j >= n:
                raise GoSourceError(f"a {c} literal is not closed")
            tokens.append(Token(STRING if c == '"' else RUNE, source[i : j + 1], i, j + 1))
            i = j + 1
        elif c == "`":
            end = source.find("`", i + 1)
            if end < 0:
                raise GoSourceError("a ` string is not closed")
            tokens.append(Token(STRING, source[i : end + 1], i, end + 1))
            i = end + 1
        elif c.isdigit() or (c == "." and i + 1 < n and source[i + 1].isdigit()):
            j = i + 1
            # Exponent signs: `1e-9`, and `0x1p-2` in hexadecimal (where `e` is a digit).
            exponent = "pP" if source[i : i + 2].lower() == "0x" else "eE"
            while j < n and (
                source[j].isalnum()
                or source[j] in "._"
                or (source[j] in "+-" and source[j - 1] in exponent)
            ):
                j += 1
            tokens.append(Token(NUMBER, source[i:j], i, j))
            i = j
        elif _IDENT_START.match(c):
            j = i + 1
            while j < n and _IDENT_CHAR.match(source[j]):
                j += 1
            tokens.append(Token(IDENT, source[i:j], i, j))
            i = j
        elif c == ";":
            tokens.append(Token(SEMI, ";", i, i + 1))
            i += 1
        elif source.startswith("...", i):
            tokens.append(Token(OP, "...", i, i + 3))
            i += 3
        elif source[i : i + 2] in _TWO_CHAR_OPS:
            tokens.append(Token(OP, source[i : i + 2], i, i + 2))
            i += 2
        else:
            tokens.append(Token(OP, c, i, i + 1))
            i += 1
    newline(n)
    return tokens


def string_value(literal: str) -> str | None:
    """The value of a Go string literal without escapes (None when it has any: plugwiz never
    needs to compare those)."""
    if literal.startswith("`"):
        return literal[1:-1]
    body = literal[1:-1]
    return None if "\\" in body else body


# -- what a package declares ---------------------------------------------------------------


@dataclass(frozen=True)
class Declarations:
    """Names a package's files declare: at package level, and as members (struct fields,
    interface methods, methods), with the positions (file index, token index) of member and
    method declarations, which a rename leaves alone."""

    package_level: frozenset[str]
    members: frozenset[str]
    member_sites: frozenset[tuple[int, int]]


def _code(tokens: Sequence[Token]) -> list[tuple[int, Token]]:
    return [(index, t) for index, t in enumerate(tokens) if t.kind != COMMENT]


def declarations(files: Sequence[Sequence[Token]]) -> Declarations:
    """What the package made of `files` (their tokens) declares."""
    package_level: set[str] = set()
    members: set[str] = set()
    sites: set[tuple[int, int]] = set()
    for file_index, tokens in enumerate(files):
        code = _code(tokens)
        depth = 0
        k = 0
        while k < len(code):
            index, token = code[k]
            text = token.text
            if token.kind == OP and text in "({[":
                depth += 1
            elif token.kind == OP and text in ")}]":
                depth -= 1
            elif depth == 0 and token.kind == IDENT and text == "func":
                nxt = code[k + 1][1] if k + 1 < len(code) else None
                if nxt is not None and nxt.kind == IDENT:
                    package_level.add(nxt.text)
                elif nxt is not None and nxt.text == "(":
                    # A method: the name after the receiver is a member, not package level.
                    close = _matching(code, k + 1)
                    if close + 1 < len(code) and code[close + 1][1].kind == IDENT:
                        members.add(code[close + 1][1].text)
                        sites.add((file_index, code[close + 1][0]))
            elif depth == 0 and token.kind == IDENT and text in ("type", "var", "const"):
                package_level.update(_spec_names(code, k + 1, many=text != "type"))
            if token.kind == IDENT and text in ("struct", "interface"):
                nxt = code[k + 1][1] if k + 1 < len(code) else None
                if nxt is not None and nxt.text == "{":
                    for site, name in _member_names(code, k + 1, text == "struct"):
                        members.add(name)
                        sites.add((file_index, site))
            k += 1
    return Declarations(frozenset(package_level), frozenset(members), frozenset(sites))


def _matching(code: Sequence[tuple[int, Token]], open_at: int) -> int:
    """The position in `code` of the bracket closing the one at `open_at`."""
    depth = 0
    for k in range(open_at, len(code)):
        text = code[k][1].text
        if code[k][1].kind != OP:
            continue
        if text in "({[":
            depth += 1
        elif text in ")}]":
            depth -= 1
            if depth == 0:
                return k
    return len(code) - 1


def _spec_names(code: Sequence[tuple[int, Token]], at: int, *, many: bool) -> list[str]:
    """Names declared by `type`/`var`/`const` whose specs start at `code[at]` (one spec, or a
    parenthesised group of them)."""
    if at >= len(code):
        return []
    if code[at][1].text != "(":
        return _one_spec(code, at, many)
    close = _matching(code, at)
    names: list[str] = []
    k = at + 1
    depth = 0
    start_of_spec = True
    while k < close:
        token = code[k][1]
        if start_of_spec and token.kind == IDENT:
            names.extend(_one_spec(code, k, many))
            start_of_spec = False
        if token.kind == OP and token.text in "({[":
            depth += 1
        elif token.kind == OP and token.text in ")}]":
            depth -= 1
        elif token.kind == SEMI and depth == 0:
            start_of_spec = True
        k += 1
    return names


def _one_spec(code: Sequence[tuple[int, Token]], at: int, many: bool) -> list[str]:
    names: list[str] = []
    k = at
    while k < len(code) and code[k][1].kind == IDENT:
        names.append(code[k][1].text)
        if not many or k + 1 >= len(code) or code[k + 1][1].text != ",":
            break
        k += 2
    return names


def _member_names(
    code: Sequence[tuple[int, Token]], open_at: int, is_struct: bool
) -> Iterable[tuple[int, str]]:
    """(token index, name) of the fields of a struct body or the methods of an interface
    body opening at `code[open_at]` (embedded types are not members)."""
    close = _matching(code, open_at)
    k = open_at + 1
    depth = 0
    start = True
    while k < close:
        token = code[k][1]
        if depth == 0 and start and token.kind == IDENT:
            # A list `a, b T` or `Name(...)`; a lone identifier (or `pkg.T`) is embedded.
            run = [k]
            j = k
            while j + 2 < close and code[j + 1][1].text == "," and code[j + 2][1].kind == IDENT:
                j += 2
                run.append(j)
            after = code[j + 1][1] if j + 1 <= close else None
            embedded = after is None or after.kind in (SEMI, STRING) or after.text in (".", "}")
            if not is_struct:
                embedded = after is None or after.text != "("
            if not embedded:
                for position in run:
                    yield code[position][0], code[position][1].text
            start = False
        if token.kind == OP and token.text in "({[":
            depth += 1
        elif token.kind == OP and token.text in ")}]":
            depth -= 1
        elif token.kind == SEMI and depth == 0:
            start = True
        k += 1


# -- names ------------------------------------------------------------------------------------


def name_words(name: str) -> list[str]:
    """The words of a plugin name: `hello-world` -> [hello, world], `myPlugin` -> [my, plugin]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


def identifier_forms(name: str) -> dict[str, str]:
    """How a name is spelled inside identifiers, by style: `lower` (helloWorld), `upper`
    (HelloWorld), `snake` (hello_world), `screaming` (HELLO_WORLD), `flat` (helloworld)."""
    words = name_words(name) or ["plugin"]
    return {
        "lower": words[0] + "".join(w.capitalize() for w in words[1:]),
        "upper": "".join(w.capitalize() for w in words),
        "snake": "_".join(words),
        "screaming": "_".join(w.upper() for w in words),
        "flat": "".join(words),
    }


def go_identifier(name: str) -> str:
    """The plugin name as an unexported Go identifier (`hello-world` -> helloWorld); a name
    that starts with a digit or is a keyword gets `plugin` around it."""
    ident = identifier_forms(name)["lower"]
    if ident[0].isdigit():
        ident = "plugin" + ident[0].upper() + ident[1:]
    if ident in KEYWORDS:
        ident += "Plugin"
    return ident


def rename_identifier(identifier: str, old: str, new: str) -> str:
    """`identifier` with the old plugin name, as a word in any of its styles, spelled as the
    new one in the same style (`reverseRunes` -> `mirrorRunes`); unchanged if it holds none."""
    old_forms = identifier_forms(old)
    new_forms = identifier_forms(new)
    if new_forms["lower"][0].isdigit():
        fixed = go_identifier(new)
        new_forms["lower"] = fixed
        new_forms["flat"] = fixed
        new_forms["snake"] = "plugin_" + new_forms["snake"]
    result = identifier
    # The identifier's own style first (`reverse_all` -> `my_thing_all`), then longest first.
    own = "snake" if identifier.islower() and "_" in identifier else "lower"
    if identifier.isupper():
        own = "screaming"
    order = sorted(old_forms, key=lambda s: (s != own, -len(old_forms[s])))
    for style in order:
        form = old_forms[style]
        pattern = _form_pattern(form, style)
        result = pattern.sub(lambda _m, s=style: new_forms[s], result)  # type: ignore[misc]
        if result != identifier:
            break
    return result


def _form_pattern(form: str, style: str) -> re.Pattern[str]:
    escaped = re.escape(form)
    if style == "screaming":
        return re.compile(rf"(?:(?<=^)|(?<=_)){escaped}(?=$|_|\d)")
    if style == "upper":
        # `ReverseAll`, `newReverse`: starts a word (its capital), ends before one.
        return re.compile(rf"{escaped}(?=$|_|[A-Z0-9])")
    # lower, snake, flat: at the start or after `_`, and ending a word.
    return re.compile(rf"(?:(?<=^)|(?<=_)){escaped}(?=$|_|[A-Z0-9])")


# -- the rename -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenameResult:
    """The renamed sources (same order), and what changed: identifiers (old -> new) and how
    many string IDs."""

    sources: tuple[str, ...]
    identifiers: tuple[tuple[str, str], ...]
    strings: int


def rename_package(sources: Sequence[str], old: str, new: str) -> RenameResult:
    """Rename the plugin `old` to `new` in the Go files `sources` of one package (see the
    module docstring for what changes). Raises GoSourceError when a new identifier would clash
    with a name the package already uses or a predeclared one."""
    token_lists = [tokenize(source) for source in sources]
    decls = declarations(token_lists)
    renames: dict[str, str] = {}
    for name in sorted(decls.package_level):
        if not name or name[0].isupper() or name == "_" or name in ("init", "main"):
            continue  # exported names are what the host looks up; init/main are Go's
        renamed = rename_identifier(name, old, new)
        if renamed != name:
            renames[name] = renamed
    used = {t.text for tokens in token_lists for t in tokens if t.kind == IDENT}
    for before, after in renames.items():
        if after in KEYWORDS or after in PREDECLARED or (after in used and after not in renames):
            raise GoSourceError(
                f"renaming {before} to {after} would clash with `{after}`, which the package "
                "already uses or Go predeclares: choose another plugin name"
            )
    out: list[str] = []
    strings = 0
    for file_index, (source, tokens) in enumerate(zip(sources, token_lists, strict=True)):
        pieces: list[str] = []
        last = 0
        code = _code(tokens)
        for k, (index, token) in enumerate(code):
            replacement: str | None = None
            if token.kind == IDENT and token.text in renames:
                previous = code[k - 1][1] if k else None
                following = code[k + 1][1] if k + 1 < len(code) else None
                selector = previous is not None and previous.text == "."
                member_site = (file_index, index) in decls.member_sites
                key = (
                    following is not None
                    and following.text == ":"
                    and previous is not None
                    and previous.text in ("{", ",")
                    and token.text in decls.members
                )
                if not (selector or member_site or key):
                    replacement = renames[token.text]
            elif token.kind == STRING and string_value(token.text) == old:
                quote = token.text[0]
                replacement = f"{quote}{new}{quote}"
                strings += 1
            if replacement is not None:
                pieces.append(source[last : token.start])
                pieces.append(replacement)
                last = token.end
        pieces.append(source[last:])
        out.append("".join(pieces))
    return RenameResult(tuple(out), tuple(sorted(renames.items())), strings)


def rename_file_name(file_name: str, old: str, new: str) -> str:
    """A file name with the old plugin name (as a word, in any style) as the new one:
    `reverse.go` -> `mirror.go`, `reverse_util.go` -> `mirror_util.go`."""
    stem, dot, ext = file_name.partition(".")
    parts = re.split(r"([_.-])", stem)
    old_spellings = {old, old.lower(), *identifier_forms(old).values()}
    renamed = [new if part in old_spellings else part for part in parts]
    return "".join(renamed) + dot + ext
