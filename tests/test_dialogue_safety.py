"""Issue 10: safe uncertainty, deaths, officials, procedures done elsewhere, rejected speech, long questions.

Real engine, real intent model trained from the real KB (shared with test_dialogue_manager).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from dialogue import DialogueEngine
from dialogue.longform import sentences
from dialogue.textrules import asks_for_official, mentions_death
from dialogue.uncertainty import Thresholds, decide
from kiosk_protocol import Candidate
from tests.test_dialogue_manager import CENTER, KB_DIR, trained_model_dir

REPO = Path(__file__).resolve().parent.parent
_ids = itertools.count()
PROCS = {"a", "b", "c"}
TH = Thresholds(answer=0.6, confirm=0.3, margin=0.1, offer_total=0.35)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> DialogueEngine:
    return DialogueEngine.load(trained_model_dir(tmp_path_factory), KB_DIR, CENTER)


@pytest.fixture
def sid() -> str:
    return f"safety-{next(_ids)}"


# ---- the decision rule, on its own --------------------------------------------------------------
@pytest.mark.parametrize(
    ("ranked", "action", "procs"),
    [
        ([("a", 0.8), ("b", 0.1)], "answer", ["a"]),
        ([("a", 0.45), ("b", 0.2), ("c", 0.1)], "confirm", ["a", "b", "c"]),
        ([("a", 0.3), ("b", 0.28), ("oos", 0.2)], "choose", ["a", "b"]),
        ([("a", 0.65), ("b", 0.6)], "choose", ["a", "b"]),  # sure of neither: no answer, no confirm
        ([("oos", 0.9), ("a", 0.05)], "none", []),
        ([("greeting", 0.4), ("a", 0.1), ("b", 0.05)], "none", []),
    ],
)
def test_decide(ranked, action, procs) -> None:
    d = decide(ranked, PROCS, TH)
    assert d.action == action and d.procedures == procs


# ---- text cues ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "death"),
    [
        ("bố tôi vừa mất, tôi cần làm giấy tờ gì", True),
        ("ông nhà tôi đi rồi, con cháu phải làm gì", True),
        ("mẹ tôi qua đời ở bệnh viện", True),
        ("chồng tôi mất vì tai nạn", True),
        ("bo toi vua mat", True),
        ("tôi bị mất giấy khai sinh", False),
        ("mẹ tôi mất căn cước rồi", False),
        ("làm căn cước mất bao lâu", False),
        ("con tôi mất mấy ngày thì có giấy", False),
    ],
)
def test_mentions_death(text: str, death: bool) -> None:
    assert mentions_death(text) is death


def test_asks_for_official() -> None:
    assert asks_for_official("cho tôi gặp chủ tịch phường")
    assert asks_for_official("toi muon gap lanh dao")
    assert not asks_for_official("tôi muốn làm khai sinh cho con")


# ---- typed turns --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "ông nhà tôi đi rồi, giờ con cháu phải làm giấy tờ gì",
        "bà tôi vừa nằm xuống hôm qua, gia đình cần làm gì",
        "mẹ tôi mất tuần trước, nhà có cần báo với phường không",
        "bố tôi mới qua đời, anh em tôi phải làm những gì",
        "Chồng tôi mất vì tai nạn giao thông cách đây hai tuần. Tôi đang rất rối, không biết phải làm "
        "những giấy tờ gì trước.",
    ],
)
def test_a_death_in_everyday_words_leads_to_death_registration(engine: DialogueEngine, sid: str, text: str) -> None:
    """Issue 10 (b): never paternity, land or another unrelated procedure."""
    r = engine.respond(text, sid, source="screen")
    assert r.procedure_id in ("dang_ky_khai_tu", "ho_tro_chi_phi_mai_tang"), (text, r.intent)
    if r.procedure_id == "dang_ky_khai_tu":  # funeral support offered beside it
        assert [c["procedure_id"] for c in r.reply_screen["candidates"]] == ["ho_tro_chi_phi_mai_tang"]


def test_funeral_support_is_answered_when_asked(engine: DialogueEngine, sid: str) -> None:
    r = engine.respond("ông tôi hưởng trợ cấp xã hội vừa mất, nhà có được hỗ trợ tiền mai táng không", sid)
    assert r.procedure_id == "ho_tro_chi_phi_mai_tang"


def test_asking_for_an_official_offers_staff(engine: DialogueEngine, sid: str) -> None:
    """Issue 10 (c): not refused; a staff member is offered, and "có" calls one (the citizen asked)."""
    r = engine.respond("cho tôi gặp chủ tịch phường", sid, source="screen")
    assert not r.escalate and "cán bộ" in r.reply_voice and r.reply_voice.endswith("không ạ?")
    r2 = engine.respond("có", sid, source="screen")
    assert r2.escalate and r2.escalation_reason == "visitor_request"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("tôi muốn làm hộ chiếu", "xuất nhập cảnh"),
        ("đổi bằng lái xe ở đâu", "Cảnh sát giao thông"),
        ("thành lập công ty thì nộp hồ sơ ở đâu", "Sở Tài chính"),
        ("cho hỏi rút bảo hiểm xã hội một lần", "Bảo hiểm xã hội"),
    ],
)
def test_procedures_done_elsewhere_say_where(engine: DialogueEngine, sid: str, text: str, where: str) -> None:
    """Issue 10 (d): say where it is done, do not just refuse; not a failure."""
    r = engine.respond(text, sid, source="screen")
    assert r.intent == "elsewhere" and not r.escalate and r.procedure_id is None
    assert where in r.reply_voice and r.reply_screen["elsewhere"]["where"]
    assert "không làm tại trung tâm này" in r.reply_voice


# ---- spoken turns -------------------------------------------------------------------------------
def test_a_rejected_transcript_gets_a_reply_never_silence(engine: DialogueEngine, sid: str) -> None:
    before = engine.counters["rejected_transcripts"]
    r = engine.hear("Hãy subscribe cho kênh", [("Hãy subscribe cho kênh", 0.3)], accepted=False,
                    reject_reason="known Whisper hallucination", session_id=sid)
    assert r.reply_screen["type"] == "not_understood" and "nói lại" in r.reply_voice
    assert not r.escalate and r.procedure_id is None
    assert engine.counters["rejected_transcripts"] == before + 1
    r = engine.hear("", [], accepted=False, reject_reason="no speech", session_id=sid)
    assert not r.escalate and "cán bộ" in r.reply_voice  # after a few: staff offered, not called
    r = engine.hear("có", [("có", 0.9)], session_id=sid)
    assert r.escalate and r.escalation_reason == "visitor_request"  # now the citizen asked


def test_garbled_speech_never_claims_the_citizen_asked_for_staff(engine: DialogueEngine, sid: str) -> None:
    for i, text in enumerate(("cái bồ hội với tôi", "cán bộ lô xe ca", "gọi bộ đội đi ạ", "nhân viên bán hàng")):
        r = engine.hear(text, [(text, 0.2)], session_id=f"{sid}-{i}")
        assert not (r.escalate and r.escalation_reason == "visitor_request"), (text, r.intent)


def test_uncertain_speech_is_confirmed_then_answered(engine: DialogueEngine, sid: str) -> None:
    """Between sure and no idea: "Bà con hỏi về ... phải không ạ?" with candidate buttons."""
    hyps = [("hành ký khai xinh", 0.4), ("hành kỳ khai xin", 0.3), ("anh ký khai sinh", 0.3)]
    r = engine.hear(hyps[0][0], hyps, session_id=sid)
    screen = r.reply_screen
    if screen["type"] == "procedure":  # the model is sure: then it must be right
        assert r.procedure_id == "dang_ky_khai_sinh"
        return
    assert screen["type"] in ("confirm", "clarify") and r.procedure_id is None
    candidates = [Candidate(**c) for c in screen["candidates"]]  # kiosk_protocol.Candidate
    assert "dang_ky_khai_sinh" in [c.procedure_id for c in candidates]
    if screen["type"] == "confirm":
        assert r.reply_voice.startswith("Bà con hỏi về") and r.reply_voice.endswith("phải không ạ?")
        first = candidates[0].procedure_id
        r2 = engine.hear("đúng rồi", [("đúng rồi", 0.9)], session_id=sid)
        assert r2.procedure_id == first and r2.reply_screen["type"] == "procedure"


def test_confirm_no_asks_again_with_the_other_candidates(engine: DialogueEngine, sid: str) -> None:
    s = engine._session(sid, 0.0)
    s.pending = {"kind": "confirm", "options": ["dang_ky_khai_tu", "ho_tro_chi_phi_mai_tang"], "focus": None}
    r = engine.hear("không phải", [("không phải", 0.9)], session_id=sid, now_s=1.0)
    assert r.procedure_id is None and "nói lại" in r.reply_voice
    assert [c["procedure_id"] for c in r.reply_screen["candidates"]] == ["ho_tro_chi_phi_mai_tang"]


def test_fillers_and_noise_words_get_no_procedure(engine: DialogueEngine, sid: str) -> None:
    for i, text in enumerate(("ừ ừ à à", "ờ", "hmm hmm")):
        r = engine.hear(text, [(text, 0.3)], session_id=f"{sid}-{i}")
        assert r.reply_screen["type"] != "procedure", (text, r.procedure_id)
        assert r.reply_voice


# ---- long typed questions -----------------------------------------------------------------------
def test_sentences_split() -> None:
    assert sentences("Tôi 35 tuổi. Vợ tôi vừa sinh con? Xin hỏi thủ tục!") == [
        "Tôi 35 tuổi.", "Vợ tôi vừa sinh con?", "Xin hỏi thủ tục!"]


def test_long_questions_never_get_a_wrong_card_for_most(engine: DialogueEngine) -> None:
    """A share of the held-out long questions (benchmarks/data/longform_questions.yaml)."""
    data = yaml.safe_load((REPO / "benchmarks" / "data" / "longform_questions.yaml").read_text(encoding="utf-8"))
    wrong = 0
    for i, q in enumerate(data["questions"][::4]):
        r = engine.respond(q["text"], f"long-{i}", source="screen")
        ok = {q["intent"], *(q.get("also") or [])}
        if r.reply_screen["type"] == "procedure" and r.procedure_id not in ok:
            wrong += 1
    assert wrong <= 1
