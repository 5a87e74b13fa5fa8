"""Scenes composed from real photographs: the simulated camera's frames, tests and benchmarks.

scikit-image ships real photographs: a visitor facing the camera is the head and shoulders of
``astronaut()`` (a portrait looking into the lens); a visitor turned away is ``camera()`` (a man in
profile, looking through a camera to his left), flipped for the other side; the background is a
real indoor room (``stereo_motorcycle()``'s garage). Sprites are cut out with a soft mask around
the person and scaled so their face is as wide as a 0.15 m face at the visitor's distance through
:class:`~perception.camera_model.PinholeCamera`. Every frame gets camera noise, so a static
"poster" still changes pixel values but not geometry.

A :class:`Scene` is a background, visitors moving along keyframed paths and optional posters;
:meth:`Scene.render` draws time ``t``. :data:`SCENARIOS` names ready-made scenes (``visit``:
approach, stay, turn away, leave; ``poster``; ``edge``; ``two_visitors``; ``empty``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import cv2
import numpy as np

from perception.camera_model import PinholeCamera

__all__ = ["SCENARIOS", "Keyframe", "Poster", "Scene", "Sprite", "VisitorPath", "scenario", "write_video"]

POSES = ("facing", "turned_left", "turned_right", "hidden")


@dataclass(frozen=True)
class Sprite:
    """A person cut from a photo: BGR pixels, alpha in [0, 1], the face's centre and width (px)."""

    image: np.ndarray
    alpha: np.ndarray
    face_centre: tuple[float, float]
    face_width_px: float


def _soft_mask(shape: tuple[int, int], ellipses: list[tuple[tuple[int, int], tuple[int, int]]],
               blur_px: int = 15) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    for centre, axes in ellipses:
        cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), blur_px)
    return mask.astype(np.float32) / 255.0


@cache
def _sprite(pose: str) -> Sprite:
    import skimage.data

    if pose == "facing":
        photo = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)  # 512×512, face x 176–276
        crop = photo[0:512, 30:420]
        alpha = _soft_mask(crop.shape[:2], [((195, 118), (82, 108)), ((180, 420), (175, 190))])
        return Sprite(crop, alpha, face_centre=(196.0, 126.0), face_width_px=100.0)
    if pose in ("turned_left", "turned_right"):
        photo = cv2.cvtColor(skimage.data.camera(), cv2.COLOR_GRAY2BGR)  # profile, looking to image right
        crop = photo[40:512, 40:345]
        alpha = _soft_mask(crop.shape[:2], [((168, 100), (75, 85)), ((95, 330), (115, 210))])
        face_centre = (190.0, 120.0)  # ear to nose tip ≈ the width of the face box
        if pose == "turned_left":  # the subject turns to their own left: image right in a mirror-free camera
            return Sprite(crop, alpha, face_centre, 84.0)
        flipped = crop[:, ::-1].copy()
        return Sprite(flipped, alpha[:, ::-1].copy(), (crop.shape[1] - face_centre[0], face_centre[1]), 84.0)
    raise ValueError(f"unknown pose '{pose}'; use one of {POSES}")


@lru_cache(maxsize=4)
def _background(name: str, width: int, height: int) -> np.ndarray:
    import skimage.data

    if name == "room":
        photo = skimage.data.stereo_motorcycle()[0]  # a real garage, 741×500
    elif name == "coffee":
        photo = skimage.data.coffee()
    elif name == "rocket":
        photo = skimage.data.rocket()
    else:
        raise ValueError(f"unknown background '{name}'; use room, coffee or rocket")
    photo = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
    # fill the frame keeping the aspect ratio (centre crop)
    scale = max(width / photo.shape[1], height / photo.shape[0])
    resized = cv2.resize(photo, (math.ceil(photo.shape[1] * scale), math.ceil(photo.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA)
    y0 = (resized.shape[0] - height) // 2
    x0 = (resized.shape[1] - width) // 2
    return resized[y0:y0 + height, x0:x0 + width].copy()


@dataclass(frozen=True)
class Keyframe:
    """Where a visitor is at time ``t_s``: bearing (rad, + left), distance (m) and pose.

    Bearing and distance are interpolated linearly to the next keyframe; the pose holds until it.
    """

    t_s: float
    bearing_rad: float
    distance_m: float
    pose: str = "facing"


@dataclass
class VisitorPath:
    """A visitor's keyframes; outside the first..last keyframe the visitor is not in the scene."""

    keyframes: list[Keyframe]
    sway_m: float = 0.012  # people never stand still: lateral head sway amplitude
    sway_hz: float = 0.35
    head_height_m: float = 0.15  # face height above the camera's axis

    def at(self, t_s: float) -> Keyframe | None:
        frames = self.keyframes
        if not frames or t_s < frames[0].t_s or t_s > frames[-1].t_s:
            return None
        for a, b in itertools.pairwise(frames):
            if a.t_s <= t_s <= b.t_s:
                u = 0.0 if b.t_s == a.t_s else (t_s - a.t_s) / (b.t_s - a.t_s)
                return Keyframe(t_s, a.bearing_rad + u * (b.bearing_rad - a.bearing_rad),
                                a.distance_m + u * (b.distance_m - a.distance_m), a.pose)
        return frames[-1]


@dataclass(frozen=True)
class Poster:
    """A printed face on the wall: a static sprite (no motion, only camera noise)."""

    bearing_rad: float
    distance_m: float
    pose: str = "facing"
    head_height_m: float = 0.15


@dataclass
class Scene:
    """Background + visitors + posters at the camera's resolution; :meth:`render` draws time t."""

    camera: PinholeCamera = field(default_factory=PinholeCamera)
    background: str = "room"
    visitors: list[VisitorPath] = field(default_factory=list)
    posters: list[Poster] = field(default_factory=list)
    noise_sigma: float = 2.0
    duration_s: float = 10.0
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._noise = np.empty((self.camera.height_px, self.camera.width_px, 3), np.int16)

    def render(self, t_s: float) -> np.ndarray:
        cam = self.camera
        frame = _background(self.background, cam.width_px, cam.height_px).copy()
        placements = [(p.distance_m, p.bearing_rad, p.pose, p.head_height_m, 0.0) for p in self.posters]
        for path in self.visitors:
            key = path.at(t_s)
            if key is not None and key.pose != "hidden":
                sway = path.sway_m * math.sin(2 * math.pi * path.sway_hz * t_s)
                bearing = key.bearing_rad + math.atan2(sway, key.distance_m)
                placements.append((key.distance_m, bearing, key.pose, path.head_height_m, t_s))
        for distance, bearing, pose, head_height, t in sorted(placements, key=lambda p: -p[0]):  # far first
            bob = 0.004 * math.sin(2 * math.pi * 0.25 * t) if t else 0.0  # breathing
            self._paste(frame, _sprite(pose), distance, bearing, head_height + bob)
        if self.noise_sigma > 0:
            cv2.randn(self._noise, 0, self.noise_sigma)
            frame = np.clip(frame.astype(np.int16) + self._noise, 0, 255).astype(np.uint8)
        return frame

    def _paste(self, frame: np.ndarray, sprite: Sprite, distance_m: float, bearing_rad: float,
               head_height_m: float) -> None:
        cam = self.camera
        scale = cam.face_width_px(distance_m) / sprite.face_width_px
        if scale <= 0.01:
            return
        height, width = sprite.image.shape[:2]
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        image = cv2.resize(sprite.image, (new_w, new_h), interpolation=interpolation)
        alpha = cv2.resize(sprite.alpha, (new_w, new_h), interpolation=interpolation)
        face_x = cam.column_px(bearing_rad)
        face_y = cam.height_px / 2.0 - cam.focal_px * head_height_m / distance_m
        x0 = round(face_x - sprite.face_centre[0] * scale)
        y0 = round(face_y - sprite.face_centre[1] * scale)
        fx0, fy0 = max(0, x0), max(0, y0)
        fx1, fy1 = min(cam.width_px, x0 + new_w), min(cam.height_px, y0 + new_h)
        if fx1 <= fx0 or fy1 <= fy0:
            return
        sub_img = image[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0].astype(np.float32)
        sub_a = alpha[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0, None]
        region = frame[fy0:fy1, fx0:fx1].astype(np.float32)
        frame[fy0:fy1, fx0:fx1] = (sub_a * sub_img + (1 - sub_a) * region).astype(np.uint8)


def _visit(camera: PinholeCamera) -> Scene:
    """A visitor walks up from the right, stays facing the kiosk, turns away, then leaves left."""
    path = VisitorPath([
        Keyframe(1.0, -0.42, 3.2),            # enters at the right edge, far
        Keyframe(3.5, -0.03, 0.9),            # walks up and stops in front
        Keyframe(9.0, -0.03, 0.9, "turned_left"),  # stays facing the kiosk until 9 s, then turns away
        Keyframe(12.0, -0.03, 0.9, "turned_left"),
        Keyframe(14.5, 0.55, 2.2, "turned_left"),  # walks out to the left
    ])
    return Scene(camera, visitors=[path], duration_s=16.0)


def _poster(camera: PinholeCamera) -> Scene:
    """A face printed on a poster, in plain view, facing the kiosk for the whole scene."""
    return Scene(camera, posters=[Poster(bearing_rad=0.12, distance_m=1.1)], duration_s=20.0)


def _edge(camera: PinholeCamera) -> Scene:
    """Someone stands at the frame's edge, half outside, facing the kiosk; another passes far away."""
    half_fov = math.radians(camera.hfov_deg) / 2
    lingering = VisitorPath([Keyframe(0.0, half_fov * 0.97, 1.0), Keyframe(20.0, half_fov * 0.97, 1.0)])
    passer = VisitorPath([Keyframe(2.0, -0.5, 3.5), Keyframe(8.0, 0.5, 3.5)])
    return Scene(camera, visitors=[lingering, passer], duration_s=20.0)


def _two_visitors(camera: PinholeCamera) -> Scene:
    """Two visitors walk up together; the nearer one (0.9 m) should win over the one at 1.3 m."""
    near = VisitorPath([Keyframe(0.5, -0.35, 2.5), Keyframe(3.0, -0.14, 0.9), Keyframe(12.0, -0.14, 0.9)])
    far = VisitorPath([Keyframe(0.5, 0.35, 2.5), Keyframe(3.0, 0.14, 1.3), Keyframe(12.0, 0.14, 1.3)], sway_hz=0.5)
    return Scene(camera, visitors=[near, far], duration_s=12.0)


def _empty(camera: PinholeCamera) -> Scene:
    return Scene(camera, duration_s=10.0)


SCENARIOS: dict[str, Callable[[PinholeCamera], Scene]] = {
    "visit": _visit,
    "poster": _poster,
    "edge": _edge,
    "two_visitors": _two_visitors,
    "empty": _empty,
}


def scenario(name: str, camera: PinholeCamera | None = None) -> Scene:
    """A named scene at the camera's resolution."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario '{name}'; use one of {sorted(SCENARIOS)}")
    return SCENARIOS[name](camera or PinholeCamera())


def write_video(path: Path, scene: Scene, fps: float = 15.0, codec: str = "MJPG") -> Path:
    """Render the whole scene into a video file (MJPG AVI by default), frame by frame."""
    cam = scene.camera
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (cam.width_px, cam.height_px))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write a {codec} video to {path}")
    try:
        for index in range(round(scene.duration_s * fps)):
            writer.write(scene.render(index / fps))
    finally:
        writer.release()
    return Path(path)
