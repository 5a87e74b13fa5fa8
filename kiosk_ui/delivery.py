"""At-least-once delivery of the page's inputs to the dialogue node.

A message published on a reliable, volatile DDS topic is lost when no live subscriber matches at
that moment — right after the dialogue node was restarted, its new participant may not be
discovered yet. The ui node keeps each input that expects a reply until a reply names it
(``in_reply_to``) and sends it again, with the same ``input_id``, every ``resend_after_s`` until
``give_up_s``; the dialogue node answers an ``input_id`` once, so a slow answer is not doubled.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from kiosk_protocol import UserInput

__all__ = ["PendingInputs"]

EXPECTS_REPLY = frozenset({"text", "select_procedure", "repeat", "lookup_address"})


@dataclass
class _Pending:
    user_input: UserInput
    first_sent_s: float
    last_sent_s: float


@dataclass
class PendingInputs:
    """Inputs sent to the dialogue and not answered yet (times in seconds of one monotonic clock)."""

    resend_after_s: float = 3.0
    give_up_s: float = 20.0
    max_pending: int = 32
    resent: int = 0
    given_up: int = 0
    _pending: dict[str, _Pending] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)  # the web server's thread and the node's

    def __post_init__(self) -> None:
        if not 0 < self.resend_after_s <= self.give_up_s:
            raise ValueError("need 0 < resend_after_s <= give_up_s")

    def sent(self, user_input: UserInput, now_s: float) -> None:
        if user_input.action not in EXPECTS_REPLY:
            return
        with self._lock:
            self._pending[user_input.input_id] = _Pending(user_input, now_s, now_s)
            while len(self._pending) > self.max_pending:  # a long-dead dialogue: keep the newest only
                self._pending.pop(next(iter(self._pending)))
                self.given_up += 1

    def answered(self, input_id: str) -> None:
        with self._lock:
            self._pending.pop(input_id, None)

    def due(self, now_s: float) -> list[UserInput]:
        """The inputs to send again now; those past ``give_up_s`` are dropped (the page has said
        "no answer" by then)."""
        again = []
        with self._lock:
            for input_id, item in list(self._pending.items()):
                if now_s - item.first_sent_s > self.give_up_s:
                    del self._pending[input_id]
                    self.given_up += 1
                elif now_s - item.last_sent_s >= self.resend_after_s:
                    item.last_sent_s = now_s
                    again.append(item.user_input)
            self.resent += len(again)
        return again

    def __len__(self) -> int:
        return len(self._pending)
