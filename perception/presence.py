"""The presence pipeline: frame → faces → tracks → engagement per person → attended visitor.

:class:`PresencePipeline` is what the engagement node runs on each frame (no ROS)::

    pipeline = PresencePipeline.create(PresenceOptions(model_path="models/face/face_detection_full_range.tflite"))
    result = pipeline.process(frame_bgr, now_s)
    for change in result.changes:            # VisitorChange: engaged / update / left
        ...
    result.persons                           # PersonState per tracked person (REP-155 levels)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from perception.attention import AttentionSelector, PersonState, VisitorChange
from perception.camera_model import PinholeCamera
from perception.detector import BlazeFaceDetector, CentreZoomDetector, HaarFaceDetector
from perception.engagement import EngagementLevel, EngagementOptions, PersonEngagement, engagement_score
from perception.tracking import FaceTracker, face_from_detection

__all__ = ["PresenceOptions", "PresencePipeline", "PresenceResult"]


@dataclass(frozen=True)
class PresenceOptions:
    """Everything the pipeline needs; the engagement node fills it from its parameters."""

    model_path: str = "models/face/face_detection_full_range.tflite"
    detector: str = "full_range"  # full_range | short_range | haar
    min_score: float = 0.5
    centre_zoom: bool = True
    camera: PinholeCamera = field(default_factory=PinholeCamera)
    edge_margin_px: float = 6.0
    max_missing_s: float = 1.0
    engagement: EngagementOptions = field(default_factory=EngagementOptions)
    switch_margin_m: float = 0.3
    leave_after_s: float = 3.0


@dataclass
class PresenceResult:
    persons: list[PersonState]
    removed: list[str]
    changes: list[VisitorChange]
    transitions: list[tuple[str, EngagementLevel]]
    faces: int
    detect_ms: float


class PresencePipeline:
    def __init__(self, detector, options: PresenceOptions) -> None:
        self.detector = detector
        self.options = options
        self.tracker = FaceTracker(max_missing_s=options.max_missing_s)
        self.attention = AttentionSelector(options.switch_margin_m, options.leave_after_s)
        self._engagement: dict[str, PersonEngagement] = {}

    @classmethod
    def create(cls, options: PresenceOptions) -> PresencePipeline:
        """Load the detector the options name (raises DetectorUnavailable with a fix)."""
        if options.detector == "haar":
            detector = HaarFaceDetector()
        else:
            detector = BlazeFaceDetector(options.model_path, model=options.detector, min_score=options.min_score)
        if options.centre_zoom:
            detector = CentreZoomDetector(detector)
        return cls(detector, options)

    def process(self, frame_bgr: np.ndarray, now_s: float) -> PresenceResult:
        opts = self.options
        started = time.perf_counter()
        detections = self.detector.detect(frame_bgr)
        detect_ms = (time.perf_counter() - started) * 1000.0
        faces = [face_from_detection(d, opts.camera, opts.edge_margin_px) for d in detections]
        tracks, removed = self.tracker.update(faces, now_s)
        for track in removed:
            self._engagement.pop(track.track_id, None)
        transitions: list[tuple[str, EngagementLevel]] = []
        persons: dict[str, PersonState] = {}
        for track in tracks:
            person = self._engagement.get(track.track_id)
            if person is None:
                person = self._engagement[track.track_id] = PersonEngagement(opts.engagement, now_s, since_s=now_s)
            face = track.face
            if track.seen_now:
                person.add(now_s, engagement_score(face.distance_m, face.bearing_rad, face.yaw_rad, face.at_edge,
                                                   opts.engagement))
            live = track.motion(now_s, opts.engagement.liveness_window_s) >= opts.engagement.min_motion
            changed = person.step(now_s, live)
            if changed is not None:
                transitions.append((track.track_id, changed))
            persons[track.track_id] = PersonState(track.track_id, person.level, face.bearing_rad, face.distance_m,
                                                  track.first_seen_s, person.last_score, live)
        changes = self.attention.update(persons, now_s)
        return PresenceResult(list(persons.values()), [t.track_id for t in removed], changes, transitions,
                              len(faces), detect_ms)
