"""motion + base nodes as real processes over DDS: limits, garbage input, e-stop (latched, surviving a
restart of the motion node) and the base's watchdog, read back from the simulated odometry."""

from __future__ import annotations

import itertools
import math
import os
import signal
import threading
import time

import pytest
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from std_msgs.msg import Bool, String
from std_srvs.srv import Trigger

from tests.conftest import Kiosk, node_active

pytestmark = pytest.mark.ros
ERROR, WARN = 2, 1
RATE_HZ = 20.0


class Teleop:
    """Publishes a Twist on motion/teleop_cmd_vel at 20 Hz from the test, like a technician's joystick."""

    def __init__(self, recorder, angular: float) -> None:
        self.angular = angular
        self._pub = recorder.publisher("motion/teleop_cmd_vel", Twist)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            msg = Twist()
            msg.angular.z = self.angular
            self._pub.publish(msg)
            time.sleep(1 / RATE_HZ)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def base_kiosk(tmp_path, recorder_factory):
    namespace = f"motion_{os.getpid() % 1000}_{time.monotonic_ns() % 10000}"
    kiosk = Kiosk(tmp_path, namespace, nodes="motion,base")
    recorder = recorder_factory(namespace)
    recorder.subscribe("cmd_vel", Twist, lambda m: (time.monotonic(), m.linear.x, m.angular.z))
    recorder.subscribe("odom", Odometry, lambda m: (time.monotonic(), m.twist.twist.angular.z))
    recorder.subscribe("motion/estop_active", Bool, lambda m: m.data, latched=True)
    try:
        recorder.wait_for(lambda: all(node_active(recorder, namespace, n) for n in ("motion/motion", "motion/base")),
                          60, "motion and base active")
        yield kiosk, recorder, namespace
    finally:
        assert kiosk.stop() == 0, kiosk.log_tail()


def _turning(recorder, since: float = 0.0) -> float | None:
    """The base's latest measured turn rate received after ``since`` (None: nothing yet)."""
    odom = [w for t, w in recorder.get("odom") if t >= since]
    return odom[-1] if odom else None


def _reset(recorder, namespace: str) -> Trigger.Response:
    client = recorder.node.create_client(Trigger, f"/{namespace}/motion/reset_estop")
    assert client.wait_for_service(timeout_sec=10), "reset_estop service not found"
    future = client.call_async(Trigger.Request())
    recorder.wait_for(future.done, 10, "the reset_estop response")
    return future.result()


def _status(recorder, namespace: str, name: str) -> dict:
    return recorder.diagnostics.get(f"/{namespace}/motion/{name}", {})


def test_estop_stops_the_base_and_stays_latched_across_a_motion_restart(base_kiosk):
    kiosk, recorder, ns = base_kiosk
    teleop = Teleop(recorder, 0.4)
    estop = recorder.publisher("emergency_stop", Bool, latched=True)
    try:
        recorder.wait_for(lambda: _turning(recorder) == pytest.approx(0.4), 15, "the base turning at 0.4 rad/s")
        pressed = time.monotonic()
        estop.publish(Bool(data=True))
        recorder.wait_for(lambda: _turning(recorder, pressed) == 0.0, 5, "the base stopped by the e-stop")
        time.sleep(1.0)
        assert all(w == 0.0 for t, w in recorder.get("odom") if t > pressed + 0.3), "nothing moves while set"
        assert recorder.get("motion/estop_active")[-1] is True
        refused = _reset(recorder, ns)
        assert not refused.success and "still pressed" in refused.message
        estop.publish(Bool(data=False))  # released: still latched until reset
        released = time.monotonic()
        time.sleep(0.5)
        assert _turning(recorder, released) == 0.0
        # the motion node dies and the bringup restarts it: the latch is read back from its state file
        first = kiosk.pids("motion")[-1]
        os.kill(first, signal.SIGKILL)
        recorder.wait_for(lambda: len(kiosk.pids("motion")) == 2, 20, "the motion node restarted")
        recorder.diagnostics.pop(f"/{ns}/motion/motion", None)
        recorder.wait_for(lambda: (s := _status(recorder, ns, "motion")).get("level") == ERROR
                          and s["values"].get("lifecycle_state") == "active", 30, "restarted node: ERROR, active")
        restarted = time.monotonic()
        time.sleep(1.5)
        assert all(w == 0.0 for t, w in recorder.get("odom") if t > restarted), "still stopped after the restart"
        assert "reset_estop" in _status(recorder, ns, "motion")["message"]
        reset = _reset(recorder, ns)
        assert reset.success, reset.message
        recorder.wait_for(lambda: _turning(recorder) == pytest.approx(0.4), 10, "turning again after the reset")
    finally:
        teleop.stop()


def test_watchdog_stops_the_base_when_commands_stop(base_kiosk):
    kiosk, recorder, ns = base_kiosk
    teleop = Teleop(recorder, 0.5)
    try:
        recorder.wait_for(lambda: _turning(recorder) == pytest.approx(0.5), 15, "the base turning")
        os.kill(kiosk.pids("motion")[-1], signal.SIGKILL)  # no more cmd_vel
        killed = time.monotonic()
        recorder.wait_for(lambda: _turning(recorder, killed) == 0.0, 5, "the watchdog stopping the base")
        stopped = next(t for t, w in recorder.get("odom") if t > killed and w == 0.0)
        assert stopped - killed < 1.5
        recorder.wait_for(lambda: "watchdog" in _status(recorder, ns, "base").get("message", ""), 5,
                          "base diagnostics naming the watchdog")
    finally:
        teleop.stop()


def test_garbage_is_rejected_with_zero_velocity_and_limits_always_hold(base_kiosk):
    _kiosk, recorder, ns = base_kiosk
    teleop = Teleop(recorder, 50.0)  # far beyond the limit
    try:
        recorder.wait_for(lambda: _turning(recorder) == pytest.approx(0.6), 15, "turning at the 0.6 rad/s limit")
        teleop.angular = math.nan
        nan_at = time.monotonic()
        recorder.wait_for(lambda: (s := _status(recorder, ns, "motion")).get("level") == WARN
                          and "non-finite" in s["message"], 5, "WARN naming the NaN")
        recorder.wait_for(lambda: _turning(recorder, nan_at + 0.2) == 0.0, 5, "zero velocity after NaN")
        teleop.stop()
        visitor = recorder.publisher("perception/visitor", String)
        for bearing in ("2.0", "NaN", "\"left\""):  # beyond max_bearing_rad, not a number, not even a float
            visitor.publish(String(data=f'{{"kind": "visitor_event", "event": "update", "person_id": "p1", '
                                        f'"bearing_rad": {bearing}}}'))
            time.sleep(0.3)
        assert recorder.diagnostics[f"/{ns}/motion/motion"]["level"] == WARN
        commands = recorder.get("cmd_vel")  # everything the motion node published
        direct = recorder.publisher("cmd_vel", Twist)  # now garbage straight into the base
        time.sleep(1.0)  # discovery
        bad = Twist()
        bad.angular.z = math.inf
        direct.publish(bad)
        recorder.wait_for(lambda: _status(recorder, ns, "base").get("values", {}).get("rejected_commands") == "1", 5,
                          "the base rejecting an infinite cmd_vel")
        assert all(math.isfinite(w) and abs(w) <= 0.6 + 1e-9 for _, _, w in commands)
        steps = [abs(b[2] - a[2]) for a, b in itertools.pairwise(commands) if b[2] != 0.0]
        assert max(steps) <= 1.5 / RATE_HZ * 1.5 + 1e-6, "acceleration limit (a late cycle allows up to 1.5x)"
    finally:
        teleop.stop()
