"""Safe uncertainty: answer a procedure only when sure, else confirm it, offer candidates, or say so.

A wrong procedure read out with confidence is worse than "I did not catch that". The ranked
intent probabilities of one turn (typed text, or a recognizer's N-best list) lead to one of:

* ``answer``: the top procedure is likely enough (``answer``) and clear of the next one (``margin``);
* ``confirm``: likely but not sure (``confirm``): "Bà con hỏi về đăng ký khai tử phải không ạ?",
  with the runner-ups as buttons;
* ``choose``: two or three procedures share the probability (together ``offer_total``):
  "Có phải bà con muốn hỏi: A, B hay C ạ?", each a button;
* ``none``: no procedure is likely; the caller answers an act, or says it did not understand.

The speech thresholds come from the intent model's calibration on recognized held-out training
sentences (``meta.json`` ``answer_threshold_speech``); typed text keeps the typed threshold.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Decision", "Thresholds", "decide"]

Action = Literal["answer", "confirm", "choose", "none"]


@dataclass(frozen=True)
class Thresholds:
    """Probabilities (0-1) of the intent model's ranked output."""

    answer: float  # the top procedure at least this likely: answer it
    confirm: float  # at least this likely: confirm it
    margin: float = 0.1  # the top procedure must lead the next one by this much to answer or confirm
    offer_total: float = 0.35  # top 2-3 procedures together at least this likely: offer them
    offer_min: float = 0.08  # a procedure offered as a candidate is at least this likely
    max_candidates: int = 3


@dataclass
class Decision:
    action: Action
    procedures: list[str] = field(default_factory=list)  # best first
    probabilities: list[float] = field(default_factory=list)


def decide(ranked: Sequence[tuple[str, float]], procedures: Collection[str], th: Thresholds) -> Decision:
    """What to do with a turn whose ranked intents are ``ranked`` (label, probability), best first."""
    procs = [(label, p) for label, p in ranked if label in procedures]
    if not procs or (ranked[0][0] not in procedures and ranked[0][1] >= 0.5):
        return Decision("none")
    top, p1 = procs[0]
    p2 = procs[1][1] if len(procs) > 1 else 0.0
    leads = ranked[0][0] == top and p1 - p2 >= th.margin
    offered = [(label, p) for label, p in procs[: th.max_candidates] if p >= th.offer_min]
    if leads and p1 >= th.answer:
        return Decision("answer", [top], [p1])
    if leads and p1 >= th.confirm:
        return Decision("confirm", [label for label, _ in offered], [p for _, p in offered])
    if len(offered) >= 2 and sum(p for _, p in offered) >= th.offer_total:
        return Decision("choose", [label for label, _ in offered], [p for _, p in offered])
    if p1 >= th.confirm:
        return Decision("confirm", [label for label, _ in offered], [p for _, p in offered])
    return Decision("none")
