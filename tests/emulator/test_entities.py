"""Text parsing against tdlib's own test vectors (test/message_entities.cpp)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.entities import (
    EntityParseError,
    find_entities,
    fix_text,
    format_text,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
    utf16_len,
)


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
        ("🏟 🏟&lt;<abac>", 'Unsupported start tag "abac" at byte offset 13'),
        ("🏟 🏟&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
        (
            "🏟 🏟&lt;<i    aba>",
            'Expected equal sign in declaration of an attribute of the tag "i" at byte offset 13',
        ),
        ("🏟 🏟&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
        ('🏟 🏟&lt;<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;</", "Unexpected end tag at byte offset 13"),
        ("🏟 🏟&lt;<b></b></", "Unexpected end tag at byte offset 20"),
        ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
        (
            "🏟 🏟&lt;<i>a</em   >",
            'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"',
        ),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("&#57311;", "Text contains invalid Unicode characters after decoding HTML entities, "
         "check for unmatched surrogate code units"),
        ('<tg-emoji emoji-id="x">y</tg-emoji>', "Invalid custom emoji identifier specified"),
    ],
)  # fmt: skip
def test_html_errors_are_tdlibs(html: str, error: str) -> None:
    with pytest.raises(EntityParseError) as info:
        parse_html(html)
    assert str(info.value) == error


@pytest.mark.parametrize(
    ("html", "text", "entities"),
    [
        ("", "", []),
        ("&lt;&gt;&amp;&quot;&laquo;&raquo;&#12345678;", '<>&"&laquo;&raquo;&#12345678;', []),
        ("➡️ ➡️<i>➡️ ➡️</i>", "➡️ ➡️➡️ ➡️", [("italic", 5, 5)]),
        ("➡️ ➡️<b>➡️ ➡️</b>", "➡️ ➡️➡️ ➡️", [("bold", 5, 5)]),
        ("➡️ ➡️<strong>➡️ ➡️</strong>", "➡️ ➡️➡️ ➡️", [("bold", 5, 5)]),
        ("➡️ ➡️<ins>➡️ ➡️</ins>", "➡️ ➡️➡️ ➡️", [("underline", 5, 5)]),
        ("➡️ ➡️<del>➡️ ➡️</del>", "➡️ ➡️➡️ ➡️", [("strikethrough", 5, 5)]),
        ("🏟 🏟<i>🏟 &lt🏟</i>", "🏟 🏟🏟 <🏟", [("italic", 5, 6)]),
        (
            "🏟 🏟<i>🏟 &gt;<b aba   =   caba>&lt🏟</b></i>",
            "🏟 🏟🏟 ><🏟",
            [("italic", 5, 7), ("bold", 9, 3)],
        ),
        ("🏟 🏟&lt;<i    aba  =  190azAz-.   >a</i>", "🏟 🏟<a", [("italic", 6, 1)]),
        ("🏟 🏟&lt;<i>🏟 🏟&lt;</>", "🏟 🏟<🏟 🏟<", [("italic", 6, 6)]),
        ("🏟 🏟&lt;<b></b>", "🏟 🏟<", []),
        ("<tg-spoiler>s</tg-spoiler>", "s", [("spoiler", 0, 1)]),
        ('<span class="tg-spoiler">s</span>', "s", [("spoiler", 0, 1)]),
        ("<blockquote>q</blockquote>", "q", [("blockquote", 0, 1)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
    ],
)
def test_html_parses_like_tdlib(html: str, text: str, entities: list[tuple[str, int, int]]) -> None:
    plain, got = parse_html(html)
    assert plain == text
    assert [(e["type"], e["offset"], e["length"]) for e in got] == entities


def test_html_links_and_code_blocks() -> None:
    plain, ents = parse_html('<a href="telegram.org">x</a> <a>https://t.me/a</a>')
    assert plain == "x https://t.me/a"
    assert ents[0] == {"type": "text_link", "offset": 0, "length": 1, "url": "http://telegram.org/"}
    assert ents[1]["url"] == "https://t.me/a"
    plain, ents = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert ents == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]
    _, ents = parse_html('<code class="language-python">x</code>')
    assert ents == [{"type": "code", "offset": 0, "length": 1}]
    _, ents = parse_html('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>')
    assert ents[0]["custom_emoji_id"] == "5368324170671202286"
    assert ents[0]["length"] == 2  # one emoji, a surrogate pair


@pytest.mark.parametrize("char", list("]()>#+-=|{}.!"))
def test_markdown_v2_reserved_characters(char: str) -> None:
    with pytest.raises(EntityParseError) as info:
        parse_markdown_v2(f"a{char}")
    assert str(info.value) == (
        f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
    )
    assert parse_markdown_v2(f"a\\{char}") == (f"a{char}", [])


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("🏟 🏟_abacaba", "Can't find end of Italic entity at byte offset 9"),
        ("🏟 🏟_abac * asd ", "Can't find end of Bold entity at byte offset 15"),
        ("🏟 🏟`", "Can't find end of Code entity at byte offset 9"),
        ("🏟 🏟```", "Can't find end of Pre entity at byte offset 9"),
        ("🏟 🏟```a", "Can't find end of Pre entity at byte offset 9"),
        ("🏟 🏟```a ", "Can't find end of PreCode entity at byte offset 9"),
        ("🏟 🏟__🏟 🏟_", "Can't find end of Italic entity at byte offset 20"),
        ("🏟 🏟_🏟 🏟__", "Can't find end of Underline entity at byte offset 19"),
        ("[telegram\\.org](asd\\)", "Can't find end of a URL at byte offset 16"),
        ("🏟 🏟__", "Can't find end of Underline entity at byte offset 9"),
    ],
)
def test_markdown_v2_errors_are_tdlibs(text: str, error: str) -> None:
    with pytest.raises(EntityParseError) as info:
        parse_markdown_v2(text)
    assert str(info.value) == error


@pytest.mark.parametrize(
    ("text", "plain", "entities"),
    [
        ("🏟 🏟_abac \\* asd _", "🏟 🏟abac * asd ", [("italic", 5, 11)]),
        ("🏟 \\.🏟_🏟\\. 🏟_", "🏟 .🏟🏟. 🏟", [("italic", 6, 6)]),
        ("➡️ ➡️_➡️ ➡️_*➡️ ➡️*", "➡️ ➡️➡️ ➡️➡️ ➡️", [("italic", 5, 5), ("bold", 10, 5)]),
        ("🏟 🏟_🏟 __🏟___", "🏟 🏟🏟 🏟", [("italic", 5, 5), ("underline", 8, 2)]),
        ("🏟 🏟`🏟 🏟```", "🏟 🏟🏟 🏟", [("code", 5, 5)]),
        ("🏟 🏟**", "🏟 🏟", []),
        ("||s||", "s", [("spoiler", 0, 1)]),
        ("~s~", "s", [("strikethrough", 0, 1)]),
        ("[ ](telegram.org)", " ", [("text_link", 0, 1)]),
        ("[ ](as)", " ", []),
    ],
)
def test_markdown_v2_parses_like_tdlib(
    text: str, plain: str, entities: list[tuple[str, int, int]]
) -> None:
    got_plain, got = parse_markdown_v2(text)
    assert got_plain == plain
    assert [(e["type"], e["offset"], e["length"]) for e in got] == entities


def test_markdown_v2_pre_with_language() -> None:
    plain, ents = parse_markdown_v2("```python\nprint(1)\n```")
    assert plain == "print(1)\n"
    assert ents == [{"type": "pre", "offset": 0, "length": 9, "language": "python"}]


def test_legacy_markdown() -> None:
    assert parse_markdown("*b* _i_ `c` [t](http://x.org)") == (
        "b i c t",
        [
            {"type": "bold", "offset": 0, "length": 1},
            {"type": "italic", "offset": 2, "length": 1},
            {"type": "code", "offset": 4, "length": 1},
            {"type": "text_link", "offset": 6, "length": 1, "url": "http://x.org/"},
        ],
    )
    with pytest.raises(EntityParseError, match="entity starting at byte offset 2"):
        parse_markdown("a *b")


def test_utf16_length_counts_surrogate_pairs() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("🏟") == 2
    assert utf16_len("é") == 1
    assert utf16_len("➡️") == 2  # arrow + variation selector


def test_fix_text_trims_and_shifts_entities() -> None:
    text, ents = fix_text("  \n hi there \n", [{"type": "bold", "offset": 0, "length": 7}])
    assert text == "hi there"
    assert ents == [{"type": "bold", "offset": 0, "length": 3}]
    assert fix_text(" \n ", []) == ("", [])
    assert fix_text("a\r\nb", []) == ("a\nb", [])


def test_found_entities() -> None:
    ents = find_entities("/start@qotd_bot now, see https://example.com/a. #quote @someone")
    kinds = [(e["type"], e["offset"], e["length"]) for e in ents]
    assert kinds == [
        ("bot_command", 0, 15),
        ("url", 25, 21),
        ("hashtag", 48, 6),
        ("mention", 55, 8),
    ]
    # nothing is found inside code
    _, ents = format_text("<code>/start</code>", "HTML")
    assert [e["type"] for e in ents] == ["code"]


# texts reach the parsers decoded from UTF-8, so without lone surrogates
@given(st.text(st.characters(blacklist_characters="<&", blacklist_categories=("Cs",)), max_size=50))
def test_html_without_markup_is_the_text_itself(text: str) -> None:
    assert parse_html(text) == (text, [])


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_markdown_v2_escaped_text_round_trips(text: str) -> None:
    escaped = "".join("\\" + ch if ch in "_*[]()~`>#+-=|{}.!\\" else ch for ch in text)
    plain, ents = parse_markdown_v2(escaped)
    assert ents == [] or all(e["type"] == "blockquote" for e in ents)
    assert plain == text
