"""Which engaged visitor the kiosk attends to, and the visitor events that follow from it.

The attended visitor is the closest ENGAGED person (ties: smaller |bearing|, then the earlier
first sighting, then the id — deterministic). The kiosk keeps attending a person while they are
ENGAGED or DISENGAGING; a closer ENGAGED person takes over only when nearer by more than
``switch_margin_m``. The attended person *leaves* when their track is lost or when they have been
DISENGAGED for ``leave_after_s`` (turning away briefly, e.g. to look for a paper, is not leaving).
"""

from __future__ import annotations

from dataclasses import dataclass

from perception.engagement import EngagementLevel

__all__ = ["AttentionSelector", "PersonState", "VisitorChange"]


@dataclass(frozen=True)
class PersonState:
    """What the engagement stage knows about one tracked person right now."""

    person_id: str
    level: EngagementLevel
    bearing_rad: float
    distance_m: float
    first_seen_s: float
    score: float = 0.0
    live: bool = False

    def rank(self) -> tuple:
        return (round(self.distance_m, 3), round(abs(self.bearing_rad), 4), self.first_seen_s, self.person_id)


@dataclass(frozen=True)
class VisitorChange:
    """``engaged`` (attention starts), ``update`` (the attended visitor now), ``left``."""

    event: str
    person: PersonState


class AttentionSelector:
    def __init__(self, switch_margin_m: float = 0.3, leave_after_s: float = 3.0) -> None:
        if switch_margin_m < 0 or leave_after_s < 0:
            raise ValueError("switch_margin_m and leave_after_s must be >= 0")
        self.switch_margin_m = switch_margin_m
        self.leave_after_s = leave_after_s
        self.attended: str | None = None
        self._last: PersonState | None = None
        self._disengaged_since: float | None = None

    def update(self, persons: dict[str, PersonState], now_s: float) -> list[VisitorChange]:
        changes: list[VisitorChange] = []
        current = persons.get(self.attended) if self.attended else None
        if self.attended is not None and current is None:
            changes.append(self._leave(self._last))
        elif current is not None and current.level in (EngagementLevel.DISENGAGED, EngagementLevel.UNKNOWN):
            self._disengaged_since = now_s if self._disengaged_since is None else self._disengaged_since
            if now_s - self._disengaged_since >= self.leave_after_s:
                changes.append(self._leave(current))
                current = None
        elif current is not None:
            self._disengaged_since = None
        engaged = sorted((p for p in persons.values() if p.level == EngagementLevel.ENGAGED), key=PersonState.rank)
        best = engaged[0] if engaged else None
        if best is not None and current is not None and best.person_id != current.person_id:
            holding = current.level in (EngagementLevel.ENGAGED, EngagementLevel.DISENGAGING)
            if not holding or best.distance_m + self.switch_margin_m < current.distance_m:
                changes.append(self._leave(current))
                current = None
        if current is None and best is not None and self.attended is None:
            self.attended, self._last, self._disengaged_since = best.person_id, best, None
            changes.append(VisitorChange("engaged", best))
        elif current is not None:
            self._last = current
            changes.append(VisitorChange("update", current))
        return changes

    def _leave(self, person: PersonState | None) -> VisitorChange:
        self.attended, self._disengaged_since = None, None
        last = person or self._last
        self._last = None
        return VisitorChange("left", last)
