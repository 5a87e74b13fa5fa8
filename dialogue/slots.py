"""Slots found in a question: the person concerned, an address phrase, numbers.

Everything works on NFC text with or without diacritics (matching is done on folded text).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from kiosk_protocol.text import fold_diacritics, nfc

__all__ = ["Slots", "extract_slots", "find_address_phrase", "find_numbers", "find_person", "words_to_digits"]

log = logging.getLogger("dialogue.slots")

# --------------------------------------------------------------------------- numbers

_UNITS = {
    "khong": 0, "linh": 0, "le": 0, "mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5,
    "lam": 5, "nham": 5, "sau": 6, "bay": 7, "tam": 8, "chin": 9,
}  # fmt: skip
_MULTIPLIERS = {"muoi", "tram", "nghin", "ngan", "trieu"}
# The same words written with diacritics: a token with diacritics must be one of these
# ("bây" in "bây giờ" folds to "bay" but is not "bảy").
_EXACT = {
    "không", "linh", "lẻ", "một", "mốt", "hai", "ba", "bốn", "tư", "năm", "lăm", "nhăm", "sáu",
    "bảy", "bẩy", "tám", "chín", "mười", "mươi", "trăm", "nghìn", "ngàn", "triệu",
}  # fmt: skip


def _fold(text: str) -> str:
    return fold_diacritics(nfc(text)).lower()


def _number_word(token: str) -> str | None:
    """The folded number word for a token, or None when the token is not a number word."""
    low = nfc(token).lower()
    f = _fold(low)
    if f not in _UNITS and f not in _MULTIPLIERS:
        return None
    if low != f and low not in _EXACT:  # has diacritics but is another word
        return None
    return f


def _parse_number_words(words: list[str]) -> int | None:
    """Value of a run of folded Vietnamese number words ("hai muoi mot" -> 21), None if invalid."""
    total = 0
    current = 0  # value below one thousand being built
    last_unit: int | None = None
    seen = False
    for w in words:
        if w in ("muoi",):
            current = current - (last_unit or 0) + (last_unit if last_unit is not None else 1) * 10
            last_unit = None
        elif w == "tram":
            current = current - (last_unit or 0) + (last_unit if last_unit is not None else 1) * 100
            last_unit = None
        elif w in ("nghin", "ngan"):
            total += (current or 1) * 1000
            current, last_unit = 0, None
        elif w == "trieu":
            total = (total + (current or 1)) * 1_000_000
            current, last_unit = 0, None
        elif w in _UNITS:
            value = _UNITS[w]
            current += value
            last_unit = value
        else:
            return None
        seen = True
    return total + current if seen else None


_TOKEN_RE = re.compile(r"\w+|\W+", re.UNICODE)
# "tư", "năm", "lăm", "bảy", "ba", "sáu", "tám" are also ordinary words; only read them as numbers
# when they follow another number word or an admin-unit prefix.
_NUMBER_PREFIXES = {"phuong", "quan", "p", "q", "so", "to", "khu", "ap", "thon", "lan", "muc", "quay"}


def words_to_digits(text: str, *, only_after_prefix: bool = True) -> str:
    """Replace spoken Vietnamese numbers with digits ("phường mười hai" -> "phường 12").

    With ``only_after_prefix`` (default) a run that starts with an ambiguous word (e.g. "ba",
    "năm") is converted only after a prefix such as "phường", "quận", "số"; runs that contain
    "mười"/"mươi"/"trăm" are always numbers.
    """
    text = nfc(text)
    tokens = _TOKEN_RE.findall(text)
    out: list[str] = []
    i = 0
    prev_word = ""
    while i < len(tokens):
        tok = tokens[i]
        f = _fold(tok)
        if _number_word(tok) in set(_UNITS) | {"muoi", "tram"}:
            # collect a run: word (space word)*
            j = i
            run_words: list[str] = []
            end = i
            while j < len(tokens):
                fj = _number_word(tokens[j])
                if fj is not None:
                    run_words.append(fj)
                    end = j
                    j += 1
                    if j < len(tokens) and tokens[j].isspace():
                        j += 1
                        continue
                break
            strong = any(w in ("muoi", "tram") for w in run_words)
            after_prefix = prev_word in _NUMBER_PREFIXES
            value = _parse_number_words(run_words)
            if value is not None and (strong or after_prefix or not only_after_prefix):
                out.append(str(value))
                prev_word = ""
                i = end + 1
                continue
        if tok.strip():
            prev_word = f.strip()
        out.append(tok)
        i += 1
    return "".join(out)


def find_numbers(text: str) -> list[int]:
    """All numbers in the text, written as digits or spoken in Vietnamese, in order."""
    converted = words_to_digits(text, only_after_prefix=False)
    return [int(m.replace(".", "")) for m in re.findall(r"\d[\d.]*\d|\d", converted)]


# --------------------------------------------------------------------------- person

# (folded trigger words, spoken form). Longest phrases first.
_PERSONS: list[tuple[str, str]] = [
    ("con trai", "con trai"), ("con gai", "con gái"), ("be", "bé"), ("con", "con"),
    ("chau", "cháu"), ("bo", "bố"), ("ba", "ba"), ("cha", "cha"), ("me", "mẹ"), ("ma", "má"),
    ("vo", "vợ"), ("chong", "chồng"), ("ong", "ông"), ("ba noi", "bà nội"), ("ba ngoai", "bà ngoại"),
    ("ong noi", "ông nội"), ("ong ngoai", "ông ngoại"), ("anh trai", "anh trai"), ("chi gai", "chị gái"),
    ("em trai", "em trai"), ("em gai", "em gái"), ("nguoi than", "người thân"), ("tre", "trẻ"),
]  # fmt: skip
_SELF = {"toi", "em", "minh", "chau", "con", "tui"}
_PERSON_RE = re.compile(
    r"\b(?:cho|cua|giup|ho|thay)\s+("
    + "|".join(sorted({re.escape(k) for k, _ in _PERSONS} | _SELF, key=len, reverse=True))
    + r")\b(?!\s+(?:hoi|xin)\b)"
)


def find_person(text: str) -> str | None:
    """The person the visitor asks for ("cho con" -> "con"); None when it is the visitor."""
    folded = _fold(text)
    m = _PERSON_RE.search(folded)
    if not m:
        return None
    key = m.group(1)
    # "cho tôi", "cho em", "cho mình" = the visitor themself.
    if key in ("toi", "minh", "tui", "em"):
        return None
    # The folded form is ambiguous ("ba" = bà or ba): recover the original word from the input.
    original = nfc(text)
    start, end = m.span(1)
    if len(original) == len(folded):
        word = original[start:end].lower()
        if word != key:  # written with diacritics: keep the visitor's word
            return word
    return dict(_PERSONS).get(key, key)


# --------------------------------------------------------------------------- address phrase

_ADMIN_WORDS = r"phuong|xa|thi tran|quan|huyen|thi xa|thanh pho|tinh|tp|p\.|q\.|duong|so nha|ap|thon|khu pho|to dan pho"
_ADDRESS_START_RE = re.compile(rf"\b(?:{_ADMIN_WORDS})\b")
_QUESTION_TAIL_RE = re.compile(
    r"\b(?:(?:gio|bay gio|hien nay|nay|sau sap nhap|sap nhap)\s+)*"
    r"(?:la|thuoc|doi thanh|chuyen thanh|thanh|o)?\s*"
    r"(?:phuong|xa|tinh|thanh pho|don vi)?\s*(?:nao|gi|dau)\b.*$"
)


def find_address_phrase(text: str) -> str:
    """The address part of a sentence: from the first admin-unit word to before the question tail.

    "Phường 12 quận 6 cũ giờ là phường nào?" -> "Phường 12 quận 6". Returns "" when no
    admin-unit word is present.
    """
    original = nfc(text)
    folded = _fold(original)
    if len(folded) != len(original):  # folding changed length (rare): work on folded text only
        original = folded
    m = _ADDRESS_START_RE.search(folded)
    if not m:
        return ""
    start = m.start()
    end = len(folded)
    tail = _QUESTION_TAIL_RE.search(folded, start)
    if tail:
        if tail.start() <= start:
            return ""
        end = tail.start()
    phrase = original[start:end]
    # drop trailing filler words ("cũ", "trước đây", "của tôi", punctuation)
    phrase = re.sub(
        r"(?:\s+(?:cũ|cu|trước đây|truoc day|trước kia|truoc kia|của tôi|cua toi|ạ|a|vậy|vay|thì|thi))+\s*$",
        "",
        phrase.strip(" ?.!,;:"),
        flags=re.IGNORECASE,
    )
    return phrase.strip(" ?.!,;:")


@dataclass
class Slots:
    person: str | None
    address: str
    numbers: list[int]


def extract_slots(text: str) -> Slots:
    """All slots of one question."""
    return Slots(person=find_person(text), address=find_address_phrase(text), numbers=find_numbers(text))
