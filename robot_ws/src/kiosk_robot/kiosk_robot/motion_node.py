"""motion: turn toward the attended visitor, safely; geometry_msgs/Twist on ``cmd_vel`` (REP-103).

Inputs: ``perception/visitor`` (engaged / update / left, bearing), ``odom`` (nav_msgs/Odometry,
for headings), ``motion/teleop_cmd_vel`` (a technician's Twist, overrides while fresh),
``emergency_stop`` (std_msgs/Bool, reliable + transient_local). Outputs: ``cmd_vel`` at
``rate_hz`` (always limited, zero when stale or stopped), ``motion/estop_active`` (latched Bool).
Service ``~/reset_estop`` (std_srvs/Trigger) clears a latched e-stop once the input is released.
The e-stop state is persisted to ``estop_state_path`` and read back at configure, so it survives
a restart of this node; the latched topic also re-delivers a still-pressed e-stop.
"""

from __future__ import annotations

import math
import time

from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from std_msgs.msg import Bool, String
from std_srvs.srv import Trigger

from kiosk_protocol import VisitorEvent
from motion.controller import MotionController, MotionOptions
from motion.limits import Velocity, VelocityLimits
from motion.safety import EmergencyStopLatch
from motion.turning import GestureOptions, TurnOptions

from .lifecycle_base import (
    ERROR,
    LATCHED_QOS,
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
    run_node,
)


def yaw_of(msg: Odometry) -> float:
    q = msg.pose.pose.orientation
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


def twist(velocity: Velocity) -> Twist:
    msg = Twist()
    msg.linear.x = float(velocity.linear_mps)
    msg.angular.z = float(velocity.angular_radps)
    return msg


class MotionNode(KioskLifecycleNode):
    AREA = "motion"
    PARAMS = (
        Param("rate_hz", 20.0, "cmd_vel publishing rate", "Hz", positive),
        Param("limits.max_linear_mps", 0.2, "forward speed limit (teleop only; the kiosk turns in place)", "m/s",
              between(0.0, 2.0)),
        Param("limits.max_angular_radps", 0.6, "turn rate limit", "rad/s", between(0.0, 3.0)),
        Param("limits.max_linear_accel_mps2", 0.3, "forward acceleration limit", "m/s^2", positive),
        Param("limits.max_angular_accel_radps2", 1.5, "turn acceleration limit", "rad/s^2", positive),
        Param("turn.gain_per_s", 1.5, "turn rate per radian of heading error", "1/s", positive),
        Param("turn.deadband_rad", 0.08, "no turning for a visitor within this bearing", "rad", between(0.0, 3.1416)),
        Param("turn.max_bearing_rad", 1.2, "bearings beyond this are rejected as garbage", "rad", positive),
        Param("turn.max_from_home_rad", 1.0, "never turn further than this from the home heading", "rad",
              between(0.0, 3.1416)),
        Param("turn.home_heading_rad", 0.0, "home heading in the odometry frame", "rad", between(-3.1416, 3.1416)),
        Param("turn.home_deadband_rad", 0.05, "home reached within this", "rad", between(0.0, 3.1416)),
        Param("gesture.amplitude_rad", 0.12, "greeting gesture: peak turn away and back (0: none)", "rad",
              between(0.0, 1.0)),
        Param("gesture.duration_s", 1.2, "greeting gesture duration", "s", positive),
        Param("perception_timeout_s", 0.7, "no visitor update for this long: stop turning", "s", positive),
        Param("teleop_timeout_s", 0.5, "a teleop command holds this long", "s", positive),
        Param("odom_timeout_s", 1.0, "odometry older than this is not used for headings", "s", positive),
        Param("return_home_after_s", 2.0, "after the visitor left, wait this long, then turn home", "s", non_negative),
        Param("estop_state_path", "var/motion/estop.json", "where the latched e-stop state is kept across restarts"),
    )

    def __init__(self) -> None:
        super().__init__("motion")
        self._controller: MotionController | None = None
        self._last_mode = ""

    def configure_core(self) -> None:
        cfg = self.cfg
        try:
            options = MotionOptions(
                limits=VelocityLimits(cfg["limits.max_linear_mps"], cfg["limits.max_angular_radps"],
                                      cfg["limits.max_linear_accel_mps2"], cfg["limits.max_angular_accel_radps2"]),
                turn=TurnOptions(cfg["turn.gain_per_s"], cfg["turn.deadband_rad"], cfg["turn.max_bearing_rad"],
                                 cfg["turn.max_from_home_rad"], cfg["turn.home_heading_rad"],
                                 cfg["turn.home_deadband_rad"]),
                gesture=GestureOptions(cfg["gesture.amplitude_rad"], cfg["gesture.duration_s"]),
                perception_timeout_s=cfg["perception_timeout_s"], teleop_timeout_s=cfg["teleop_timeout_s"],
                odom_timeout_s=cfg["odom_timeout_s"], return_home_after_s=cfg["return_home_after_s"])
        except ValueError as exc:
            raise ConfigureError(f"motion parameters: {exc}") from exc
        estop = EmergencyStopLatch(resolve_path(cfg["estop_state_path"]))
        self._controller = MotionController(options, estop)
        if estop.load_note:
            self.set_status(ERROR, estop.load_note, estop="latched")

    def activate_core(self) -> None:
        self._cmd_pub = self.create_publisher(Twist, "cmd_vel", RELIABLE_QOS)
        self._estop_pub = self.create_publisher(Bool, "motion/estop_active", LATCHED_QOS)
        self._estop_pub.publish(Bool(data=self._controller.estop.active))
        self._motion_subs = [
            self.create_subscription(String, "perception/visitor", self._on_visitor, RELIABLE_QOS),
            self.create_subscription(Bool, "emergency_stop", self._on_estop, LATCHED_QOS),
            self.create_subscription(Odometry, "odom", self._on_odom, RELIABLE_QOS),
            self.create_subscription(Twist, "motion/teleop_cmd_vel", self._on_teleop, RELIABLE_QOS),
        ]
        self._reset_srv = self.create_service(Trigger, "~/reset_estop", self._on_reset)
        self._cycle_timer = self.create_timer(1.0 / self.cfg["rate_hz"], self._cycle)

    def deactivate_core(self) -> None:
        self.destroy_timer(self._cycle_timer)
        publish_if_alive(self._cmd_pub, twist(self._controller.limiter.stop()))
        for sub in self._motion_subs:
            self.destroy_subscription(sub)
        self.destroy_service(self._reset_srv)
        self.destroy_publisher(self._cmd_pub)
        self.destroy_publisher(self._estop_pub)

    def _reject(self, what: str, reason: str) -> None:
        self.reject(what, f"{reason}; zero velocity")
        self.update_values(rejected=self._controller.rejected)
        self._cmd_pub.publish(twist(self._controller.limiter.stop()))

    def _on_visitor(self, msg: String) -> None:
        event = self.decode_or_warn(msg.data, VisitorEvent, "visitor event")
        if event is None:  # malformed, NaN or out-of-range bearing: nothing to turn toward
            self._controller.on_visitor("update", "", math.nan, time.monotonic())
            self._cmd_pub.publish(twist(self._controller.limiter.stop()))
            return
        problem = self._controller.on_visitor(event.event, event.person_id, event.bearing_rad, time.monotonic())
        if problem:
            self._reject("visitor event", problem)

    def _on_estop(self, msg: Bool) -> None:
        tripped = self._controller.estop.on_input(bool(msg.data))
        if self._controller.estop.active:
            self._cmd_pub.publish(twist(self._controller.limiter.stop()))  # at once, not at the next cycle
        if tripped:
            self._estop_pub.publish(Bool(data=True))
            self.set_status(ERROR, f"emergency stop: {self._controller.estop.reason}; release it and call "
                            f"{self.get_fully_qualified_name()}/reset_estop", estop="latched")

    def _on_odom(self, msg: Odometry) -> None:
        problem = self._controller.on_odometry(yaw_of(msg), time.monotonic())
        if problem:  # not used: the heading goes stale and the turn stops if no good odometry follows
            self.reject("odometry", problem)

    def _on_teleop(self, msg: Twist) -> None:
        problem = self._controller.on_teleop(Velocity(msg.linear.x, msg.angular.z), time.monotonic())
        if problem:
            self._reject("teleop command", problem)

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        was_active = self._controller.estop.active
        response.success, response.message = self._controller.estop.reset()
        if response.success and was_active:
            self._estop_pub.publish(Bool(data=False))
            self.set_status(OK, "emergency stop reset", estop="clear")
        self.get_logger().info(f"reset_estop: {response.message}")
        return response

    def _cycle(self) -> None:
        command = self._controller.step(time.monotonic())
        self._cmd_pub.publish(twist(command.velocity))
        if command.mode != self._last_mode:
            self._last_mode = command.mode
            if command.mode == "estop":
                self.set_status(ERROR, f"emergency stop active ({command.note}); release it and call "
                                f"{self.get_fully_qualified_name()}/reset_estop", estop="latched")
            elif command.mode == "stale":
                self.set_status(WARN, command.note, estop="clear")
            else:
                self.set_status(OK, f"mode {command.mode}", estop="clear")
        self.update_values(mode=command.mode, angular_radps=f"{command.velocity.angular_radps:.3f}",
                           rejected=self._controller.rejected)


def main(args: list[str] | None = None) -> None:
    run_node(MotionNode, args)
