"""Pinhole camera geometry: pixel column → bearing, face width → distance (REP-103 bearings)."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["PinholeCamera"]


@dataclass(frozen=True)
class PinholeCamera:
    """A camera looking along the robot's x axis (forward), image x to the robot's right.

    ``hfov_deg`` is the full horizontal field of view; ``face_width_m`` the real width a
    BlazeFace box spans (about ear to ear on an adult, 0.15 m).
    """

    width_px: int = 640
    height_px: int = 480
    hfov_deg: float = 60.0
    face_width_m: float = 0.15

    def __post_init__(self) -> None:
        if self.width_px <= 0 or self.height_px <= 0:
            raise ValueError(f"image size must be positive, got {self.width_px}x{self.height_px}")
        if not 10.0 <= self.hfov_deg <= 170.0:
            raise ValueError(f"hfov_deg must be within 10..170 degrees, got {self.hfov_deg}")
        if self.face_width_m <= 0:
            raise ValueError(f"face_width_m must be > 0, got {self.face_width_m}")

    @property
    def focal_px(self) -> float:
        return self.width_px / 2.0 / math.tan(math.radians(self.hfov_deg) / 2.0)

    def bearing_rad(self, x_px: float) -> float:
        """Bearing of an image column, radians, positive to the robot's left (REP-103)."""
        return -math.atan((x_px - self.width_px / 2.0) / self.focal_px)

    def distance_m(self, face_width_px: float) -> float:
        """Distance of a face whose box is ``face_width_px`` wide."""
        return self.focal_px * self.face_width_m / max(face_width_px, 1e-6)

    def face_width_px(self, distance_m: float) -> float:
        return self.focal_px * self.face_width_m / max(distance_m, 1e-6)

    def column_px(self, bearing_rad: float) -> float:
        """Image column of a bearing (inverse of :meth:`bearing_rad`)."""
        return self.width_px / 2.0 - math.tan(bearing_rad) * self.focal_px
