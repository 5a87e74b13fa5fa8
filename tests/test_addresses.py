"""Old -> new address conversion (offline, never touching the network) and the slot helpers."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from dialogue.addresses import convert_old_address
from dialogue.slots import find_address_phrase, find_numbers, find_person, words_to_digits


class NetworkUsed(AssertionError):
    pass


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail on any attempt to resolve a name or open a connection."""

    def refuse(*args, **kwargs):
        raise NetworkUsed(f"network access attempted: {args[:2]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_guard_really_blocks() -> None:
    with pytest.raises(NetworkUsed):
        socket.create_connection(("nominatim.openstreetmap.org", 443), timeout=1)


@pytest.mark.parametrize(
    "text",
    [
        "phường 12 quận 6 thành phố hồ chí minh",
        "phuong muoi hai quan sau thanh pho ho chi minh",  # spoken, no diacritics
        "Phường 12, Quận 6, TP.HCM",
        "cho hỏi phường 12 quận 6 tp hcm cũ giờ là phường nào",
    ],
)
def test_merged_ward(text: str) -> None:
    r = convert_old_address(text)
    assert r.found
    assert r.new_ward == "Phường Phú Lâm"
    assert r.new_province == "Thành phố Hồ Chí Minh"
    assert r.old_ward == "Phường 12"
    assert r.candidates == ["Phường Phú Lâm"]
    assert "Phú Lâm" in r.message and "Phú Lâm" in r.message_voice


@pytest.mark.parametrize(
    "text",
    [
        "xã Hòa Liên, huyện Hòa Vang, Đà Nẵng",
        "123 đường Nguyễn Văn Cừ, xã Hòa Liên, huyện Hòa Vang, thành phố Đà Nẵng",  # street would geocode online
        "xa an phu tay huyen binh chanh tp hcm",
    ],
)
def test_split_ward_lists_candidates_offline(text: str) -> None:
    r = convert_old_address(text)
    assert len(r.candidates) >= 2, r
    assert r.new_ward == ""  # no silent default pick
    assert "tên đường" in r.message
    screen = r.as_screen()
    assert set(screen) == {"found", "query", "old_ward", "new_ward", "new_province", "candidates", "message"}


def test_split_ward_candidates_are_the_real_ones() -> None:
    r = convert_old_address("xã Hòa Liên huyện Hòa Vang Đà Nẵng")
    assert set(r.candidates) == {"Phường Hải Vân", "Phường Liên Chiểu"}
    assert r.new_province == "Thành phố Đà Nẵng"


@pytest.mark.parametrize("text", ["xã abc xyz", "", "giá vàng hôm nay", "phường Không Tồn Tại quận 99", "x" * 5000])
def test_unknown_address_is_not_found(text: str) -> None:
    r = convert_old_address(text)
    assert not r.found
    assert r.new_ward == "" and r.candidates == []
    assert "chưa tìm thấy" in r.message


def test_numbers_in_words_and_digits() -> None:
    assert find_numbers("mười hai") == [12]
    assert find_numbers("hai mươi mốt") == [21]
    assert find_numbers("một trăm") == [100]
    assert find_numbers("một trăm linh năm") == [105]
    assert find_numbers("hai mươi lăm nghìn đồng") == [25000]
    assert find_numbers("nộp 3 bản, số 15") == [3, 15]
    assert find_numbers("bây giờ") == []  # "bây" is not "bảy"
    assert words_to_digits("phường ba quận năm") == "phường 3 quận 5"
    assert words_to_digits("năm nay") == "năm nay"  # an ordinary word, not after a prefix


def test_address_phrase_strips_question_words() -> None:
    assert find_address_phrase("Phường 12 quận 6 cũ giờ là phường nào?") == "Phường 12 quận 6"
    assert find_address_phrase("dia chi cu la phuong ben thanh quan 1 hcm thi nay thuoc phuong nao") == (
        "phuong ben thanh quan 1 hcm"
    )
    assert find_address_phrase("bây giờ là phường nào") == ""
    assert find_address_phrase("làm khai sinh") == ""


@pytest.mark.parametrize(
    ("text", "person"),
    [
        ("làm giấy khai sinh cho con", "con"),
        ("lam the bhyt cho be", "bé"),
        ("khai tử cho bà nội", "bà nội"),
        ("dang ky ket hon cho chong", "chồng"),
        ("xin trợ cấp cho mẹ", "mẹ"),
        ("cho em hỏi làm căn cước", None),
        ("cho con hỏi làm căn cước", None),  # "con" speaking of themself
        ("làm tạm trú cho tôi", None),
    ],
)
def test_person_slot(text: str, person: str | None) -> None:
    assert find_person(text) == person


def test_guard_catches_the_packages_online_geocoder() -> None:
    """The raw package goes online for a split ward with a street; our wrapper must not."""
    import vietnamadminunits

    street_address = "123 đường Nguyễn Văn Cừ, xã Hòa Liên, huyện Hòa Vang, thành phố Đà Nẵng"
    with pytest.raises(Exception, match="network access attempted"):
        vietnamadminunits.convert_address(street_address)
    assert len(convert_old_address(street_address).candidates) == 2


def test_seeded_sweep_of_legacy_wards_in_three_writings() -> None:
    """Issue 10: a seeded 400-ward share of the full sweep (benchmarks/bench_addresses.py, 10,040 wards):
    full, without diacritics and short forms all answered like the package's own convert_address."""
    import random
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from bench_addresses import check, legacy_wards

    rows = random.Random(2025).sample(legacy_wards(), 400)
    report = check(rows, n_misses=5)
    for writing, counts in report["by_writing"].items():
        assert counts["wrong"] == 0, (writing, report["misses"][writing])
        assert counts["accuracy"] >= 0.99, (writing, report["misses"][writing])
    assert sum(c["split_answered_with_candidates"] for c in report["by_writing"].values()) > 0


def test_number_words_inside_place_names_are_not_digits() -> None:
    """'Tháp Mười', 'Ba Đình', 'Linh Xuân' are names, not 10, 3, 0."""
    for query, ward in (("Xã Thanh Mỹ, Huyện Tháp Mười, Tỉnh Đồng Tháp", "Thanh Mỹ"),
                        ("Phường Cống Vị, Quận Ba Đình, Thành phố Hà Nội", "Ngọc Hà"),
                        ("Phường Linh Xuân, Thành phố Thủ Đức, Thành phố Hồ Chí Minh", "Linh Xuân")):
        result = convert_old_address(query)
        assert result.found and any(ward in c for c in result.candidates), (query, result)
