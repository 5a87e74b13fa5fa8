"""Vietnamese text helpers shared by every package: NFC normalization and diacritic folding."""

from __future__ import annotations

import unicodedata

__all__ = ["fold_diacritics", "nfc"]

_D_MAP = str.maketrans({"đ": "d", "Đ": "D"})


def nfc(text: str) -> str:
    """Return ``text`` in Unicode NFC (composed) form; input may be NFD or mixed."""
    return unicodedata.normalize("NFC", text)


def fold_diacritics(text: str) -> str:
    """Strip Vietnamese diacritics ("Đăng ký" -> "Dang ky"), keeping everything else."""
    decomposed = unicodedata.normalize("NFD", text.translate(_D_MAP))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))
