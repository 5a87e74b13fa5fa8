"""The motion node's decision each cycle, from visitor events, odometry, teleop and the e-stop.

Priority, highest first:

1. ``estop`` — the latch is tripped: zero, at once.
2. ``teleop`` — a technician's fresh velocity command (``teleop_timeout_s``), limited.
3. ``tracking`` — turn toward the attended visitor (target heading = heading at the update +
   bearing, kept within ``max_from_home_rad`` of home), with the greeting gesture added after
   an ``engaged`` event. ``stale`` — visitor updates stopped for ``perception_timeout_s``
   (camera lost, engagement node down): zero, do not guess.
4. ``home`` — ``return_home_after_s`` after the visitor left, turn back to the home heading;
   ``idle`` — nothing to do: zero.

Rejected input (a non-finite or out-of-range bearing, a NaN teleop velocity) is dropped with a
reason, and the output for that input is zero. Every output passes the :class:`VelocityLimiter`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from motion.limits import ZERO, Velocity, VelocityLimiter, VelocityLimits
from motion.safety import EmergencyStopLatch
from motion.turning import GestureOptions, GreetingGesture, TurnOptions, bearing_problem, turn_rate, wrap_angle

__all__ = ["MotionCommand", "MotionController", "MotionOptions"]


@dataclass(frozen=True)
class MotionOptions:
    limits: VelocityLimits = field(default_factory=VelocityLimits)
    turn: TurnOptions = field(default_factory=TurnOptions)
    gesture: GestureOptions = field(default_factory=GestureOptions)
    perception_timeout_s: float = 0.7
    teleop_timeout_s: float = 0.5
    odom_timeout_s: float = 1.0
    return_home_after_s: float = 2.0

    def __post_init__(self) -> None:
        for name in ("perception_timeout_s", "teleop_timeout_s", "odom_timeout_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be > 0 s, got {value}")
        if not math.isfinite(self.return_home_after_s) or self.return_home_after_s < 0:
            raise ValueError(f"return_home_after_s must be >= 0 s, got {self.return_home_after_s}")


@dataclass(frozen=True)
class MotionCommand:
    velocity: Velocity
    mode: str  # estop | teleop | tracking | stale | home | idle
    note: str = ""


class MotionController:
    def __init__(self, options: MotionOptions, estop: EmergencyStopLatch) -> None:
        self.options = options
        self.estop = estop
        self.limiter = VelocityLimiter(options.limits)
        self.gesture = GreetingGesture(options.gesture)
        self._visitor: str | None = None
        self._visitor_update_s: float | None = None
        self._target_heading: float | None = None  # odometry frame
        self._bearing: float | None = None  # when no odometry
        self._left_s: float | None = None
        self._yaw: float | None = None
        self._yaw_s: float | None = None
        self._teleop: Velocity | None = None
        self._teleop_s: float | None = None
        self._last_step_s: float | None = None
        self.rejected = 0

    # ---- inputs --------------------------------------------------------------------------------
    def on_visitor(self, event: str, person_id: str, bearing_rad: float, now_s: float) -> str | None:
        """An engaged / update / left event; returns a rejection reason or None."""
        if event == "left":
            if person_id == self._visitor:
                self._visitor = self._target_heading = self._bearing = None
                self._left_s = now_s
                self.gesture.cancel()
            return None
        if event not in ("engaged", "update"):
            self.rejected += 1
            return f"unknown visitor event {event!r}"
        problem = bearing_problem(bearing_rad, self.options.turn)
        if problem:
            self.rejected += 1
            self._target_heading = self._bearing = None  # do not keep turning toward an old target
            self._visitor_update_s = None
            return problem
        if event == "engaged" or person_id != self._visitor:
            self._visitor = person_id
            if event == "engaged":
                self.gesture.start(now_s)
        self._visitor_update_s = now_s
        self._left_s = None
        if self._odometry_fresh(now_s):
            turn = self.options.turn
            target = wrap_angle(self._yaw + bearing_rad)
            offset = wrap_angle(target - turn.home_heading_rad)
            offset = max(-turn.max_from_home_rad, min(turn.max_from_home_rad, offset))
            self._target_heading = wrap_angle(turn.home_heading_rad + offset)
            self._bearing = None
        else:
            self._target_heading, self._bearing = None, bearing_rad
        return None

    def on_odometry(self, yaw_rad: float, now_s: float) -> str | None:
        if not math.isfinite(yaw_rad):
            return f"odometry yaw {yaw_rad} is not finite"
        self._yaw, self._yaw_s = yaw_rad, now_s
        return None

    def on_teleop(self, velocity: Velocity, now_s: float) -> str | None:
        if not velocity.is_finite():
            self.rejected += 1
            self._teleop = self._teleop_s = None
            self.limiter.stop()
            return f"rejected a non-finite teleop velocity ({velocity.linear_mps}, {velocity.angular_radps})"
        self._teleop, self._teleop_s = velocity, now_s
        return None

    def _odometry_fresh(self, now_s: float) -> bool:
        return self._yaw_s is not None and now_s - self._yaw_s <= self.options.odom_timeout_s

    # ---- one cycle -------------------------------------------------------------------------------
    def step(self, now_s: float) -> MotionCommand:
        dt = 0.0 if self._last_step_s is None else now_s - self._last_step_s
        self._last_step_s = now_s
        opts = self.options
        if self.estop.active:
            self.gesture.cancel()
            return MotionCommand(self.limiter.stop(), "estop", self.estop.reason)
        if self._teleop_s is not None and now_s - self._teleop_s <= opts.teleop_timeout_s:
            velocity, note = self.limiter.limit(self._teleop, dt)
            return MotionCommand(velocity, "teleop", note)
        max_rate = opts.limits.max_angular_radps
        turn = opts.turn
        if self._visitor is not None:
            if self._visitor_update_s is None or now_s - self._visitor_update_s > opts.perception_timeout_s:
                self.gesture.cancel()
                return MotionCommand(self.limiter.stop(), "stale", "no fresh visitor bearing: not turning")
            if self._target_heading is not None and self._odometry_fresh(now_s):
                error = wrap_angle(self._target_heading - self._yaw)
            else:
                error = self._bearing if self._bearing is not None else 0.0
            rate = turn_rate(error, turn.deadband_rad, turn.gain_per_s, max_rate)
            gesture = self.gesture.rate(now_s)
            velocity, note = self.limiter.limit(Velocity(0.0, rate + (gesture or 0.0)), dt)
            return MotionCommand(velocity, "tracking", note)
        if (self._left_s is not None and now_s - self._left_s >= opts.return_home_after_s
                and self._odometry_fresh(now_s)):
            error = wrap_angle(turn.home_heading_rad - self._yaw)
            rate = turn_rate(error, turn.home_deadband_rad, turn.gain_per_s, max_rate)
            if rate == 0.0:
                self._left_s = None  # home
            velocity, note = self.limiter.limit(Velocity(0.0, rate), dt)
            return MotionCommand(velocity, "home", note)
        velocity, note = self.limiter.limit(ZERO, dt)
        return MotionCommand(velocity, "idle", note)
