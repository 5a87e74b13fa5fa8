"""base: drives the robot's base through a :class:`motion.base.BaseDriver` and publishes odometry.

``driver: sim`` is the simulated base (integrates ``cmd_vel`` into the pose); a real base is a
``package.module:ClassName`` implementing the interface in ``motion/base.py`` with options from
``driver_options`` (JSON). Subscribes ``cmd_vel`` (geometry_msgs/Twist), publishes ``odom``
(nav_msgs/Odometry, frames odom → base_link, REP-105). Its own watchdog stops the base when no
command arrived for ``cmd_timeout_s``; non-finite commands are rejected and stop it. TF is not
published: tf2_msgs is not installable from PyPI here (the pose is in ``odom``).
"""

from __future__ import annotations

import json
import math
import time

from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry

from motion.base import BaseUnavailable, load_driver
from motion.safety import Watchdog

from .lifecycle_base import (
    ERROR,
    OK,
    RELIABLE_QOS,
    WARN,
    ConfigureError,
    KioskLifecycleNode,
    Param,
    positive,
    run_node,
)


class BaseNode(KioskLifecycleNode):
    AREA = "motion"
    PARAMS = (
        Param("driver", "sim", "sim (simulated base) or package.module:ClassName (see motion/base.py)"),
        Param("driver_options", "{}", "JSON object passed to the driver, e.g. {\"port\": \"/dev/ttyUSB0\"}"),
        Param("odom_rate_hz", 30.0, "odometry publishing rate", "Hz", positive),
        Param("cmd_timeout_s", 0.5, "stop the base when no cmd_vel arrived for this long", "s", positive),
        Param("max_linear_mps", 0.5, "hardware cap on forward speed", "m/s", positive),
        Param("max_angular_radps", 1.5, "hardware cap on turn rate", "rad/s", positive),
        Param("odom_frame_id", "odom", "odometry frame"),
        Param("base_frame_id", "base_link", "robot frame"),
    )

    def __init__(self) -> None:
        super().__init__("base")
        self._driver = None
        self._stopped_by_watchdog = False
        self._rejected = 0

    def configure_core(self) -> None:
        cfg = self.cfg
        try:
            options = json.loads(cfg["driver_options"] or "{}")
            if not isinstance(options, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            raise ConfigureError(f"driver_options is not a JSON object ({exc}): {cfg['driver_options']!r}. "
                                 'Fix: e.g. driver_options: \'{"port": "/dev/ttyUSB0"}\'') from exc
        try:
            self._driver = load_driver(cfg["driver"], options)
            self._driver.connect()
        except BaseUnavailable as exc:
            raise ConfigureError(str(exc)) from exc
        self._watchdog = Watchdog(cfg["cmd_timeout_s"])
        self.hardware_id = f"{self.get_fully_qualified_name()} ({self._driver.name})"
        self.set_status(OK, f"{self._driver.name} connected", driver=cfg["driver"])

    def activate_core(self) -> None:
        self._odom_pub = self.create_publisher(Odometry, "odom", RELIABLE_QOS)
        self._cmd_sub = self.create_subscription(Twist, "cmd_vel", self._on_cmd, RELIABLE_QOS)
        self._odom_timer = self.create_timer(1.0 / self.cfg["odom_rate_hz"], self._tick)

    def deactivate_core(self) -> None:
        self._driver.stop()
        self.destroy_timer(self._odom_timer)
        self.destroy_subscription(self._cmd_sub)
        self.destroy_publisher(self._odom_pub)

    def cleanup_core(self) -> None:
        if self._driver is not None:
            self._driver.close()

    def _on_cmd(self, msg: Twist) -> None:
        v, w = msg.linear.x, msg.angular.z
        extra = (msg.linear.y, msg.linear.z, msg.angular.x, msg.angular.y)
        if not (math.isfinite(v) and math.isfinite(w) and all(math.isfinite(x) for x in extra)):
            self._driver.stop()
            self._rejected += 1
            self.reject("cmd_vel", f"non-finite velocity (linear.x={v}, angular.z={w}): stopped")
            self.update_values(rejected_commands=self._rejected)
            return
        cfg = self.cfg
        v = max(-cfg["max_linear_mps"], min(cfg["max_linear_mps"], v))
        w = max(-cfg["max_angular_radps"], min(cfg["max_angular_radps"], w))
        try:
            self._driver.send_velocity(v, w)
        except (BaseUnavailable, ValueError) as exc:
            self._driver.stop()
            self.set_status(ERROR, f"base driver refused a command: {exc}")
            return
        self._watchdog.feed(time.monotonic())
        if self._stopped_by_watchdog:
            self._stopped_by_watchdog = False
            self.set_status(OK, f"{self._driver.name}: commands flowing again")

    def _tick(self) -> None:
        now = time.monotonic()
        if self._watchdog.stale(now) and not self._stopped_by_watchdog:
            self._driver.stop()
            self._stopped_by_watchdog = True
            self.set_status(WARN, f"no cmd_vel for {self.cfg['cmd_timeout_s']:.1f} s: base stopped (watchdog)")
        try:
            odom = self._driver.update(now)
        except BaseUnavailable as exc:
            self.set_status(ERROR, f"base lost: {exc}")
            return
        msg = Odometry()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.cfg["odom_frame_id"]
        msg.child_frame_id = self.cfg["base_frame_id"]
        msg.pose.pose.position.x = odom.x_m
        msg.pose.pose.position.y = odom.y_m
        msg.pose.pose.orientation.z = math.sin(odom.yaw_rad / 2)
        msg.pose.pose.orientation.w = math.cos(odom.yaw_rad / 2)
        msg.twist.twist.linear.x = odom.linear_mps
        msg.twist.twist.angular.z = odom.angular_radps
        self._odom_pub.publish(msg)
        self.update_values(yaw_rad=f"{odom.yaw_rad:.3f}", angular_radps=f"{odom.angular_radps:.3f}",
                           watchdog="stopped" if self._stopped_by_watchdog else "ok")


def main(args: list[str] | None = None) -> None:
    run_node(BaseNode, args)
