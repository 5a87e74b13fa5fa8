"""The lifecycle scaffolding every kiosk node shares.

A node lists its parameters as :class:`Param` (default, description, unit). The constructor only
declares them; ``on_configure`` reads them and builds the node's core object (a failure there
leaves the node up, reports ERROR in diagnostics with the reason and retries); ``on_activate``
creates topics; ``on_deactivate``/``on_cleanup``/``on_shutdown`` undo that. Each node publishes
``diagnostic_msgs/DiagnosticArray`` on ``/diagnostics`` at 1 Hz with a hierarchical name
(``<namespace>/<area>/<node>``), its lifecycle state and the host's CPU/RAM (``host_metrics``).

With ``autostart`` true (the default) a node drives itself through configure → activate, so
the same executables work under ``ros2 launch`` and under the project's bringup.

Every declared value is checked before configure succeeds, whatever set it (default, parameter
file, ``-p``): a wrong type or a broken rule (``Param.check``, the class's ``CONSTRAINTS``)
fails configure with node, parameter, value and rule, and diagnostics report ERROR. A parameter
file that rcl cannot parse ends the process with exit code 78 (``CONFIG_ERROR_EXIT``).
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import rclpy
import rclpy.executors
import rclpy.signals
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import InvalidParameterTypeException
from rclpy.executors import ExternalShutdownException
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from kiosk_protocol import ProtocolError, decode

from .host_metrics import HostMetrics
from .params import (
    COMMON_PARAMS,
    CONFIG_ERROR_EXIT,
    Constraint,
    Param,
    at_most,
    between,
    config_problems,
    non_negative,
    not_empty,
    one_of,
    port_number,
    positive,
)

__all__ = [
    "ERROR",
    "LATCHED_QOS",
    "OK",
    "RELIABLE_QOS",
    "WARN",
    "ConfigureError",
    "Constraint",
    "KioskLifecycleNode",
    "Param",
    "Worker",
    "at_most",
    "between",
    "non_negative",
    "not_empty",
    "one_of",
    "port_number",
    "positive",
    "publish_if_alive",
    "resolve_path",
    "run_node",
    "run_nodes",
]

OK, WARN, ERROR, STALE = (
    DiagnosticStatus.OK,
    DiagnosticStatus.WARN,
    DiagnosticStatus.ERROR,
    DiagnosticStatus.STALE,
)
RELIABLE_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED_QOS = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)


class ConfigureError(RuntimeError):
    """Raised by ``configure_core`` with a message that says what is wrong and how to fix it."""


def publish_if_alive(publisher, msg) -> None:
    """Publish during deactivation/shutdown: after Ctrl-C the context may already be gone."""
    with contextlib.suppress(Exception):  # RCLError once the context is invalid: nobody to tell then
        publisher.publish(msg)


def resolve_path(value: str) -> Path:
    """Relative paths in parameter files are relative to KIOSK_ROOT (the repo), else the cwd."""
    path = Path(os.path.expanduser(value))
    if path.is_absolute():
        return path
    return Path(os.environ.get("KIOSK_ROOT", os.getcwd())) / path


class KioskLifecycleNode(LifecycleNode):
    """Base class: parameters with descriptors, configure-time loading, diagnostics, autostart."""

    PARAMS: Sequence[Param] = ()
    CONSTRAINTS: Sequence[Constraint] = ()  # rules over several parameters
    AREA = "kiosk"  # diagnostics name: <namespace>/<AREA>/<node name>

    def __init__(self, node_name: str, **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self._params = {p.name: p for p in (*COMMON_PARAMS, *self.PARAMS)}
        self._type_problems: dict[str, str] = {}
        for param in self._params.values():
            self._declare(param)
        self.add_on_set_parameters_callback(self._check_parameters)
        self.cfg: dict[str, Any] = {}
        self._status_lock = threading.Lock()
        self._level, self._message = WARN, "starting"
        self._values: dict[str, str] = {"rejected_messages": "0"}
        self._rejected_count = 0  # rejected_messages (reject)
        self._state_label = "unconfigured"
        self.hardware_id = self.get_fully_qualified_name()
        self._host_metrics = HostMetrics()  # host CPU/RAM in every status, for the staff dashboard
        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", RELIABLE_QOS)
        self._diag_timer = self.create_timer(self.valid_value("diagnostics_period_s"), self.publish_diagnostics)
        self._retry_timer = None
        if self.get_parameter("autostart").value:
            self._start_timer = self.create_timer(0.05, self._autostart)

    # ---- parameters ---------------------------------------------------------------------------
    def _declare(self, param: Param) -> None:
        """Declare one parameter; a value of the wrong type is kept as a problem for configure."""
        descriptor = param.descriptor
        try:
            self.declare_parameter(param.name, param.default, descriptor)
        except InvalidParameterTypeException:
            given = self._parameter_overrides[param.name].value
            self._type_problems[param.name] = f"{param.name} {param.problem(given)}"
            self.declare_parameter(param.name, param.default, descriptor, ignore_override=True)

    def _check_parameters(self, params: list) -> SetParametersResult:
        for item in params:
            spec = self._params.get(item.name)
            problem = spec.problem(item.value) if spec is not None else None
            if problem:
                return SetParametersResult(successful=False, reason=f"{item.name} {problem}")
        for item in params:  # a good value replaces a rejected one from the parameter file
            self._type_problems.pop(item.name, None)
        return SetParametersResult(successful=True)

    def parameter_problems(self, values: dict[str, Any]) -> list[str]:
        """Wrong types (from the parameter file) and broken rules, one line each."""
        return [*self._type_problems.values(),
                *config_problems(self._params.values(), values, self.CONSTRAINTS)]

    def valid_value(self, name: str) -> Any:
        """The parameter's value, or its default when the value breaks its rule (reported at configure)."""
        value = self.get_parameter(name).value
        return self._params[name].default if self._params[name].problem(value) else value

    def read_parameters(self) -> dict[str, Any]:
        return {name: self.get_parameter(name).value for name in self._params}

    # ---- status and diagnostics ---------------------------------------------------------------
    def set_status(self, level: int, message: str, **values: Any) -> None:
        """Set this node's diagnostics level and message; ``values`` become key/values."""
        with self._status_lock:
            changed = (level, message) != (self._level, self._message)
            self._level, self._message = level, message
            self._values.update({k: str(v) for k, v in values.items()})
        # one call site per severity: rclpy refuses a call site whose severity changes (ValueError)
        if changed and level == ERROR:
            self.get_logger().error(message)
        elif changed and level >= WARN:
            self.get_logger().warning(message)

    def decode_or_warn(self, data: str, kind: type, what: str):
        """Parse a kiosk_protocol payload; a malformed one is counted (:meth:`reject`) and gives None."""
        try:
            return decode(data, kind)
        except ProtocolError as exc:
            self.reject(what, str(exc))
            return None

    def reject(self, what: str, reason: str) -> None:
        """Count one refused incoming message: diagnostics ``rejected_messages`` and ``last_rejected``
        (what and why), WARN unless the node already reports ERROR; the node keeps running."""
        reason = reason[:200]
        with self._status_lock:
            self._rejected_count += 1
            self._values.update(rejected_messages=str(self._rejected_count), last_rejected=f"{what}: {reason}")
            if self._level != ERROR:
                self._level, self._message = WARN, f"rejected {what}: {reason}"
        # throttled: a flood of garbage must not flood the log too
        self.get_logger().warning(f"rejected {what}: {reason}", throttle_duration_sec=5.0)

    def update_values(self, **values: Any) -> None:
        with self._status_lock:
            self._values.update({k: str(v) for k, v in values.items()})

    def diagnostics_name(self) -> str:
        namespace = self.get_namespace().rstrip("/")
        return f"{namespace}/{self.AREA}/{self.get_name()}"

    def extra_diagnostics(self) -> dict[str, Any]:
        """Values a subclass adds to every diagnostics message (e.g. its web app's counters)."""
        return {}

    def publish_diagnostics(self) -> None:
        extra = {k: str(v) for k, v in self.extra_diagnostics().items()}
        with self._status_lock:
            level, message, values = self._level, self._message, {**self._values, **extra}
        values["lifecycle_state"] = self._state_label
        values.update(self._host_metrics.sample())
        status = DiagnosticStatus(
            level=level,
            name=self.diagnostics_name(),
            message=message,
            hardware_id=self.hardware_id,
            values=[KeyValue(key=k, value=v) for k, v in sorted(values.items())],
        )
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diag_pub.publish(array)

    # ---- lifecycle ----------------------------------------------------------------------------
    def _autostart(self) -> None:
        self.destroy_timer(self._start_timer)
        self._try_configure()

    def _try_configure(self) -> None:
        if self._retry_timer is not None:
            self.destroy_timer(self._retry_timer)
            self._retry_timer = None
        if self.trigger_configure() == TransitionCallbackReturn.SUCCESS:
            self.trigger_activate()
        elif self.get_parameter("autostart").value:
            period = self.valid_value("retry_period_s")
            self._retry_timer = self.create_timer(period, self._try_configure)

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.cfg = self.read_parameters()
        problems = self.parameter_problems(self.cfg)
        if problems:
            self.set_status(ERROR, f"{self.get_fully_qualified_name()}: invalid parameters: {'; '.join(problems)}. "
                            "Fix: correct them in the parameter file (check it with kiosk_check_params) "
                            "and restart the node", invalid_parameters=len(problems))
            return TransitionCallbackReturn.FAILURE
        self.update_values(invalid_parameters=0)
        try:
            self.configure_core()
        except ConfigureError as exc:
            self.set_status(ERROR, str(exc))
            return TransitionCallbackReturn.FAILURE
        self._state_label = "inactive"
        if self._level == WARN and self._message == "starting":
            self.set_status(OK, "configured")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.activate_core()
        self._state_label = "active"
        self.get_logger().info(f"active ({self._message})")
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.deactivate_core()
        self._state_label = "inactive"
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.cleanup_core()
        self._state_label = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        if self._state_label == "active":
            self.deactivate_core()
        self.cleanup_core()
        self._state_label = "finalized"
        return TransitionCallbackReturn.SUCCESS

    # ---- hooks for subclasses -----------------------------------------------------------------
    def configure_core(self) -> None:
        """Build the core object from ``self.cfg``; raise ConfigureError on a problem."""

    def activate_core(self) -> None:
        """Create publishers, subscriptions, timers and threads."""

    def deactivate_core(self) -> None:
        """Destroy what activate_core created."""

    def cleanup_core(self) -> None:
        """Release the core object."""


def run_node(node_class: type[KioskLifecycleNode], args: list[str] | None = None) -> None:
    """Standard main: spin until Ctrl-C or an external shutdown, then clean up.

    A parameter file that rcl cannot parse (malformed YAML, a bad ``-p``) ends the process with
    a one-line message and exit code 78 instead of a traceback.
    """
    try:
        rclpy.init(args=args)
    except _rclpy.RCLError as exc:
        text = str(exc)
        if "param" not in text.lower() and "argument" not in text.lower():
            raise
        print(f"[{node_class.__name__}] cannot start: its ROS arguments or parameter file cannot be parsed: "
              f"{text}. Fix: run kiosk_check_params on the parameter files for the line and key",
              file=sys.stderr)
        sys.exit(CONFIG_ERROR_EXIT)
    node = node_class()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():
            raise
        # SIGTERM/SIGINT shut the context down while a callback was publishing: a clean stop
    finally:
        try:  # a second Ctrl-C during cleanup must not leave a traceback behind
            if node._state_label in ("active", "inactive"):
                node.on_shutdown(None)
            node.destroy_node()
            rclpy.try_shutdown()
        except KeyboardInterrupt:
            pass


def run_nodes(factories: Sequence[Callable[[], KioskLifecycleNode]], args: list[str] | None = None) -> None:
    """Main for one process hosting several nodes (e.g. camera + engagement sharing frames).

    Ctrl-C is handled here rather than by rclpy, so the multi-threaded executor's callbacks finish
    before the nodes clean up and the context ends.
    """
    rclpy.init(args=args, signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    nodes = [factory() for factory in factories]
    executor = rclpy.executors.MultiThreadedExecutor()
    for node in nodes:
        executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        try:  # a second Ctrl-C during cleanup must not leave a traceback behind
            executor.shutdown(timeout_sec=2.0)
            for node in nodes:
                if node._state_label in ("active", "inactive"):
                    node.on_shutdown(None)
                node.destroy_node()
            rclpy.try_shutdown()
        except KeyboardInterrupt:
            pass


class Worker:
    """A daemon thread that handles items from a bounded queue, oldest dropped when full.

    An item whose handler raises is counted in ``failed`` and passed to ``on_error``; the thread
    goes on with the next one (one bad item must not stop the node's work for good).
    """

    def __init__(self, handle: Callable[[Any], None], max_items: int = 4, name: str = "worker",
                 on_error: Callable[[Any, Exception], None] | None = None) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=max_items)
        self._handle = handle
        self._on_error = on_error
        self.dropped = 0
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, item: Any) -> None:
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._handle(item)
            except Exception as exc:
                self.failed += 1
                if self._on_error is not None:
                    with contextlib.suppress(Exception):
                        self._on_error(item, exc)

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(timeout=timeout_s)
