"""Perception core without ROS: BlazeFace decoding on real photographs, capture sources, tracking,
engagement (REP-155 levels) and attention, and whole scenes composed from scikit-image photos."""

from __future__ import annotations

import math
import time

import cv2
import numpy as np
import pytest
import skimage.data

from perception.attention import AttentionSelector, PersonState
from perception.camera_model import PinholeCamera
from perception.capture import (
    CameraUnavailable,
    CaptureOptions,
    GeneratedSource,
    OpenCvSource,
    StreamLost,
    make_source,
    parse_source,
)
from perception.detector import (
    FULL_RANGE,
    SHORT_RANGE,
    BlazeFaceDetector,
    DetectorUnavailable,
    HaarFaceDetector,
    ssd_anchors,
    weighted_nms,
)
from perception.engagement import EngagementLevel, EngagementOptions, PersonEngagement, engagement_score
from perception.presence import PresenceOptions, PresencePipeline
from perception.scene import Keyframe, Scene, VisitorPath, scenario, write_video
from perception.tracking import Face, FaceTracker, head_yaw_rad
from tests.conftest import REPO

FULL_MODEL = REPO / "models" / "face" / "face_detection_full_range.tflite"
SHORT_MODEL = REPO / "models" / "face" / "face_detection_short_range.tflite"
L = EngagementLevel


@pytest.fixture(scope="module")
def full_range() -> BlazeFaceDetector:
    return BlazeFaceDetector(FULL_MODEL, model="full_range")


def astronaut_bgr() -> np.ndarray:
    return cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)


# ---- detector -------------------------------------------------------------------------------------
def test_anchor_layouts_match_mediapipe():
    short = ssd_anchors(SHORT_RANGE)
    assert short.shape == (896, 2)
    assert np.allclose(short[0], [0.5 / 16, 0.5 / 16]) and np.allclose(short[1], short[0])  # 2 per 16×16 cell
    assert np.allclose(short[512], [0.5 / 8, 0.5 / 8]) and np.allclose(short[512:518], short[512])  # 6 per 8×8 cell
    assert np.allclose(short[2], [1.5 / 16, 0.5 / 16])  # row-major: x runs first
    full = ssd_anchors(FULL_RANGE)
    assert full.shape == (2304, 2) and np.allclose(full[1], [1.5 / 48, 0.5 / 48])


def test_weighted_nms_merges_overlapping_boxes_by_score():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    kps = np.zeros((3, 6, 2), np.float32)
    kps[1] += 3.0
    merged = weighted_nms(boxes, kps, np.array([0.9, 0.3, 0.8], np.float32))
    assert len(merged) == 2
    box, keypoints, score = merged[0]
    assert score == pytest.approx(0.9)
    assert np.allclose(box, (boxes[0] * 0.9 + boxes[1] * 0.3) / 1.2)
    assert np.allclose(keypoints, 3.0 * 0.3 / 1.2)
    assert np.allclose(merged[1][0], boxes[2])


@pytest.mark.parametrize("model,path", [("full_range", FULL_MODEL), ("short_range", SHORT_MODEL)])
def test_blazeface_finds_the_astronaut_with_keypoints_in_mediapipe_order(model, path):
    faces = BlazeFaceDetector(path, model=model).detect(astronaut_bgr())
    assert len(faces) == 1
    face = faces[0]
    assert face.score > 0.8
    x0, y0, x1, y1 = face.box
    assert 165 < x0 < 190 and 265 < x1 < 290 and 60 < y0 < 95 and 165 < y1 < 190  # her face in the 512×512 photo
    kp = face.keypoints
    # subject's right eye (0) is on the image's left, nose (2) between the eyes, mouth (3) below the nose
    assert kp[0, 0] < kp[2, 0] < kp[1, 0]
    assert kp[3, 1] > kp[2, 1] > max(kp[0, 1], kp[1, 1])
    assert kp[4, 0] < kp[0, 0] and kp[5, 0] > kp[1, 0]  # ears outside the eyes
    assert abs(head_yaw_rad(kp)) < math.radians(10)


def test_a_face_in_profile_reads_as_turned_and_its_mirror_the_other_way(full_range):
    camera = cv2.cvtColor(skimage.data.camera(), cv2.COLOR_GRAY2BGR)  # a man in profile, looking to image right
    face = full_range.detect(camera)[0]
    yaw = head_yaw_rad(face.keypoints)
    assert yaw > math.radians(35)
    mirrored = full_range.detect(np.ascontiguousarray(camera[:, ::-1]))[0]
    assert head_yaw_rad(mirrored.keypoints) < -math.radians(35)


def test_no_face_in_an_empty_room_and_haar_baseline_works(full_range):
    room = scenario("empty").render(0.0)
    assert [f for f in full_range.detect(room) if f.score > 0.7] == []
    assert len(HaarFaceDetector().detect(astronaut_bgr())) >= 1


def test_missing_model_says_how_to_fix(tmp_path):
    with pytest.raises(DetectorUnavailable, match=r"scripts/setup\.sh"):
        BlazeFaceDetector(tmp_path / "nope.tflite")


# ---- capture ---------------------------------------------------------------------------------------
def test_source_strings():
    assert parse_source("off") == ("off", "")
    assert parse_source("0") == ("device", "0")
    assert parse_source("device:2") == ("device", "2")
    assert parse_source("/dev/video1") == ("device", "/dev/video1")
    assert parse_source("rtsp://10.0.0.5/stream") == ("url", "rtsp://10.0.0.5/stream")
    assert parse_source("generated:poster") == ("generated", "poster")
    assert parse_source("var/recording.mp4") == ("file", "var/recording.mp4")
    assert make_source("off", CaptureOptions()) is None


def test_unavailable_sources_explain_the_fix(tmp_path):
    with pytest.raises(CameraUnavailable, match="not found"):
        OpenCvSource("file", str(tmp_path / "missing.avi"), CaptureOptions()).open()
    with pytest.raises(CameraUnavailable, match="does not exist"):
        OpenCvSource("device", "/dev/video99", CaptureOptions()).open()
    with pytest.raises(CameraUnavailable, match="unknown scenario"):
        make_source("generated:nothing", CaptureOptions())


def test_an_unreachable_network_stream_fails_quickly_with_the_fix():
    started = time.monotonic()
    with pytest.raises(CameraUnavailable, match="cannot open camera url"):  # nothing listens on port 9
        make_source("rtsp://127.0.0.1:9/stream", CaptureOptions(open_timeout_s=1.0)).open()
    assert time.monotonic() - started < 10.0


def test_video_file_source_conforms_loops_and_reports_its_end(tmp_path):
    scene = Scene(PinholeCamera(320, 240), duration_s=0.5)
    video = write_video(tmp_path / "clip.avi", scene, fps=20)
    looping = OpenCvSource("file", str(video), CaptureOptions(640, 480, 15.0, loop=True))
    looping.open()
    frames = [looping.read() for _ in range(15)]  # more than the 10 frames in the file
    assert all(f.shape == (480, 640, 3) for f in frames)
    once = OpenCvSource("file", str(video), CaptureOptions(640, 480, 15.0, loop=False))
    once.open()
    with pytest.raises(StreamLost, match="ended"):
        for _ in range(20):
            once.read()


def test_generated_source_renders_the_scene_in_real_time():
    source = GeneratedSource("visit", CaptureOptions(320, 240, 30.0))
    source.open()
    frame = source.read()
    assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8


# ---- tracking, engagement, attention ------------------------------------------------------------------
def _face(x: float, width: float = 80.0, yaw: float = 0.0) -> Face:
    box = np.array([x - width / 2, 200 - width / 2, x + width / 2, 200 + width / 2], np.float32)
    return Face(box, 0.9, bearing_rad=0.0, distance_m=1.0, yaw_rad=yaw, at_edge=False)


def test_tracks_keep_their_ids_and_flickers_never_become_persons():
    tracker = FaceTracker(max_missing_s=0.5, min_hits=3)
    ids = set()
    for i in range(20):
        tracks, _ = tracker.update([_face(200 + 4 * i), _face(500 - 3 * i)], i * 0.1)
        ids |= {t.track_id for t in tracks}
    assert len(ids) == 2
    tracker.update([], 2.0)
    tracks, removed = tracker.update([], 2.6)
    assert tracks == [] and len(removed) == 2
    flicker = FaceTracker(min_hits=3)
    for i in range(10):
        confirmed, _ = flicker.update([_face(300)] if i % 2 == 0 else [], i * 0.1)
        assert confirmed == []


def test_engagement_state_machine_with_hysteresis_and_liveness():
    options = EngagementOptions(window_s=2.0, min_dwell_s=0.3)
    person = PersonEngagement(options, first_seen_s=0.0, since_s=0.0)
    seen = []

    def run(t0: float, t1: float, score: float, live: bool = True) -> None:
        for t in np.arange(t0, t1, 0.1):
            person.add(t, score)
            level = person.step(t, live)
            if level is not None:
                seen.append(level)

    run(0.0, 3.0, 0.0)  # present, not engaged
    run(3.0, 6.0, 0.9, live=False)  # a poster: facing, never moving
    assert seen == [L.DISENGAGED, L.ENGAGING]
    run(6.0, 9.0, 0.9)  # now it moves
    assert seen[-1] == L.ENGAGED
    run(9.0, 9.4, 0.0)  # a glance away: hysteresis holds
    assert seen[-1] == L.ENGAGED
    run(9.4, 13.0, 0.0)
    assert seen == [L.DISENGAGED, L.ENGAGING, L.ENGAGED, L.DISENGAGING, L.DISENGAGED]


def test_engagement_score_from_distance_position_and_head_yaw():
    opts = EngagementOptions()
    facing = engagement_score(0.9, 0.0, 0.0, False, opts)
    assert facing > 0.8
    assert engagement_score(0.9, 0.0, math.radians(50), False, opts) < opts.threshold  # head turned away
    assert engagement_score(0.9, math.radians(30), 0.0, False, opts) < opts.threshold  # far off-axis
    assert engagement_score(3.0, 0.0, 0.0, False, opts) < opts.threshold  # too far
    assert engagement_score(0.9, 0.0, 0.0, True, opts) == 0.0  # cut by the frame's edge
    assert engagement_score(math.nan, 0.0, 0.0, False, opts) == 0.0


def _person(pid: str, distance: float, bearing: float = 0.0, level=L.ENGAGED, first: float = 0.0) -> PersonState:
    return PersonState(pid, level, bearing, distance, first)


def test_closest_engaged_wins_deterministically_with_a_switch_margin():
    selector = AttentionSelector(switch_margin_m=0.3, leave_after_s=2.0)
    changes = selector.update({"a": _person("a", 1.4), "b": _person("b", 1.0)}, 0.0)
    assert [(c.event, c.person.person_id) for c in changes] == [("engaged", "b")]
    # ties: smaller |bearing|, then earlier first sighting, then the id
    tie = AttentionSelector()
    assert tie.update({"x": _person("x", 1.0, 0.2), "y": _person("y", 1.0, -0.1)}, 0.0)[0].person.person_id == "y"
    tie2 = AttentionSelector()
    first = tie2.update({"q": _person("q", 1.0, first=2.0), "p": _person("p", 1.0, first=1.0)}, 0)[0]
    assert first.person.person_id == "p"
    # a slightly closer newcomer does not take over; a much closer one does
    assert selector.update({"b": _person("b", 1.0), "c": _person("c", 0.85)}, 1.0)[-1].event == "update"
    changes = selector.update({"b": _person("b", 1.0), "c": _person("c", 0.5)}, 2.0)
    assert [(c.event, c.person.person_id) for c in changes] == [("left", "b"), ("engaged", "c")]


def test_attended_visitor_leaves_when_lost_or_disengaged_long_enough():
    selector = AttentionSelector(leave_after_s=2.0)
    selector.update({"a": _person("a", 1.0)}, 0.0)
    assert selector.update({"a": _person("a", 1.0, level=L.DISENGAGED)}, 1.0)[0].event == "update"
    assert selector.update({"a": _person("a", 1.0, level=L.DISENGAGED)}, 3.1)[0].event == "left"
    selector.update({"b": _person("b", 1.0)}, 4.0)
    assert [c.event for c in selector.update({}, 4.1)] == ["left"]


# ---- whole scenes from real photographs ---------------------------------------------------------------
def run_scene(scene: Scene, fps: float = 10.0):
    pipeline = PresencePipeline.create(PresenceOptions(model_path=str(FULL_MODEL)))
    transitions, changes = [], []
    for i in range(int(scene.duration_s * fps)):
        t = i / fps
        result = pipeline.process(scene.render(t), t)
        transitions += [(t, pid, level) for pid, level in result.transitions]
        changes += [(t, c.event, c.person) for c in result.changes if c.event != "update"]
    return transitions, changes


def test_visit_approach_stay_turn_away_leave():
    scene = scenario("visit")  # stops in front at 3.5 s, turns away at 9 s, walks off 12–14.5 s
    transitions, changes = run_scene(scene)
    assert [e for _, e, _ in changes] == ["engaged", "left"]
    (t_engaged, _, visitor), (t_left, _, left) = changes
    assert visitor.person_id == left.person_id
    assert 3.5 < t_engaged <= 3.5 + 2.0, "engagement decided within 2 s of stopping"
    assert 0.6 < visitor.distance_m < 1.2 and abs(visitor.bearing_rad) < 0.1
    levels = [level for _, pid, level in transitions if pid == visitor.person_id]
    assert levels == [L.DISENGAGED, L.ENGAGING, L.ENGAGED, L.DISENGAGING, L.DISENGAGED]
    t_disengaging = next(t for t, pid, level in transitions if pid == visitor.person_id and level == L.DISENGAGING)
    assert 9.0 < t_disengaging < 11.0, "turning away is noticed"
    assert 11.0 < t_left < 16.0


@pytest.mark.parametrize("name", ["poster", "edge"])
def test_a_poster_and_a_face_at_the_edge_never_start_a_conversation(name):
    transitions, changes = run_scene(scenario(name), fps=6.0)  # 20 s scenes
    assert changes == [], f"{name}: {changes}"
    assert all(level != L.ENGAGED for _, _, level in transitions), name
    if name == "poster":  # a face, tracked and facing the kiosk (ENGAGING), but it never moves
        assert L.ENGAGING in [level for _, _, level in transitions]


def test_two_visitors_the_nearer_one_is_attended():
    _, changes = run_scene(scenario("two_visitors"))
    engaged = [person for _, event, person in changes if event == "engaged"]
    assert len(engaged) == 1 and engaged[0].distance_m < 1.1 and engaged[0].bearing_rad < 0


def test_visitor_standing_off_axis_gets_a_bearing_to_the_left():
    scene = Scene(visitors=[VisitorPath([Keyframe(0.0, 0.6, 2.5), Keyframe(2.5, 0.3, 1.0),
                                         Keyframe(8.0, 0.3, 1.0)])], duration_s=8.0)
    _, changes = run_scene(scene)
    assert changes and changes[0][1] == "engaged"
    assert changes[0][2].bearing_rad == pytest.approx(0.3, abs=0.05)
