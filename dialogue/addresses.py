"""Old (before the 2025 merger) address -> new ward and province, fully offline.

Wraps ``vietnamadminunits``. Two traps of that package are avoided here:

* for an old ward that was **split**, it would call an online geocoder when a street is present,
  and otherwise silently pick a default new ward. We never pass the street, and for split wards
  we list every candidate new ward (from the package's own split table) and ask for the street;
* a result without ``ward_code`` means the ward was not recognised: we say "not found".
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from dialogue.slots import find_address_phrase, words_to_digits
from kiosk_protocol.text import fold_diacritics, nfc

__all__ = ["AddressResult", "convert_old_address"]

log = logging.getLogger("dialogue.addresses")

MAX_ADDRESS_CHARS = 200

# Abbreviations people type or say; applied on folded, lowercased text.
_ABBREVIATIONS = [
    (r"\btp\.?\s*hcm\b|\bhcm\b|\bsai gon\b|\bsg\b", "thanh pho ho chi minh"),
    (r"\bhn\b", "ha noi"),
    (r"\btp\.?\s+", "thanh pho "),
    (r"\bp\.\s*", "phuong "),
    (r"\bq\.\s*", "quan "),
]


@dataclass
class AddressResult:
    """Outcome of one lookup; ``as_screen()`` gives the contract-1 ``address`` dict."""

    found: bool
    query: str
    old_ward: str = ""
    old_district: str = ""
    old_province: str = ""
    new_ward: str = ""
    new_province: str = ""
    candidates: list[str] = field(default_factory=list)
    message: str = ""
    message_voice: str = ""

    def as_screen(self) -> dict[str, Any]:
        return {
            "found": self.found,
            "query": self.query,
            "old_ward": self.old_ward,
            "new_ward": self.new_ward,
            "new_province": self.new_province,
            "candidates": list(self.candidates),
            "message": self.message,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=1)
def _units() -> Any:
    """Import vietnamadminunits lazily (≈0.35 s) and return its modules."""
    import vietnamadminunits as vau
    from vietnamadminunits.parser import ParseMode

    return vau, ParseMode


@lru_cache(maxsize=1)
def _converter_tables() -> tuple[dict[str, list[str]], dict[str, dict[str, list[dict[str, Any]]]]]:
    """The package's province map and its table of split old wards (old key -> new wards)."""
    vau, _ = _units()
    path = Path(vau.__file__).parent / "data" / "converter_2025.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["DICT_PROVINCE"], data["DICT_PROVINCE_WARD_DIVIDED"]


def _normalize_query(text: str, numbers: bool = True) -> str:
    text = nfc(text or "")[:MAX_ADDRESS_CHARS]
    text = re.sub(r"[^\w\s,./-]", " ", text)
    if numbers:
        text = words_to_digits(text)
    folded = fold_diacritics(text).lower()
    for pattern, repl in _ABBREVIATIONS:
        folded = re.sub(pattern, repl, folded)
    return " ".join(folded.split())


def _readings(query: str) -> list[str]:
    """Ways to read an old address, most literal first: the address phrase and the whole text,
    as written, folded, and with spoken numbers as digits ("phường mười hai" -> "phường 12")."""
    phrase = find_address_phrase(query) or query
    out: list[str] = []
    for base in dict.fromkeys((phrase, query)):
        for reading in (base, _normalize_query(base, numbers=False), _normalize_query(base)):
            if reading and reading not in out:
                out.append(reading)
    return out


def _parse_legacy(query: str) -> tuple[list[Any], str]:
    """The old wards the query names: one exact match of the package's legacy table on compact
    names, else the package's parse of the first reading it resolves, else every table match (an
    ambiguous short form); else ([], the province the package found)."""
    exact = _lookup_compact(query)
    if len(exact) == 1:
        return exact, exact[0].province
    vau, mode = _units()
    province = ""
    for reading in _readings(query):
        try:
            old = vau.parse_address(reading, mode=mode.LEGACY, keep_street=False, level=3)
        except Exception as exc:  # the parser raises bare exceptions on odd input
            log.info("parse failed for %r: %s", reading, exc)
            continue
        if old.ward_code and old.ward:
            return [old], old.province or ""
        province = province or old.province or ""
    return exact, province


_PARENS_RE = re.compile(r"\([^)]*\)")
_UNIT_PREFIX_RE = re.compile(r"^\s*(?:thanh pho|tinh|quan|huyen|thi xa|thi tran|phuong|xa|dac khu|tp)\b\.?\s*")


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold_diacritics(_PARENS_RE.sub(" ", nfc(text or ""))).lower())


@lru_cache(maxsize=1)
def _legacy_index() -> dict[str, list[SimpleNamespace]]:
    """The package's legacy wards by compact province short name ("hanoi" -> rows)."""
    vau, _ = _units()
    db = sqlite3.connect(Path(vau.__file__).parent / "data" / "dataset.db")
    try:
        rows = db.execute("select province, district, ward, provinceShort, districtShort, wardShort, provinceKey, "
                          "districtKey, wardKey, wardCode from admin_units_legacy").fetchall()
    finally:
        db.close()
    index: dict[str, list[SimpleNamespace]] = {}
    for r in rows:
        unit = SimpleNamespace(province=r[0], district=r[1], ward=r[2], province_key=r[6], district_key=r[7],
                               ward_key=r[8], ward_code=r[9], _d=_compact(r[4]), _w=_compact(r[5]))
        index.setdefault(_compact(r[3]), []).append(unit)
    return index


def _lookup_compact(query: str) -> list[SimpleNamespace]:
    """Old wards whose "<ward> <district> <province>" short names, without spaces and unit words,
    spell the query ("Phúc Xá Ba Đình Hà Nội", "Xa Hoang Quy, Huyen Hoang Hoa, Tinh Thanh Hoa")."""
    for base in dict.fromkeys((query, find_address_phrase(query) or query)):
        text = _normalize_query(base, numbers=False)
        parts = [_UNIT_PREFIX_RE.sub("", p) for p in text.split(",")] if "," in text else [text]
        q = _compact(" ".join(parts))
        found = []
        for pkey, units in _legacy_index().items():
            if not (pkey and q.endswith(pkey)):
                continue
            rest = q[: -len(pkey)]
            found += [u for u in units if u._d and rest.endswith(u._d) and rest[: -len(u._d)] == u._w]
        if found:
            return found
    return []


def _new_ward_name(new_ward_key: str, new_province_key: str) -> str:
    vau, mode = _units()
    try:
        unit = vau.parse_address(f"{new_ward_key}, {new_province_key}", mode=mode.FROM_2025, level=2)
    except Exception as exc:  # the package raises plain Exceptions on odd input
        log.warning("cannot name new ward %s (%s): %s", new_ward_key, new_province_key, exc)
        return new_ward_key
    return unit.ward or new_ward_key


def _province_name(new_province_key: str) -> str:
    vau, mode = _units()
    try:
        return vau.parse_address(new_province_key, mode=mode.FROM_2025, level=1).province or ""
    except Exception:
        return ""


def convert_old_address(text: str) -> AddressResult:
    """Convert an old address (ward, district, province; street optional) to the new ward.

    Never uses the network. Spoken forms and text without diacritics work
    ("phuong muoi hai quan sau thanh pho ho chi minh").
    """
    query = " ".join(nfc(text or "").split())[:MAX_ADDRESS_CHARS]
    olds, province = _parse_legacy(query)
    if not olds:
        return _not_found(query, province)
    if len(olds) > 1:  # an ambiguous short form: every old ward it may name, with their new wards
        results = [_convert(old, query) for old in olds]
        results = [r for r in results if r.found]
        if not results:
            return _not_found(query, province)
        merged = results[0]
        merged.candidates = list(dict.fromkeys(c for r in results for c in r.candidates))
        if len(merged.candidates) > 1:
            names = ", ".join(merged.candidates[:-1]) + " hoặc " + merged.candidates[-1]
            merged.new_ward = ""
            merged.message = (f"Địa chỉ này có thể là một trong {len(olds)} đơn vị cũ cùng tên; nay thuộc {names} "
                              f"({merged.new_province}). Anh/chị đọc thêm tên huyện, quận cũ hoặc hỏi cán bộ tại quầy.")
            merged.message_voice = (f"Địa chỉ này có thể nay thuộc {names}. Anh chị đọc thêm tên quận huyện cũ, "
                                    "hoặc hỏi cán bộ tại quầy nhé.")
        return merged
    return _convert(olds[0], query)


def _convert(old: Any, query: str) -> AddressResult:
    """Old ward (the package's parse or a legacy-table row) -> the new ward, or the split candidates."""
    result = AddressResult(
        found=False,
        query=query,
        old_ward=old.ward or "",
        old_district=old.district or "",
        old_province=old.province or "",
    )
    provinces, divided = _converter_tables()
    new_province_key = next((k for k, v in provinces.items() if old.province_key in v), None)
    old_key = f"{old.province_key}_{old.district_key}_{old.ward_key}"
    split = divided.get(new_province_key or "", {}).get(old_key)
    if split:
        result.new_province = _province_name(new_province_key or "")
        result.candidates = list(dict.fromkeys(_new_ward_name(w["newWardKey"], new_province_key or "") for w in split))
        result.found = True
        names = ", ".join(result.candidates[:-1]) + " hoặc " + result.candidates[-1]
        old_name = _old_name(result)
        result.message = (
            f"{old_name} trước đây đã được chia về nhiều đơn vị mới: {names} ({result.new_province}). "
            "Phường, xã mới tùy theo tên đường và số nhà; anh/chị cho biết tên đường, "
            "hoặc hỏi cán bộ tại quầy."
        )
        result.message_voice = (
            f"{old_name} trước đây đã được chia về {len(result.candidates)} đơn vị mới là {names}. "
            "Phường xã mới tùy theo tên đường nơi anh chị ở, "
            "anh chị đọc tên đường cho cán bộ tại quầy để biết chính xác nhé."
        )
        return result

    try:
        # Only ward, district and province: without a street the package never geocodes online.
        new = _units()[0].convert_address(f"{old.ward}, {old.district}, {old.province}")
    except Exception as exc:  # incl. geopy GeocoderServiceError, socket errors
        log.warning("conversion failed for %r: %s", query, exc)
        return _not_found(query, old.province or "")
    if not getattr(new, "ward_code", None) or not new.ward:
        return _not_found(query, old.province or "")
    result.found = True
    result.new_ward = new.ward
    result.new_province = new.province or ""
    result.candidates = [new.ward]
    old_name = _old_name(result)
    result.message = f"{old_name} nay thuộc {new.ward}, {result.new_province}."
    result.message_voice = f"{old_name} nay thuộc {new.ward}, {result.new_province}."
    return result


def _old_name(r: AddressResult) -> str:
    parts = [p for p in (r.old_ward, r.old_district, r.old_province) if p]
    return ", ".join(parts) if parts else "Địa chỉ này"


def _not_found(query: str, province: str) -> AddressResult:
    message = (
        "Tôi chưa tìm thấy phường, xã này trong danh mục đơn vị hành chính cũ. "
        "Anh/chị đọc lại đủ tên phường hoặc xã, quận hoặc huyện và tỉnh hoặc thành phố cũ, "
        "hoặc hỏi cán bộ tại quầy."
    )
    voice = (
        "Xin lỗi, tôi chưa tìm thấy phường xã này. Anh chị đọc lại đủ tên phường, quận và tỉnh thành cũ giúp tôi nhé."
    )
    return AddressResult(found=False, query=query, old_province=province, message=message, message_voice=voice)
