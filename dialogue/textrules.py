"""Text rules of the dialogue manager: cleaning, language, yes/no, focus and cue phrases.

Everything here works on :func:`kiosk_protocol.text.fold_key` text (no diacritics, lower case) unless
a rule needs the diacritics to tell words apart ("mất" = to die / to lose vs "mặt", "mát").
"""

from __future__ import annotations

import re
import unicodedata

from kiosk_protocol.text import fold_diacritics, fold_key, nfc

__all__ = [
    "asks_for_official",
    "asks_for_staff",
    "clean",
    "focus_from_text",
    "has_letters",
    "is_foreign",
    "mentions_death",
    "yes_no",
]

_TAG_RE = re.compile(r"<[^>]{0,200}>")
_CONTROL_RE = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\ufeff]")
_YES = {
    "co", "co a", "vang", "vang a", "da", "da co", "da vang", "u", "uh", "um", "ok", "oke", "okay", "dong y",
    "dung roi", "dung", "phai", "phai roi", "co chu", "duoc", "duoc a", "co em", "co nhe", "co nha", "yes",
    "da duoc", "uk", "vang co", "co doc di", "doc di", "nghe", "muon", "co muon",
}  # fmt: skip
_NO = {
    "khong", "khong a", "thoi", "thoi khong", "khong can", "khong can dau", "khong can a", "da khong",
    "thoi khoi", "khoi", "khoi can", "khong phai", "sai roi", "chua", "khong muon", "thoi khoi a", "no",
}  # fmt: skip
_FOCUS_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("online", (
        "online", "truc tuyen", "qua mang", "vneid", "tren mang", "dich vu cong", "dien thoai", "tai nha",
    )),
    ("fee", (
        "le phi", "phi ", "bao nhieu tien", "mat tien", "ton tien", "het bao nhieu", "may tien", "chi phi",
        "tien khong", "bao nhieu vay", "nop phi", "mien phi",
    )),
    ("time", (
        "may ngay", "bao lau", "thoi gian", "bao nhieu ngay", "khi nao co", "lau khong", "lau ko",
        "bao gio co", "may hom", "ngay nao co",
    )),
    ("papers", (
        "giay to", "ho so", "can gi", "can nhung gi", "mang gi", "mang theo", "chuan bi gi", "can mang",
        "gom nhung",
    )),
    ("where", (
        "quay nao", "o dau", "cho nao", "nop o dau", "cua nao", "phong nao", "quay so may", "den dau",
    )),
]  # fmt: skip
_ENGLISH = frozenset(
    {
        "the", "is", "are", "was", "what", "how", "where", "when", "why", "which", "who", "please", "need",
        "want", "get", "my", "your", "you", "of", "and", "for", "with", "this", "that", "register", "birth",
        "certificate", "marriage", "price", "gold", "today", "weather", "does", "did", "would", "could",
        "should", "will", "it", "its", "be", "have", "has", "from", "at", "on", "in", "an", "or", "not",
        "buy", "sell", "much", "many", "there", "their", "they", "we", "our", "us", "help", "me",
    }
)  # fmt: skip
_STAFF_WORDS = (
    "goi can bo", "gap can bo", "goi nhan vien", "gap nhan vien", "gap nguoi that", "noi chuyen voi nguoi",
)  # fmt: skip


def clean(text: str, max_chars: int) -> str:
    text = nfc(str(text or ""))[:max_chars]
    text = _CONTROL_RE.sub(" ", text)
    text = _TAG_RE.sub(" ", text)
    return " ".join(text.split())


def has_letters(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def is_foreign(text: str) -> bool:
    """True for input in another language or script (English, Chinese, Cyrillic, ...)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    non_latin = sum(1 for ch in letters if not unicodedata.name(ch, "").startswith("LATIN"))
    if non_latin / len(letters) > 0.5:
        return True
    if text != fold_diacritics(text):  # Vietnamese diacritics present
        return False
    words = fold_key(text).split()
    english = sum(1 for w in words if w in _ENGLISH)
    return english >= 2 and english / max(1, len(words)) >= 0.5


def yes_no(text: str) -> str | None:
    f = fold_key(text)
    f = re.sub(r"\b(?:a|nhe|nha|di|roi|em|chi|anh|ban|robot)$", "", f).strip() or f
    if f in _YES or fold_key(text) in _YES:
        return "yes"
    if f in _NO or fold_key(text) in _NO:
        return "no"
    return None


def focus_from_text(text: str) -> str | None:
    f = f" {fold_key(text)} "
    for focus, words in _FOCUS_WORDS:
        if any(f" {w}" in f for w in words):
            return focus
    return None


def asks_for_staff(text: str) -> bool:
    """The visitor asked outright for a person ("cho tôi gặp cán bộ", "gọi nhân viên giúp")."""
    f = fold_key(text)
    return any(w in f for w in _STAFF_WORDS)


# "gặp / làm việc với / xin gặp" + a leader or an official of the ward
_OFFICIAL_RE = re.compile(
    r"\b(?:gap|gap mat|xin gap|cho gap|muon gap|lam viec voi|noi chuyen voi|hoi y kien|trinh bay voi|tiep)\b"
    r"(?:\s+\w+){0,3}?\s+(?:lanh dao|chu tich|pho chu tich|bi thu|truong phong|pho phong|giam doc|"
    r"can bo phu trach|nguoi phu trach|cong chuc|truong cong an|cong an phuong|truong khu pho|to truong|"
    r"truong thon|truong ap|ong chu tich|ba chu tich|thu truong|nguoi co tham quyen|cap tren)\b"
)
_LEADER_RE = re.compile(
    r"\b(?:lanh dao|chu tich|pho chu tich|bi thu|nguoi co tham quyen)\b.{0,20}\b(?:dau|o dau|khong)\b"
)


def asks_for_official(text: str) -> bool:
    """The visitor wants to see an official or a leader of the ward ("cho tôi gặp chủ tịch phường")."""
    f = fold_key(text)
    return bool(_OFFICIAL_RE.search(f) or _LEADER_RE.search(f))


# A death in the family: "bố tôi vừa mất", "ông nhà tôi qua đời", "nhà có người mất", "làm giấy báo tử".
_DEATH_WORDS_RE = re.compile(
    r"\b(?:qua doi|tu tran|ta the|tu tran|khai tu|bao tu|giay bao tu|trich luc khai tu|mai tang|an tang|"
    r"hoa tang|chon cat|dam tang|dam ma|ma chay|le tang|hau su|ve voi to tien|quy tien|khuat nui|"
    r"nguoi da khuat|nguoi chet|nguoi mat|da chet|bi chet|chet roi|vua chet|moi chet|tu vong|qua co)\b"
)
# relatives, with diacritics (folded, "đi"/"có"/"mà" would read as "dì"/"cô"/"má")
_KIN_VI = (
    r"(?:bố|ba|cha|mẹ|má|u|thầy|ông|bà|chồng|vợ|con|anh|chị|em|cụ|bác|chú|cô|dì|cậu|mợ|thím|"
    r"người nhà|người thân|ông xã|bà xã|bố chồng|mẹ chồng|bố vợ|mẹ vợ|bố mẹ|ông bà)"
)
_KIN_FOLDED = r"(?:bo|cha|me|ong|ba|chong|vo|con|anh|chi|em|cu|bac|nguoi nha|nguoi than)"
_LOST_THINGS = (
    r"giấy|sổ|thẻ|căn|chứng|bằng|hộ|tiền|bao|mấy|nhiều|thời|công|điện|xe|đất|nhà|việc|bản|cmnd|cccd|phí|"
    r"hết|ít|khoảng|tầm|cả|tích|liên|ngủ|ngày|một|hai|ba|mười|\d"
)
# "<relative> [tôi|nhà tôi] (vừa|mới|đã) mất", not followed by what one loses ("mất giấy", "mất bao lâu").
_MAT_RE = re.compile(
    rf"(?<!\w){_KIN_VI}(?:\s+\w+){{0,2}}?\s+(?:(?:vừa|mới|đã|bị|lại|cũng|hôm qua|tuần trước|năm ngoái)\s+)?mất"
    rf"(?!\w)(?!\s+(?:{_LOST_THINGS})(?!\w))"
)
_EUPHEMISM_RE = re.compile(
    r"\b(?:ong|ba) (?:nha|cu|xa)(?: toi| em| minh| tui| bac)?(?: da| vua| moi)? (?:di roi|nam xuong|mat roi)\b"
    r"|\b(?:vua|moi|da) nam xuong\b"
)
_MAT_ALONE_RE = re.compile(r"(?<!\w)(?:có người|có ai|người thân|người nhà)\s+(?:(?:vừa|mới|đã)\s+)?mất(?!\w)")
_MAT_FOLDED_RE = re.compile(
    rf"\b{_KIN_FOLDED}(?:\s+(?:toi|em|minh|tui|nha toi))?\s+(?:vua|moi|da)\s+mat\b"
    r"(?!\s+(?:giay|so|the|tien|bao|may|can|ban)\b)"
)


def mentions_death(text: str) -> bool:
    """A death is told, in official or everyday words (with diacritics or without)."""
    f = fold_key(text)
    if _DEATH_WORDS_RE.search(f) or _EUPHEMISM_RE.search(f):
        return True
    if text != fold_diacritics(text):  # with diacritics: "mất" is not "mặt" or "mát"
        low = " ".join(re.sub(r"[^\w\s]", " ", nfc(text).lower()).split())
        return bool(_MAT_RE.search(low) or _MAT_ALONE_RE.search(low))
    return bool(_MAT_FOLDED_RE.search(f))  # without diacritics only the clear "<relative> vừa mất"
