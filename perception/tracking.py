"""Faces in the robot's frame and their tracks across frames, with stable (never persistent) ids.

A :class:`Face` is one detection mapped to bearing (REP-103, + left), distance (from the face's
width) and head yaw (from BlazeFace keypoints). :class:`FaceTracker` associates faces with
tracks frame to frame (overlap first, then a nearby centre of similar size, so a head turning to
profile keeps its track) and drops a track unseen for ``max_missing_s``. A new track is
tentative until seen in ``min_hits`` consecutive frames (a flickering false detection never
becomes a person). Track ids are random
(``p`` + 6 hex digits) and new for every appearance: nobody is recognized or remembered.
"""

from __future__ import annotations

import math
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from perception.camera_model import PinholeCamera
from perception.detector import Detection

__all__ = ["Face", "FaceTracker", "Track", "face_from_detection", "head_yaw_rad"]

# Weak perspective on a 3-D face model (ears ±77.5 mm lateral, 100 mm behind the sellion; nose tip
# 21 mm ahead, see shared/notes/presence.md §3): (nose − ear midpoint) / ear span = 0.78 tan(yaw).
_EAR_RATIO_TO_TAN = 155.0 / 121.0


def head_yaw_rad(keypoints: np.ndarray) -> float | None:
    """Head yaw from BlazeFace keypoints, radians; 0 faces the camera, the sign says which way
    (positive: the nose points to the image's right). None without keypoints."""
    if keypoints is None or len(keypoints) < 6:
        return None
    nose_x = float(keypoints[2, 0])
    right_ear_x, left_ear_x = float(keypoints[4, 0]), float(keypoints[5, 0])
    span = abs(left_ear_x - right_ear_x)
    eye_span = abs(float(keypoints[1, 0]) - float(keypoints[0, 0]))
    span = max(span, eye_span, 1.0)
    ratio = (nose_x - (right_ear_x + left_ear_x) / 2.0) / span
    return math.atan(_EAR_RATIO_TO_TAN * max(-5.0, min(5.0, ratio)))


@dataclass
class Face:
    """A detected face in the robot's frame."""

    box: np.ndarray  # x0, y0, x1, y1 in pixels
    score: float
    bearing_rad: float
    distance_m: float
    yaw_rad: float | None  # None: the detector gives no keypoints (Haar)
    at_edge: bool  # cut by the left/right border of the frame

    @property
    def width_px(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def centre(self) -> tuple[float, float]:
        return float(self.box[0] + self.box[2]) / 2, float(self.box[1] + self.box[3]) / 2


def face_from_detection(detection: Detection, camera: PinholeCamera, edge_margin_px: float) -> Face:
    cx, _cy = detection.centre
    at_edge = bool(detection.box[0] < edge_margin_px or detection.box[2] > camera.width_px - edge_margin_px)
    return Face(box=detection.box.copy(), score=detection.score, bearing_rad=camera.bearing_rad(cx),
                distance_m=camera.distance_m(detection.width), yaw_rad=head_yaw_rad(detection.keypoints),
                at_edge=at_edge)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


@dataclass
class Track:
    """One person's face over time. ``face`` holds the smoothed box, bearing, distance and yaw."""

    track_id: str
    first_seen_s: float
    last_seen_s: float
    face: Face
    hits: int = 1
    confirmed: bool = False
    seen_now: bool = True
    history: deque = field(default_factory=lambda: deque(maxlen=256))  # (t, cx, cy, width) raw

    def motion(self, now_s: float, window_s: float) -> float:
        """How much the face moved or changed size over the last ``window_s``: the largest of the
        centre's x and y ranges over the mean width, and the range of log width. A printed face
        on a poster stays near 0 (detector jitter ≈ 0.001); a standing person sways (≈ 0.1)."""
        recent = [h for h in self.history if now_s - h[0] <= window_s]
        if len(recent) < 2:
            return 0.0
        arr = np.asarray(recent, dtype=np.float64)
        width = max(float(arr[:, 3].mean()), 1.0)
        centre_range = float(max(np.ptp(arr[:, 1]), np.ptp(arr[:, 2]))) / width
        size_range = float(np.ptp(np.log(np.maximum(arr[:, 3], 1.0))))
        return max(centre_range, size_range)


def _new_id() -> str:
    return "p" + secrets.token_hex(3)


class FaceTracker:
    """Greedy frame-to-frame association; ``update`` returns (live tracks, removed tracks)."""

    def __init__(self, max_missing_s: float = 1.0, min_iou: float = 0.15, max_jump: float = 1.0,
                 smoothing: float = 0.6, min_hits: int = 3, id_factory: Callable[[], str] = _new_id) -> None:
        if max_missing_s <= 0 or not 0 < smoothing <= 1 or min_hits < 1:
            raise ValueError("max_missing_s must be > 0, smoothing within (0, 1] and min_hits >= 1")
        self.min_hits = min_hits
        self.max_missing_s = max_missing_s
        self.min_iou = min_iou
        self.max_jump = max_jump  # centre distance allowed, in face widths, when boxes don't overlap
        self.smoothing = smoothing
        self._new_id = id_factory
        self.tracks: dict[str, Track] = {}

    def _affinity(self, track: Track, face: Face) -> float:
        iou = _iou(track.face.box, face.box)
        if iou >= self.min_iou:
            return 1.0 + iou
        (tx, ty), (fx, fy) = track.face.centre, face.centre
        width = max(track.face.width_px, face.width_px, 1.0)
        ratio = face.width_px / max(track.face.width_px, 1.0)
        distance = math.hypot(tx - fx, ty - fy) / width
        if distance <= self.max_jump and 0.5 <= ratio <= 2.0:
            return 1.0 - distance / self.max_jump * 0.99
        return 0.0

    def update(self, faces: list[Face], now_s: float) -> tuple[list[Track], list[Track]]:
        """Associate this frame's faces; return (confirmed tracks, confirmed tracks just removed)."""
        pairs = sorted(((self._affinity(t, f), tid, i) for tid, t in self.tracks.items()
                        for i, f in enumerate(faces)), reverse=True)
        used_tracks: set[str] = set()
        used_faces: set[int] = set()
        for track in self.tracks.values():
            track.seen_now = False
        for affinity, tid, index in pairs:
            if affinity <= 0 or tid in used_tracks or index in used_faces:
                continue
            used_tracks.add(tid)
            used_faces.add(index)
            self._observe(self.tracks[tid], faces[index], now_s)
        for index, face in enumerate(faces):
            if index not in used_faces:
                track_id = self._new_id()
                while track_id in self.tracks:
                    track_id = self._new_id()
                track = Track(track_id, now_s, now_s, face, confirmed=self.min_hits <= 1)
                track.history.append((now_s, *face.centre, face.width_px))
                self.tracks[track_id] = track
        expired = [t for t in self.tracks.values()
                   if now_s - t.last_seen_s > self.max_missing_s or (not t.confirmed and not t.seen_now)]
        for track in expired:
            del self.tracks[track.track_id]
        return ([t for t in self.tracks.values() if t.confirmed],
                [t for t in expired if t.confirmed])

    def _observe(self, track: Track, face: Face, now_s: float) -> None:
        a = self.smoothing
        old = track.face
        yaw = face.yaw_rad if old.yaw_rad is None or face.yaw_rad is None else a * face.yaw_rad + (1 - a) * old.yaw_rad
        track.face = Face(box=a * face.box + (1 - a) * old.box, score=face.score,
                          bearing_rad=a * face.bearing_rad + (1 - a) * old.bearing_rad,
                          distance_m=a * face.distance_m + (1 - a) * old.distance_m,
                          yaw_rad=yaw, at_edge=face.at_edge)
        track.last_seen_s = now_s
        track.hits += 1
        track.confirmed = track.confirmed or track.hits >= self.min_hits
        track.seen_now = True
        track.history.append((now_s, *face.centre, face.width_px))
