"""Benchmark presence, motion safety and barge-in; print one JSON object.

* face detection at 640×480 pinned to one core, including the video frame decode and the
  BlazeFace anchor decoding + NMS: BlazeFace full range (+ centre zoom), short range, Haar; with
  detection rate by distance and false positives on empty frames of real photographs;
* engagement decision delay after a visitor stops in front (composed scenes, several stop
  distances and bearings), for observation windows of 1, 2, 3 and ROS4HRI's 10 s;
* over real DDS between processes: e-stop → zero velocity (cmd_vel and the simulated base's
  odometry), watchdog stops (base: commands stop; motion: visitor bearings stop), barge-in
  (citizen speech → playback stopped), and the peak RSS of the new nodes.

Usage: .venv/bin/python benchmarks/bench_presence.py [--skip-dds] [--repeats 10]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("KIOSK_ROOT", str(REPO))

from kiosk_robot.harness import Kiosk, TopicRecorder, node_active, peak_rss_mb  # noqa: E402
from perception.camera_model import PinholeCamera  # noqa: E402
from perception.detector import BlazeFaceDetector, CentreZoomDetector, HaarFaceDetector  # noqa: E402
from perception.engagement import EngagementLevel, EngagementOptions  # noqa: E402
from perception.presence import PresenceOptions, PresencePipeline  # noqa: E402
from perception.scene import Keyframe, Scene, VisitorPath, scenario, write_video  # noqa: E402

MODELS = REPO / "models" / "face"


def stats(values: list[float], digits: int = 4) -> dict:
    arr = np.asarray(values, dtype=float)
    if len(arr) == 0:
        return {"n": 0}
    return {"p50": round(float(np.percentile(arr, 50)), digits), "p95": round(float(np.percentile(arr, 95)), digits),
            "max": round(float(arr.max()), digits), "mean": round(float(arr.mean()), digits), "n": len(values)}


def detectors() -> dict:
    full = BlazeFaceDetector(MODELS / "face_detection_full_range.tflite", model="full_range")
    return {
        "blazeface_full_range_centre_zoom": CentreZoomDetector(full),
        "blazeface_full_range": full,
        "blazeface_short_range": BlazeFaceDetector(MODELS / "face_detection_short_range.tflite", model="short_range"),
        "haar_frontalface_default": HaarFaceDetector(),
    }


def bench_detection(tmp: Path) -> dict:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    cv2.setNumThreads(1)
    video = write_video(tmp / "visit.avi", scenario("visit"), fps=15.0)  # MJPG, decoded by FFmpeg
    camera = PinholeCamera()
    report = {}
    for name, detector in detectors().items():
        cap = cv2.VideoCapture(str(video))
        frames, started = 0, time.perf_counter()
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            detector.detect(frame)
            frames += 1
        elapsed = time.perf_counter() - started
        cap.release()
        found: dict[str, float] = {}
        for pose in ("facing", "turned_left"):
            for distance in (0.6, 0.9, 1.3, 1.8, 2.5, 3.2):
                hits = 0
                bearings = np.linspace(-0.35, 0.35, 8)
                for i, bearing in enumerate(bearings):
                    scene = Scene(camera, visitors=[VisitorPath([Keyframe(0, bearing, distance, pose),
                                                                 Keyframe(9, bearing, distance, pose)], sway_m=0)],
                                  seed=i)
                    x = camera.column_px(bearing)
                    hits += any(abs(f.centre[0] - x) < camera.face_width_px(distance)
                                for f in detector.detect(scene.render(1.0)))
                found[f"{pose}_{distance}m"] = round(hits / len(bearings), 3)
        backgrounds = ["room", "coffee", "rocket"] * 10
        empty = [Scene(camera, background=bg, seed=i).render(0.0) for i, bg in enumerate(backgrounds)]
        false_positives = sum(len(detector.detect(frame)) for frame in empty)
        report[name] = {"fps_one_core_incl_video_decode": round(frames / elapsed, 1),
                        "ms_per_frame": round(elapsed / frames * 1000, 2), "frames": frames,
                        "detection_rate": found, "false_positives_in_30_empty_frames": false_positives}
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return report


def bench_decision_delay() -> dict:
    """Scene time from the visitor stopping in front to ENGAGED (10 Hz processing, as the node)."""
    out = {}
    cases = [(d, b) for d in (0.7, 0.9, 1.2, 1.5) for b in (-0.15, 0.0, 0.2)]
    for window in (1.0, 2.0, 3.0, 10.0):
        delays, missed = [], 0
        for distance, bearing in cases:
            stop_s = 3.0
            path = VisitorPath([Keyframe(0.5, bearing + 0.45, 3.2), Keyframe(stop_s, bearing, distance),
                                Keyframe(stop_s + 15.0, bearing, distance)])
            scene = Scene(visitors=[path], duration_s=stop_s + 15.0)
            options = PresenceOptions(model_path=str(MODELS / "face_detection_full_range.tflite"),
                                      engagement=EngagementOptions(window_s=window))
            pipeline = PresencePipeline.create(options)
            engaged_at = None
            for i in range(int(scene.duration_s * 10)):
                t = i / 10
                result = pipeline.process(scene.render(t), t)
                if any(level == EngagementLevel.ENGAGED for _, level in result.transitions):
                    engaged_at = t
                    break
            if engaged_at is None:
                missed += 1
            else:
                delays.append(engaged_at - stop_s)
        out[f"window_{window:g}s"] = {"delay_after_stop_s": stats(delays, 2), "not_engaged": missed,
                                      "cases": len(cases)}
    # posters and faces at the edge, 60 s each: conversations started
    starts = {}
    for name in ("poster", "edge"):
        scene = scenario(name)
        pipeline = PresencePipeline.create(PresenceOptions(model_path=str(MODELS / "face_detection_full_range.tflite")))
        count = 0
        for i in range(60 * 5):
            t = i / 5
            count += sum(c.event == "engaged" for c in pipeline.process(scene.render(t % scene.duration_s), t).changes)
        starts[name] = count
    out["engaged_events_in_60_s"] = starts
    return out


class Repeater:
    """Publish a message at a fixed rate from a thread."""

    def __init__(self, publisher, make, rate_hz: float = 20.0) -> None:
        self.publisher, self.make, self.period = publisher, make, 1.0 / rate_hz
        self.running = threading.Event()
        self.running.set()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.running.is_set():
            self.publisher.publish(self.make())
            time.sleep(self.period)

    def stop(self) -> None:
        self.running.clear()
        self.thread.join()


def bench_motion(tmp: Path, repeats: int) -> dict:
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry
    from std_msgs.msg import Bool, String
    from std_srvs.srv import Trigger

    from kiosk_protocol import VisitorEvent, encode

    namespace = "bench_motion"
    kiosk = Kiosk(tmp, namespace, nodes="motion,base")
    recorder = TopicRecorder(namespace)
    recorder.subscribe("cmd_vel", Twist, lambda m: (time.monotonic(), m.angular.z))
    recorder.subscribe("odom", Odometry, lambda m: (time.monotonic(), m.twist.twist.angular.z))
    report: dict = {}
    try:
        recorder.wait_for(lambda: all(node_active(recorder, namespace, n) for n in ("motion/motion", "motion/base")),
                          60, "motion and base")
        estop = recorder.publisher("emergency_stop", Bool, latched=True)
        teleop = recorder.publisher("motion/teleop_cmd_vel", Twist)
        client = recorder.node.create_client(Trigger, f"/{namespace}/motion/reset_estop")
        client.wait_for_service(timeout_sec=10)

        def turn() -> Twist:
            msg = Twist()
            msg.angular.z = 0.5
            return msg

        def first_zero(topic: str, since: float) -> float:
            return recorder.wait_for(lambda: next((t for t, w in recorder.get(topic) if t > since and w == 0.0), None),
                                     5, f"zero on {topic}") - since

        joystick = Repeater(teleop, turn)
        to_cmd, to_odom = [], []
        for _ in range(repeats):
            recorder.wait_for(lambda: any(w == 0.5 for t, w in recorder.get("odom")[-3:]), 10, "turning")
            pressed = time.monotonic()
            estop.publish(Bool(data=True))
            to_cmd.append(first_zero("cmd_vel", pressed))
            to_odom.append(first_zero("odom", pressed))
            estop.publish(Bool(data=False))
            time.sleep(0.2)
            future = client.call_async(Trigger.Request())
            recorder.wait_for(future.done, 5, "reset")
        report["estop_to_zero_velocity_s"] = {"cmd_vel": stats(to_cmd), "base_odometry": stats(to_odom)}
        # base watchdog: the motion node dies, commands stop
        watchdog = []
        for _ in range(3):
            recorder.wait_for(lambda: any(w == 0.5 for t, w in recorder.get("odom")[-3:]), 30, "turning")
            started = len(kiosk.pids("motion"))
            os.kill(kiosk.pids("motion")[-1], signal.SIGKILL)
            killed = time.monotonic()
            watchdog.append(first_zero("odom", killed))
            recorder.wait_for(lambda n=started: len(kiosk.pids("motion")) > n, 30, "motion restarted")
            recorder.diagnostics.pop(f"/{namespace}/motion/motion", None)
            recorder.wait_for(lambda: node_active(recorder, namespace, "motion/motion"), 30, "motion active")
        report["base_watchdog_stop_s"] = {"cmd_timeout_s": 0.5, "latency": stats(watchdog)}
        joystick.stop()
        # motion's perception watchdog: visitor bearings stop coming
        visitor = recorder.publisher("perception/visitor", String)
        time.sleep(1.0)
        stale = []  # (the teleop turned the base ≈ 1 rad left: visitors on the right, within reach of home)
        for i in range(repeats):
            person = f"p{i:06d}"
            feed = Repeater(visitor, lambda p=person: String(data=encode(VisitorEvent(
                event="update", person_id=p, engagement="ENGAGED", bearing_rad=-0.6, distance_m=1.0))), 10)
            visitor.publish(String(data=encode(VisitorEvent(event="engaged", person_id=person, engagement="ENGAGED",
                                                            bearing_rad=-0.6, distance_m=1.0))))
            recorder.wait_for(lambda: any(w < -0.2 for t, w in recorder.get("cmd_vel")[-3:]), 10, "turning to visitor")
            feed.stop()
            stopped = time.monotonic()
            stale.append(first_zero("cmd_vel", stopped))
            visitor.publish(String(data=encode(VisitorEvent(event="left", person_id=person))))
            time.sleep(4.0)  # home again
        report["perception_watchdog_stop_s"] = {"perception_timeout_s": 0.7, "latency": stats(stale)}
        report["peak_rss_mb"] = {name: peak_rss_mb(kiosk.pids(name)[-1]) for name in ("base",)}
    finally:
        recorder.close()
        kiosk.stop()
    return report


def bench_barge_in_and_rss(tmp: Path, repeats: int) -> dict:
    from kiosk_protocol import UserInput, encode

    namespace = "bench_barge"
    kiosk = Kiosk(tmp, namespace, nodes="microphone,dialogue,tts,perception,motion,base", overrides={
        "microphone": {"wav_speed": 1.0, "barge_in": {"enabled": True, "sim_echo_gain": 0.8,
                                                      "sim_echo_delay_ms": 40.0}},
        "tts": {"speaker": {"realtime": True}},
        "camera": {"source": "generated:visit"},
    })
    recorder = TopicRecorder(namespace)
    nodes = ("speech/microphone", "dialogue/dialogue", "speech/tts", "perception/camera", "perception/engagement",
             "motion/motion", "motion/base")
    latencies, detections, false_barge_ins = [], [], 0
    try:
        recorder.wait_for(lambda: all(node_active(recorder, namespace, n) for n in nodes), 120, "nodes active")
        citizen = tmp / "citizen.wav"
        from kiosk_robot.harness import espeak_wav

        espeak_wav("Tôi muốn đăng ký kết hôn", citizen)

        def ask(text: str) -> dict:
            before = {r["reply_id"] for r in recorder.get("dialogue/reply")}
            recorder.publish("ui/input", encode(UserInput(text=text)))
            return recorder.wait_for(lambda: next((r for r in recorder.get("dialogue/reply")
                                                   if r["reply_id"] not in before and r["source"] == "screen"), None),
                                     30, "reply")

        def spoken(reply: dict) -> dict:
            return recorder.wait_for(lambda: next((s for s in recorder.get("speech/spoken")
                                                   if s["reply_id"] == reply["reply_id"]), None), 90, "spoken")

        spoken(ask("đăng ký khai sinh cần giấy tờ gì"))  # echo only: the canceller learns the echo path
        false_barge_ins += len(recorder.get("audio/barge_in"))
        for i in range(repeats):
            before = len(recorder.get("audio/barge_in"))
            reply = ask("làm căn cước cần giấy tờ gì")
            recorder.wait_for(lambda: recorder.get("speech/robot_speaking")[-1:] == [True], 30, "speaking")
            time.sleep(1.0 + 0.37 * i)
            (kiosk.mic_dir / f"citizen_{i}.wav").write_bytes(citizen.read_bytes())
            barge = recorder.wait_for(lambda b=before: recorder.get("audio/barge_in")[b:b + 1], 15, "barge-in")[0]
            done = spoken(reply)
            if done["interrupted"]:
                latencies.append(done["interrupted_unix_s"] - barge["speech_start_unix_s"])
                detections.append(barge["detected_unix_s"] - barge["speech_start_unix_s"])
            time.sleep(4.0)  # the citizen's utterance ends; its (unanswered, no ASR here) turn passes
        rss = {name: peak_rss_mb(kiosk.pids(name)[-1]) for name in ("perception", "motion", "base", "microphone",
                                                                     "tts")}
    finally:
        recorder.close()
        kiosk.stop()
    return {"speech_start_to_playback_stopped_s": stats(latencies), "speech_start_to_detection_s": stats(detections),
            "interrupted": len(latencies), "attempts": repeats, "barge_ins_on_echo_only_reply": false_barge_ins,
            "peak_rss_mb": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-dds", action="store_true")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(30, 200)))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    report: dict = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                                "loadavg_start": [round(x, 2) for x in os.getloadavg()]}}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        report["face_detection_640x480"] = bench_detection(tmp)
        report["engagement_decision"] = bench_decision_delay()
        if not args.skip_dds:
            report["motion_safety"] = bench_motion(tmp / "motion", args.repeats)
            report["barge_in_and_rss"] = bench_barge_in_and_rss(tmp / "barge", max(3, args.repeats // 2))
    report["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
