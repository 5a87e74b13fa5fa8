"""ui: serves the kiosk page (FastAPI + uvicorn) and bridges it to the kiosk's topics."""

from __future__ import annotations

import contextlib
import threading
import time

import uvicorn
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from std_msgs.msg import Bool, String

from kiosk_protocol import (
    Catalog,
    Escalation,
    EscalationUpdate,
    Rating,
    Reply,
    SessionEvent,
    Spoken,
    Transcript,
    UserInput,
    encode,
)
from kiosk_ui.app import EventHub, KioskBridge, UiSettings, create_app, uvicorn_config
from kiosk_ui.delivery import PendingInputs
from kiosk_ui.printing import find_printer

from .lifecycle_base import (
    ERROR,
    LATCHED_QOS,
    OK,
    RELIABLE_QOS,
    ConfigureError,
    KioskLifecycleNode,
    Param,
    not_empty,
    port_number,
    positive,
    resolve_path,
    run_node,
)

# topic → the one kind the page is shown from it (anything else is counted as rejected)
FORWARDED = {"speech/transcript": Transcript, "dialogue/reply": Reply, "dialogue/escalation": Escalation,
             "speech/spoken": Spoken, "dashboard/escalation_update": EscalationUpdate}
STATES = {"audio/speaking": "visitor_speaking", "speech/robot_speaking": "robot_speaking"}


class UiNode(KioskLifecycleNode):
    AREA = "ui"
    PARAMS = (
        Param("host", "127.0.0.1", "address the kiosk page listens on", check=not_empty),
        Param("port", 8080, "TCP port of the kiosk page", "", port_number),
        Param("center_path", "config/center.yaml", "this center's facts (name shown on the page)"),
        Param("reply_timeout_s", 15.0, "the page says so when no reply came in this time", "s", positive),
        Param("input_resend_s", 3.0, "send an unanswered input to the dialogue again after this (a "
              "restarted dialogue node may have missed it)", "s", positive),
        Param("idle_timeout_s", 90.0, "no touch and no talk this long: the page goes home and the visit "
              "is closed and cleared", "s", positive),
        Param("printer", "auto", "CUPS printer for the take-home checklist: auto (the default destination), "
              "a printer name, or none; without one the page hides its print button"),
        Param("microphone_node", "speech/microphone", "diagnostics name (under this namespace) of the "
              "microphone node; the page shows its push-to-talk button while that node reports a real device"),
    )

    def __init__(self) -> None:
        super().__init__("ui")
        self._server: uvicorn.Server | None = None
        self._rejections = None  # the page's web app counters (kiosk_ui.rejections.Rejections)
        self._microphone: bool | None = None

    def configure_core(self) -> None:
        path = resolve_path(self.cfg["center_path"])
        try:
            center = yaml.safe_load(path.read_text(encoding="utf-8"))["center"]
        except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
            raise ConfigureError(f"cannot read the center config '{path}': {exc}. Fix: check its YAML") from exc
        self._hub = EventHub()
        self._settings = UiSettings(center_name=center.get("name", ""),
                                    reply_timeout_s=self.cfg["reply_timeout_s"],
                                    idle_timeout_s=self.cfg["idle_timeout_s"])
        self._printer = find_printer(self.cfg["printer"])
        namespace = self.get_namespace().rstrip("/")
        self._mic_status_name = f"{namespace}/{self.cfg['microphone_node'].strip('/')}"

    def activate_core(self) -> None:
        self._pending = PendingInputs(resend_after_s=min(self.cfg["input_resend_s"], self.cfg["reply_timeout_s"]),
                                      give_up_s=self.cfg["reply_timeout_s"])
        self._input_pub = self.create_publisher(String, "ui/input", RELIABLE_QOS)
        self._resend_timer = self.create_timer(0.5, self._resend)
        self._rating_pub = self.create_publisher(String, "ui/rating", RELIABLE_QOS)
        self._ptt_pub = self.create_publisher(Bool, "ui/push_to_talk", RELIABLE_QOS)
        self._bridge = KioskBridge(on_rating=self._on_rating, on_push_to_talk=self._on_push_to_talk,
                                   printer=self._printer)
        self._subs = [
            self.create_subscription(String, topic, lambda msg, t=topic: self._on_message(t, msg), RELIABLE_QOS)
            for topic in FORWARDED
        ]
        for topic, name in STATES.items():
            qos = LATCHED_QOS if topic == "speech/robot_speaking" else RELIABLE_QOS
            self._subs.append(self.create_subscription(
                Bool, topic, lambda msg, name=name: self._hub.publish_state(name, bool(msg.data)), qos))
        self._subs += [
            self.create_subscription(String, "dialogue/session", self._on_session, LATCHED_QOS),
            self.create_subscription(String, "dialogue/catalog", self._on_catalog, LATCHED_QOS),
            self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, RELIABLE_QOS),
        ]
        app = create_app(self._hub, on_input=self._on_user_input, settings=self._settings, bridge=self._bridge)
        self._rejections = app.state.rejections
        self._server = uvicorn.Server(uvicorn_config(app, self.cfg["host"], self.cfg["port"]))
        self._thread = threading.Thread(target=self._serve, name="uvicorn", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        url = f"http://{self.cfg['host']}:{self.cfg['port']}/"
        self.set_status(OK, f"kiosk page at {url}", url=url, catalog="waiting for dialogue/catalog",
                        printer=self._printer.name if self._printer else "none")
        with contextlib.suppress(SystemExit):  # uvicorn exits when it cannot bind the port
            self._server.run()
        if not self._server.started:
            self.set_status(ERROR, f"kiosk page could not start on {url}. Fix: free the port or change "
                            "the ui node's `port` parameter")

    def deactivate_core(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5.0)
        self.destroy_timer(self._resend_timer)
        for sub in self._subs:
            self.destroy_subscription(sub)
        for pub in (self._input_pub, self._rating_pub, self._ptt_pub):
            self.destroy_publisher(pub)

    def extra_diagnostics(self) -> dict:
        """The page's refused HTTP requests and WebSocket frames (also on its /healthz)."""
        return self._rejections.diagnostics() if self._rejections is not None else {}

    def _on_message(self, topic: str, msg: String) -> None:
        message = self.decode_or_warn(msg.data, FORWARDED[topic], topic)
        if message is not None:
            if isinstance(message, Reply):
                self._pending.answered(message.in_reply_to)
            self._hub.publish(message)

    def _on_session(self, msg: String) -> None:
        event = self.decode_or_warn(msg.data, SessionEvent, "session event")
        if event is not None:
            self._hub.on_session(event)

    def _on_catalog(self, msg: String) -> None:
        catalog = self.decode_or_warn(msg.data, Catalog, "catalog")
        if catalog is None:
            return
        if self._bridge.catalog.set(catalog):
            self._hub.publish({"kind": "catalog", "version": catalog.version})
        self.update_values(catalog=catalog.version, procedures=len(catalog.procedures))

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name != self._mic_status_name:
                continue
            values = {kv.key: kv.value for kv in status.values}
            present = values.get("source") == "device" and values.get("lifecycle_state") == "active"
            if present != self._microphone:
                self._microphone = present
                self._hub.publish_state("microphone_available", present)
                self.update_values(microphone="device" if present else "none")

    def _on_user_input(self, user_input: UserInput) -> None:  # called from the web server's thread
        self._pending.sent(user_input, time.monotonic())
        self._input_pub.publish(String(data=encode(user_input)))

    def _resend(self) -> None:
        again = self._pending.due(time.monotonic())
        for user_input in again:
            self._input_pub.publish(String(data=encode(user_input)))
        if again:
            self.update_values(inputs_resent=self._pending.resent, inputs_unanswered=self._pending.given_up)

    def _on_rating(self, rating: Rating) -> None:
        self._rating_pub.publish(String(data=encode(rating)))

    def _on_push_to_talk(self, pressed: bool) -> None:
        self._ptt_pub.publish(Bool(data=pressed))


def main(args: list[str] | None = None) -> None:
    run_node(UiNode, args)
