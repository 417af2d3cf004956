"""The Go tokenizer and the plugin rename `plugwiz new` uses: exact output on real Go source."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugwiz.core.gosource import (
    COMMENT,
    IDENT,
    SEMI,
    STRING,
    GoSourceError,
    declarations,
    go_identifier,
    rename_file_name,
    rename_identifier,
    rename_package,
    tokenize,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GREETER = FIXTURES / "hosts" / "server" / "plugins" / "greeter"


def test_tokens_keep_comments_strings_and_insert_semicolons() -> None:
    source = 'x := "a // not a comment" // a comment\ny := `raw\nstring` /* b */\nreturn\n'
    tokens = tokenize(source)
    kinds = [(t.kind, t.text) for t in tokens]
    assert (STRING, '"a // not a comment"') in kinds
    assert (COMMENT, "// a comment") in kinds
    assert (STRING, "`raw\nstring`") in kinds
    assert (COMMENT, "/* b */") in kinds
    # Go's automatic semicolons: after `"..."` (before the comment's newline), after the raw
    # string and after `return`.
    assert [t.kind for t in tokens].count(SEMI) == 3
    assert all(source[t.start : t.end] == t.text for t in tokens)


def test_an_unterminated_string_is_an_error_not_a_crash() -> None:
    with pytest.raises(GoSourceError):
        tokenize('x := "open\n')


def test_declarations_tell_package_level_names_from_members() -> None:
    source = """package main
type greeter struct {
	greeter string
	prefix, suffix string
	api.Embedded
}
type (
	a int
	b = a
)
var x, y = 1, 2
const z = "z"
func (g greeter) greet() {}
func newGreeter() greeter { return greeter{} }
type talker interface {
	talk() string
	fmt.Stringer
}
"""
    decls = declarations([tokenize(source)])
    assert decls.package_level == {"greeter", "a", "b", "x", "y", "z", "newGreeter", "talker"}
    assert decls.members == {"greeter", "prefix", "suffix", "greet", "talk"}


@pytest.mark.parametrize(
    ("identifier", "renamed"),
    [
        ("reverse", "myThing"),
        ("Reverse", "MyThing"),
        ("reverseRunes", "myThingRunes"),
        ("newReverse", "newMyThing"),
        ("reverse_all", "my_thing_all"),
        ("REVERSE_MAX", "MY_THING_MAX"),
        ("reverse2", "myThing2"),
        ("unreverse", "unreverse"),  # not a word of it
        ("reversed", "reversed"),
    ],
)
def test_the_name_is_renamed_as_a_word_in_the_identifiers_style(
    identifier: str, renamed: str
) -> None:
    assert rename_identifier(identifier, "reverse", "my-thing") == renamed


def test_a_name_that_is_no_go_identifier_is_made_one() -> None:
    assert go_identifier("hello-world") == "helloWorld"
    assert go_identifier("2fa") == "plugin2fa"
    assert go_identifier("go") == "goPlugin"


def test_file_names_follow_the_plugin_name() -> None:
    assert rename_file_name("greeter.go", "greeter", "shouter") == "shouter.go"
    assert rename_file_name("greeter_words.go", "greeter", "my-plugin") == "my-plugin_words.go"
    assert rename_file_name("words.go", "greeter", "shouter") == "words.go"
    assert rename_file_name("greeters.go", "greeter", "shouter") == "greeters.go"


def test_a_multi_file_plugin_is_renamed_with_care() -> None:
    names = ["format.go", "greeter.go", "words.go"]
    result = rename_package([(GREETER / n).read_text() for n in names], "greeter", "shouter")
    sources = dict(zip(names, result.sources, strict=True))
    assert result.identifiers == (
        ("greeter", "shouter"),
        ("greeterPrefix", "shouterPrefix"),
        ("greeterWords", "shouterWords"),
        ("newGreeter", "newShouter"),
    )
    assert result.strings == 1
    greeter = sources["greeter.go"]
    # The type and its uses; the ID string; never the exported symbol the host looks up.
    assert "type shouter struct {" in greeter
    assert 'func (g shouter) ID() string { return "shouter" }' in greeter
    assert "var Plugin api.Plugin = newShouter()" in greeter
    # A struct field and a composite-literal key of the same name stay (they are members).
    assert "greeting{greeter: g.ID()," in greeter
    fmt = sources["format.go"]
    assert "\tgreeter string\n" in fmt
    assert "g.greeter, g.text" in fmt
    # Comments and strings that are not the ID stay byte for byte.
    assert '// greeter is the plugin\'s type; "greeter" is also its ID.' in greeter
    assert 'const shouterPrefix = "greeter says"' in fmt
    assert "func newShouter() shouter { return shouter{prefix: shouterPrefix} }" in fmt
    assert "shouterWords[strings.ToLower(who)[0]]" in sources["words.go"]


def test_a_clash_with_a_name_already_used_is_refused() -> None:
    source = "package main\ntype greeter struct{}\nvar shouter = 1\n"
    with pytest.raises(GoSourceError, match="shouter"):
        rename_package([source], "greeter", "shouter")
    with pytest.raises(GoSourceError, match="Go predeclares"):
        rename_package([source], "greeter", "len")


def test_identifiers_are_not_renamed_in_selectors() -> None:
    source = 'package main\nimport "x/reverse"\nvar reverseAll = reverse.reverseAll\n'
    out = rename_package([source], "reverse", "mirror").sources[0]
    assert out == 'package main\nimport "x/reverse"\nvar mirrorAll = reverse.reverseAll\n'
    assert [t.kind for t in tokenize(out) if t.text == "mirrorAll"] == [IDENT]
