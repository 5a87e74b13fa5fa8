"""Intent model: text preparation, ONNX inference, training reproducibility and failure modes.

Models are trained into temporary folders with reduced augmentation to keep the tests fast.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from dialogue.augment import ELDERLY_OPENINGS, augment, elderly, old_names, regionalize
from dialogue.model import META_FILE, MODEL_FILE, OUT_OF_SCOPE, IntentModel, ModelUnavailable, prepare_text
from dialogue.train import TrainOptions, fit_pipeline, train

KB_ROOT = Path(__file__).resolve().parent.parent / "dialogue" / "kb"
FAST = TrainOptions(variants_per_example=3, templates_per_alias=3, max_iter=200)
SMALL_PROCEDURES = ("dang_ky_khai_sinh", "dang_ky_ket_hon", "dang_ky_thuong_tru", "chung_thuc_ban_sao")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("intent") / "dialogue"
    train(KB_ROOT, out, seed=13, quiet=True, strict=False, options=FAST)
    return out


@pytest.fixture(scope="module")
def model(model_dir: Path) -> IntentModel:
    return IntentModel.load(model_dir)


@pytest.fixture(scope="module")
def small_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the KB with four procedures (fast trainings)."""
    root = tmp_path_factory.mktemp("small_kb")
    (root / "procedures").mkdir()
    for pid in SMALL_PROCEDURES:
        shutil.copy(KB_ROOT / "procedures" / f"{pid}.yaml", root / "procedures")
    for name in ("acts.yaml", "out_of_scope.yaml"):
        shutil.copy(KB_ROOT / name, root)
    return root


def test_prepare_text_normalizes_case_unicode_and_diacritics() -> None:
    prepared = prepare_text("  Đăng KÝ   khai sinh?! ")
    assert prepared == " đăng ký khai sinh | dang ky khai sinh | zan ci khai xin "
    assert prepare_text(unicodedata.normalize("NFD", "Đăng ký khai sinh")) == prepare_text("Đăng ký khai sinh")
    assert prepare_text("") == prepare_text("   ") == prepare_text("😀 <b></b>") == " _ | _ | _ "
    assert prepare_text("ờ ờ ờ khai khai sinh") == " ờ khai sinh | o khai sinh | o khai xin "


@pytest.mark.parametrize(
    ("heard", "said"),
    [("hành ký khai xinh", "đăng ký khai sinh"), ("chứng thực", "trứng thực"), ("kết hôn", "kết hông"),
     ("giấy phép", "dấy phép"), ("lý lịch", "ný lịch"), ("sổ đỏ", "xổ đỏ"), ("tạm trú", "tạm chú")],
)
def test_phonetic_key_merges_common_recognition_confusions(heard: str, said: str) -> None:
    """Tone-insensitive syllables with tr/ch, s/x, r/d/gi, n/l, -n/-ng, -t/-c merged (issue 10)."""
    from dialogue.model import phonetic_key
    from kiosk_protocol.text import fold_diacritics

    key = lambda t: phonetic_key(fold_diacritics(t))  # noqa: E731
    if heard.startswith("hành"):
        assert key(heard).split()[1:] == key(said).split()[1:]  # only the first initial differs
    else:
        assert key(heard) == key(said)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("cho em hỏi làm giấy khai sinh cho con cần những gì", "dang_ky_khai_sinh"),
        ("cho em hoi lam giay khai sinh cho con can nhung gi", "dang_ky_khai_sinh"),
        ("đăng ký kết hôn cần giấy tờ gì", "dang_ky_ket_hon"),
        ("dang ky ket hon can giay to gi", "dang_ky_ket_hon"),
        ("tôi muốn nhập hộ khẩu cho con", "dang_ky_thuong_tru"),
        ("mấy giờ mở cửa vậy em", "ask_opening_hours"),
        ("xin chào", "greeting"),
        ("cam on em nhieu", "thanks"),
    ],
)
def test_clear_questions(model: IntentModel, text: str, intent: str) -> None:
    pred = model.predict(text)
    assert pred.intent == intent, pred
    assert not pred.out_of_scope
    assert pred.ranked[0][0] == intent
    assert len(pred.ranked) == 3


def test_nfd_input_equals_nfc_input(model: IntentModel) -> None:
    text = "Cho em hỏi chứng thực bản sao hết bao nhiêu tiền"
    nfc_probs = model.predict_proba([unicodedata.normalize("NFC", text)])
    nfd_probs = model.predict_proba([unicodedata.normalize("NFD", text)])
    np.testing.assert_array_equal(nfc_probs, nfd_probs)


@pytest.mark.parametrize("text", ["giá vàng hôm nay", "gia vang hom nay bao nhieu"])
def test_gold_price_is_out_of_scope(model: IntentModel, text: str) -> None:
    pred = model.predict(text)
    assert pred.intent == OUT_OF_SCOPE
    assert pred.out_of_scope


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "😀🙏🎉",
        "<script>alert('x')</script>",
        "<b></b>{}[]",
        "x" * 10_000,
        "😀" * 10_000,
        "\u200b\u200b",
        "1234567890",
        "\x00\x01",
    ],
)
def test_garbage_input_does_not_crash_or_pick_a_procedure_confidently(model: IntentModel, text: str) -> None:
    pred = model.predict(text)
    assert 0.0 <= pred.confidence <= 1.0
    procedures = {p.stem for p in (KB_ROOT / "procedures").glob("*.yaml")}
    assert not (pred.intent in procedures and pred.confidence >= 0.5), pred


def test_very_long_question_keeps_its_start(model: IntentModel) -> None:
    pred = model.predict("cho em hỏi làm giấy khai sinh cho con " + "ờ " * 5_000)
    assert pred.intent == "dang_ky_khai_sinh"


def test_onnx_matches_the_training_pipeline(small_kb: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    train(small_kb, out, seed=7, quiet=True, strict=False, options=FAST)
    onnx_model = IntentModel.load(out)
    pipe = fit_pipeline(small_kb, seed=7, strict=False, options=FAST)
    texts = ["làm giấy khai sinh", "CHUNG THUC BAN SAO", "giá vàng", "", "ở", "hộ khẩu thường trú ở đâu ạ"]
    sk = pipe.predict_proba([prepare_text(t) for t in texts])  # type: ignore[attr-defined]
    assert list(pipe.classes_) == onnx_model.labels  # type: ignore[attr-defined]
    np.testing.assert_allclose(onnx_model.predict_proba(texts), sk, atol=1e-4)


def test_training_is_reproducible(small_kb: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    ra = train(small_kb, a, seed=5, quiet=True, strict=False, options=FAST)
    rb = train(small_kb, b, seed=5, quiet=True, strict=False, options=FAST)
    assert ra["model_sha256"] == rb["model_sha256"]
    assert ra["training_data_sha256"] == rb["training_data_sha256"]
    assert (a / MODEL_FILE).read_bytes() == (b / MODEL_FILE).read_bytes()
    texts = ["ket hon o dau", "chào em", "xổ số hôm nay", "ban sao giay to"]
    ma, mb = IntentModel.load(a), IntentModel.load(b)
    assert [ma.predict(t) for t in texts] == [mb.predict(t) for t in texts]
    rc = train(small_kb, tmp_path / "c", seed=6, quiet=True, strict=False, options=FAST)
    assert rc["training_data_sha256"] != ra["training_data_sha256"]


def test_augmentation_is_seeded() -> None:
    text = "cho em hỏi đăng ký khai sinh cần giấy tờ gì"
    assert augment(text, random.Random(1), 8) == augment(text, random.Random(1), 8)
    assert augment(text, random.Random(1), 8) != augment(text, random.Random(2), 8)
    assert len(augment(text, random.Random(1), 8)) == 8


def test_regional_elderly_and_old_name_variants_keep_the_question() -> None:
    text = "cho em hỏi làm căn cước ở đâu thì cần giấy tờ gì không"
    regional = {regionalize(text, random.Random(i)) for i in range(20)}
    assert any(" mô" in t or " chi" in t or "hông" in t or "mần" in t for t in regional)
    assert all("căn cước" in t for t in regional)
    wrapped = [elderly(text, random.Random(i)) for i in range(20)]
    assert all(text in t for t in wrapped) and any(len(t) > len(text) + 20 for t in wrapped)
    renamed = {old_names(text, random.Random(i)) for i in range(20)}
    assert any("chứng minh" in t for t in renamed)
    assert regionalize(text, random.Random(3)) == regionalize(text, random.Random(3))
    # Short dialogue acts get no elderly wrappers.
    short = augment("không", random.Random(4), 10, long_forms=False)
    assert not any(o in v for v in short for o in ELDERLY_OPENINGS)
    assert any(o in v for v in augment(text, random.Random(4), 10) for o in ELDERLY_OPENINGS)


def test_missing_model_file_raises_model_unavailable(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable) as err:
        IntentModel.load(tmp_path / "nowhere")
    assert "dialogue.onnx" in str(err.value)
    assert "python -m dialogue train" in str(err.value)
    partial = tmp_path / "only_meta"
    partial.mkdir()
    shutil.copy(model_dir / META_FILE, partial)
    with pytest.raises(ModelUnavailable, match=r"dialogue\.onnx"):
        IntentModel.load(partial)


def test_corrupt_model_file_raises_model_unavailable(model_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(model_dir, bad)
    (bad / MODEL_FILE).write_bytes(b"not an onnx file")
    with pytest.raises(ModelUnavailable, match="python -m dialogue train"):
        IntentModel.load(bad)


def test_failed_training_keeps_the_last_good_model(model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "kept"
    shutil.copytree(model_dir, out)
    before = hashlib.sha256((out / MODEL_FILE).read_bytes()).hexdigest()
    empty_kb = tmp_path / "empty_kb"
    (empty_kb / "procedures").mkdir(parents=True)
    shutil.copy(KB_ROOT / "acts.yaml", empty_kb)
    with pytest.raises(ValueError, match="no procedure files"):
        train(empty_kb, out, quiet=True, strict=False, options=FAST)
    assert hashlib.sha256((out / MODEL_FILE).read_bytes()).hexdigest() == before
    assert IntentModel.load(out).predict("xin chào").intent == "greeting"
    assert not list(tmp_path.glob(".kept.*"))


def test_nbest_fusion_equals_predict_for_one_hypothesis_and_recovers_from_a_garbled_top(model: IntentModel) -> None:
    text = "tôi muốn đăng ký kết hôn"
    single = model.predict_hypotheses([(text, 0.7)])
    assert single.intent == model.predict(text).intent
    typed = model.predict(text).ranked
    assert [label for label, _ in single.ranked] == [label for label, _ in typed]
    assert [p for _, p in single.ranked] == pytest.approx([p for _, p in typed], abs=1e-6)
    garbled_top = [("tôi muốn tăng ký kết hùng ba", 0.40), ("tôi muốn đăng ký kết hôn", 0.39),
                   ("tôi muốn đăng kí kết hôn", 0.38)]
    assert model.predict_hypotheses(garbled_top).intent == "dang_ky_ket_hon"
    # an empty or symbol-only top hypothesis is still "nothing to classify"
    assert model.predict_hypotheses([("🙂", 0.9), ("kết hôn", 0.1)]).out_of_scope
