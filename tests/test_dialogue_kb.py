"""Knowledge base loading and validation: the real KB passes, each kind of bad record is named."""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import pytest
import yaml

from dialogue.kb import KbError, KbInvalidError, load_knowledge_base, validate_kb

REPO = Path(__file__).resolve().parent.parent
KB_DIR = REPO / "dialogue" / "kb" / "procedures"
CENTER = REPO / "config" / "center.yaml"

CONTRACT_IDS = {
    "dang_ky_khai_sinh", "dang_ky_ket_hon", "dang_ky_khai_tu", "xac_nhan_tinh_trang_hon_nhan",
    "dang_ky_nhan_cha_me_con", "dang_ky_giam_ho", "thay_doi_cai_chinh_ho_tich", "cap_ban_sao_trich_luc_ho_tich",
    "dang_ky_lai_khai_sinh", "dang_ky_nuoi_con_nuoi", "chung_thuc_ban_sao", "chung_thuc_chu_ky",
    "chung_thuc_hop_dong", "chung_thuc_di_chuc", "cap_the_bhyt_tre_em", "cap_phieu_ly_lich_tu_phap",
    "dang_ky_thuong_tru", "dang_ky_tam_tru", "khai_bao_tam_vang", "xac_nhan_thong_tin_cu_tru", "cap_the_can_cuoc",
    "cap_tai_khoan_dinh_danh_dien_tu", "dang_ky_ho_kinh_doanh", "thay_doi_tam_ngung_ho_kinh_doanh",
    "tro_cap_xa_hoi_hang_thang", "ho_tro_chi_phi_mai_tang", "xac_dinh_muc_do_khuyet_tat",
    "cong_nhan_ho_ngheo_can_ngheo", "cap_gcn_quyen_su_dung_dat_lan_dau", "dang_ky_bien_dong_dat_dai",
    "cap_giay_phep_xay_dung_nha_o", "tro_giup_xa_hoi_khan_cap",
}  # fmt: skip


def test_real_kb_is_valid_and_complete() -> None:
    errors = validate_kb(KB_DIR, CENTER)
    assert errors == [], "\n".join(map(str, errors))
    kb = load_knowledge_base(KB_DIR, CENTER)
    assert set(kb.procedures) == CONTRACT_IDS
    khai_sinh = kb.procedures["dang_ky_khai_sinh"]
    assert khai_sinh.counter == "ho_tich"
    assert len(khai_sinh.examples) >= 8
    assert khai_sinh.submission_methods and khai_sinh.required_papers and khai_sinh.sources


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A private copy of one good record, to break in each test."""
    d = tmp_path / "procedures"
    d.mkdir()
    shutil.copy(KB_DIR / "dang_ky_khai_sinh.yaml", d / "dang_ky_khai_sinh.yaml")
    return d


def _edit(kb_dir: Path, stem: str, change) -> None:
    path = kb_dir / f"{stem}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _only_error(kb_dir: Path) -> KbError:
    errors = validate_kb(kb_dir, CENTER)
    assert len(errors) == 1, errors
    return errors[0]


def test_copy_of_good_record_is_valid(kb_copy: Path) -> None:
    assert validate_kb(kb_copy, CENTER) == []


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (lambda d: d.pop("counter"), "counter", "missing field"),
        (lambda d: d.update(steps="one step"), "steps", "wrong type str"),
        (lambda d: d.update(category="sport"), "category", "unknown category 'sport'"),
        (lambda d: d.update(counter="quay_99"), "counter", "unknown counter key 'quay_99'"),
        (lambda d: d.update(id="dang_ky_khai_sinh_2"), "id", "differs from the file name"),
        (lambda d: d.update(examples=d["examples"][:7]), "examples", "at least 8"),
        (lambda d: d.update(date_checked="2026-13-45"), "date_checked", "bad date"),
        (lambda d: d.update(date_checked="hôm qua"), "date_checked", "bad date"),
        (lambda d: d.update(name=unicodedata.normalize("NFD", d["name"])), "name", "not Unicode NFC"),
        (lambda d: d["submission_methods"][0].update(fee_vnd="free"), "submission_methods[0].fee_vnd", "wrong type"),
        (lambda d: d["required_papers"][0].update(original_or_copy="scan"), "required_papers[0].original_or_copy",
         "unknown value"),
        (lambda d: d["online"].update(available="yes"), "online.available", "expected true or false"),
    ],
)  # fmt: skip
def test_bad_record_names_file_field_reason(kb_copy: Path, change, field: str, reason: str) -> None:
    _edit(kb_copy, "dang_ky_khai_sinh", change)
    err = _only_error(kb_copy)
    assert err.file == "dang_ky_khai_sinh.yaml"
    assert err.field == field
    assert reason in err.reason
    assert str(err) == f"dang_ky_khai_sinh.yaml: {field}: {err.reason}"
    with pytest.raises(KbInvalidError) as info:
        load_knowledge_base(kb_copy, CENTER)
    assert info.value.errors == [err]
    assert "python -m dialogue validate" in str(info.value)


def test_duplicate_ids_are_rejected(kb_copy: Path) -> None:
    twin = kb_copy / "zz_copy.yaml"
    shutil.copy(kb_copy / "dang_ky_khai_sinh.yaml", twin)
    errors = validate_kb(kb_copy, CENTER)
    reasons = [str(e) for e in errors]
    assert any(e.file == "zz_copy.yaml" and e.field == "id" and "duplicate id" in e.reason for e in errors), reasons


def test_yaml_syntax_error_names_line(kb_copy: Path) -> None:
    path = kb_copy / "dang_ky_khai_sinh.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nexamples: [unclosed\n", encoding="utf-8")
    err = _only_error(kb_copy)
    assert err.file == "dang_ky_khai_sinh.yaml" and err.field == "(file)"
    assert "YAML syntax error at line" in err.reason


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    errors = validate_kb(tmp_path / "nope", CENTER)
    assert errors and "not found" in errors[0].reason
