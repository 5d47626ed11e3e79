"""workbench.textsafe: every range boundary, hostile payloads, truncation by cell width."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from workbench.textsafe import ELLIPSIS, REPLACEMENT, csv_cell, safe, safe_text


def _is_inert(text: str) -> bool:
    """No C0, DEL, C1, bidi/separator or surrogate code point survives."""
    for ch in text:
        code = ord(ch)
        if code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF:
            return False
        if code in (0x200E, 0x200F, 0x061C, 0x2028, 0x2029):
            return False
        if 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
            return False
    return True


@pytest.mark.parametrize("code", range(0x20))
def test_every_c0_control_maps_to_its_control_picture(code: int) -> None:
    assert safe(f"a{chr(code)}b") == f"a{chr(0x2400 + code)}b"


def test_named_c0_pictures() -> None:
    assert safe("\x1b") == "␛"
    assert safe("\x07") == "␇"
    assert safe("\x00") == "␀"
    assert safe("\x1f") == "␟"
    assert safe("\t\n\r") == "␉␊␍"


def test_boundaries_around_c0_and_del() -> None:
    assert safe(" ") == " "  # 0x20 is the first printable
    assert safe("~") == "~"  # 0x7E is the last printable before DEL
    assert safe("\x7f") == "␡"


@pytest.mark.parametrize("code", [0x80, 0x85, 0x9B, 0x9F])
def test_c1_controls_become_replacement(code: int) -> None:
    assert safe(chr(code)) == REPLACEMENT


def test_all_c1_range_and_its_neighbours() -> None:
    assert safe("".join(map(chr, range(0x80, 0xA0)))) == REPLACEMENT * 32
    assert safe("\xa0") == "\xa0"  # NBSP, first code point after C1, is left alone
    assert safe("é") == "é"


@pytest.mark.parametrize(
    "code",
    [0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069]
    + [0x200E, 0x200F, 0x061C, 0x2028, 0x2029],
)
def test_reordering_and_line_splitting_chars_become_replacement(code: int) -> None:
    assert safe(f"x{chr(code)}y") == f"x{REPLACEMENT}y"


@pytest.mark.parametrize(
    "code", [0x2027, 0x202F, 0x2065, 0x206A, 0x200D, 0x2010, 0x061B, 0x061D, 0xD7FF, 0xE000]
)
def test_neighbours_of_replaced_ranges_are_kept(code: int) -> None:
    assert safe(chr(code)) == chr(code)


def test_zero_width_joiner_is_kept_for_emoji_sequences() -> None:
    family = "👩\u200d👩\u200d👧"
    assert safe(family) == family


def test_lone_surrogates_are_replaced_so_output_can_be_encoded() -> None:
    raw = b"vm-\xff".decode("utf-8", errors="surrogateescape")
    out = safe(raw)
    assert out == "vm-" + REPLACEMENT
    out.encode("utf-8")  # must not raise
    assert safe("\ud800\udfff") == REPLACEMENT * 2


def test_none_bytes_and_other_objects() -> None:
    assert safe(None) == ""
    assert safe(b"web\x1b") == "web␛"
    assert safe(b"\xff") == REPLACEMENT
    assert safe(42) == "42"
    assert safe(["a\x07"]) == "['a\\x07']"  # repr escapes, still inert


def test_bidi_spoof_is_visible() -> None:
    # "invoice_\u202Egpj.exe" would display as "invoice_exe.jpg"
    assert safe("invoice_\u202egpj.exe") == f"invoice_{REPLACEMENT}gpj.exe"


HOSTILE = [
    "[bold red]x[/]",
    "[@click=app.quit]",
    "[link=file:///etc/passwd]secret[/link]",
    '[link="file:///etc/passwd"]q[/]',
    "\x1b]0;pwned\x07",
    "\x1b[2J",
    "A\x1b]0;pwned\x07B\x1b[2JC",
    "\u202eevil\u202c\u2066x\u2069",
    "\x9b31m",
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_payloads_are_inert(payload: str) -> None:
    out = safe(payload)
    assert _is_inert(out)
    assert len(out) == len(payload)  # replaced one for one, nothing deleted


def test_terminal_escapes_render_as_pictures() -> None:
    assert safe("\x1b]0;pwned\x07") == "␛]0;pwned␇"
    assert safe("\x1b[2J") == "␛[2J"


def test_markup_is_kept_literal() -> None:
    for payload in ("[bold red]x[/]", "[@click=app.quit]", "[link=file:///etc/passwd]"):
        assert safe(payload) == payload
        text = safe_text(payload)
        assert isinstance(text, Text)
        assert text.plain == payload
        assert text.spans == []


def test_safe_text_renders_literally_through_rich() -> None:
    console = Console(width=80, record=True, force_terminal=True, color_system=None)
    console.print(safe_text("[bold red]x[/] \x1b]0;pwned\x07"))
    exported = console.export_text()
    assert "[bold red]x[/] ␛]0;pwned␇" in exported
    assert "\x1b" not in exported


def test_safe_text_style_and_truncation() -> None:
    text = safe_text("abcdef", max_len=4, style="bold")
    assert text.plain == "abc" + ELLIPSIS
    assert str(text.style) == "bold"


def test_truncation_by_cell_width() -> None:
    assert safe("abcdef", 6) == "abcdef"
    assert safe("abcdefg", 6) == "abcde" + ELLIPSIS
    assert safe("abc", 0) == ""
    assert safe("abc", -1) == ""
    assert safe("abc", 1) == ELLIPSIS
    assert safe("", 3) == ""


def test_truncation_of_wide_characters_never_exceeds_width() -> None:
    cjk = "東京リージョン仮想マシン"  # 12 chars, 24 cells
    for width in range(1, 30):
        out = safe(cjk, width)
        assert cell_len(out) <= width
        if cell_len(cjk) > width:
            assert out.endswith(ELLIPSIS)
            assert cell_len(out) == width  # a split wide char is padded, not overflowed
    emoji = "🔥" * 10
    assert cell_len(safe(emoji, 5)) == 5


def test_truncation_counts_control_pictures_after_mapping() -> None:
    assert safe("\x1b" * 10, 4) == "␛␛␛" + ELLIPSIS


def test_very_long_strings() -> None:
    long = ("A\x1b[2J" * 100_000) + "\u202e"
    out = safe(long)
    assert len(out) == len(long)
    assert _is_inert(out)
    short = safe(long, 40)
    assert cell_len(short) == 40
    assert short.endswith(ELLIPSIS)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'␉=1"),
        ("\r=1", "'␍=1"),
        ("＝1+1", "'＝1+1"),
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("web-01", "web-01"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (-5, "-5"),
        (3.5, "3.5"),
        (True, "True"),
    ],
)
def test_csv_cell_neutralises_formulas(value: object, expected: str) -> None:
    assert csv_cell(value) == expected


def test_csv_cell_sanitises_controls_first() -> None:
    assert csv_cell("x\x1b]0;pwned\x07") == "x␛]0;pwned␇"
    assert csv_cell("\x1b=1") == "␛=1"


def test_printable_fast_path_agrees_with_the_table_for_every_code_point() -> None:
    from workbench.textsafe import _TABLE

    mismatched = [c for c in range(0x110000) if safe(chr(c)) != chr(c).translate(_TABLE)]
    assert mismatched == []


def test_shorten_middle_keeps_the_distinctive_end() -> None:
    from workbench.textsafe import shorten_middle

    cut = shorten_middle("snap-0a1b2c3d4e5f69f3e", 13)
    assert (
        cell_len(cut) == 13 and cut.startswith("snap-0") and cut.endswith("f69f3e") and "…" in cut
    )
    assert shorten_middle("i-0abc", 13) == "i-0abc"  # fits: untouched
    wide = shorten_middle("東京-web-仮想マシン-01", 9)
    assert cell_len(wide) == 9 and wide.endswith("-01")
    assert safe("a\x1bb" * 10, 9, middle=True).count("…") == 1
