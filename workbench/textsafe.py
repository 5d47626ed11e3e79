"""Turn untrusted strings (VM names, tags, labels from clouds) into inert display text.

Textual and Rich strip only a few controls (BEL, BS, VT, FF, CR); ESC passes through, so a VM
named ``A\\x1b]0;pwned\\x07`` retitles the user's terminal and ``\\x1b[2J`` wipes it
(docs: /work/shared/design/tui.md section 5). Everything shown on screen or written to a CSV goes
through :func:`safe` first. The raw value stays untouched in SQLite for forensics; sanitising
happens only at display time.

Mapping (replace, never delete, so tampering stays visible):

* C0 controls U+0000-U+001F -> Unicode Control Pictures U+2400-U+241F (ESC -> ␛, BEL -> ␇,
  TAB -> ␉, LF -> ␊, CR -> ␍).
* DEL U+007F -> ␡ (U+2421).
* C1 controls U+0080-U+009F -> U+FFFD (there are no control pictures for them; U+FFFD renders
  in every terminal font, unlike rarer symbols).
* Characters that reorder or split text -> U+FFFD: bidi embeddings/overrides U+202A-U+202E,
  isolates U+2066-U+2069, marks U+200E/U+200F/U+061C, and the line/paragraph separators
  U+2028/U+2029 (``str.splitlines`` breaks on them, which would split one table row into two).
* Lone surrogates U+D800-U+DFFF (from ``surrogateescape`` decoding) -> U+FFFD, because writing
  them to a UTF-8 terminal raises ``UnicodeEncodeError`` and would crash the app.

No markup is ever parsed here: :func:`safe_text` returns a plain :class:`rich.text.Text`.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.text import Text

__all__ = ["ELLIPSIS", "REPLACEMENT", "csv_cell", "safe", "safe_text", "shorten_middle"]

REPLACEMENT = "\ufffd"
ELLIPSIS = "…"

_REORDERING = (
    [*range(0x202A, 0x202F)]  # LRE RLE PDF LRO RLO
    + [*range(0x2066, 0x206A)]  # LRI RLI FSI PDI
    + [0x200E, 0x200F, 0x061C]  # LRM RLM ALM
    + [0x2028, 0x2029]  # LINE / PARAGRAPH SEPARATOR
)


def _build_table() -> dict[int, str]:
    table = {code: chr(0x2400 + code) for code in range(0x20)}
    table[0x7F] = "\u2421"
    table.update(dict.fromkeys(range(0x80, 0xA0), REPLACEMENT))
    table.update(dict.fromkeys(_REORDERING, REPLACEMENT))
    table.update(dict.fromkeys(range(0xD800, 0xE000), REPLACEMENT))
    return table


# Built once at import: a pure data structure, no side effects. str.translate does the whole job
# in C, which keeps safe() cheap enough to call for every visible cell on every repaint.
_TABLE = _build_table()

# OWASP "CSV injection": cells starting with these are evaluated as formulas by spreadsheets.
# Tab and CR are listed by OWASP too; safe() has already turned them into ␉/␍, whose pictures are
# kept as triggers so the rule still holds if the mapping ever changes. Fullwidth variants are
# included because some spreadsheet locales normalise them to ASCII before evaluating.
_FORMULA_STARTS = frozenset("=+-@\t\r\u2409\u240d\uff1d\uff0b\uff0d\uff20")


def safe(s: object, max_len: int | None = None, *, middle: bool = False) -> str:
    """Return ``s`` as inert single-line display text.

    Args:
        s: Any value; ``None`` becomes ``""``, bytes are decoded as UTF-8 with replacement,
            anything else goes through ``str()``.
        max_len: Optional width in terminal cells (CJK and most emoji take two). Longer text is
            cut to fit and ends with "…"; the result is never wider than ``max_len``.
        middle: Cut in the middle instead (:func:`shorten_middle`), for ids whose end tells them apart.
    """
    if s is None:
        return ""
    if isinstance(s, str):
        text = s
    elif isinstance(s, bytes | bytearray):
        text = bytes(s).decode("utf-8", errors="replace")
    else:
        text = str(s)
    # Every mapped code point is in a non-printable category (Cc, Cf, Cs, Zl, Zp), so the common
    # clean string skips the per-character dict lookups of translate().
    if not text.isprintable():
        text = text.translate(_TABLE)
    if max_len is not None:
        text = shorten_middle(text, max_len) if middle else _truncate(text, max_len)
    return text


def _truncate(text: str, max_len: int) -> str:
    if max_len <= 0:
        return ""
    # len() is a lower bound of the cell width, so short strings skip the width computation.
    if len(text) * 2 <= max_len or cell_len(text) <= max_len:
        return text
    # set_cell_size pads with a space when a double-width character straddles the cut, which
    # keeps the result exactly max_len cells wide.
    return set_cell_size(text, max_len - 1) + ELLIPSIS


def shorten_middle(text: str, max_len: int) -> str:
    """Fit ``text`` into ``max_len`` cells by replacing its middle with "…" (``snap-0a1…9f3e``).

    Cloud ids share their start (``snap-0``, ``/subscriptions/0000``) and differ at the end, so the
    end keeps the larger half. ``text`` must already be display-safe (see :func:`safe`).
    """
    if max_len <= 0:
        return ""
    if len(text) * 2 <= max_len or cell_len(text) <= max_len:
        return text
    if max_len < 5:  # too narrow for two useful halves
        return _truncate(text, max_len)
    head_cells = (max_len - 1) // 2
    tail_cells = max_len - 1 - head_cells
    tail, used = "", 0
    for char in reversed(text):
        width = cell_len(char)
        if used + width > tail_cells:
            break
        tail, used = char + tail, used + width
    # A double-width character straddling the cut leaves one cell over: the head takes it.
    return set_cell_size(text, max_len - 1 - used) + ELLIPSIS + tail


def safe_text(s: object, max_len: int | None = None, style: str = "") -> Text:
    """Return :func:`safe` output as a plain Rich ``Text`` (never parsed as markup)."""
    return Text(safe(s, max_len), style=style, no_wrap=True, end="")


def csv_cell(s: object) -> str:
    """Return a CSV-safe cell: :func:`safe` text, with a leading apostrophe on formula triggers.

    Numbers (int/float, not bool) pass through unchanged so that ``-5`` stays a number.
    """
    if isinstance(s, int | float) and not isinstance(s, bool):
        return str(s)
    text = safe(s)
    if text and text[0] in _FORMULA_STARTS:
        return "'" + text
    return text
