"""ui: serves the kiosk page (FastAPI + uvicorn) and bridges it to the kiosk's topics."""

from __future__ import annotations

import contextlib
import threading

import uvicorn
import yaml
from std_msgs.msg import Bool, String

from kiosk_protocol import ProtocolError, UserInput, decode, encode
from kiosk_ui.app import EventHub, UiSettings, create_app

from .lifecycle_base import (
    ERROR,
    LATCHED_QOS,
    OK,
    RELIABLE_QOS,
    ConfigureError,
    KioskLifecycleNode,
    Param,
    positive,
    resolve_path,
    run_node,
)

FORWARDED = ("speech/transcript", "dialogue/reply", "dialogue/escalation", "speech/spoken",
             "dashboard/escalation_update")
STATES = {"audio/speaking": "visitor_speaking", "speech/robot_speaking": "robot_speaking"}


class UiNode(KioskLifecycleNode):
    AREA = "ui"
    PARAMS = (
        Param("host", "127.0.0.1", "address the kiosk page listens on"),
        Param("port", 8080, "TCP port of the kiosk page", "", positive),
        Param("center_path", "config/center.yaml", "this center's facts (name shown on the page)"),
        Param("reply_timeout_s", 15.0, "the page says so when no reply came in this time", "s", positive),
    )

    def __init__(self) -> None:
        super().__init__("ui")
        self._server: uvicorn.Server | None = None

    def configure_core(self) -> None:
        path = resolve_path(self.cfg["center_path"])
        try:
            center = yaml.safe_load(path.read_text(encoding="utf-8"))["center"]
        except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
            raise ConfigureError(f"cannot read the center config '{path}': {exc}. Fix: check its YAML") from exc
        self._hub = EventHub()
        self._settings = UiSettings(center_name=center.get("name", ""),
                                    reply_timeout_s=self.cfg["reply_timeout_s"])

    def activate_core(self) -> None:
        self._input_pub = self.create_publisher(String, "ui/input", RELIABLE_QOS)
        self._subs = [
            self.create_subscription(String, topic, self._on_message, RELIABLE_QOS) for topic in FORWARDED
        ]
        for topic, name in STATES.items():
            qos = LATCHED_QOS if topic == "speech/robot_speaking" else RELIABLE_QOS
            self._subs.append(self.create_subscription(
                Bool, topic, lambda msg, name=name: self._hub.publish_state(name, bool(msg.data)), qos))
        app = create_app(self._hub, on_input=self._on_user_input, settings=self._settings)
        config = uvicorn.Config(app, host=self.cfg["host"], port=self.cfg["port"], log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="uvicorn", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        url = f"http://{self.cfg['host']}:{self.cfg['port']}/"
        self.set_status(OK, f"kiosk page at {url}", url=url)
        with contextlib.suppress(SystemExit):  # uvicorn exits when it cannot bind the port
            self._server.run()
        if not self._server.started:
            self.set_status(ERROR, f"kiosk page could not start on {url}. Fix: free the port or change "
                            "the ui node's `port` parameter")

    def deactivate_core(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5.0)
        for sub in self._subs:
            self.destroy_subscription(sub)
        self.destroy_publisher(self._input_pub)

    def _on_message(self, msg: String) -> None:
        try:
            self._hub.publish(decode(msg.data))
        except ProtocolError as exc:
            self.get_logger().warning(f"not shown on the page: {exc}")

    def _on_user_input(self, user_input: UserInput) -> None:
        self._input_pub.publish(String(data=encode(user_input)))


def main(args: list[str] | None = None) -> None:
    run_node(UiNode, args)
