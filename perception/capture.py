"""Camera sources for the camera node: a V4L2 device, a video file, a network stream, generated frames.

One ``source`` string names the camera, the way a technician writes it in ``config/kiosk.yaml``:

==================  ============================================================================
``auto``            the first ``/dev/video*`` device; none: :class:`CameraUnavailable` (no camera)
``off``             no camera (the kiosk behaves as without one)
``0``, ``device:1`` a device index; ``/dev/video2`` a device path
``rtsp://…``        a network stream (also ``http://``, ``https://``), through FFmpeg
``generated:NAME``  a simulated camera: a scene composed from real photographs
                    (:data:`perception.scene.SCENARIOS`: visit, poster, edge, two_visitors, empty)
anything else       a video file (replayed at its own frame rate; ``loop`` restarts it)
==================  ============================================================================

Every source yields BGR uint8 frames at the configured resolution (resized if the device or file
differs). :meth:`FrameSource.read` blocks until the next frame and raises :class:`StreamLost`
when a source that was open stops delivering (unplugged, stream ended); the caller reopens.
Frames are never written anywhere.
"""

from __future__ import annotations

import glob
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

__all__ = [
    "CameraUnavailable",
    "CaptureOptions",
    "Frame",
    "FrameSlot",
    "FrameSource",
    "GeneratedSource",
    "OpenCvSource",
    "StreamLost",
    "make_source",
    "parse_source",
]

log = logging.getLogger(__name__)

_FIX = ("plug in a USB camera (check `ls /dev/video*`), or set camera.source to a device index, a video "
        "file, an rtsp:// URL or generated:visit (simulated camera); camera.source: off runs without one")


class CameraUnavailable(RuntimeError):
    """The source cannot be opened; the message says what is wrong and how to fix it."""


class StreamLost(RuntimeError):
    """An open source stopped delivering frames (unplugged, network stream dropped, file ended)."""


@dataclass(frozen=True)
class CaptureOptions:
    """Resolution and rate every source delivers; timeouts for network streams (seconds)."""

    width_px: int = 640
    height_px: int = 480
    fps: float = 15.0
    loop: bool = True  # video files and generated scenes restart at their end
    open_timeout_s: float = 5.0
    read_timeout_s: float = 3.0

    def __post_init__(self) -> None:
        if not (16 <= self.width_px <= 4096 and 16 <= self.height_px <= 4096):
            raise ValueError(f"resolution {self.width_px}x{self.height_px} is out of range (16..4096)")
        if not 0.5 <= self.fps <= 120:
            raise ValueError(f"fps must be within 0.5..120, got {self.fps}")


@dataclass
class Frame:
    """One captured frame, stamped at capture (wall clock and monotonic)."""

    image: np.ndarray
    stamp_unix_s: float
    stamp_mono_s: float
    index: int


class FrameSource(Protocol):
    description: str

    def open(self) -> None: ...
    def read(self) -> np.ndarray: ...
    def close(self) -> None: ...


def parse_source(spec: str) -> tuple[str, str]:
    """(kind, value) of a source string: kind is off, auto, device, url, generated or file."""
    spec = spec.strip()
    if spec in ("", "off", "none", "disabled"):
        return "off", ""
    if spec == "auto":
        return "auto", ""
    if spec.isdigit():
        return "device", spec
    if spec.startswith("device:") and spec[7:].isdigit():
        return "device", spec[7:]
    if spec.startswith("/dev/video"):
        return "device", spec
    if spec.split("://", 1)[0] in ("rtsp", "rtsps", "http", "https", "rtmp", "udp", "tcp") and "://" in spec:
        return "url", spec
    if spec.startswith("generated:"):
        return "generated", spec[len("generated:"):] or "visit"
    return "file", spec


def _pace(next_t: float, period_s: float) -> float:
    delay = next_t - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    return max(next_t, time.monotonic() - period_s) + period_s


class OpenCvSource:
    """A device, file or network stream through ``cv2.VideoCapture``."""

    def __init__(self, kind: str, value: str, options: CaptureOptions) -> None:
        self.kind, self.value, self.options = kind, value, options
        self.description = f"{kind} {value}"
        self._cap: cv2.VideoCapture | None = None
        self._next_t = 0.0
        self._period_s = 1.0 / options.fps

    def open(self) -> None:
        self.close()
        opts = self.options
        if self.kind == "device":
            target: int | str = int(self.value) if self.value.isdigit() else self.value
            if isinstance(target, str) and not Path(target).exists():
                raise CameraUnavailable(f"camera device {target} does not exist. Fix: {_FIX}")
            cap = cv2.VideoCapture(target, cv2.CAP_V4L2)
            if cap.isOpened():
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, opts.width_px)
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, opts.height_px)
                cap.set(cv2.CAP_PROP_FPS, opts.fps)
        elif self.kind == "url":
            cap = cv2.VideoCapture(self.value, cv2.CAP_FFMPEG, [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(opts.open_timeout_s * 1000),
                cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(opts.read_timeout_s * 1000)])
        else:
            if not Path(self.value).is_file():
                raise CameraUnavailable(f"video file '{self.value}' not found. Fix: {_FIX}")
            cap = cv2.VideoCapture(self.value, cv2.CAP_FFMPEG)
            file_fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
            self._period_s = 1.0 / file_fps if 0.5 <= file_fps <= 120 else 1.0 / opts.fps
        if not cap.isOpened():
            cap.release()
            raise CameraUnavailable(f"cannot open camera {self.description}. Fix: {_FIX}")
        self._cap = cap
        self._next_t = time.monotonic()

    def read(self) -> np.ndarray:
        if self._cap is None:
            raise StreamLost(f"camera {self.description} is not open")
        if self.kind == "file":
            self._next_t = _pace(self._next_t, self._period_s)
        ok, image = self._cap.read()
        if not ok and self.kind == "file" and self.options.loop:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._cap.read()
        if not ok or image is None:
            what = "video file ended" if self.kind == "file" else "no frame (unplugged or stream dropped)"
            self.close()
            raise StreamLost(f"camera {self.description}: {what}")
        return _conform(image, self.options)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class GeneratedSource:
    """A simulated camera: renders a :class:`perception.scene.Scene` in real time."""

    def __init__(self, scenario_name: str, options: CaptureOptions, hfov_deg: float = 60.0) -> None:
        from perception.camera_model import PinholeCamera
        from perception.scene import scenario

        self.options = options
        self.description = f"generated:{scenario_name}"
        self._scene = scenario(scenario_name, PinholeCamera(options.width_px, options.height_px, hfov_deg))
        self._started = 0.0
        self._next_t = 0.0
        self._open = False

    def open(self) -> None:
        self._started = self._next_t = time.monotonic()
        self._open = True

    def read(self) -> np.ndarray:
        if not self._open:
            raise StreamLost(f"camera {self.description} is not open")
        self._next_t = _pace(self._next_t, 1.0 / self.options.fps)
        t = time.monotonic() - self._started
        if t > self._scene.duration_s:
            if not self.options.loop:
                self._open = False
                raise StreamLost(f"camera {self.description}: scene ended")
            self._started += self._scene.duration_s * (t // self._scene.duration_s)
            t = time.monotonic() - self._started
        return self._scene.render(t)

    def close(self) -> None:
        self._open = False


def _conform(image: np.ndarray, options: CaptureOptions) -> np.ndarray:
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.shape[1] != options.width_px or image.shape[0] != options.height_px:
        image = cv2.resize(image, (options.width_px, options.height_px), interpolation=cv2.INTER_AREA)
    return image


def _first_video_device() -> str | None:
    devices = sorted(glob.glob("/dev/video*"), key=lambda p: (len(p), p))
    return devices[0] if devices else None


def make_source(spec: str, options: CaptureOptions, hfov_deg: float = 60.0) -> FrameSource | None:
    """The source a ``camera.source`` string names (None for ``off``); raises CameraUnavailable
    (``auto`` without any device, an unknown generated scene)."""
    kind, value = parse_source(spec)
    if kind == "off":
        return None
    if kind == "auto":
        device = _first_video_device()
        if device is None:
            raise CameraUnavailable(f"no camera found (source: auto, no /dev/video* device). Fix: {_FIX}")
        return OpenCvSource("device", device, options)
    if kind == "generated":
        try:
            return GeneratedSource(value, options, hfov_deg)
        except ValueError as exc:
            raise CameraUnavailable(f"{exc}. Fix: set camera.source to generated:visit") from exc
    return OpenCvSource(kind, value, options)


class FrameSlot:
    """The newest frame, shared in-process between the camera and the engagement node.

    The camera thread :meth:`put`\\ s; readers take :meth:`latest` (no copy, no queue: a slow
    reader skips frames instead of lagging). ``connected`` is False while the camera is lost.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: Frame | None = None
        self._index = 0
        self.connected = False
        self.lost_reason = ""
        self.camera = None  # the camera node's PinholeCamera (resolution, field of view)

    def put(self, image: np.ndarray) -> Frame:
        with self._lock:
            self._index += 1
            self._frame = Frame(image, time.time(), time.monotonic(), self._index)
            self.connected = True
            return self._frame

    def latest(self) -> Frame | None:
        with self._lock:
            return self._frame

    def mark_lost(self, reason: str) -> None:
        with self._lock:
            self.connected = False
            self.lost_reason = reason
