"""Multi-turn dialogue manager: the public :class:`DialogueEngine` (shared contract 2).

One session per visitor keeps the current procedure, a pending question (an offer, a
clarification between two procedures, a request for an address), the last reply (for "repeat"),
the slow-speech flag and the count of consecutive failures (for the hand-over to staff).
"""

from __future__ import annotations

import copy
import logging
import re
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogue import replies
from dialogue.addresses import convert_old_address
from dialogue.center import Center, CenterConfigError, load_center
from dialogue.kb import (
    DEFAULT_CENTER_PATH,
    DEFAULT_KB_DIR,
    REPO_ROOT,
    KbInvalidError,
    KnowledgeBase,
    Procedure,
)
from dialogue.kb import load_knowledge_base as _load_kb
from dialogue.model import IntentModel, IntentPrediction, ModelUnavailable
from dialogue.slots import find_address_phrase, find_person
from kiosk_protocol.text import fold_diacritics, fold_key, nfc

__all__ = ["DEFAULT_MODEL_DIR", "DialogueEngine", "DialogueUnavailable", "EngineOptions", "EngineReply"]

log = logging.getLogger("dialogue.manager")

DEFAULT_MODEL_DIR = REPO_ROOT / "models" / "dialogue"
OUT_OF_SCOPE = "out_of_scope"
ACTS = frozenset(
    {
        "greeting", "goodbye", "thanks", "yes", "no", "repeat", "speak_slower", "call_staff",
        "ask_papers", "ask_fee", "ask_time", "ask_where", "ask_online", "ask_opening_hours",
        "address_lookup", OUT_OF_SCOPE,
    }
)  # fmt: skip
ASK_FOCUS = {
    "ask_papers": "papers",
    "ask_fee": "fee",
    "ask_time": "time",
    "ask_where": "where",
    "ask_online": "online",
}
SLOW_SPEECH_RATE = 0.8


class DialogueUnavailable(RuntimeError):
    """The engine cannot start: the message names the missing or bad file and the fix command."""


@dataclass
class EngineOptions:
    """Tunable behaviour of the dialogue manager."""

    idle_reset_s: float = 120.0  # a session with no input for this long starts over
    clarify_margin: float = 0.25  # top two procedures closer than this (probability) -> ask which
    clarify_min_total_p: float = 0.45  # ... and together at least this likely
    mention_min_p: float = 0.2  # a ranked procedure this likely counts as named in a follow-up
    max_failures: int = 2  # consecutive not-understood turns before calling staff
    max_input_chars: int = 500  # longer input is cut (the model reads less still)
    max_sessions: int = 200  # oldest idle sessions are dropped beyond this


@dataclass
class EngineReply:
    """One reply (shared contract 2)."""

    intent: str
    confidence: float
    procedure_id: str | None
    reply_voice: str
    reply_screen: dict
    escalate: bool
    escalation_reason: str
    session_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "confidence": self.confidence,
            "procedure_id": self.procedure_id,
            "reply_voice": self.reply_voice,
            "reply_screen": self.reply_screen,
            "escalate": self.escalate,
            "escalation_reason": self.escalation_reason,
            "session_id": self.session_id,
        }


@dataclass
class _Session:
    id: str
    last_s: float
    procedure_id: str | None = None
    person: str | None = None
    pending: dict[str, Any] | None = None
    failures: int = 0
    last_reply: EngineReply | None = None
    slow: bool = False
    papers_heard: set[str] = field(default_factory=set)


# --------------------------------------------------------------------------- text rules

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


def _clean(text: str, max_chars: int) -> str:
    text = nfc(str(text or ""))[:max_chars]
    text = _CONTROL_RE.sub(" ", text)
    text = _TAG_RE.sub(" ", text)
    return " ".join(text.split())


def _has_letters(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _is_foreign(text: str) -> bool:
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


def _yes_no(text: str) -> str | None:
    f = fold_key(text)
    f = re.sub(r"\b(?:a|nhe|nha|di|roi|em|chi|anh|ban|robot)$", "", f).strip() or f
    if f in _YES or fold_key(text) in _YES:
        return "yes"
    if f in _NO or fold_key(text) in _NO:
        return "no"
    return None


def _focus_from_text(text: str) -> str | None:
    f = f" {fold_key(text)} "
    for focus, words in _FOCUS_WORDS:
        if any(f" {w}" in f for w in words):
            return focus
    return None


# --------------------------------------------------------------------------- engine


class DialogueEngine:
    """Answers visitors' questions turn by turn; thread safe."""

    def __init__(
        self,
        kb: KnowledgeBase,
        model: IntentModel,
        center: Center,
        *,
        options: EngineOptions | None = None,
        model_dir: Path | None = None,
        kb_dir: Path | None = None,
        center_path: Path | None = None,
    ) -> None:
        self.kb = kb
        self.model = model
        self.center = center
        self.options = options or EngineOptions()
        self._paths = (model_dir, kb_dir, center_path)
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.RLock()
        self._aliases = self._build_aliases(kb)
        self._check_labels()

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(
        cls,
        model_dir: Path | str | None = None,
        kb_dir: Path | str | None = None,
        center_path: Path | str | None = None,
        options: EngineOptions | None = None,
    ) -> DialogueEngine:
        """Load KB, center facts and intent model; raise :class:`DialogueUnavailable` on failure."""
        m_dir = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
        k_dir = Path(kb_dir) if kb_dir else DEFAULT_KB_DIR
        c_path = Path(center_path) if center_path else DEFAULT_CENTER_PATH
        kb, model, center = cls._load_parts(m_dir, k_dir, c_path)
        return cls(kb, model, center, options=options, model_dir=m_dir, kb_dir=k_dir, center_path=c_path)

    @staticmethod
    def _load_parts(m_dir: Path, k_dir: Path, c_path: Path) -> tuple[KnowledgeBase, IntentModel, Center]:
        try:
            center = load_center(c_path)
        except CenterConfigError as exc:
            raise DialogueUnavailable(f"Center config unusable: {exc}") from exc
        try:
            kb = _load_kb(k_dir, c_path)
        except KbInvalidError as exc:
            raise DialogueUnavailable(
                f"Knowledge base {k_dir} is invalid: {exc} Fix the named file(s); "
                "check with `python -m dialogue validate`."
            ) from exc
        try:
            model = IntentModel.load(m_dir)
        except ModelUnavailable as exc:
            raise DialogueUnavailable(str(exc)) from exc
        return kb, model, center

    def reload(self) -> bool:
        """Re-read KB, center facts and model; on any error keep the last good ones and return False."""
        m_dir, k_dir, c_path = self._paths
        try:
            kb, model, center = self._load_parts(
                m_dir or DEFAULT_MODEL_DIR, k_dir or DEFAULT_KB_DIR, c_path or DEFAULT_CENTER_PATH
            )
        except DialogueUnavailable as exc:
            log.error("reload failed, keeping the last good knowledge base and model: %s", exc)
            return False
        except Exception:
            log.exception("reload failed unexpectedly, keeping the last good knowledge base and model")
            return False
        with self._lock:
            self.kb, self.model, self.center = kb, model, center
            self._aliases = self._build_aliases(kb)
            self._check_labels()
        log.info("reloaded: %d procedures, %d intent labels", len(kb.procedures), len(model.labels))
        return True

    def _check_labels(self) -> None:
        labels = set(self.model.labels)
        unknown = sorted(lb for lb in labels if lb not in ACTS and lb not in self.kb.procedures)
        missing = sorted(p for p in self.kb.procedures if p not in labels)
        if unknown:
            log.warning("model labels without a KB record (ignored): %s", ", ".join(unknown))
        if missing:
            log.warning("KB procedures the model does not know (retrain): %s", ", ".join(missing))

    @staticmethod
    def _build_aliases(kb: KnowledgeBase) -> list[tuple[str, str]]:
        """(folded phrase, procedure id), longest first, for naming a procedure in a sentence."""
        pairs: dict[str, str] = {}
        ambiguous: set[str] = set()
        for proc in kb.procedures.values():
            for phrase in [proc.name, proc.short_name, *proc.aliases]:
                f = fold_key(phrase)
                if len(f) < 4:
                    continue
                if f in pairs and pairs[f] != proc.id:
                    ambiguous.add(f)
                pairs[f] = proc.id
        return sorted(((f, p) for f, p in pairs.items() if f not in ambiguous), key=lambda x: -len(x[0]))

    # ------------------------------------------------------------------ sessions

    def start_session(self, session_id: str, now_s: float | None = None) -> None:
        """Start (or restart) a visitor's session."""
        with self._lock:
            now = time.monotonic() if now_s is None else now_s
            self._sessions[session_id] = _Session(id=session_id, last_s=now)
            self._trim_sessions()

    def end_session(self, session_id: str) -> None:
        """Forget a visitor's session."""
        with self._lock:
            self._sessions.pop(session_id, None)

    def export_session(self, session_id: str) -> dict[str, Any]:
        """A JSON-ready copy of a session's state (for a CLI or a restart)."""
        with self._lock:
            s = self._sessions.get(session_id)
            if s is None:
                return {}
            return {
                "id": s.id,
                "last_s": s.last_s,
                "procedure_id": s.procedure_id,
                "person": s.person,
                "pending": s.pending,
                "failures": s.failures,
                "last_reply": s.last_reply.as_dict() if s.last_reply else None,
                "slow": s.slow,
                "papers_heard": sorted(s.papers_heard),
            }

    def import_session(self, state: dict[str, Any]) -> None:
        """Restore a session saved with :meth:`export_session`."""
        if not state:
            return
        last = state.get("last_reply")
        s = _Session(
            id=str(state["id"]),
            last_s=float(state["last_s"]),
            procedure_id=state.get("procedure_id"),
            person=state.get("person"),
            pending=state.get("pending"),
            failures=int(state.get("failures", 0)),
            last_reply=EngineReply(**last) if last else None,
            slow=bool(state.get("slow", False)),
            papers_heard=set(state.get("papers_heard", [])),
        )
        with self._lock:
            self._sessions[s.id] = s

    def _session(self, session_id: str, now: float) -> _Session:
        s = self._sessions.get(session_id)
        if s is None or now - s.last_s > self.options.idle_reset_s:
            if s is not None:
                log.info("session %s idle for %.0f s: starting over", session_id, now - s.last_s)
            s = _Session(id=session_id, last_s=now)
            self._sessions[session_id] = s
            self._trim_sessions()
        return s

    def _trim_sessions(self) -> None:
        excess = len(self._sessions) - self.options.max_sessions
        if excess > 0:
            for sid in sorted(self._sessions, key=lambda k: self._sessions[k].last_s)[:excess]:
                del self._sessions[sid]

    # ------------------------------------------------------------------ turn

    def respond(
        self,
        text: str,
        session_id: str = "default",
        source: str = "voice",
        now_s: float | None = None,
        hypotheses: Sequence[tuple[str, float]] = (),
    ) -> EngineReply:
        """Answer one visitor turn. Never raises for any input text.

        ``hypotheses`` is the recognizer's N-best list (text, confidence), ``text`` first; the
        intent is read from all of them (recognition errors differ between hypotheses).
        """
        with self._lock:
            now = time.monotonic() if now_s is None else now_s
            session_id = str(session_id or "default")
            s = self._session(session_id, now)
            try:
                reply = self._turn(s, text, source, hypotheses)
            except Exception:
                log.exception("dialogue turn failed for %r", str(text)[:80])
                r = replies.message_reply(
                    "Xin lỗi",
                    "Xin lỗi, tôi gặp trục trặc. Anh chị vui lòng hỏi lại hoặc hỏi cán bộ tại quầy.",
                )
                reply = self._finish(s, r, OUT_OF_SCOPE, 0.0, None)
            s.last_s = now
            return reply

    def select_procedure(
        self, procedure_id: str, session_id: str = "default", now_s: float | None = None
    ) -> EngineReply:
        """The visitor touched a procedure (a catalog entry or a candidate button): answer it."""
        with self._lock:
            now = time.monotonic() if now_s is None else now_s
            s = self._session(str(session_id or "default"), now)
            s.last_s = now
            s.pending = None
            proc = self.kb.get(procedure_id)
            if proc is None:
                r = replies.message_reply(
                    "Không tìm thấy thủ tục", "Xin lỗi, tôi không tìm thấy thủ tục này. Anh chị chọn lại giúp tôi nhé."
                )
                return self._finish(s, r, OUT_OF_SCOPE, 0.0, None)
            s.failures = 0
            return self._answer(s, proc, None, "", proc.id, 1.0)

    def repeat(self, session_id: str = "default", now_s: float | None = None) -> EngineReply:
        """Say and show the current answer again ("Nghe lại")."""
        with self._lock:
            now = time.monotonic() if now_s is None else now_s
            s = self._session(str(session_id or "default"), now)
            s.last_s = now
            return self._repeat(s, "repeat", 1.0)

    def lookup_address(self, text: str, session_id: str = "default", now_s: float | None = None) -> EngineReply:
        """An old address typed in the page's address form: its new ward and province, or the candidates."""
        with self._lock:
            now = time.monotonic() if now_s is None else now_s
            s = self._session(str(session_id or "default"), now)
            s.last_s = now
            s.pending = None
            s.failures = 0
            return self._address(s, str(text), 1.0, ask_if_missing=False)

    def greet(self, session_id: str, now_s: float | None = None) -> EngineReply:
        """The greeting that opens a visit when the camera sees an engaged visitor."""
        with self._lock:
            now = time.monotonic() if now_s is None else now_s
            s = self._session(str(session_id or "default"), now)
            s.last_s = now
            voice = "Xin chào bà con, tôi có thể giúp gì ạ?"
            r = replies.message_reply("Xin chào", voice, choices=self._common_choices())
            return self._finish(s, r, "greeting", 1.0, None)

    def _finish(
        self,
        s: _Session,
        r: replies.Reply,
        intent: str,
        confidence: float,
        procedure_id: str | None,
        *,
        escalate: bool = False,
        reason: str = "",
    ) -> EngineReply:
        screen = r.screen
        if s.slow:
            screen["speech_rate"] = SLOW_SPEECH_RATE
        s.pending = {"kind": "offer", "what": r.offer} if r.offer else s.pending
        reply = EngineReply(
            intent=intent,
            confidence=round(float(confidence), 4),
            procedure_id=procedure_id,
            reply_voice=r.voice,
            reply_screen=screen,
            escalate=escalate,
            escalation_reason=reason,
            session_id=s.id,
        )
        s.last_reply = reply
        return reply

    def _turn(self, s: _Session, raw: str, source: str, hypotheses: Sequence[tuple[str, float]] = ()) -> EngineReply:
        text = _clean(raw, self.options.max_input_chars)
        if not _has_letters(text):
            r = replies.message_reply(
                "Tôi chưa nghe rõ", "Xin lỗi, tôi chưa nghe rõ. Anh chị nói lại giúp tôi câu hỏi nhé."
            )
            return self._finish(s, r, OUT_OF_SCOPE, 0.0, None)
        if _is_foreign(text):
            return self._failure(
                s,
                0.0,
                "Xin lỗi, tôi chỉ hiểu tiếng Việt. Anh chị vui lòng hỏi bằng tiếng Việt, "
                "hoặc hỏi cán bộ tại quầy tiếp nhận.",
            )

        if hypotheses:  # recognized speech: read the intent from the whole N-best list
            others = [(_clean(t, self.options.max_input_chars), w) for t, w in hypotheses[1:]]
            pred = self.model.predict_hypotheses([(text, hypotheses[0][1]), *others], top_k=3)
        else:
            pred = self.model.predict(text, top_k=3)
        intent = pred.intent
        if intent not in ACTS and intent not in self.kb.procedures:
            intent = OUT_OF_SCOPE
        yes_no = _yes_no(text) or (intent if intent in ("yes", "no") else None)
        log.debug("turn %r -> %s %.2f %s", text[:60], intent, pred.confidence, pred.ranked)

        if intent in ("repeat", "speak_slower"):
            return self._repeat(s, intent, pred.confidence)

        pending, s.pending = s.pending, None
        if pending:
            handled = self._resolve_pending(s, pending, text, pred, yes_no)
            if handled is not None:
                return handled

        if intent == "call_staff" or any(w in fold_key(text) for w in _STAFF_WORDS):
            return self._escalate(s, "visitor_request", "call_staff", pred.confidence)

        clarify = self._clarify_candidates(text, pred)
        if clarify:
            a, b = clarify
            s.pending = {"kind": "clarify", "options": [a.id, b.id], "focus": _focus_from_text(text)}
            s.person = find_person(text) or s.person
            r = replies.clarify_reply(a, b, s.person)
            s.failures = 0
            return self._finish(s, r, a.id, pred.confidence, None)

        if intent in self.kb.procedures:
            s.failures = 0
            focus = _focus_from_text(text)
            return self._answer(s, self.kb.procedures[intent], focus, text, intent, pred.confidence)
        if intent in ASK_FOCUS:
            s.failures = 0
            focus = ASK_FOCUS[intent]
            proc = self._mentioned(text, pred) or self.kb.get(s.procedure_id)
            if proc is None:
                s.pending = {"kind": "need_procedure", "focus": focus}
                return self._finish(s, replies.ask_procedure_reply(focus), intent, pred.confidence, None)
            return self._answer(s, proc, focus, text, intent, pred.confidence)
        if intent == "address_lookup":
            s.failures = 0
            return self._address(s, text, pred.confidence, ask_if_missing=True)
        if intent == "ask_opening_hours":
            s.failures = 0
            c = self.center
            r = replies.message_reply("Giờ làm việc", f"{c.opening_hours_spoken} {replies.OFFER_MORE}")
            r.screen["text"] = "; ".join(f"{h['days']}: {h['hours']}" for h in c.opening_hours) or r.screen["text"]
            return self._finish(s, r, intent, pred.confidence, None)
        if intent == "greeting":
            s.failures = 0
            r = replies.message_reply(
                "Xin chào",
                f"Xin chào anh chị, tôi là trợ lý của {self.center.name}. Anh chị cần hỏi thủ tục gì ạ?",
                choices=self._common_choices(),
            )
            return self._finish(s, r, intent, pred.confidence, None)
        if intent == "goodbye":
            r = replies.message_reply("Tạm biệt", "Dạ, chào tạm biệt anh chị. Chúc anh chị một ngày tốt lành!")
            reply = self._finish(s, r, intent, pred.confidence, None)
            self._reset(s)
            return reply
        if intent == "thanks":
            s.failures = 0
            r = replies.message_reply("Không có gì ạ", f"Dạ không có gì ạ. {replies.OFFER_MORE}")
            return self._finish(s, r, intent, pred.confidence, s.procedure_id)
        if intent in ("yes", "no"):
            r = replies.message_reply("Mời anh/chị hỏi", "Dạ vâng. Anh chị cần hỏi thủ tục gì ạ?")
            return self._finish(s, r, intent, pred.confidence, s.procedure_id)
        # out of scope or not understood
        return self._failure(
            s,
            pred.confidence,
            "Xin lỗi, tôi chỉ trả lời về thủ tục hành chính tại trung tâm nên chưa giúp được việc này. "
            "Anh chị có thể hỏi cán bộ tại quầy tiếp nhận.",
        )

    # ------------------------------------------------------------------ pieces

    def _reset(self, s: _Session) -> None:
        fresh = _Session(id=s.id, last_s=s.last_s)
        fresh.last_reply = s.last_reply
        self._sessions[s.id] = fresh

    def _common_choices(self) -> list[dict[str, str]]:
        out = []
        for pid in ("dang_ky_khai_sinh", "dang_ky_ket_hon", "dang_ky_tam_tru", "chung_thuc_ban_sao"):
            proc = self.kb.get(pid)
            if proc:
                out.append({"label": proc.name, "text": proc.name})
        return out

    def _repeat(self, s: _Session, intent: str, confidence: float) -> EngineReply:
        if intent == "speak_slower":
            s.slow = True
        last = s.last_reply
        if last is None:
            voice = (
                "Dạ, tôi sẽ nói chậm hơn. Anh chị cần hỏi gì ạ?"
                if intent == "speak_slower"
                else ("Tôi chưa nói gì ạ. Anh chị cần hỏi thủ tục gì ạ?")
            )
            return self._finish(s, replies.message_reply("Mời anh/chị hỏi", voice), intent, confidence, None)
        screen = copy.deepcopy(last.reply_screen)
        if s.slow:
            screen["speech_rate"] = SLOW_SPEECH_RATE
        reply = EngineReply(
            intent=intent,
            confidence=round(float(confidence), 4),
            procedure_id=last.procedure_id,
            reply_voice=last.reply_voice,
            reply_screen=screen,
            escalate=last.escalate,
            escalation_reason=last.escalation_reason,
            session_id=s.id,
        )
        s.last_reply = reply
        return reply

    def _failure(self, s: _Session, confidence: float, voice: str) -> EngineReply:
        s.failures += 1
        if s.failures >= self.options.max_failures:
            return self._escalate(s, "repeated_failures", OUT_OF_SCOPE, confidence)
        r = replies.message_reply("Xin lỗi", f"{voice} {replies.OFFER_STAFF}", offer="call_staff")
        return self._finish(s, r, OUT_OF_SCOPE, confidence, None)

    def _escalate(self, s: _Session, reason: str, intent: str, confidence: float) -> EngineReply:
        s.failures = 0
        s.pending = None
        r = replies.escalation_reply(reason)
        return self._finish(s, r, intent, confidence, s.procedure_id, escalate=True, reason=reason)

    def _answer(
        self, s: _Session, proc: Procedure, focus: str | None, text: str, intent: str, confidence: float
    ) -> EngineReply:
        if proc.id != s.procedure_id:
            s.papers_heard.discard(proc.id)
            s.person = None
        s.procedure_id = proc.id
        s.person = find_person(text) or s.person
        r = replies.procedure_reply(proc, self.center, focus, s.person, proc.id in s.papers_heard)
        if focus == "papers":
            s.papers_heard.add(proc.id)
        return self._finish(s, r, intent, confidence, proc.id)

    def _address(self, s: _Session, text: str, confidence: float, *, ask_if_missing: bool) -> EngineReply:
        if ask_if_missing and not find_address_phrase(text):
            s.pending = {"kind": "address"}
            r = replies.message_reply(
                "Tra cứu địa chỉ mới",
                "Anh chị đọc giúp tôi địa chỉ cũ, gồm phường hoặc xã, quận hoặc huyện và tỉnh thành nhé.",
            )
            return self._finish(s, r, "address_lookup", confidence, None)
        result = convert_old_address(text)
        return self._finish(s, replies.address_reply(result), "address_lookup", confidence, None)

    def _mentioned(self, text: str, pred: IntentPrediction) -> Procedure | None:
        """A procedure named in the sentence: by alias, or ranked likely enough by the model."""
        f = f" {fold_key(text)} "
        for phrase, pid in self._aliases:
            if f" {phrase} " in f:
                return self.kb.procedures.get(pid)
        for label, p in pred.ranked:
            if label in self.kb.procedures and p >= self.options.mention_min_p:
                return self.kb.procedures[label]
        return None

    def _clarify_candidates(self, text: str, pred: IntentPrediction) -> tuple[Procedure, Procedure] | None:
        if len(pred.ranked) < 2:
            return None
        (a, pa), (b, pb) = pred.ranked[0], pred.ranked[1]
        if a not in self.kb.procedures or b not in self.kb.procedures:
            return None
        if pa - pb >= self.options.clarify_margin or pa + pb < self.options.clarify_min_total_p:
            return None
        named = self._alias_in(text)
        if named in (a, b):  # the visitor named one of them outright
            return None
        return self.kb.procedures[a], self.kb.procedures[b]

    def _alias_in(self, text: str) -> str | None:
        f = f" {fold_key(text)} "
        for phrase, pid in self._aliases:
            if f" {phrase} " in f:
                return pid
        return None

    def _resolve_pending(
        self, s: _Session, pending: dict[str, Any], text: str, pred: IntentPrediction, yes_no: str | None
    ) -> EngineReply | None:
        kind = pending.get("kind")
        if kind == "clarify":
            options = [o for o in pending.get("options", []) if o in self.kb.procedures]
            chosen = self._choose(text, pred, options, yes_no)
            if chosen is None:
                return None
            s.failures = 0
            return self._answer(
                s, self.kb.procedures[chosen], pending.get("focus"), text, chosen, max(pred.confidence, 0.5)
            )
        if kind == "offer":
            what = pending.get("what")
            if yes_no == "no":
                r = replies.message_reply("Dạ vâng", "Dạ vâng. Anh chị cần hỏi gì thêm cứ hỏi tôi nhé.")
                return self._finish(s, r, "no", pred.confidence, s.procedure_id)
            if yes_no == "yes":
                s.failures = 0
                if what == "call_staff":
                    return self._escalate(s, "visitor_request", "yes", pred.confidence)
                proc = self.kb.get(s.procedure_id)
                if proc is not None and what in ("papers", "fee_time"):
                    return self._answer(s, proc, what, "", "yes", pred.confidence)
            return None
        if kind == "need_procedure":
            proc = self._mentioned(text, pred)
            if proc is None:
                return None
            s.failures = 0
            return self._answer(s, proc, pending.get("focus"), text, proc.id, pred.confidence)
        if kind == "address":
            if pred.intent in self.kb.procedures or pred.intent in ASK_FOCUS:
                return None
            if find_address_phrase(text):
                s.failures = 0
                return self._address(s, text, pred.confidence, ask_if_missing=False)
        return None

    def _choose(self, text: str, pred: IntentPrediction, options: list[str], yes_no: str | None) -> str | None:
        if len(options) < 2:
            return options[0] if options else None
        named = self._alias_in(text)
        if named in options:
            return named
        f = fold_key(text)
        for pid in options:
            proc = self.kb.procedures[pid]
            if f and (f == fold_key(proc.name) or f == fold_key(proc.short_name)):
                return pid
        # "cái đầu" / "cái sau", "thứ nhất" / "thứ hai"
        if re.search(r"\b(?:dau tien|thu nhat|cai dau|cai truoc|so 1)\b", f):
            return options[0]
        if re.search(r"\b(?:thu hai|cai sau|so 2|cai thu hai)\b", f):
            return options[1]
        if pred.intent in options:
            return pred.intent
        ranked = [(label, p) for label, p in pred.ranked if label in options]
        if ranked and ranked[0][1] >= self.options.mention_min_p:
            return ranked[0][0]
        if yes_no == "yes":
            return options[0]
        if yes_no == "no":
            return options[1]
        return None
