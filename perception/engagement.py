"""Engagement per person, after ROS4HRI's hri_engagement (REP-155 levels), tuned for a kiosk.

Each processed frame adds one sample per seen person: +1 when the visual social engagement score
S = gaze_AB × gaze_BA × distance factor (Webb & Lemaignan, RO-MAN 2022) exceeds ``threshold``,
−1 otherwise. From camera cues:

* distance factor log(max_distance + 1 − d) / log(max_distance + 1), d from the face's width;
* gaze_BA (where the person stands): max(0, 1 − tan|bearing| / tan(bearing_fov));
* gaze_AB (where the person looks): max(0, 1 − tan|head yaw| / tan(head_fov)), head yaw from
  the BlazeFace keypoints (a face in profile scores low); a face cut by the frame's border scores 0.

A frame without the person's face adds nothing (as in ROS4HRI). The mean of the samples of the
last ``window_s`` (ROS4HRI: 10 s; here 2 s) drives the state machine, one transition per step,
after at least ``min_dwell_s`` in the current state, with ROS4HRI's hysteresis thresholds::

    UNKNOWN ─(window half full)→ DISENGAGED ─(> −0.4)→ ENGAGING ─(> 0.5, and live)→ ENGAGED
    ENGAGING ─(< −0.6)→ DISENGAGED     ENGAGED ─(< 0.4)→ DISENGAGING ─(> 0.6)→ ENGAGED
    DISENGAGING ─(< −0.5)→ DISENGAGED

**Posters and passers-by.** ENGAGING → ENGAGED also needs the face to be *live*: it moved or
changed size by at least ``min_motion`` (a fraction of its width) within ``liveness_window_s``.
A printed face never does (its detections jitter by ≈ 0.1 % of the width), a visitor who just
walked up always does, and a standing person sways (≈ 10 %). A face at the frame's edge scores 0,
and a distant or off-axis one scores low, so neither starts a conversation.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum

__all__ = ["EngagementLevel", "EngagementOptions", "PersonEngagement", "engagement_score"]


class EngagementLevel(IntEnum):
    """hri_msgs/EngagementLevel constants (published as std_msgs/UInt8)."""

    UNKNOWN = 0
    DISENGAGED = 1
    ENGAGING = 2
    ENGAGED = 3
    DISENGAGING = 4


@dataclass(frozen=True)
class EngagementOptions:
    """Metric, window and state-machine parameters (SI units; thresholds on the mean in [-1, 1])."""

    max_distance_m: float = 3.5
    head_fov_deg: float = 60.0
    bearing_fov_deg: float = 50.0
    threshold: float = 0.5
    window_s: float = 2.0
    min_fill: float = 0.5  # decide once the person has been seen for this fraction of the window
    to_engaging: float = -0.4
    to_engaged: float = 0.5
    engaging_to_disengaged: float = -0.6
    to_disengaging: float = 0.4
    back_to_engaged: float = 0.6
    to_disengaged: float = -0.5
    min_dwell_s: float = 0.3
    liveness_window_s: float = 3.0
    min_motion: float = 0.04  # 0 disables the liveness check

    def __post_init__(self) -> None:
        problems = []
        if self.max_distance_m <= 0:
            problems.append("max_distance_m must be > 0")
        for name in ("head_fov_deg", "bearing_fov_deg"):
            if not 1.0 <= getattr(self, name) < 90.0:
                problems.append(f"{name} must be within 1..90 degrees")
        if self.window_s <= 0 or not 0 < self.min_fill <= 1:
            problems.append("window_s must be > 0 and min_fill within (0, 1]")
        if not (self.to_engaged > self.to_disengaging and self.back_to_engaged >= self.to_disengaging
                and self.engaging_to_disengaged < self.to_engaging):
            problems.append("hysteresis thresholds must satisfy to_engaged > to_disengaging, "
                            "back_to_engaged >= to_disengaging and engaging_to_disengaged < to_engaging")
        if problems:
            raise ValueError("; ".join(problems))


def engagement_score(distance_m: float, bearing_rad: float, yaw_rad: float | None, at_edge: bool,
                     options: EngagementOptions) -> float:
    """S in [0, 1]; yaw None (a detector without keypoints) counts as facing the kiosk."""
    if at_edge or not math.isfinite(distance_m) or distance_m >= options.max_distance_m:
        return 0.0
    distance_factor = math.log(options.max_distance_m + 1 - distance_m) / math.log(options.max_distance_m + 1)
    gaze_ba = _cone(bearing_rad, options.bearing_fov_deg)
    gaze_ab = 1.0 if yaw_rad is None else _cone(yaw_rad, options.head_fov_deg)
    return max(0.0, min(1.0, gaze_ab * gaze_ba * min(1.0, distance_factor)))


def _cone(angle_rad: float, fov_deg: float) -> float:
    if not math.isfinite(angle_rad) or abs(angle_rad) >= math.pi / 2:
        return 0.0
    return max(0.0, 1.0 - math.tan(abs(angle_rad)) / math.tan(math.radians(fov_deg)))


@dataclass
class PersonEngagement:
    """One person's sample history and engagement level."""

    options: EngagementOptions
    first_seen_s: float
    level: EngagementLevel = EngagementLevel.UNKNOWN
    since_s: float = 0.0
    samples: deque = field(default_factory=deque)  # (t, +1/-1)
    last_score: float = 0.0

    def add(self, now_s: float, score: float) -> None:
        self.last_score = score
        self.samples.append((now_s, 1 if score > self.options.threshold else -1))

    def mean(self, now_s: float) -> float | None:
        while self.samples and now_s - self.samples[0][0] > self.options.window_s:
            self.samples.popleft()
        if not self.samples:
            return None
        return sum(s for _, s in self.samples) / len(self.samples)

    def step(self, now_s: float, live: bool) -> EngagementLevel | None:
        """Advance at most one transition; return the new level when it changed."""
        opts = self.options
        mean = self.mean(now_s)
        if mean is None or (now_s - self.since_s < opts.min_dwell_s and self.level != EngagementLevel.UNKNOWN):
            return None
        level = self.level
        new = None
        if level == EngagementLevel.UNKNOWN:
            if now_s - self.first_seen_s >= opts.window_s * opts.min_fill:
                new = EngagementLevel.DISENGAGED
        elif level == EngagementLevel.DISENGAGED:
            if mean > opts.to_engaging:
                new = EngagementLevel.ENGAGING
        elif level == EngagementLevel.ENGAGING:
            if mean > opts.to_engaged and (live or opts.min_motion <= 0):
                new = EngagementLevel.ENGAGED
            elif mean < opts.engaging_to_disengaged:
                new = EngagementLevel.DISENGAGED
        elif level == EngagementLevel.ENGAGED:
            if mean < opts.to_disengaging:
                new = EngagementLevel.DISENGAGING
        elif level == EngagementLevel.DISENGAGING:
            if mean > opts.back_to_engaged:
                new = EngagementLevel.ENGAGED
            elif mean < opts.to_disengaged:
                new = EngagementLevel.DISENGAGED
        if new is None:
            return None
        self.level, self.since_s = new, now_s
        return new
