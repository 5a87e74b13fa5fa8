"""The answer to a pending question: an offer (yes/no), a confirmation, a choice between candidates,
a missing procedure or address. Mixed into the engine through :class:`dialogue.turn.TurnLogic`."""

from __future__ import annotations

import re
from typing import Any

from dialogue import replies
from dialogue.model import IntentPrediction
from dialogue.session import EngineReply, Session
from dialogue.slots import find_address_phrase
from dialogue.steps import ASK_FOCUS, TurnSteps
from kiosk_protocol.text import fold_key

__all__ = ["PendingAnswers"]


class PendingAnswers(TurnSteps):
    """Resolves ``Session.pending`` from the visitor's next turn."""

    def _resolve_pending(
        self, s: Session, pending: dict[str, Any], text: str, pred: IntentPrediction, yes_no: str | None
    ) -> EngineReply | None:
        kind = pending.get("kind")
        if kind == "confirm":
            options = [o for o in pending.get("options", []) if o in self.kb.procedures]
            if yes_no == "yes" and options:
                s.failures = 0
                return self._answer(s, self.kb.procedures[options[0]], pending.get("focus"), text, options[0],
                                    max(pred.confidence, 0.5))
            if yes_no == "no":
                others = [self.kb.procedures[o] for o in options[1:]]
                r = replies.message_reply(
                    "Mời bà con nói lại",
                    "Dạ, xin lỗi bà con. Bà con nói lại thủ tục cần hỏi, hoặc chạm vào màn hình để chọn nhé.",
                )
                r.screen["candidates"] = [replies.candidate(p) for p in others]
                return self._finish(s, r, "no", pred.confidence, None)
            chosen = self._choose(text, pred, options, None) if len(options) > 1 else None
            if chosen is None:
                return None
            s.failures = 0
            return self._answer(s, self.kb.procedures[chosen], pending.get("focus"), text, chosen, 0.5)
        if kind == "staff":
            if yes_no == "yes":
                return self._escalate(s, "visitor_request", "yes", pred.confidence)
            if yes_no == "no":
                r = replies.message_reply("Dạ vâng", "Dạ vâng. Bà con cần hỏi thủ tục gì cứ nói với tôi nhé.")
                return self._finish(s, r, "no", pred.confidence, s.procedure_id)
            return None
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
        if len(options) > 2 and re.search(r"\b(?:thu ba|so 3|cai thu ba|cai cuoi)\b", f):
            return options[2]
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
