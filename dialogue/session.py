"""Dialogue data: engine options, the reply of one turn, and one visitor's session state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["EngineOptions", "EngineReply", "Session"]


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
    # safe uncertainty (dialogue.uncertainty); None: the model's calibrated value
    answer_threshold_speech: float | None = None  # recognized speech: answer a procedure at least this likely
    confirm_threshold_speech: float = 0.3  # ... confirm it ("... phải không ạ?") at least this likely
    confirm_threshold_typed: float = 0.25  # typed text: confirm below the typed answer threshold
    speech_margin: float = 0.1  # speech: the top procedure leads the next by this much to answer or confirm
    offer_total: float = 0.35  # offer 2-3 candidates when together at least this likely


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
class Session:
    """One visitor's state: current procedure, pending question, failures in a row, last reply."""

    id: str
    last_s: float
    procedure_id: str | None = None
    person: str | None = None
    pending: dict[str, Any] | None = None
    failures: int = 0
    last_reply: EngineReply | None = None
    slow: bool = False
    papers_heard: set[str] = field(default_factory=set)
    not_heard: int = 0  # recognizer rejections in a row (noise, a hallucination): no hand-over by itself

