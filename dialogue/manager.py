"""Multi-turn dialogue manager: the public :class:`DialogueEngine` (shared contract 2).

One session per visitor (:mod:`dialogue.session`) keeps the current procedure, a pending question
(an offer, a confirmation, a choice between candidates, a request for an address), the last reply
(for "repeat"), the slow-speech flag and the count of consecutive failures (for the hand-over to
staff). This module loads the parts, keeps the sessions and is the public API (``respond``,
``hear`` for recognized speech, ``select_procedure``, ``repeat``, ``greet``); the turn itself is
decided in :mod:`dialogue.turn` (with :mod:`dialogue.uncertainty`, :mod:`dialogue.textrules`),
built from :mod:`dialogue.steps` and resolves pending questions in :mod:`dialogue.pending`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dialogue import replies
from dialogue.center import Center, CenterConfigError, load_center
from dialogue.elsewhere import load_elsewhere
from dialogue.kb import (
    DEFAULT_CENTER_PATH,
    DEFAULT_KB_DIR,
    REPO_ROOT,
    KbInvalidError,
    KnowledgeBase,
)
from dialogue.kb import load_knowledge_base as _load_kb
from dialogue.model import IntentModel, ModelUnavailable
from dialogue.session import EngineOptions, EngineReply, Session
from dialogue.turn import ACTS, OUT_OF_SCOPE, TurnLogic
from kiosk_protocol.text import fold_key

__all__ = ["DEFAULT_MODEL_DIR", "DialogueEngine", "DialogueUnavailable", "EngineOptions", "EngineReply"]

log = logging.getLogger("dialogue.manager")

DEFAULT_MODEL_DIR = REPO_ROOT / "models" / "dialogue"


class DialogueUnavailable(RuntimeError):
    """The engine cannot start: the message names the missing or bad file and the fix command."""


class DialogueEngine(TurnLogic):
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
        self._sessions: dict[str, Session] = {}
        self._lock = threading.RLock()
        self._aliases = self._build_aliases(kb)
        self.elsewhere = load_elsewhere()
        self.counters: Counter = Counter()  # rejected / not understood / confirmed turns, for diagnostics
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
            self._sessions[session_id] = Session(id=session_id, last_s=now)
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
        s = Session(
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

    def _session(self, session_id: str, now: float) -> Session:
        s = self._sessions.get(session_id)
        if s is None or now - s.last_s > self.options.idle_reset_s:
            if s is not None:
                log.info("session %s idle for %.0f s: starting over", session_id, now - s.last_s)
            s = Session(id=session_id, last_s=now)
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
            s.not_heard = 0
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

    def hear(
        self,
        text: str,
        hypotheses: Sequence[tuple[str, float]] = (),
        *,
        accepted: bool = True,
        reject_reason: str = "",
        session_id: str = "default",
        now_s: float | None = None,
    ) -> EngineReply:
        """A recognizer's transcript. Accepted: :meth:`respond`; rejected (noise, a hallucination,
        low confidence): "not heard, please repeat or touch the screen" — never silence."""
        if accepted:
            return self.respond(text, session_id=session_id, source="voice", now_s=now_s, hypotheses=hypotheses)
        with self._lock:
            now = time.monotonic() if now_s is None else now_s
            s = self._session(str(session_id or "default"), now)
            s.last_s = now
            self.counters["rejected_transcripts"] += 1
            s.not_heard += 1
            log.debug("transcript rejected by the recognizer (%s): %r", reject_reason, str(text)[:60])
            # noise in the hall must not call staff by itself: offer staff after a few, never escalate
            if s.not_heard >= self.options.max_failures:
                r = replies.not_understood_reply(f"{replies.NOT_UNDERSTOOD_VOICE} {replies.OFFER_STAFF}")
                r.offer = "call_staff"
            else:
                r = replies.not_understood_reply(choices=self._common_choices())
            return self._finish(s, r, OUT_OF_SCOPE, 0.0, None)

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

