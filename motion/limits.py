"""Velocity and acceleration limits (REP-103 units: m/s, rad/s) that hold whatever comes in.

:class:`VelocityLimiter` turns any requested velocity into one within ``max_*`` and within the
acceleration limits from the last output. Non-finite input (NaN, ±inf) is rejected: the output
is zero and the reason is returned for the log. A safety stop (:meth:`VelocityLimiter.stop`:
e-stop, watchdog, rejected input) goes to zero at once; every other change is slewed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ZERO", "Velocity", "VelocityLimiter", "VelocityLimits"]


@dataclass(frozen=True)
class Velocity:
    """A planar base velocity: forward (m/s) and counter-clockwise yaw rate (rad/s)."""

    linear_mps: float = 0.0
    angular_radps: float = 0.0

    def is_finite(self) -> bool:
        return math.isfinite(self.linear_mps) and math.isfinite(self.angular_radps)

    def is_zero(self) -> bool:
        return self.linear_mps == 0.0 and self.angular_radps == 0.0


ZERO = Velocity()


@dataclass(frozen=True)
class VelocityLimits:
    """Hard limits of the output. ``max_linear_mps`` 0 keeps the kiosk in place (turn only)."""

    max_linear_mps: float = 0.2
    max_angular_radps: float = 0.6
    max_linear_accel_mps2: float = 0.3
    max_angular_accel_radps2: float = 1.5

    def __post_init__(self) -> None:
        for name in ("max_linear_mps", "max_angular_radps", "max_linear_accel_mps2", "max_angular_accel_radps2"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        if self.max_angular_radps > 3.0:
            raise ValueError(f"max_angular_radps {self.max_angular_radps} is above 3 rad/s: not a kiosk")


def _clamp(value: float, limit: float) -> float:
    return max(-limit, min(limit, value))


class VelocityLimiter:
    """Clamp and slew-limit velocities; ``last`` is the last output."""

    MAX_DT_S = 0.5  # a late cycle must not allow a big jump

    def __init__(self, limits: VelocityLimits) -> None:
        self.limits = limits
        self.last = ZERO

    def limit(self, wanted: Velocity, dt_s: float) -> tuple[Velocity, str]:
        """The velocity to send now, and a rejection reason ("" when the input was valid)."""
        if not wanted.is_finite():
            self.last = ZERO
            return ZERO, f"rejected a non-finite velocity ({wanted.linear_mps}, {wanted.angular_radps}): zero"
        dt = dt_s if math.isfinite(dt_s) and dt_s > 0 else 0.0
        dt = min(dt, self.MAX_DT_S)
        lim = self.limits
        linear = _clamp(wanted.linear_mps, lim.max_linear_mps)
        angular = _clamp(wanted.angular_radps, lim.max_angular_radps)
        linear = self.last.linear_mps + _clamp(linear - self.last.linear_mps, lim.max_linear_accel_mps2 * dt)
        angular = self.last.angular_radps + _clamp(angular - self.last.angular_radps,
                                                   lim.max_angular_accel_radps2 * dt)
        # re-clamp: the last output may predate a change of limits
        self.last = Velocity(_clamp(linear, lim.max_linear_mps), _clamp(angular, lim.max_angular_radps))
        return self.last, ""

    def stop(self) -> Velocity:
        """Safety stop: zero at once."""
        self.last = ZERO
        return ZERO
