"""The building blocks of a turn: finishing a reply, answers, failures, hand-over, repeat, names.

Mixed into :class:`dialogue.manager.DialogueEngine` through :class:`dialogue.turn.TurnLogic`.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter

from dialogue import replies
from dialogue.addresses import convert_old_address
from dialogue.center import Center
from dialogue.kb import KnowledgeBase, Procedure
from dialogue.model import IntentModel, IntentPrediction
from dialogue.session import EngineOptions, EngineReply, Session
from dialogue.slots import find_address_phrase, find_person
from kiosk_protocol.text import fold_key

__all__ = ["ACTS", "ASK_FOCUS", "OUT_OF_SCOPE", "SLOW_SPEECH_RATE", "TurnSteps"]

log = logging.getLogger("dialogue.manager")

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


class TurnSteps:
    """Needs ``kb``, ``model``, ``center``, ``options``, ``counters``, ``_aliases`` and ``_sessions``."""

    kb: KnowledgeBase
    model: IntentModel
    center: Center
    options: EngineOptions
    counters: Counter
    _aliases: list[tuple[str, str]]
    _sessions: dict[str, Session]

    def _finish(
        self,
        s: Session,
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


    # ------------------------------------------------------------------ pieces

    def _reset(self, s: Session) -> None:
        fresh = Session(id=s.id, last_s=s.last_s)
        fresh.last_reply = s.last_reply
        self._sessions[s.id] = fresh

    def _common_choices(self) -> list[dict[str, str]]:
        out = []
        for pid in ("dang_ky_khai_sinh", "dang_ky_ket_hon", "dang_ky_tam_tru", "chung_thuc_ban_sao"):
            proc = self.kb.get(pid)
            if proc:
                out.append({"label": proc.name, "text": proc.name})
        return out

    def _repeat(self, s: Session, intent: str, confidence: float) -> EngineReply:
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

    def _failure(self, s: Session, confidence: float, voice: str, *, heard: bool = True) -> EngineReply:
        """Not understood / out of scope; ``heard=False``: nothing usable was recognized (ask to repeat)."""
        s.failures += 1
        self.counters["not_understood" if not heard else "out_of_scope"] += 1
        if s.failures >= self.options.max_failures:
            return self._escalate(s, "repeated_failures", OUT_OF_SCOPE, confidence)
        if not heard:
            r = replies.not_understood_reply(choices=self._common_choices())
            return self._finish(s, r, OUT_OF_SCOPE, confidence, None)
        r = replies.message_reply("Xin lỗi", f"{voice} {replies.OFFER_STAFF}", offer="call_staff")
        return self._finish(s, r, OUT_OF_SCOPE, confidence, None)

    def _escalate(self, s: Session, reason: str, intent: str, confidence: float) -> EngineReply:
        s.failures = 0
        s.pending = None
        r = replies.escalation_reply(reason)
        return self._finish(s, r, intent, confidence, s.procedure_id, escalate=True, reason=reason)

    def _answer(
        self, s: Session, proc: Procedure, focus: str | None, text: str, intent: str, confidence: float
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

    def _address(self, s: Session, text: str, confidence: float, *, ask_if_missing: bool) -> EngineReply:
        if ask_if_missing and not find_address_phrase(text):
            s.pending = {"kind": "address"}
            r = replies.message_reply(
                "Tra cứu địa chỉ mới",
                "Anh chị đọc giúp tôi địa chỉ cũ, gồm phường hoặc xã, quận hoặc huyện và tỉnh thành nhé.",
            )
            return self._finish(s, r, "address_lookup", confidence, None)
        result = convert_old_address(text)
        return self._finish(s, replies.address_reply(result), "address_lookup", confidence, None)

    def _mentioned(self, text: str, pred: IntentPrediction, min_p: float | None = None) -> Procedure | None:
        """A procedure named in the sentence: by alias, or ranked likely enough by the model."""
        named = self._alias_in(text)
        if named:
            return self.kb.procedures.get(named)
        floor = self.options.mention_min_p if min_p is None else min_p
        for label, p in pred.ranked:
            if label in self.kb.procedures and p >= floor:
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
