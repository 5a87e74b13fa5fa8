"""Turning toward the visitor, back to the home heading, and the greeting gesture (pure functions).

A visitor's bearing (rad, + left) becomes an angular velocity: zero inside ``deadband_rad``,
otherwise ``gain_per_s × error``, limited to ``max_rate``. The kiosk never turns further than
``max_from_home_rad`` from its home heading. Bearings that are not finite or beyond
``max_bearing_rad`` (outside any camera's view) are rejected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["GestureOptions", "GreetingGesture", "TurnOptions", "bearing_problem", "turn_rate", "wrap_angle"]


@dataclass(frozen=True)
class TurnOptions:
    gain_per_s: float = 1.5
    deadband_rad: float = 0.08
    max_bearing_rad: float = 1.2
    max_from_home_rad: float = 1.0
    home_heading_rad: float = 0.0
    home_deadband_rad: float = 0.05

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value}")
        if self.gain_per_s <= 0 or self.deadband_rad < 0 or not 0 < self.max_bearing_rad <= math.pi:
            raise ValueError("gain_per_s must be > 0, deadband_rad >= 0, max_bearing_rad within (0, pi]")


def wrap_angle(angle_rad: float) -> float:
    """Angle in (-pi, pi]."""
    wrapped = math.remainder(angle_rad, 2 * math.pi)
    return math.pi if wrapped == -math.pi else wrapped


def bearing_problem(bearing_rad: float, options: TurnOptions) -> str | None:
    """Why a bearing is rejected, or None."""
    if not isinstance(bearing_rad, (int, float)) or not math.isfinite(bearing_rad):
        return f"bearing {bearing_rad!r} is not a finite number"
    if abs(bearing_rad) > options.max_bearing_rad:
        return f"bearing {bearing_rad:.3f} rad is beyond max_bearing_rad {options.max_bearing_rad:.3f}"
    return None


def turn_rate(error_rad: float, deadband_rad: float, gain_per_s: float, max_rate: float) -> float:
    """Angular velocity that reduces a heading error: 0 inside the deadband, else P-control, limited."""
    if not math.isfinite(error_rad) or abs(error_rad) <= deadband_rad:
        return 0.0
    return max(-max_rate, min(max_rate, gain_per_s * error_rad))


@dataclass(frozen=True)
class GestureOptions:
    amplitude_rad: float = 0.12  # the turn's peak away from where it started
    duration_s: float = 1.2

    def __post_init__(self) -> None:
        if not (0 <= self.amplitude_rad <= 0.5 and 0.2 <= self.duration_s <= 5.0):
            raise ValueError("gesture amplitude_rad must be within 0..0.5 and duration_s within 0.2..5")


class GreetingGesture:
    """A small welcoming turn and back: ω(t) = A·(2π/T)·sin(2πt/T), heading offset A(1 − cos), peak 2A.

    The integral over the period is zero, so the kiosk ends where it started.
    """

    def __init__(self, options: GestureOptions) -> None:
        self.options = options
        self._start_s: float | None = None

    @property
    def active(self) -> bool:
        return self._start_s is not None

    def start(self, now_s: float) -> None:
        if self.options.amplitude_rad > 0:
            self._start_s = now_s

    def cancel(self) -> None:
        self._start_s = None

    def rate(self, now_s: float) -> float | None:
        """Angular velocity of the gesture now; None once it is over."""
        if self._start_s is None:
            return None
        t = now_s - self._start_s
        period = self.options.duration_s
        if t >= period or t < 0:
            self._start_s = None
            return None
        half = self.options.amplitude_rad / 2
        return half * (2 * math.pi / period) * math.sin(2 * math.pi * t / period)
