"""One visitor turn: from a text (typed, or a recognizer's N-best list) to a safe reply.

:class:`TurnLogic` is mixed into :class:`dialogue.manager.DialogueEngine` (which owns loading,
sessions and locking). Order of a turn: cleaning and language checks; "repeat"; the pending question
(an offer, a confirmation, a choice between candidates); explicit requests (staff, an official);
procedures done elsewhere; a death in the family; then the procedure decision of
:mod:`dialogue.uncertainty` (answer / confirm / choose), and the dialogue acts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace

from dialogue import replies
from dialogue.elsewhere import Elsewhere, find_elsewhere
from dialogue.longform import predict_long
from dialogue.model import MAX_TEXT_CHARS, IntentPrediction
from dialogue.pending import PendingAnswers
from dialogue.session import EngineReply, Session
from dialogue.slots import find_person
from dialogue.steps import ACTS, ASK_FOCUS, OUT_OF_SCOPE, SLOW_SPEECH_RATE
from dialogue.textrules import (
    asks_for_official,
    asks_for_staff,
    clean,
    focus_from_text,
    has_letters,
    is_foreign,
    mentions_death,
    yes_no,
)
from dialogue.uncertainty import Decision, Thresholds, decide
from kiosk_protocol.text import fold_key

__all__ = ["ACTS", "ASK_FOCUS", "OUT_OF_SCOPE", "SLOW_SPEECH_RATE", "TurnLogic"]

log = logging.getLogger("dialogue.manager")

# a death told in everyday words leads here (first: the death registration), never elsewhere
DEATH_PROCEDURES = ("dang_ky_khai_tu", "ho_tro_chi_phi_mai_tang")
# what else a death may be about, when the question says so clearly (answered, not merely ranked)
DEATH_RELATED = frozenset({
    *DEATH_PROCEDURES, "dang_ky_giam_ho", "chung_thuc_di_chuc", "dang_ky_bien_dong_dat_dai",
    "cap_ban_sao_trich_luc_ho_tich", "tro_cap_xa_hoi_hang_thang", "dang_ky_nuoi_con_nuoi",
})  # fmt: skip
NAMED_SHORT_CHARS = 60  # a short question naming a procedure outright gets it; a long one may name others
# a long typed question (several sentences, context first): two procedures may fit, so it is answered
# only when its top procedure is this likely and leads by this much, and confirmed or offered otherwise
LONG_TYPED_ANSWER = 0.6
LONG_TYPED_MARGIN = 0.15
# a procedure done elsewhere named in a question longer than this counts only if no KB procedure is this likely
ELSEWHERE_SHORT_CHARS = 80
ELSEWHERE_MAX_P = 0.5
_FUNERAL_RE = re.compile(r"\b(?:mai tang|an tang|chon cat|hoa tang|lo hau su|tien lo dam|chi phi dam)\b")
DEFAULT_ANSWER_THRESHOLD_SPEECH = 0.6  # models trained before the speech answer calibration


class TurnLogic(PendingAnswers):
    """The decisions of one turn; needs ``kb``, ``model``, ``center``, ``options``, ``counters``,
    ``elsewhere``, ``_aliases`` and ``_sessions`` on the object."""

    elsewhere: list[Elsewhere]

    def _thresholds(self, voice: bool) -> Thresholds:
        o = self.options
        if voice:
            answer = o.answer_threshold_speech
            if answer is None:
                answer = float(self.model.meta.get("answer_threshold_speech") or DEFAULT_ANSWER_THRESHOLD_SPEECH)
            return Thresholds(answer=answer, confirm=min(answer, o.confirm_threshold_speech), margin=o.speech_margin,
                              offer_total=o.offer_total)
        typed = self.model.oos_threshold
        return Thresholds(answer=typed, confirm=min(typed, o.confirm_threshold_typed), margin=0.0,
                          offer_total=o.offer_total)

    def _predict(self, text: str, hypotheses: Sequence[tuple[str, float]]) -> IntentPrediction:
        if hypotheses:  # recognized speech: read the intent from the whole N-best list
            others = [(clean(t, self.options.max_input_chars), w) for t, w in hypotheses[1:]]
            return self.model.predict_hypotheses([(text, hypotheses[0][1]), *others], top_k=5)
        return predict_long(self.model, text, top_k=5)

    def _turn(self, s: Session, raw: str, source: str, hypotheses: Sequence[tuple[str, float]] = ()) -> EngineReply:
        text = clean(raw, self.options.max_input_chars)
        voice = bool(hypotheses)  # recognized speech comes with its N-best list
        if not has_letters(text):
            return self._failure(s, 0.0, "", heard=False)
        if is_foreign(text):
            self.counters["foreign_language"] += 1
            return self._failure(
                s,
                0.0,
                "Xin lỗi, tôi chỉ hiểu tiếng Việt. Bà con vui lòng hỏi bằng tiếng Việt, "
                "hoặc hỏi cán bộ tại quầy tiếp nhận.",
            )
        pred = self._predict(text, hypotheses)
        intent = pred.intent
        if intent not in ACTS and intent not in self.kb.procedures:
            intent = OUT_OF_SCOPE
        answer_yn = yes_no(text) or (intent if intent in ("yes", "no") else None)
        log.debug("turn %r -> %s %.2f %s", text[:60], intent, pred.confidence, pred.ranked)

        if intent in ("repeat", "speak_slower"):
            return self._repeat(s, intent, pred.confidence)

        pending, s.pending = s.pending, None
        if pending:
            handled = self._resolve_pending(s, pending, text, pred, answer_yn)
            if handled is not None:
                return handled

        if asks_for_staff(text):
            return self._escalate(s, "visitor_request", "call_staff", pred.confidence)
        if asks_for_official(text):
            s.failures = 0
            s.pending = {"kind": "staff"}
            r = replies.message_reply(
                "Gặp cán bộ, lãnh đạo",
                "Dạ, lãnh đạo và cán bộ phụ trách không tiếp trực tiếp tại robot. Tôi có thể gọi một cán bộ của "
                "trung tâm đến hỗ trợ và hướng dẫn bà con. Bà con có muốn tôi gọi cán bộ không ạ?",
            )
            return self._finish(s, r, "call_staff", pred.confidence, None)
        if intent == "call_staff":
            if not voice:
                return self._escalate(s, "visitor_request", "call_staff", pred.confidence)
            s.pending = {"kind": "staff"}  # garbled speech must not claim the citizen asked for staff
            r = replies.message_reply("Gọi cán bộ?", "Bà con muốn tôi gọi cán bộ hỗ trợ phải không ạ?",
                                      choices=[{"label": "Đúng, gọi cán bộ", "text": "đúng rồi"},
                                               {"label": "Không", "text": "không"}])
            r.screen["type"] = "confirm"
            return self._finish(s, r, "call_staff", pred.confidence, None)

        # a procedure named outright: trusted in a question the model reads whole; a long one names others
        named = self._alias_in(text) if len(text) <= MAX_TEXT_CHARS else None
        # a procedure done elsewhere, named in a short question; in a long one only when no KB procedure fits
        top_procedure_p = max((p for label, p in pred.ranked if label in self.kb.procedures), default=0.0)
        long_and_fits = len(text) > ELSEWHERE_SHORT_CHARS and top_procedure_p >= ELSEWHERE_MAX_P
        place = None if named or long_and_fits else find_elsewhere(text, self.elsewhere)
        if place is not None:
            s.failures = 0
            self.counters["elsewhere"] += 1
            voice_text = f"Dạ, {place.name.lower()} không làm tại trung tâm này. Bà con đến {place.where}."
            r = replies.message_reply(place.name, f"{voice_text} {place.online} {replies.OFFER_MORE}")
            r.screen["elsewhere"] = {"id": place.id, "where": place.where, "online": place.online}
            return self._finish(s, r, "elsewhere", 1.0, None)

        thresholds = self._thresholds(voice)
        if not voice and len(text) > MAX_TEXT_CHARS:  # several sentences: two procedures may fit
            thresholds = replace(thresholds, answer=max(thresholds.answer, LONG_TYPED_ANSWER), margin=LONG_TYPED_MARGIN)
        decision = decide(pred.ranked, self.kb.procedures, thresholds)
        death = mentions_death(text) and (named is None or named in DEATH_PROCEDURES)
        if death:
            decision = self._death_decision(decision, named, bool(_FUNERAL_RE.search(fold_key(text))),
                                            pred.ranked if len(text) > MAX_TEXT_CHARS else None)

        if not death and not (voice and decision.action != "answer" and not named):
            clarify = self._clarify_candidates(text, pred)
            if clarify:
                a, b = clarify
                s.pending = {"kind": "clarify", "options": [a.id, b.id], "focus": focus_from_text(text)}
                s.person = find_person(text) or s.person
                r = replies.clarify_reply(a, b, s.person)
                s.failures = 0
                return self._finish(s, r, a.id, pred.confidence, None)

        act_first = intent in ACTS and intent != OUT_OF_SCOPE and pred.ranked[0][0] == intent
        ranked_procs = [label for label, _ in pred.ranked[:3]]
        model_sure_of_another = decision.action == "answer" and decision.procedures[0] != named
        if named and not act_first and not model_sure_of_another and (
                named in ranked_procs or len(text) <= NAMED_SHORT_CHARS):
            decision = Decision("answer", [named], [pred.confidence])  # a procedure named outright
        if decision.action != "none" and not act_first:
            return self._procedure_decision(s, decision, text, pred)
        if intent in ASK_FOCUS:
            s.failures = 0
            focus = ASK_FOCUS[intent]
            proc = self._mentioned(text, pred, thresholds.answer if voice else None)
            proc = proc or self.kb.get(s.procedure_id)
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
        if voice:  # recognized speech that fits nothing: most likely misheard, ask again
            return self._failure(s, pred.confidence, "", heard=False)
        return self._failure(
            s,
            pred.confidence,
            "Xin lỗi, tôi chỉ trả lời về thủ tục hành chính tại trung tâm nên chưa giúp được việc này. "
            "Anh chị có thể hỏi cán bộ tại quầy tiếp nhận.",
        )

    def _death_decision(self, decision: Decision, named: str | None, funeral_asked: bool,
                        long_ranked: Sequence[tuple[str, float]] | None) -> Decision:
        """A death in the family: death registration (and funeral support), never an unrelated procedure.
        A long question that tells a death as context is offered the death procedures beside the related
        one it ranks (guardianship of an orphan, inheritance, a will)."""
        if named in DEATH_PROCEDURES:
            return Decision("answer", [named], [1.0])
        if funeral_asked:
            return Decision("answer", [DEATH_PROCEDURES[1]], [1.0])
        if long_ranked is None and decision.action != "none" and decision.procedures[0] in DEATH_PROCEDURES:
            return Decision("answer", decision.procedures[:1], decision.probabilities[:1])
        if decision.action != "none" and decision.procedures[0] in DEATH_RELATED:
            return decision
        if long_ranked is not None:
            related = [(lb, p) for lb, p in long_ranked if lb in DEATH_RELATED and lb not in DEATH_PROCEDURES][:1]
            offered = [*related, *((p, 0.0) for p in DEATH_PROCEDURES)]
            return Decision("choose", [lb for lb, _ in offered], [p for _, p in offered])
        return Decision("answer", [DEATH_PROCEDURES[0]], [1.0])

    def _procedure_decision(self, s: Session, decision: Decision, text: str, pred: IntentPrediction) -> EngineReply:
        procs = [self.kb.procedures[p] for p in decision.procedures]
        focus = focus_from_text(text)
        s.failures = 0
        if decision.action == "answer":
            reply = self._answer(s, procs[0], focus, text, procs[0].id, max(pred.confidence, decision.probabilities[0]))
            if procs[0].id == DEATH_PROCEDURES[0] and mentions_death(text):
                funeral = self.kb.get(DEATH_PROCEDURES[1])
                if funeral is not None:
                    reply.reply_screen["candidates"] = [replies.candidate(funeral)]
            return reply
        s.person = find_person(text) or s.person
        if decision.action == "confirm":
            self.counters["confirm"] += 1
            s.pending = {"kind": "confirm", "options": decision.procedures, "focus": focus}
            r = replies.confirm_reply(procs, decision.probabilities, s.person)
            return self._finish(s, r, procs[0].id, decision.probabilities[0], None)
        self.counters["choose"] += 1
        s.pending = {"kind": "clarify", "options": decision.procedures, "focus": focus}
        r = replies.choose_reply(procs, decision.probabilities)
        return self._finish(s, r, procs[0].id, decision.probabilities[0], None)
