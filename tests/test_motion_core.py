"""Motion core without ROS: limits against garbage, turning, gesture, e-stop latch, watchdog,
the controller's priorities and the simulated base."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from motion.base import BaseUnavailable, SimulatedBase, load_driver
from motion.controller import MotionController, MotionOptions
from motion.limits import ZERO, Velocity, VelocityLimiter, VelocityLimits
from motion.safety import EmergencyStopLatch, Watchdog
from motion.turning import GestureOptions, GreetingGesture, TurnOptions, bearing_problem, turn_rate, wrap_angle

LIMITS = VelocityLimits(max_linear_mps=0.2, max_angular_radps=0.6, max_linear_accel_mps2=0.3,
                        max_angular_accel_radps2=1.5)
GARBAGE = [math.nan, math.inf, -math.inf, 1e308, -1e308, 0.0, 5.0, -3.0, 1e-300]


def test_limits_hold_whatever_comes_in():
    limiter = VelocityLimiter(LIMITS)
    rng = np.random.default_rng(3)
    last = ZERO
    for _ in range(3000):
        wanted = Velocity(float(rng.choice(GARBAGE)) * float(rng.uniform(-2, 2)), float(rng.choice(GARBAGE)))
        dt = float(rng.choice([0.05, 0.0, -1.0, math.nan, 10.0, 0.01]))
        out, reason = limiter.limit(wanted, dt)
        assert out.is_finite()
        assert abs(out.linear_mps) <= LIMITS.max_linear_mps and abs(out.angular_radps) <= LIMITS.max_angular_radps
        if not wanted.is_finite():
            assert out == ZERO and "non-finite" in reason
        else:
            step = min(dt, VelocityLimiter.MAX_DT_S) if math.isfinite(dt) and dt > 0 else 0.0
            assert abs(out.angular_radps - last.angular_radps) <= LIMITS.max_angular_accel_radps2 * step + 1e-12
            assert abs(out.linear_mps - last.linear_mps) <= LIMITS.max_linear_accel_mps2 * step + 1e-12
        last = out


def test_bad_limits_are_refused():
    for bad in (dict(max_angular_radps=math.nan), dict(max_linear_mps=-1.0), dict(max_angular_radps=10.0)):
        with pytest.raises(ValueError):
            VelocityLimits(**bad)


def test_turning_deadband_gain_limit_and_bearing_checks():
    assert turn_rate(0.05, 0.08, 1.5, 0.6) == 0.0
    assert turn_rate(0.2, 0.08, 1.5, 0.6) == pytest.approx(0.3)
    assert turn_rate(-2.0, 0.08, 1.5, 0.6) == -0.6
    assert turn_rate(math.nan, 0.08, 1.5, 0.6) == 0.0
    options = TurnOptions()
    assert bearing_problem(0.5, options) is None
    for bad in (math.nan, math.inf, 3.0, -1.3):
        assert bearing_problem(bad, options)
    assert wrap_angle(3 * math.pi) == pytest.approx(math.pi) and wrap_angle(-0.5) == -0.5


def test_greeting_gesture_turns_a_little_and_comes_back():
    gesture = GreetingGesture(GestureOptions(amplitude_rad=0.12, duration_s=1.2))
    gesture.start(0.0)
    heading, peak, dt = 0.0, 0.0, 0.01
    t = 0.0
    while (rate := gesture.rate(t)) is not None:
        heading += rate * dt
        peak = max(peak, abs(heading))
        t += dt
    assert peak == pytest.approx(0.12, abs=0.005) and abs(heading) < 0.005 and t == pytest.approx(1.2, abs=0.02)


def test_estop_latches_refuses_reset_while_pressed_and_survives_a_restart(tmp_path):
    path = tmp_path / "estop.json"
    latch = EmergencyStopLatch(path)
    assert not latch.active
    assert latch.on_input(True)
    assert latch.reset() == (False, "emergency stop is still pressed: release it first, then reset")
    latch.on_input(False)
    assert latch.active, "releasing the button does not clear the latch"
    restarted = EmergencyStopLatch(path)  # e.g. the motion node restarted
    assert restarted.active and "before this start" in restarted.load_note
    ok, _ = restarted.reset()
    assert ok and not restarted.active and json.loads(path.read_text())["active"] is False
    assert not EmergencyStopLatch(path).active


def test_unreadable_estop_state_fails_safe(tmp_path):
    path = tmp_path / "estop.json"
    path.write_text("{not json")
    latch = EmergencyStopLatch(path)
    assert latch.active and "unreadable" in latch.load_note


def test_watchdog():
    dog = Watchdog(0.5)
    assert dog.stale(0.0)
    dog.feed(1.0)
    assert not dog.stale(1.4) and dog.stale(1.6)
    with pytest.raises(ValueError):
        Watchdog(math.nan)


def _controller(tmp_path, **options) -> MotionController:
    return MotionController(MotionOptions(**options), EmergencyStopLatch(tmp_path / "estop.json"))


def _run(controller: MotionController, t0: float, t1: float, yaw: list[float], visitor_bearing=None,
         dt: float = 0.05) -> list:
    """Simulate: the controller's command turns a heading; optionally a visitor at a fixed world bearing."""
    out = []
    for t in np.arange(t0, t1, dt):
        controller.on_odometry(yaw[0], t)
        if visitor_bearing is not None:
            controller.on_visitor("update", "p1", visitor_bearing - yaw[0], t)
        command = controller.step(t)
        yaw[0] += command.velocity.angular_radps * dt
        out.append(command)
    return out


def test_controller_turns_toward_the_visitor_then_home(tmp_path):
    controller = _controller(tmp_path, return_home_after_s=1.0)
    yaw = [0.0]
    controller.on_odometry(0.0, 0.0)
    controller.on_visitor("engaged", "p1", 0.5, 0.0)
    commands = _run(controller, 0.0, 6.0, yaw, visitor_bearing=0.5)
    assert {c.mode for c in commands} == {"tracking"}
    assert yaw[0] == pytest.approx(0.5, abs=0.1), "faces the visitor (within the deadband)"
    assert max(abs(c.velocity.angular_radps) for c in commands) <= 0.6
    controller.on_visitor("left", "p1", 0.0, 6.0)
    commands = _run(controller, 6.0, 12.0, yaw)
    assert commands[0].mode == "idle" and "home" in {c.mode for c in commands}
    assert abs(yaw[0]) < 0.06, "back at the home heading"


def test_controller_never_turns_beyond_its_range_from_home(tmp_path):
    controller = _controller(tmp_path)
    yaw = [0.0]
    controller.on_odometry(0.0, 0.0)
    controller.on_visitor("engaged", "p1", 1.1, 0.0)
    _run(controller, 0.0, 10.0, yaw, visitor_bearing=3.0)  # the visitor walks around behind the kiosk
    assert yaw[0] <= 1.0 + 0.1


def test_stale_perception_garbage_and_estop_give_zero(tmp_path):
    controller = _controller(tmp_path, perception_timeout_s=0.5)
    controller.on_odometry(0.0, 0.0)
    controller.on_visitor("engaged", "p1", 0.6, 0.0)
    controller.step(0.05)  # the first cycle has no elapsed time: no change allowed yet
    assert controller.step(0.1).velocity.angular_radps > 0
    assert controller.step(1.0).mode == "stale" and controller.step(1.0).velocity == ZERO  # camera lost
    assert controller.on_visitor("update", "p1", math.nan, 1.1)
    assert controller.step(1.15).velocity == ZERO
    assert controller.on_visitor("update", "p1", 4.0, 1.2)
    assert controller.step(1.25).velocity == ZERO and controller.rejected == 2
    assert controller.on_teleop(Velocity(math.nan, 0.3), 1.3)
    assert controller.step(1.3).velocity == ZERO
    controller.on_teleop(Velocity(0.1, 0.4), 1.4)
    assert controller.step(1.45).mode == "teleop"
    controller.estop.on_input(True)
    command = controller.step(1.5)
    assert command.mode == "estop" and command.velocity == ZERO


def test_simulated_base_integrates_velocity_and_stops():
    base = SimulatedBase()
    with pytest.raises(BaseUnavailable):
        base.update(0.0)
    base.connect()
    base.update(0.0)
    base.send_velocity(0.0, 0.5)
    odom = base.update(2.0)
    assert odom.yaw_rad == pytest.approx(1.0) and odom.x_m == pytest.approx(0.0)
    base.send_velocity(0.2, 1.0)  # a quarter circle of radius v/w
    odom = base.update(2.0 + math.pi / 2)
    radius = 0.2 / 1.0
    assert odom.yaw_rad == pytest.approx(1.0 + math.pi / 2)
    assert math.hypot(odom.x_m, odom.y_m) == pytest.approx(radius * math.sqrt(2), rel=1e-6)
    base.send_velocity(9.0, 9.0)  # hardware caps
    assert base.update(3.7).angular_radps == base.max_angular_radps
    with pytest.raises(ValueError):
        base.send_velocity(math.nan, 0.0)
    assert base.update(4.5).angular_radps == 0.0, "a non-finite command stops the base"


def test_driver_loading():
    assert isinstance(load_driver("sim"), SimulatedBase)
    assert load_driver("motion.base:SimulatedBase", {"max_angular_radps": 0.3}).max_angular_radps == 0.3
    for spec, words in (("nonexistent.module:Driver", "cannot import"), ("garbage", "neither"),
                        ("motion.base:Odometry2D", "failed to start")):
        with pytest.raises(BaseUnavailable, match=words):
            load_driver(spec, {})
    with pytest.raises(BaseUnavailable, match="bad driver_options"):
        load_driver("sim", {"port": "/dev/ttyUSB0"})
