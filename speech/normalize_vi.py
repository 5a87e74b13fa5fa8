"""Vietnamese text normalization for speech synthesis, and sentence splitting.

``normalize_for_speech`` turns what the kiosk shows on screen into what it should *say*:
numbers, money, dates, times, percentages, ranges, phone numbers, procedure codes,
abbreviations (UBND, CCCD, TP.HCM, NĐ-CP …), URLs and symbols become plain Vietnamese words,
so that both espeak-ng and a Piper voice (whose phonemizer is espeak-ng) read them correctly.

Pure Python, no model, a few tens of microseconds per sentence.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

from kiosk_protocol.text import nfc

__all__ = ["digits_to_words", "normalize_for_speech", "number_to_words", "split_sentences"]

_LOG = logging.getLogger(__name__)

_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_SCALES = ("", "nghìn", "triệu", "tỷ")
_W = r"A-Za-zÀ-ỹĐđ"  # letters (Vietnamese included) for hand-made word boundaries

# --------------------------------------------------------------------------- numbers


def _read_below_100(n: int) -> list[str]:
    tens, unit = divmod(n, 10)
    if tens == 0:
        return [_DIGITS[unit]]
    if tens == 1:
        words = ["mười"]
        if unit:
            words.append("lăm" if unit == 5 else _DIGITS[unit])
        return words
    words = [_DIGITS[tens], "mươi"]
    if unit == 1:
        words.append("mốt")
    elif unit == 4:
        words.append("tư")
    elif unit == 5:
        words.append("lăm")
    elif unit:
        words.append(_DIGITS[unit])
    return words


def _read_triple(n: int, full: bool) -> list[str]:
    """Read 0 < n < 1000; ``full`` reads the hundreds even when zero ("không trăm lẻ năm")."""
    hundreds, rest = divmod(n, 100)
    words: list[str] = []
    if hundreds or full:
        words += [_DIGITS[hundreds], "trăm"]
        if 0 < rest < 10:
            return [*words, "lẻ", _DIGITS[rest]]
    if rest:
        words += _read_below_100(rest)
    return words


def number_to_words(n: int) -> str:
    """Read a non-negative integer in Vietnamese: 21 → "hai mươi mốt", 105 → "một trăm lẻ năm"."""
    if n < 0:
        return "âm " + number_to_words(-n)
    if n == 0:
        return "không"
    if n >= 1000**3:  # "<n // 10^9> tỷ <rest>", recursively for "nghìn tỷ"
        high, low = divmod(n, 1000**3)
        tail = f" {_below_billion(low, full=True)}" if low else ""
        return f"{number_to_words(high)} tỷ{tail}"
    return _below_billion(n, full=False)


def _below_billion(n: int, full: bool) -> str:
    groups = [(n // 1000**i) % 1000 for i in (2, 1, 0)]
    words: list[str] = []
    for i, group in enumerate(groups):
        if group == 0:
            continue
        words += _read_triple(group, full=full or bool(words))
        scale = _SCALES[2 - i]
        if scale:
            words.append(scale)
    return " ".join(words)


def digits_to_words(digits: str) -> str:
    """Read a digit string one digit at a time: "1900" → "một chín không không"."""
    return " ".join(_DIGITS[int(d)] for d in digits if d.isdigit())


def _decimal_to_words(integer: str, fraction: str) -> str:
    head = number_to_words(int(integer))
    if len(fraction) <= 2 and not fraction.startswith("0"):
        return f"{head} phẩy {number_to_words(int(fraction))}"
    return f"{head} phẩy {digits_to_words(fraction)}"


def _amount_to_words(token: str) -> str:
    """Read one numeric token as an amount: "1.250.000", "2,5", "1,250,000", "15", "0912"."""
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", token):  # Vietnamese thousands: 1.250.000,5
        integer, _, fraction = token.partition(",")
        integer = integer.replace(".", "")
        return _decimal_to_words(integer, fraction) if fraction else number_to_words(int(integer))
    if re.fullmatch(r"\d{1,3}(?:,\d{3}){2,}", token):  # English thousands: 1,250,000
        return number_to_words(int(token.replace(",", "")))
    if re.fullmatch(r"\d+,\d+", token):  # Vietnamese decimal comma
        integer, fraction = token.split(",")
        return _decimal_to_words(integer, fraction)
    if re.fullmatch(r"\d+(?:,\d+){2,}", token):  # a list written without spaces: 1,2,3
        return ", ".join(_amount_to_words(part) for part in token.split(","))
    if re.fullmatch(r"\d+(?:\.\d+)+", token):  # a code such as 1.001193 or 2.0
        return " chấm ".join(digits_to_words(part) for part in token.split("."))
    digits = re.sub(r"\D", "", token)
    if (len(digits) > 2 and digits.startswith("0")) or len(digits) > 13:  # "03 ngày" is a quantity
        return digits_to_words(digits)
    return number_to_words(int(digits))


def _int_words(value: str, *, month: bool = False) -> str:
    n = int(value)
    if month and n == 4:
        return "tư"
    return number_to_words(n)


# --------------------------------------------------------------------------- dictionaries
def _alternation(keys: Iterable[str]) -> str:
    """A regex alternation of literal strings, longest first."""
    return "|".join(map(re.escape, sorted(keys, key=len, reverse=True)))


# Case-sensitive acronyms (short or ambiguous in lower case).
_ACRONYMS_CASED: dict[str, str] = {
    "CN": "chủ nhật",
    "CP": "chính phủ",
    "ĐT": "điện thoại",
    "HN": "Hà Nội",
    "HCM": "Hồ Chí Minh",
    "NĐ": "nghị định",
    "NQ": "nghị quyết",
    "QĐ": "quyết định",
    "QH": "quốc hội",
    "TT": "thông tư",
    "TTg": "thủ tướng",
    "TW": "trung ương",
    "TƯ": "trung ương",
    "VN": "Việt Nam",
    "QR": "kiu a",
    "ID": "ai đi",
    "OTP": "ô tê pê",
    "PDF": "pê đê ép",
    "USD": "đô la Mỹ",
    "VNĐ": "đồng",
    "VND": "đồng",
}

# Acronyms that are safe to match in any case and without diacritics ("cccd", "HDND").
_ACRONYMS_ANYCASE: dict[str, str] = {
    "UBND": "ủy ban nhân dân",
    "HĐND": "hội đồng nhân dân",
    "HDND": "hội đồng nhân dân",
    "CCCD": "căn cước công dân",
    "CMND": "chứng minh nhân dân",
    "BHYT": "bảo hiểm y tế",
    "BHXH": "bảo hiểm xã hội",
    "BHTN": "bảo hiểm thất nghiệp",
    "TTHC": "thủ tục hành chính",
    "VNeID": "vê en e ai đi",
    "STT": "số thứ tự",
    "GCN": "giấy chứng nhận",
    "QSDĐ": "quyền sử dụng đất",
    "QSDD": "quyền sử dụng đất",
    "QSHNƠ": "quyền sở hữu nhà ở",
    "SĐT": "số điện thoại",
    "SDT": "số điện thoại",
    "DVC": "dịch vụ công",
    "DVCQG": "dịch vụ công quốc gia",
    "CSDL": "cơ sở dữ liệu",
    "ĐKKD": "đăng ký kinh doanh",
    "HKD": "hộ kinh doanh",
    "MST": "mã số thuế",
    "GPLX": "giấy phép lái xe",
    "LLTP": "lý lịch tư pháp",
    "THPT": "trung học phổ thông",
    "THCS": "trung học cơ sở",
    "CAND": "công an nhân dân",
    "CSGT": "cảnh sát giao thông",
    "PCCC": "phòng cháy chữa cháy",
    "BTP": "bộ tư pháp",
    "BCA": "bộ công an",
    "BTC": "bộ tài chính",
    "BYT": "bộ y tế",
    "BXD": "bộ xây dựng",
    "BNV": "bộ nội vụ",
    "BTNMT": "bộ tài nguyên và môi trường",
    "BNNMT": "bộ nông nghiệp và môi trường",
    "BLĐTBXH": "bộ lao động thương binh và xã hội",
    "BLDTBXH": "bộ lao động thương binh và xã hội",
    "ĐBSCL": "đồng bằng sông Cửu Long",
    "KCN": "khu công nghiệp",
}

# English words common on Vietnamese signage and portals.
_WORDS: dict[str, str] = {
    "online": "trực tuyến",
    "website": "trang web",
    "hotline": "đường dây nóng",
    "email": "thư điện tử",
    "e-mail": "thư điện tử",
    "app": "ứng dụng",
    "ok": "ô kê",
}

# Units after a number.
_UNITS: dict[str, str] = {
    "m2": "mét vuông",
    "m²": "mét vuông",
    "km": "ki lô mét",
    "kg": "ki lô gam",
    "cm": "xen ti mét",
    "mm": "mi li mét",
    "m": "mét",
    "ha": "héc ta",
    "tr": "triệu",
    "k": "nghìn",
    "ngàn": "nghìn",
}

_ABBREV_BEFORE_DOT = {
    "tp", "q", "p", "tx", "tt", "h", "x", "v.v", "vv", "ts", "ths", "gs", "pgs", "bs", "ks", "ls", "st",
    "no", "mr", "mrs", "ms",
}

# --------------------------------------------------------------------------- regexes

_URL_RE = re.compile(
    r"(?:https?://|www\.)\S+?(?=[.,;:!?)]*(?:\s|$))"  # with a scheme: up to trailing punctuation
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:gov\.vn|com\.vn|org\.vn|edu\.vn|net\.vn|vn|com|net|org)"  # bare domain
    r"(?:/\S*)?(?![\w])",
    re.IGNORECASE,
)
_EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_DVC_RE = re.compile(r"dichvucong\.gov\.vn|dvc\.|dichvucong\.", re.IGNORECASE)

_TP_HCM_RE = re.compile(r"\b(?:TP|Tp|tp|T\.P)\s?\.?\s?(?:HCM|HCMC|Hồ Chí Minh)\b")
_TP_HN_RE = re.compile(r"\b(?:TP|Tp|tp)\s?\.?\s?HN\b")
_TPHCM_RE = re.compile(r"\b(?:TPHCM|tphcm|Tphcm)\b")
_ADDR_RE = re.compile(rf"(?<![{_W}])(TP|Tp|TX|TT|Q|P|X|H)\.\s?(?=(\S))")
_ADDR_WORDS = {
    "TP": "thành phố", "Tp": "thành phố", "TX": "thị xã", "TT": "thị trấn",
    "Q": "quận", "P": "phường", "X": "xã", "H": "huyện",
}
_TP_SPACE_RE = re.compile(r"\b(?:TP|Tp)\s(?=(\w))")
_VV_RE = re.compile(r"(?<![\w])(?:v\.v\.?|v\.v…|vv\.)(?!\w)", re.IGNORECASE)

# 123/2015/NĐ-CP, 04/2024/TT-BTP, 59/2020/QH14
_DOC_RE = re.compile(r"\b(\d{1,4})/(\d{4})/([A-ZĐa-z]+(?:-[A-ZĐa-z]+)*\d*)\b")
_DOC_NO_YEAR_RE = re.compile(r"\b(\d{1,5})/([A-ZĐ][A-ZĐa-z]*(?:-[A-ZĐ][A-ZĐa-z]*)+)(?![\w-])")
_DOC_CODE_RE = re.compile(r"(?<![\w-])([A-ZĐ][A-ZĐa-z]*(?:-[A-ZĐ][A-ZĐa-z]*)+)(?![\w-])")
_QH_RE = re.compile(r"\bQH(\d{1,2})\b")

_PHONE_RE = re.compile(
    r"(?<![\w.,/+])(?:"
    r"\+84[\s.]?\d{2,3}[\s.]?\d{3}[\s.]?\d{3,4}"  # +84 912 345 678
    r"|(?:1800|1900)[\s.]?\d{2,4}(?:[\s.]?\d{2,4})?"  # 1900 0000, 1800 1234 56
    r"|0\d{2,3}[\s.-]?\d{3,4}[\s.-]?\d{3,4}"  # 0912 345 678, 024.3825.1234
    r")(?![\w/]|[.,]\d)"
)
_ISO_DATE_RE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_DMY_RE = re.compile(r"\b(\d{1,2})([/.-])(\d{1,2})\2(\d{4})\b")
_MY_RE = re.compile(r"\b(\d{1,2})/(\d{4})\b")
_DM_RE = re.compile(r"\b(\d{1,2})/(\d{1,2})\b(?!/)")
_TIME_H_RE = re.compile(r"\b(\d{1,2})(?:\s?h|g)(?:(\d{1,2})\s?(?:p|ph|phút|')?)?(?![\w])")
_TIME_COLON_RE = re.compile(r"\b(\d{1,2}):(\d{2})(?::(\d{2}))?\b")
_WEEKDAY_T_RE = re.compile(r"\bT([2-7])\b")
_WEEKDAY_RANGE_RE = re.compile(r"(?i)\b(thứ\s+\w+|chủ nhật)\s*[-–—]\s*(?=thứ|chủ nhật)")
_CN_RE = re.compile(r"\bCN\b")
_SPECIAL = {"24/7": "hai bốn trên bảy", "và/hoặc": "và hoặc", "ông/bà": "ông bà", "anh/chị": "anh chị"}
_SPECIAL_RE = re.compile(rf"(?<![\w/])(?:{_alternation(_SPECIAL)})(?![\w/])", re.IGNORECASE)
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10,
          "XI": 11, "XII": 12}
_ROMAN_RE = re.compile(
    rf"(?i:\b(cấp|loại|hạng|nhóm|chương|phần|mục|khóa|khu vực|quý|tập|kỳ))\s+({_alternation(_ROMAN)})(?![{_W}\d])"
)
_ORDINAL_RE = re.compile(r"(?i)\b(thứ|hạng|lần thứ)\s+(\d{1,3})\b")
_MONTH_RE = re.compile(r"(?i)\b(tháng)\s+0?4\b")
_NUM = r"\d+(?:[.,]\d+)*"
_RANGE_RE = re.compile(rf"({_NUM}\s?(?:%|[hg](?:\d{{1,2}})?|:\d{{2}})?)\s*[-–—~]\s*(?=\d)")
_TIMES_RE = re.compile(r"(\d)\s?[x×]\s?(\d)")
_PERCENT_RE = re.compile(rf"({_NUM})\s?%")
_MONEY_RE = re.compile(rf"({_NUM})\s?(?:đồng|VNĐ|VND|vnđ|vnd|Vnđ|đ|₫|dong)(?![{_W}\d])")
_MONEY_D_RE = re.compile(r"(\d{1,3}(?:\.\d{3})+|\d{4,})\s?d(?![\w])")
_UNIT_RE = re.compile(
    rf"({_NUM})\s?({_alternation(_UNITS)})(?![{_W}\d])"
)
_PER_RE = re.compile(rf"(đồng|nghìn|triệu|tỷ|giờ|phút|lần|người|mét|\d)\s?/\s?(?=[{_W}])")
_SLASH_WORDS_RE = re.compile(rf"(?<=[{_W}])\s?/\s?(?=[{_W}])")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_LETTER_DIGIT_RE = re.compile(rf"(?<=[{_W}])(?=\d)|(?<=\d)(?=[{_W}])")
_SPACES_RE = re.compile(r"[ \t\u00a0]+")


_ANYCASE_LOOKUP = {k.casefold(): v for k, v in _ACRONYMS_ANYCASE.items()}
_ANYCASE_RE = re.compile(rf"(?<![{_W}\d])({_alternation(_ACRONYMS_ANYCASE)})(?![{_W}])", re.IGNORECASE)
_CASED_RE = re.compile(rf"(?<![{_W}\d])({_alternation(_ACRONYMS_CASED)})(?![{_W}])")
_WORDS_RE = re.compile(rf"(?<![{_W}-])({_alternation(_WORDS)})(?![{_W}])", re.IGNORECASE)


def _sub_acronyms(text: str) -> str:
    text = _ANYCASE_RE.sub(lambda m: _ANYCASE_LOOKUP[m.group(1).casefold()], text)
    text = _CASED_RE.sub(lambda m: _ACRONYMS_CASED[m.group(1)], text)
    return _WORDS_RE.sub(lambda m: _WORDS[m.group(1).lower()], text)


def _doc_code_words(code: str) -> str:
    """Read a legal document code: "NĐ-CP" → "nghị định chính phủ", "QH14" → "quốc hội mười bốn"."""
    parts = []
    for part in code.split("-"):
        m = re.fullmatch(r"([A-Za-zĐ]+?)(\d*)", part)
        letters, digits = (m.group(1), m.group(2)) if m else (part, "")
        spoken = _ACRONYMS_CASED.get(letters) or _ACRONYMS_ANYCASE.get(letters.upper(), letters)
        parts.append(spoken + (f" {number_to_words(int(digits))}" if digits else ""))
    return " ".join(parts)


def _date_words(day: str, month: str, year: str | None, prefix_has_day: bool) -> str:
    words = [] if prefix_has_day else ["ngày"]
    words += [_int_words(day), "tháng", _int_words(month, month=True)]
    if year:
        words += ["năm", number_to_words(int(year))]
    return " ".join(words)


def _preceded_by(text: str, pos: int, word: str) -> bool:
    return text[max(0, pos - len(word) - 1) : pos].rstrip().lower().endswith(word)


def _sub_dates(text: str) -> str:
    def iso(m: re.Match[str]) -> str:
        year, month, day = m.groups()
        if 1 <= int(month) <= 12 and 1 <= int(day) <= 31:
            return _date_words(day, month, year, _preceded_by(m.string, m.start(), "ngày"))
        return m.group(0)

    def dmy(m: re.Match[str]) -> str:
        day, _, month, year = m.groups()
        if 1 <= int(month) <= 12 and 1 <= int(day) <= 31:
            return _date_words(day, month, year, _preceded_by(m.string, m.start(), "ngày"))
        return m.group(0)

    def my(m: re.Match[str]) -> str:
        month, year = m.groups()
        if not 1 <= int(month) <= 12:
            return m.group(0)
        head = "" if _preceded_by(m.string, m.start(), "tháng") else "tháng "
        return f"{head}{_int_words(month, month=True)} năm {number_to_words(int(year))}"

    def dm(m: re.Match[str]) -> str:
        a, b = m.groups()
        day, month = int(a), int(b)
        after_day = _preceded_by(m.string, m.start(), "ngày")
        if not after_day and not a.startswith("0") and not b.startswith("0") and day < month <= 10:
            return f"{number_to_words(day)} phần {number_to_words(month)}"  # a fraction: 1/2, 2/3
        if 1 <= month <= 12 and 1 <= day <= 31:
            return _date_words(a, b, None, after_day)
        return f"{_amount_to_words(a)} trên {_amount_to_words(b)}"

    text = _ISO_DATE_RE.sub(iso, text)
    text = _DMY_RE.sub(dmy, text)
    text = _MY_RE.sub(my, text)
    return _DM_RE.sub(dm, text)


def _time_words(hour: str, minute: str | None, second: str | None = None) -> str | None:
    h = int(hour)
    mi = int(minute) if minute else 0
    if h > 24 or mi > 59:
        return None
    words = [number_to_words(h), "giờ"]
    if mi:
        words += [number_to_words(mi), "phút"]
    if second and int(second):
        words += [number_to_words(int(second)), "giây"]
    return " ".join(words)


def _sub_times(text: str) -> str:
    def by_h(m: re.Match[str]) -> str:
        return _time_words(m.group(1), m.group(2)) or m.group(0)

    def by_colon(m: re.Match[str]) -> str:
        return _time_words(m.group(1), m.group(2), m.group(3)) or m.group(0)

    text = _TIME_COLON_RE.sub(by_colon, text)
    return _TIME_H_RE.sub(by_h, text)


def _sub_urls(text: str) -> str:
    def url(m: re.Match[str]) -> str:
        if _DVC_RE.search(m.group(0)):
            return "Cổng Dịch vụ công quốc gia"
        return "trang web ghi trên màn hình"

    text = _EMAIL_RE.sub("địa chỉ thư điện tử ghi trên màn hình", text)
    return _URL_RE.sub(url, text)


def _phone_words(m: re.Match[str]) -> str:
    number = m.group(0)
    words = ", ".join(digits_to_words(group) for group in re.split(r"[\s.-]+", number.lstrip("+")))
    return f"cộng {words}" if number.startswith("+") else words


def _doc_number(m: re.Match[str]) -> str:
    head = "" if _preceded_by(m.string, m.start(), "số") else "số "
    return (
        f"{head}{number_to_words(int(m.group(1)))} năm {number_to_words(int(m.group(2)))} "
        f"{_doc_code_words(m.group(3))}"
    )


def _doc_number_no_year(m: re.Match[str]) -> str:
    if not _all_known(m.group(2)):
        return m.group(0)
    head = "" if _preceded_by(m.string, m.start(), "số") else "số "
    return f"{head}{number_to_words(int(m.group(1)))} {_doc_code_words(m.group(2))}"


def _sub_ordinals(text: str) -> str:
    def ordinal(m: re.Match[str]) -> str:
        n = int(m.group(2))
        spoken = {1: "nhất", 4: "tư"}.get(n) if m.group(1).lower() != "hạng" or n == 1 else None
        return f"{m.group(1)} {spoken or number_to_words(n)}"

    text = _ORDINAL_RE.sub(ordinal, text)
    return _MONTH_RE.sub(lambda m: f"{m.group(1)} tư", text)


_STEPS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (_TIMES_RE, r"\1 nhân \2"),
    (_PERCENT_RE, lambda m: f"{_amount_to_words(m.group(1))} phần trăm"),
    (_MONEY_RE, lambda m: f"{_amount_to_words(m.group(1))} đồng"),
    (_MONEY_D_RE, lambda m: f"{_amount_to_words(m.group(1))} đồng"),
    (_UNIT_RE, lambda m: f"{_amount_to_words(m.group(1))} {_UNITS[m.group(2)]}"),
    (_PER_RE, r"\1 một "),
    (_SLASH_WORDS_RE, " hoặc "),
)

_SYMBOLS = {
    "&": " và ", "+": " cộng ", "=": " bằng ", "#": " số ", "№": " số ", "@": " a còng ",
    "…": ".", "•": ", ", "·": ", ", "*": " ", "_": " ", "|": ", ", "\\": " ",
    "(": ", ", ")": ", ", "[": ", ", "]": ", ", "{": ", ", "}": ", ",
    "\"": "", "“": "", "”": "", "‘": "", "’": "", "«": "", "»": "", "`": "",
    "–": ", ", "—": ", ", "~": " ", "<": " nhỏ hơn ", ">": " lớn hơn ", "/": " ",
    "°": " độ ", "%": " phần trăm ",
}
_SYMBOL_RE = re.compile("|".join(map(re.escape, _SYMBOLS)))


def _tidy(text: str) -> str:
    text = _SPACES_RE.sub(" ", text)
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    text = re.sub(r"([.!?])(?:\s*\.)+", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)  # ", ," left by removed symbols
    text = re.sub(r"^[\s,;:]+|(?<=[.!?])\s*,", "", text)
    text = re.sub(r"[\s,;:]+$", "", text)
    text = re.sub(r",(?=\S)", ", ", text)
    return text.strip()


def normalize_for_speech(text: str) -> str:
    """Rewrite display text as words to speak (NFC in, NFC out); empty in, empty out."""
    if not text or not text.strip():
        return ""
    text = nfc(text)
    text = re.sub(r"(?<=[.!?:;,])[ \t]*[\r\n]+\s*", " ", text)
    text = re.sub(r"\s*[\r\n]+\s*", ". ", text)
    text = _sub_urls(text)
    text = _TP_HCM_RE.sub("thành phố Hồ Chí Minh", text)
    text = _TPHCM_RE.sub("thành phố Hồ Chí Minh", text)
    text = _TP_HN_RE.sub("thành phố Hà Nội", text)
    text = _VV_RE.sub("vân vân", text)
    text = _ADDR_RE.sub(lambda m: _ADDR_WORDS[m.group(1)] + " " if _starts_name(m) else m.group(0), text)
    text = _TP_SPACE_RE.sub(lambda m: "thành phố " if _starts_name(m) else m.group(0), text)
    text = _DOC_RE.sub(_doc_number, text)
    text = _DOC_NO_YEAR_RE.sub(_doc_number_no_year, text)
    text = _QH_RE.sub(lambda m: f"quốc hội {number_to_words(int(m.group(1)))}", text)
    text = _DOC_CODE_RE.sub(
        lambda m: _doc_code_words(m.group(1)) if _all_known(m.group(1)) else m.group(1).replace("-", " "),
        text,
    )
    text = _PHONE_RE.sub(_phone_words, text)
    text = _WEEKDAY_T_RE.sub(lambda m: "thứ " + ("tư" if m.group(1) == "4" else _int_words(m.group(1))), text)
    text = _CN_RE.sub("chủ nhật", text)
    text = _SPECIAL_RE.sub(lambda m: _SPECIAL[m.group(0).lower()], text)
    text = _sub_dates(text)
    text = _WEEKDAY_RANGE_RE.sub(r"\1 đến ", text)
    text = _RANGE_RE.sub(r"\1 đến ", text)
    text = _sub_times(text)
    text = _ROMAN_RE.sub(lambda m: f"{m.group(1)} {number_to_words(_ROMAN[m.group(2)])}", text)
    text = _sub_ordinals(text)
    for pattern, repl in _STEPS:
        text = pattern.sub(repl, text)
    text = _sub_acronyms(text)
    text = _LETTER_DIGIT_RE.sub(" ", text)
    text = _NUMBER_RE.sub(lambda m: _amount_to_words(m.group(0)), text)
    text = _SYMBOL_RE.sub(lambda m: _SYMBOLS[m.group(0)], text)
    text = re.sub(r"(?<=\w)-(?=\w)", " ", text)  # "e-mail", "khai sinh-thường trú"
    text = re.sub(r"(?<!\S)-(?!\S)", ", ", text)
    return nfc(_tidy(text))


def _starts_name(m: re.Match[str]) -> bool:
    return m.group(m.lastindex or 0)[:1].isupper() or m.group(m.lastindex or 0)[:1].isdigit()


def _all_known(code: str) -> bool:
    for part in code.split("-"):
        letters = re.sub(r"\d+$", "", part)
        if letters not in _ACRONYMS_CASED and letters.upper() not in _ACRONYMS_ANYCASE:
            return False
    return True


# --------------------------------------------------------------------------- sentences

_BOUNDARY_RE = re.compile(r"([.!?…;]+[\"”’)\]]*)(\s+|$)|\s*\n\s*")


def _ends_with_abbreviation(fragment: str, next_text: str) -> bool:
    """True when the period that ends ``fragment`` belongs to an abbreviation or a name initial."""
    if not fragment.endswith("."):
        return False
    word = re.split(r"\s", fragment[:-1])[-1].lower() if fragment[:-1] else ""
    if word in ("v.v", "vv") or (word.endswith("v.v")):
        return not next_text[:1].isupper()
    if word in _ABBREV_BEFORE_DOT:
        return True
    return len(word) == 1 and word.isalpha() and fragment[-2:-1].isupper()


def split_sentences(text: str, min_chars: int = 12, max_chars: int = 250) -> list[str]:
    """Split text into sentences to synthesize one at a time.

    Splits after ``. ! ? … ;`` followed by a space (never inside "2.5", "1.250.000", "TP.HCM",
    "v.v. và", "Q. 1") and at line breaks; merges fragments shorter than ``min_chars`` into a
    neighbour; cuts sentences longer than ``max_chars`` at a comma so the first audio comes soon.
    """
    if not text or not text.strip():
        return []
    text = nfc(text).strip()
    pieces: list[str] = []
    start = 0
    for m in _BOUNDARY_RE.finditer(text):
        fragment = text[start : m.end(1) if m.group(1) else m.start()].strip()
        if m.group(1) and _ends_with_abbreviation(fragment, text[m.end() :]):
            continue
        if fragment:
            pieces.append(fragment)
        start = m.end()
    if text[start:].strip():
        pieces.append(text[start:].strip())
    pieces = [part for piece in pieces for part in _cut_long(piece, max_chars)]
    merged: list[str] = []
    for piece in pieces:
        if merged and (len(piece) < min_chars or len(merged[-1]) < min_chars):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


def _cut_long(sentence: str, max_chars: int) -> list[str]:
    out: list[str] = []
    while len(sentence) > max_chars:
        cut = sentence.rfind(", ", 0, max_chars)
        if cut < max_chars // 3:
            cut = sentence.rfind(" ", 0, max_chars)
        if cut <= 0:
            break
        out.append(sentence[: cut + 1].strip())
        sentence = sentence[cut + 1 :].strip()
    out.append(sentence)
    return out
