"""DialogueEngine end to end with the real intent model trained from the real KB."""

from __future__ import annotations

import itertools
import re
import shutil
import unicodedata
from pathlib import Path

import pytest
import yaml

from dialogue import DialogueEngine, DialogueUnavailable, EngineReply
from dialogue.manager import EngineOptions

REPO = Path(__file__).resolve().parent.parent
KB_ROOT = REPO / "dialogue" / "kb"
KB_DIR = KB_ROOT / "procedures"
CENTER = REPO / "config" / "center.yaml"
_ids = itertools.count()


def trained_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Train the intent model once per test run (shared by the dialogue test modules)."""
    from dialogue.train import train

    out = tmp_path_factory.getbasetemp() / "dialogue_model"
    if not (out / "dialogue.onnx").is_file():
        train(KB_ROOT, out, seed=13, quiet=True)
    return out


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_model_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def engine(model_dir: Path) -> DialogueEngine:
    return DialogueEngine.load(model_dir, KB_DIR, CENTER)


@pytest.fixture
def sid() -> str:
    return f"visitor-{next(_ids)}"


def _khai_sinh_fee(engine: DialogueEngine) -> str:
    return engine.kb.procedures["dang_ky_khai_sinh"].submission_methods[0].fee


def _check_voice(reply: EngineReply) -> None:
    v = reply.reply_voice
    assert v and v == unicodedata.normalize("NFC", v)
    assert not re.search(r"https?://|www\.|[*_#`<>\[\]|/]", v), v
    assert len(re.findall(r"[.?!](?:\s|$)", v)) <= 3, v  # <= 2 sentences, then an offer


SCREEN_KEYS = {"type", "title", "text", "procedure", "address", "choices"}
PROCEDURE_KEYS = {
    "id", "code", "name", "field", "agency", "steps", "papers", "methods", "counter", "online", "result",
    "legal_basis", "sources", "date_checked", "focus",
}  # fmt: skip


def test_procedure_then_follow_ups(engine: DialogueEngine, sid: str) -> None:
    r = engine.respond("cho em hỏi làm giấy khai sinh cho con", sid, now_s=0)
    assert r.intent == "dang_ky_khai_sinh" and r.procedure_id == "dang_ky_khai_sinh"
    assert "khai sinh cho con" in r.reply_voice
    assert "quầy số 1" in r.reply_voice
    assert r.reply_voice.endswith("Anh chị có muốn nghe các giấy tờ cần mang không?")
    assert set(r.reply_screen) >= SCREEN_KEYS and r.reply_screen["type"] == "procedure"
    card = r.reply_screen["procedure"]
    assert set(card) == PROCEDURE_KEYS
    assert card["counter"] == {"number": 1, "label": "Quầy 1 – Hộ tịch"}
    assert card["methods"][0]["method"] == "Nộp trực tiếp"
    assert card["papers"][0]["name"] == "Tờ khai đăng ký khai sinh"
    _check_voice(r)

    fee = engine.respond("thế lệ phí bao nhiêu?", sid, now_s=5)
    assert fee.procedure_id == "dang_ky_khai_sinh"
    assert fee.reply_screen["procedure"]["focus"] == "fee"
    assert "miễn lệ phí nếu đăng ký đúng hạn" in fee.reply_voice
    assert _khai_sinh_fee(engine).startswith("Miễn lệ phí")
    _check_voice(fee)

    for question, focus, expected in [
        ("mất mấy ngày?", "time", "ngay trong ngày làm việc"),
        ("nộp online được không?", "online", "trực tuyến"),
        ("ở quầy nào?", "where", "quầy số 1"),
    ]:
        r = engine.respond(question, sid, now_s=10)
        assert r.procedure_id == "dang_ky_khai_sinh", question
        assert r.reply_screen["procedure"]["focus"] == focus, question
        assert expected in r.reply_voice, (question, r.reply_voice)
        _check_voice(r)


def test_follow_up_switches_to_named_procedure(engine: DialogueEngine, sid: str) -> None:
    engine.respond("làm giấy khai sinh", sid, now_s=0)
    r = engine.respond("còn đăng ký kết hôn thì lệ phí bao nhiêu", sid, now_s=3)
    assert r.procedure_id == "dang_ky_ket_hon"
    assert r.reply_screen["procedure"]["focus"] == "fee"


def test_yes_after_offer_reads_papers_then_fee(engine: DialogueEngine, sid: str) -> None:
    engine.respond("dang ky khai sinh", sid, now_s=0)
    papers = engine.respond("có", sid, now_s=2)
    assert papers.procedure_id == "dang_ky_khai_sinh"
    assert papers.reply_screen["procedure"]["focus"] == "papers"
    assert "tờ khai đăng ký khai sinh" in papers.reply_voice
    assert "lệ phí và thời gian" in papers.reply_voice  # the next offer
    fee = engine.respond("vâng", sid, now_s=4)
    assert fee.reply_screen["procedure"]["focus"] == "fee"
    assert "Thời gian giải quyết" in fee.reply_voice
    _check_voice(papers)
    _check_voice(fee)


def test_no_after_offer(engine: DialogueEngine, sid: str) -> None:
    engine.respond("làm tạm trú", sid, now_s=0)
    r = engine.respond("không cần", sid, now_s=1)
    assert r.reply_screen["type"] == "message" and not r.escalate
    assert "cứ hỏi" in r.reply_voice


def test_clarification_asks_which_and_resolves(model_dir: Path, sid: str) -> None:
    # A wide margin makes any two likely procedures "close", so the flow is tested on real predictions.
    eng = DialogueEngine.load(model_dir, KB_DIR, CENTER, options=EngineOptions(clarify_margin=1.0))
    q = eng.respond("làm lại giấy khai sinh", sid, now_s=0)
    assert q.reply_screen["type"] == "clarify"
    choices = q.reply_screen["choices"]
    assert len(choices) == 2
    assert q.reply_voice.startswith("Anh chị hỏi") and " hay " in q.reply_voice and q.reply_voice.endswith("ạ?")
    first, second = (c["text"] for c in choices)
    ids = {p.name: p.id for p in eng.kb.procedures.values()}
    # pressing the second button (the screen sends its text)
    r = eng.respond(second, sid, source="screen", now_s=2)
    assert r.procedure_id == ids[second]
    assert r.reply_screen["type"] == "procedure"

    # a yes to "A hay B?" takes the first one
    sid2 = sid + "-b"
    eng.respond("làm lại giấy khai sinh", sid2, now_s=0)
    assert eng.respond("đúng rồi", sid2, now_s=1).procedure_id == ids[first]


def test_clear_question_is_answered_without_clarifying(engine: DialogueEngine, sid: str) -> None:
    r = engine.respond("đăng ký kết hôn cần giấy tờ gì", sid, now_s=0)
    assert r.reply_screen["type"] == "procedure" and r.procedure_id == "dang_ky_ket_hon"
    assert r.reply_screen["procedure"]["focus"] == "papers"


def test_repeat_and_speak_slower(engine: DialogueEngine, sid: str) -> None:
    first = engine.respond("chứng thực bản sao", sid, now_s=0)
    again = engine.respond("nhắc lại giúp tôi", sid, now_s=1)
    assert again.intent == "repeat"
    assert again.reply_voice == first.reply_voice
    assert again.reply_screen == first.reply_screen
    slow = engine.respond("nói chậm thôi", sid, now_s=2)
    assert slow.intent == "speak_slower"
    assert slow.reply_voice == first.reply_voice
    assert slow.reply_screen["speech_rate"] == 0.8
    assert "speech_rate" not in first.reply_screen
    later = engine.respond("lệ phí bao nhiêu", sid, now_s=3)  # stays slow for this visitor
    assert later.reply_screen["speech_rate"] == 0.8


def test_out_of_scope_then_escalation_after_two_failures(engine: DialogueEngine, sid: str) -> None:
    r1 = engine.respond("giá vàng hôm nay", sid, now_s=0)
    assert r1.intent == "out_of_scope" and r1.procedure_id is None and not r1.escalate
    assert "quầy" in r1.reply_voice and "gọi cán bộ" in r1.reply_voice
    r2 = engine.respond("kết quả bóng đá tối qua", sid, now_s=1)
    assert r2.escalate and r2.escalation_reason == "repeated_failures"
    assert r2.reply_screen["type"] == "escalation"
    r3 = engine.respond("làm căn cước", sid, now_s=2)  # counting starts over
    assert not r3.escalate and r3.procedure_id == "cap_the_can_cuoc"


def test_success_resets_failure_count(engine: DialogueEngine, sid: str) -> None:
    engine.respond("giá vàng hôm nay", sid, now_s=0)
    engine.respond("làm giấy khai sinh", sid, now_s=1)
    assert not engine.respond("giá vàng hôm nay", sid, now_s=2).escalate


@pytest.mark.parametrize("opener", ["cho tôi hỏi", "dạ cho em hỏi chút"])
def test_a_bare_opener_invites_the_question_and_the_question_follows(engine: DialogueEngine, sid: str,
                                                                     opener: str) -> None:
    first = engine.respond(opener, sid, now_s=0)
    assert first.intent == "greeting" and not first.escalate
    assert "hỏi" in first.reply_voice
    second = engine.respond("làm căn cước ở đâu", sid, now_s=2)
    assert second.procedure_id == "cap_the_can_cuoc"


def test_the_intent_is_read_from_the_whole_n_best_list(engine: DialogueEngine, sid: str) -> None:
    hypotheses = [("tôi muốn tăng ký kết hùng ba", 0.40), ("tôi muốn đăng ký kết hôn", 0.39),
                  ("tôi muốn đăng kí kết hôn", 0.38)]
    reply = engine.respond(hypotheses[0][0], sid, now_s=0, hypotheses=hypotheses)
    assert reply.procedure_id == "dang_ky_ket_hon"


def test_staff_on_request_and_yes_to_offer(engine: DialogueEngine, sid: str) -> None:
    r = engine.respond("cho tôi gặp cán bộ", sid, now_s=0)
    assert r.escalate and r.escalation_reason == "visitor_request"
    engine.respond("giá vàng hôm nay", sid + "b", now_s=0)
    yes = engine.respond("có", sid + "b", now_s=1)
    assert yes.escalate and yes.escalation_reason == "visitor_request"


def test_idle_reset_and_sessions(engine: DialogueEngine, sid: str) -> None:
    engine.respond("làm giấy khai sinh", sid, now_s=0)
    assert engine.respond("lệ phí bao nhiêu", sid, now_s=60).procedure_id == "dang_ky_khai_sinh"
    late = engine.respond("lệ phí bao nhiêu", sid, now_s=60 + 121)  # > idle_reset_s later
    assert late.procedure_id is None and "thủ tục nào" in late.reply_voice
    other = sid + "-other"
    engine.respond("đăng ký kết hôn", other, now_s=0)
    engine.end_session(other)
    assert engine.respond("lệ phí bao nhiêu", other, now_s=1).procedure_id is None
    engine.respond("đăng ký kết hôn", other, now_s=2)
    engine.start_session(other)
    assert engine.respond("lệ phí bao nhiêu", other, now_s=3).procedure_id is None


def test_acts(engine: DialogueEngine, sid: str) -> None:
    hi = engine.respond("xin chào", sid, now_s=0)
    assert hi.intent == "greeting" and "Xin chào" in hi.reply_voice and hi.reply_screen["choices"]
    hours = engine.respond("mấy giờ trung tâm mở cửa", sid, now_s=1)
    assert hours.intent == "ask_opening_hours"
    center = yaml.safe_load(CENTER.read_text(encoding="utf-8"))["center"]
    assert center["opening_hours_spoken"] in hours.reply_voice
    assert engine.respond("cảm ơn em nhiều", sid, now_s=2).intent == "thanks"
    bye = engine.respond("tạm biệt", sid, now_s=3)
    assert bye.intent == "goodbye"
    for r in (hi, hours, bye):
        _check_voice(r)


def test_address_lookup_through_engine(engine: DialogueEngine, sid: str) -> None:
    r = engine.respond("phường 12 quận 6 thành phố hồ chí minh giờ là phường nào", sid, now_s=0)
    assert r.intent == "address_lookup"
    assert r.reply_screen["type"] == "address"
    addr = r.reply_screen["address"]
    assert addr["found"] and addr["new_ward"] == "Phường Phú Lâm"
    split = engine.respond("xã Hòa Liên huyện Hòa Vang Đà Nẵng sau sáp nhập là phường nào", sid, now_s=1)
    assert len(split.reply_screen["address"]["candidates"]) >= 2
    ask = engine.respond("địa chỉ mới của tôi là gì", sid + "x", now_s=0)
    assert ask.intent == "address_lookup" and "địa chỉ cũ" in ask.reply_voice
    follow = engine.respond("phuong ben thanh quan 1 tp hcm", sid + "x", now_s=1)
    assert follow.reply_screen["address"]["new_ward"] == "Phường Bến Thành"


NFD_KHAI_SINH = unicodedata.normalize("NFD", "làm giấy khai sinh cho con")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "a" * 10_000,
        "làm giấy khai sinh " * 700,
        "😀😀😀",
        "What is the price of gold today?",
        "How do I register a birth certificate",
        "你好，请问",
        "Привет, как дела",
        "<script>alert('x')</script>",
        "'; DROP TABLE users; --",
        "SELECT * FROM procedures WHERE 1=1",
        "\x00\x07\u202e",
    ],
)
def test_bad_input_is_safe(engine: DialogueEngine, sid: str, text: str) -> None:
    r = engine.respond(text, sid, now_s=0)
    assert isinstance(r, EngineReply)
    _check_voice(r)
    if "khai sinh" not in text:
        assert r.procedure_id is None or r.confidence < 0.6, r
        assert not r.escalate


def test_nfd_and_no_diacritics_work(engine: DialogueEngine, sid: str) -> None:
    assert engine.respond(NFD_KHAI_SINH, sid, now_s=0).procedure_id == "dang_ky_khai_sinh"
    assert engine.respond("lam giay khai sinh cho con", sid + "b", now_s=0).procedure_id == "dang_ky_khai_sinh"


def test_reload_keeps_last_good(model_dir: Path, tmp_path: Path, sid: str) -> None:
    kb = tmp_path / "procedures"
    shutil.copytree(KB_DIR, kb)
    eng = DialogueEngine.load(model_dir, kb, CENTER)
    path = kb / "dang_ky_khai_sinh.yaml"
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("counter: ho_tich", "counter: quay_khong_co"), encoding="utf-8")
    assert eng.reload() is False
    assert eng.respond("làm giấy khai sinh", sid, now_s=0).procedure_id == "dang_ky_khai_sinh"
    path.write_text(good.replace('name: "Đăng ký khai sinh"', 'name: "Đăng ký khai sinh (mới)"'), encoding="utf-8")
    assert eng.reload() is True
    r = eng.respond("làm giấy khai sinh", sid + "b", now_s=0)
    assert r.reply_screen["procedure"]["name"] == "Đăng ký khai sinh (mới)"


def test_load_errors_name_file_and_fix(tmp_path: Path, model_dir: Path) -> None:
    with pytest.raises(DialogueUnavailable, match="python -m dialogue train"):
        DialogueEngine.load(tmp_path / "no_model", KB_DIR, CENTER)
    bad_kb = tmp_path / "kb"
    bad_kb.mkdir()
    (bad_kb / "x.yaml").write_text("id: [", encoding="utf-8")
    with pytest.raises(DialogueUnavailable, match=r"x\.yaml.*python -m dialogue validate"):
        DialogueEngine.load(model_dir, bad_kb, CENTER)
