"""Vietnamese text normalization before speech synthesis, and sentence splitting."""

from __future__ import annotations

import re
import time
import unicodedata

import pytest

from speech.normalize_vi import digits_to_words, normalize_for_speech, number_to_words, split_sentences


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "không"),
        (1, "một"),
        (4, "bốn"),
        (5, "năm"),
        (10, "mười"),
        (11, "mười một"),
        (14, "mười bốn"),
        (15, "mười lăm"),
        (20, "hai mươi"),
        (21, "hai mươi mốt"),
        (24, "hai mươi tư"),
        (25, "hai mươi lăm"),
        (55, "năm mươi lăm"),
        (91, "chín mươi mốt"),
        (100, "một trăm"),
        (101, "một trăm lẻ một"),
        (104, "một trăm lẻ bốn"),
        (105, "một trăm lẻ năm"),
        (110, "một trăm mười"),
        (115, "một trăm mười lăm"),
        (121, "một trăm hai mươi mốt"),
        (1000, "một nghìn"),
        (1005, "một nghìn không trăm lẻ năm"),
        (1050, "một nghìn không trăm năm mươi"),
        (2025, "hai nghìn không trăm hai mươi lăm"),
        (10000, "mười nghìn"),
        (15000, "mười lăm nghìn"),
        (100000, "một trăm nghìn"),
        (1000000, "một triệu"),
        (1000005, "một triệu không trăm lẻ năm"),
        (1250000, "một triệu hai trăm năm mươi nghìn"),
        (21500000, "hai mươi mốt triệu năm trăm nghìn"),
        (1000000000, "một tỷ"),
        (2500000000, "hai tỷ năm trăm triệu"),
    ],
)
def test_number_to_words(n: int, words: str) -> None:
    assert number_to_words(n) == words


def test_every_number_up_to_a_billion_follows_the_unit_rules() -> None:
    vocabulary = {"không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín", "mười", "mươi",
                  "mốt", "tư", "lăm", "lẻ", "trăm", "nghìn", "triệu", "tỷ"}
    expected_end = {1: "một", 4: "bốn", 5: "năm"}
    for n in [*range(0, 2000), *range(7, 1_000_000_001, 9_876_541), 999_999_999, 1_000_000_000]:
        words = number_to_words(n).split()
        assert set(words) <= vocabulary, (n, words)
        tens, unit = divmod(n % 100, 10)
        if unit in (1, 4, 5) and n >= 10:
            if tens >= 2:  # hai mươi mốt / hai mươi tư / hai mươi lăm
                assert words[-2:] == ["mươi", {1: "mốt", 4: "tư", 5: "lăm"}[unit]], (n, words)
            elif tens == 1:  # mười một / mười bốn / mười lăm
                assert words[-2:] == ["mười", {1: "một", 4: "bốn", 5: "lăm"}[unit]], (n, words)
            elif n >= 100:  # một trăm lẻ một / lẻ bốn / lẻ năm
                assert words[-2:] == ["lẻ", expected_end[unit]], (n, words)


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Lệ phí 1.250.000 đồng.", "Lệ phí một triệu hai trăm năm mươi nghìn đồng."),
        ("Có 21 người", "Có hai mươi mốt người"),
        ("Bước 15", "Bước mười lăm"),
        ("Phòng 105", "Phòng một trăm lẻ năm"),
        ("Mức 2,5 triệu", "Mức hai phẩy năm triệu"),
        ("Phí 2.000 đ/trang", "Phí hai nghìn đồng một trang"),
        ("Phí 50.000đ", "Phí năm mươi nghìn đồng"),
        ("Giá 100.000 VNĐ", "Giá một trăm nghìn đồng"),
        ("Giá 8000 vnd", "Giá tám nghìn đồng"),
        ("Tăng 5%", "Tăng năm phần trăm"),
        ("Giảm 2,5 %", "Giảm hai phẩy năm phần trăm"),
        ("Trả kết quả trong 3-5 ngày", "Trả kết quả trong ba đến năm ngày"),
        ("từ 3 – 5 ngày làm việc", "từ ba đến năm ngày làm việc"),
        ("Mức 50-70%", "Mức năm mươi đến bảy mươi phần trăm"),
        ("không quá 03 ngày", "không quá ba ngày"),
        ("thêm 5.000 đồng/phiếu", "thêm năm nghìn đồng một phiếu"),
        ("2 lần/năm", "hai lần một năm"),
        ("công trình cấp III, cấp IV", "công trình cấp ba, cấp bốn"),
    ],
)
def test_numbers_money_percent_ranges(text: str, spoken: str) -> None:
    assert normalize_for_speech(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("01/7/2025", "ngày một tháng bảy năm hai nghìn không trăm hai mươi lăm"),
        ("Từ ngày 01/7/2025", "Từ ngày một tháng bảy năm hai nghìn không trăm hai mươi lăm"),
        ("hạn 30/04/2026", "hạn ngày ba mươi tháng tư năm hai nghìn không trăm hai mươi sáu"),
        ("tháng 7/2025", "tháng bảy năm hai nghìn không trăm hai mươi lăm"),
        ("ngày 15/8", "ngày mười lăm tháng tám"),
        ("2025-07-01", "ngày một tháng bảy năm hai nghìn không trăm hai mươi lăm"),
        ("một nửa là 1/2", "một nửa là một phần hai"),
        ("lúc 7h30", "lúc bảy giờ ba mươi phút"),
        ("lúc 7h", "lúc bảy giờ"),
        ("lúc 13:30", "lúc mười ba giờ ba mươi phút"),
        ("7 giờ 30", "bảy giờ ba mươi"),
        ("7h30 - 11h30", "bảy giờ ba mươi phút đến mười một giờ ba mươi phút"),
        ("13:30-17:00", "mười ba giờ ba mươi phút đến mười bảy giờ"),
        ("thứ 2", "thứ hai"),
        ("Thứ 4", "Thứ tư"),
        ("lần thứ 1", "lần thứ nhất"),
        ("Thứ 2 - Thứ 6", "Thứ hai đến Thứ sáu"),
        ("Thứ Hai – Thứ Sáu", "Thứ Hai đến Thứ Sáu"),
        ("T2-T7", "thứ hai đến thứ bảy"),
        ("tháng 4", "tháng tư"),
    ],
)
def test_dates_times_ordinals(text: str, spoken: str) -> None:
    assert normalize_for_speech(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Gọi 1900 0000", "Gọi một chín không không, không không không không"),
        ("ĐT: 0912 345 678.", "điện thoại: không chín một hai, ba bốn năm, sáu bảy tám."),
        ("số 0912345678", "số không chín một hai ba bốn năm sáu bảy tám"),
        ("+84 912 345 678", "cộng tám bốn, chín một hai, ba bốn năm, sáu bảy tám"),
        ("Mã thủ tục 1.001193", "Mã thủ tục một chấm không không một một chín ba"),
    ],
)
def test_phone_numbers_and_codes_are_read_digit_by_digit(text: str, spoken: str) -> None:
    assert normalize_for_speech(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("UBND phường", "ủy ban nhân dân phường"),
        ("HĐND xã", "hội đồng nhân dân xã"),
        ("Mang CCCD hoặc CMND", "Mang căn cước công dân hoặc chứng minh nhân dân"),
        ("thẻ BHYT, sổ BHXH", "thẻ bảo hiểm y tế, sổ bảo hiểm xã hội"),
        ("TP.HCM", "thành phố Hồ Chí Minh"),
        ("TP HCM", "thành phố Hồ Chí Minh"),
        ("Tp. Hồ Chí Minh", "thành phố Hồ Chí Minh"),
        ("TP. Đà Nẵng", "thành phố Đà Nẵng"),
        ("Q.1, P. Bến Thành", "quận một, phường Bến Thành"),
        ("TTHC trên VNeID", "thủ tục hành chính trên vê en e ai đi"),
        ("Lấy STT", "Lấy số thứ tự"),
        ("GCN QSDĐ", "giấy chứng nhận quyền sử dụng đất"),
        ("giấy tờ, v.v.", "giấy tờ, vân vân"),
        ("Nghị định 123/2015/NĐ-CP",
         "Nghị định số một trăm hai mươi ba năm hai nghìn không trăm mười lăm nghị định chính phủ"),
        ("Thông tư số 04/2024/TT-BTP",
         "Thông tư số bốn năm hai nghìn không trăm hai mươi tư thông tư bộ tư pháp"),
        ("theo NĐ-CP", "theo nghị định chính phủ"),
        ("cccd gắn chip", "căn cước công dân gắn chip"),
    ],
)
def test_abbreviations(text: str, spoken: str) -> None:
    assert normalize_for_speech(text) == spoken


def test_urls_are_not_spelled_out() -> None:
    dvc = normalize_for_speech("Nộp trực tuyến tại https://dichvucong.gov.vn/p/home/dvc.html?ma=1.001193.")
    assert dvc == "Nộp trực tuyến tại Cổng Dịch vụ công quốc gia."
    assert normalize_for_speech("Xem dichvucong.gov.vn") == "Xem Cổng Dịch vụ công quốc gia"
    other = normalize_for_speech("Xem https://example.org/a/b và gửi thư tới hotro@example.vn")
    assert "http" not in other and "example" not in other and "@" not in other
    assert "trang web ghi trên màn hình" in other


def test_symbols_become_words_or_pauses() -> None:
    assert normalize_for_speech("Ảnh 3x4 cm") == "Ảnh ba nhân bốn xen ti mét"
    assert normalize_for_speech("bản chính/bản sao") == "bản chính hoặc bản sao"
    assert normalize_for_speech("Quầy 1 – Hộ tịch") == "Quầy một, Hộ tịch"
    assert normalize_for_speech("Bản sao (có chứng thực)") == "Bản sao, có chứng thực"
    assert normalize_for_speech("Hồ sơ gồm:\n- Tờ khai\n- Ảnh") == "Hồ sơ gồm: Tờ khai. Ảnh"


def test_output_has_no_digits_for_a_realistic_reply() -> None:
    reply = (
        "Thủ tục đăng ký khai sinh (mã 1.001193) nộp tại Quầy 1, UBND phường, từ 7h30 đến 11h30 "
        "và 13h30–17h, Thứ 2 – Thứ 6. Lệ phí: 8.000 đ/bản trích lục; thời hạn 3-5 ngày. "
        "Hotline 1900 0000; xem thêm tại dichvucong.gov.vn hoặc ứng dụng VNeID."
    )
    spoken = normalize_for_speech(reply)
    assert not re.search(r"[0-9/%@]|http|UBND|VNeID", spoken), spoken
    assert "tám nghìn đồng một bản" in spoken
    assert "thứ hai đến thứ sáu" in spoken.lower()


def test_empty_and_nfd_input() -> None:
    assert normalize_for_speech("") == ""
    assert normalize_for_speech("   \n ") == ""
    nfd = unicodedata.normalize("NFD", "Lệ phí 15.000 đồng tại UBND phường")
    out = normalize_for_speech(nfd)
    assert out == "Lệ phí mười lăm nghìn đồng tại ủy ban nhân dân phường"
    assert unicodedata.is_normalized("NFC", out)


def test_text_without_diacritics_still_works() -> None:
    assert normalize_for_speech("ubnd phuong thu 15.000 d") == "ủy ban nhân dân phuong thu mười lăm nghìn đồng"
    assert normalize_for_speech("HDND xa") == "hội đồng nhân dân xa"


def test_digits_to_words() -> None:
    assert digits_to_words("1900") == "một chín không không"
    assert digits_to_words("") == ""


def test_normalization_is_fast() -> None:
    text = "Lệ phí 1.250.000 đồng, nộp tại UBND phường từ 7h30 ngày 01/7/2025, gọi 1900 0000. " * 3
    started = time.perf_counter()
    for _ in range(50):
        normalize_for_speech(text)
    per_call_ms = (time.perf_counter() - started) / 50 * 1000
    print(f"\nnormalize_for_speech: {per_call_ms:.2f} ms for {len(text)} characters")


# ---------------------------------------------------------------------------- sentences


def test_split_sentences_on_punctuation() -> None:
    text = "Thủ tục này mất ba ngày làm việc. Anh chị cần mang căn cước! Có cần gì thêm không? Cảm ơn anh chị."
    assert split_sentences(text) == [
        "Thủ tục này mất ba ngày làm việc.",
        "Anh chị cần mang căn cước!",
        "Có cần gì thêm không?",
        "Cảm ơn anh chị.",
    ]


def test_split_sentences_keeps_decimals_and_abbreviations() -> None:
    text = ("Lệ phí là 1.250.000 đồng, tăng 2.5 lần. Trụ sở ở TP. HCM, Q. 1, P. Bến Thành. "
            "Mang giấy tờ, v.v. và nộp tại quầy. Mã thủ tục 1.001193 trên cổng.")
    assert split_sentences(text) == [
        "Lệ phí là 1.250.000 đồng, tăng 2.5 lần.",
        "Trụ sở ở TP. HCM, Q. 1, P. Bến Thành.",
        "Mang giấy tờ, v.v. và nộp tại quầy.",
        "Mã thủ tục 1.001193 trên cổng.",
    ]


def test_split_sentences_merges_tiny_fragments_and_cuts_long_ones() -> None:
    assert split_sentences("Dạ. Thủ tục đăng ký khai sinh làm tại quầy số một. Vâng.") == [
        "Dạ. Thủ tục đăng ký khai sinh làm tại quầy số một. Vâng.",
    ]
    long = ", ".join(["mang theo tờ khai đăng ký khai sinh"] * 20) + "."
    parts = split_sentences(long, max_chars=120)
    assert len(parts) > 1 and all(len(p) <= 120 for p in parts)
    assert " ".join(parts) == long


def test_split_sentences_lines_empty_and_nfd() -> None:
    assert split_sentences("") == []
    assert split_sentences("  ") == []
    assert split_sentences("Hồ sơ gồm tờ khai\nvà bản sao căn cước") == ["Hồ sơ gồm tờ khai", "và bản sao căn cước"]
    nfd = unicodedata.normalize("NFD", "Đăng ký khai sinh ở đâu? Ở quầy số một nhé.")
    assert split_sentences(nfd) == ["Đăng ký khai sinh ở đâu?", "Ở quầy số một nhé."]
