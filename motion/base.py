"""The base driver interface, and the simulated base (its first implementation).

The base node drives one :class:`BaseDriver`, chosen by the parameter ``driver``: ``sim`` (the
:class:`SimulatedBase` here) or ``package.module:ClassName`` — a class a technician writes for
the real base and installs on the kiosk's Python path. The node calls, from one thread:

``connect()``
    open the device (e.g. a serial motor controller); raise :class:`BaseUnavailable` with a fix.
``send_velocity(linear_mps, angular_radps)``
    the latest command, already finite and within the node's limits; called at every cmd_vel.
``update(now_s) -> Odometry2D``
    read the encoders (or integrate) and return the pose in the odometry frame; called at
    ``odom_rate_hz``. Raise :class:`BaseUnavailable` when the device is lost.
``stop()``
    zero velocity now (watchdog, e-stop, shutdown) — must work even when nothing else does.
``close()``
    release the device.

Options come from the parameter ``driver_options`` (a JSON object), passed as keyword arguments
to the class. A serial driver would, for instance, take ``{"port": "/dev/ttyUSB0", "baud": 115200,
"wheel_base_m": 0.4}`` and turn (v, ω) into wheel speeds with the controller's protocol.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["BaseDriver", "BaseUnavailable", "Odometry2D", "SimulatedBase", "load_driver"]


class BaseUnavailable(RuntimeError):
    """The base cannot be driven; the message says why and how to fix it."""


@dataclass(frozen=True)
class Odometry2D:
    """Pose in the odometry frame (REP-105 odom → base_link) and the measured velocity."""

    x_m: float
    y_m: float
    yaw_rad: float
    linear_mps: float
    angular_radps: float
    stamp_s: float


class BaseDriver(Protocol):
    name: str

    def connect(self) -> None: ...
    def send_velocity(self, linear_mps: float, angular_radps: float) -> None: ...
    def update(self, now_s: float) -> Odometry2D: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


class SimulatedBase:
    """A kinematic unicycle: the commanded velocity (capped at the hardware limits) is integrated
    exactly along arcs into the pose. No wheels, no slip; good enough to read motion back."""

    name = "simulated base"

    def __init__(self, max_linear_mps: float = 0.5, max_angular_radps: float = 1.5) -> None:
        self.max_linear_mps = float(max_linear_mps)
        self.max_angular_radps = float(max_angular_radps)
        self._x = self._y = self._yaw = 0.0
        self._v = self._w = 0.0
        self._last_s: float | None = None
        self.connected = False

    def connect(self) -> None:
        self.connected = True

    def send_velocity(self, linear_mps: float, angular_radps: float) -> None:
        if not (math.isfinite(linear_mps) and math.isfinite(angular_radps)):
            self.stop()
            raise ValueError(f"non-finite velocity ({linear_mps}, {angular_radps}): stopped")
        self._v = max(-self.max_linear_mps, min(self.max_linear_mps, linear_mps))
        self._w = max(-self.max_angular_radps, min(self.max_angular_radps, angular_radps))

    def update(self, now_s: float) -> Odometry2D:
        if not self.connected:
            raise BaseUnavailable("simulated base is not connected")
        dt = 0.0 if self._last_s is None else max(0.0, now_s - self._last_s)
        self._last_s = now_s
        v, w, yaw = self._v, self._w, self._yaw
        if abs(w) > 1e-9:
            self._x += v / w * (math.sin(yaw + w * dt) - math.sin(yaw))
            self._y -= v / w * (math.cos(yaw + w * dt) - math.cos(yaw))
        else:
            self._x += v * dt * math.cos(yaw)
            self._y += v * dt * math.sin(yaw)
        self._yaw = math.remainder(yaw + w * dt, 2 * math.pi)
        return Odometry2D(self._x, self._y, self._yaw, v, w, now_s)

    def stop(self) -> None:
        self._v = self._w = 0.0

    def close(self) -> None:
        self.stop()
        self.connected = False


def load_driver(spec: str, options: dict[str, Any] | None = None) -> BaseDriver:
    """``sim`` or ``package.module:ClassName``, constructed with ``options`` as keyword arguments."""
    options = dict(options or {})
    if spec in ("sim", "simulated"):
        try:
            return SimulatedBase(**options)
        except TypeError as exc:
            raise BaseUnavailable(f"bad driver_options for the simulated base: {exc}. Fix: use "
                                  '{"max_linear_mps": 0.5, "max_angular_radps": 1.5} or {}') from exc
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise BaseUnavailable(f"driver '{spec}' is neither 'sim' nor 'package.module:ClassName'. "
                              "Fix: set base.driver")
    try:
        driver_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise BaseUnavailable(f"cannot import base driver '{spec}': {exc}. Fix: install the driver package "
                              "on the kiosk's Python path or set driver: sim") from exc
    try:
        driver = driver_class(**options)
    except Exception as exc:  # a third-party constructor may raise anything
        raise BaseUnavailable(f"base driver '{spec}' failed to start with options {options}: {exc!r}") from exc
    methods = ("connect", "send_velocity", "update", "stop", "close")
    missing = [m for m in methods if not callable(getattr(driver, m, None))]
    if missing:
        raise BaseUnavailable(f"base driver '{spec}' lacks {missing} (see motion/base.py BaseDriver)")
    return driver
