"""Vietnamese text helpers shared by every package: NFC normalization and diacritic folding."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold_diacritics", "fold_key", "nfc"]

_D_MAP = str.maketrans({"đ": "d", "Đ": "D"})


def nfc(text: str) -> str:
    """Return ``text`` in Unicode NFC (composed) form; input may be NFD or mixed."""
    return unicodedata.normalize("NFC", text)


def fold_diacritics(text: str) -> str:
    """Strip Vietnamese diacritics ("Đăng ký" -> "Dang ky"), keeping everything else."""
    decomposed = unicodedata.normalize("NFD", text.translate(_D_MAP))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


_NON_WORD_RE = re.compile(r"[^\w\s]")


def fold_key(text: str) -> str:
    """The one folding rule for matching what citizens write: NFC, no diacritics, lower case,
    punctuation as spaces, single spaces ("Đăng ký, kết hôn!" -> "dang ky ket hon")."""
    return " ".join(_NON_WORD_RE.sub(" ", fold_diacritics(nfc(str(text))).lower()).split())
