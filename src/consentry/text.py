"""Making text that came from the chain or from a file safe to print on a terminal.

A name or path can carry control characters: `\\r` and newlines that start a fake line, ANSI escape
sequences that recolour or erase what came before, bidi overrides that reverse what is shown. `safe`
replaces each such character with a visible escape (`\\x1b`, `\\u202e`), so the text stays readable and
honest; JSON output needs nothing (json.dumps escapes these itself)."""

from __future__ import annotations

# C0 controls, DEL, C1 controls; zero-width characters; line and paragraph separators; bidi marks,
# embeddings, overrides, isolates
UNSAFE = frozenset(
    [
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        0x061C,
        0x200B,
        0x200C,
        0x200D,
        0x200E,
        0x200F,
        0x2028,
        0x2029,
        *range(0x202A, 0x202F),
        0x2060,
        *range(0x2066, 0x206A),
        0xFEFF,
    ]
)
_ESCAPES = {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in UNSAFE}


def safe(s) -> str:
    """`s` as text with every control, separator and bidi-override character shown as an escape."""
    s = s if isinstance(s, str) else str(s)
    return s if s.isprintable() else s.translate(_ESCAPES)


def is_clean(s: str) -> bool:
    """Whether `s` has none of the characters `safe` would escape."""
    return s.isprintable() or s == s.translate(_ESCAPES)
