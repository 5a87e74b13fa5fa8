"""dashboard: the center's staff dashboard (one per center), fed by every kiosk on the DDS domain.

Kiosks are discovered from ``/diagnostics`` status names (``/<ns>/<area>/<node>``) and the node
graph; for each one the node subscribes to its transcripts, replies, escalations, visits and
ratings, publishes ``dashboard/escalation_update`` into its namespace and calls its dialogue
node's ``dialogue/reload`` service after a retraining. The web app (kiosk_ui.dashboard) runs in a
thread on its own host/port. The kiosks never depend on this node.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import String
from std_srvs.srv import Trigger

from kiosk_protocol import EscalationUpdate, encode
from kiosk_ui.app import BackgroundServer
from kiosk_ui.dashboard import Dashboard, DashboardSettings, create_app
from kiosk_ui.dashboard.core import SUBSCRIBED_TOPICS, kiosks_on_graph

from .lifecycle_base import (
    ERROR,
    LATCHED_QOS,
    OK,
    RELIABLE_QOS,
    WARN,
    ConfigureError,
    KioskLifecycleNode,
    Param,
    positive,
    resolve_path,
    run_node,
)

# Every node of every kiosk publishes /diagnostics at 1 Hz: a deep queue so that bursts are not
# dropped while the executor is busy (depth 10 lost whole kiosks with 10 kiosks x 3 nodes).
INBOX_QOS = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)


class DashboardNode(KioskLifecycleNode):
    AREA = "dashboard"
    PARAMS = (
        Param("host", "127.0.0.1", "address of the staff dashboard (the staff network's, when deployed)"),
        Param("port", 8090, "TCP port of the staff dashboard", "", positive),
        Param("center_name", "", "shown on the dashboard; empty: the name in center_path"),
        Param("center_path", "config/center.yaml", "this center's facts"),
        Param("storage.db_path", "var/dashboard/dashboard.db", "SQLite database (WAL) of the dashboard"),
        Param("storage.max_size_mb", 0.0, "refuse to grow the database past this (0: no cap)", "MB"),
        Param("retention.conversation_days", 30.0, "conversation text is deleted after this", "days", positive),
        Param("retention.statistics_days", 730.0, "hourly statistics and escalation timings kept", "days", positive),
        Param("retention.audit_days", 365.0, "audit log kept", "days", positive),
        Param("retention.purge_period_s", 3600.0, "how often the retention purge runs", "s", positive),
        Param("session.ttl_s", 28800.0, "a login lasts at most this long", "s", positive),
        Param("session.idle_s", 3600.0, "a login ends after this long without use", "s", positive),
        Param("session.cookie_secure", False, "mark cookies Secure (serve the dashboard over HTTPS)"),
        Param("login.failures_per_account", 5, "failed logins per minute per account before 429", "", positive),
        Param("login.failures_per_address", 10, "failed logins per minute per address before 429", "", positive),
        Param("login.min_password_chars", 10, "shortest password accepted", "characters", positive),
        Param("max_body_bytes", 262144, "largest request body", "bytes", positive),
        Param("extra_origins", "", "comma-separated extra origins staff use (e.g. https://dashboard.local)"),
        Param("stale_after_s", 5.0, "a kiosk node not heard for this long shows STALE", "s", positive),
        Param("utc_offset_hours", 7, "local time of the statistics (Vietnam: 7)", "h"),
        Param("discovery_period_s", 2.0, "how often the ROS graph is scanned for kiosks", "s", positive),
        Param("kb.kb_dir", "dialogue/kb", "KB root the kiosks' dialogue nodes load (same as their kb_dir)"),
        Param("kb.model_dir", "models/dialogue", "model folder the kiosks' dialogue nodes load (their model_dir)"),
        Param("kb.history_dir", "var/dashboard/kb_history", "previous versions of edited KB records"),
        Param("kb.train_timeout_s", 900.0, "a training run is stopped after this", "s", positive),
        Param("reload_timeout_s", 20.0, "wait for each kiosk's dialogue reload", "s", positive),
    )

    def __init__(self) -> None:
        super().__init__("dashboard")
        self._dashboard: Dashboard | None = None
        self._server: BackgroundServer | None = None
        self._kiosk_io: dict[str, dict] = {}
        self._io_lock = threading.Lock()
        self._serve_error = ""
        self._rejections = None  # the web app's counters (kiosk_ui.rejections.Rejections)

    def configure_core(self) -> None:
        c = self.cfg
        center_name = c["center_name"]
        if not center_name:
            import yaml

            with contextlib.suppress(OSError, yaml.YAMLError, AttributeError, TypeError):
                center = yaml.safe_load(resolve_path(c["center_path"]).read_text(encoding="utf-8"))
                center_name = center["center"]["name"]
        try:
            settings = DashboardSettings(
                host=c["host"], port=c["port"], db_path=resolve_path(c["storage.db_path"]),
                max_db_size_mb=c["storage.max_size_mb"],
                conversation_retention_days=c["retention.conversation_days"],
                statistics_retention_days=c["retention.statistics_days"],
                audit_retention_days=c["retention.audit_days"],
                purge_period_s=c["retention.purge_period_s"], session_ttl_s=c["session.ttl_s"],
                session_idle_s=c["session.idle_s"], cookie_secure=c["session.cookie_secure"],
                login_failures_per_account=c["login.failures_per_account"],
                login_failures_per_address=c["login.failures_per_address"],
                min_password_chars=c["login.min_password_chars"], max_body_bytes=c["max_body_bytes"],
                stale_after_s=c["stale_after_s"], utc_offset_hours=c["utc_offset_hours"],
                center_name=center_name or "Trung tâm Phục vụ hành chính công",
                kb_dir=resolve_path(c["kb.kb_dir"]), model_dir=resolve_path(c["kb.model_dir"]),
                center_path=resolve_path(c["center_path"]), kb_history_dir=resolve_path(c["kb.history_dir"]),
                train_timeout_s=c["kb.train_timeout_s"],
                extra_origins=tuple(o.strip() for o in c["extra_origins"].split(",") if o.strip()),
            )
            self._dashboard = Dashboard(settings)
        except (ValueError, OSError, RuntimeError, sqlite3.Error) as exc:
            raise ConfigureError(f"dashboard cannot start: {exc}. Fix: the dashboard parameters in "
                                 "config/kiosk.yaml (storage.db_path must be a writable file)") from exc
        self._dashboard.hooks.publish_update = self._publish_update
        self._dashboard.hooks.reload_dialogue = self._reload_dialogue

    def activate_core(self) -> None:
        self._diag_sub = self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, INBOX_QOS)
        self._discovery_timer = self.create_timer(float(self.cfg["discovery_period_s"]), self._discover)
        settings = self._dashboard.settings
        url = f"http://{settings.host}:{settings.port}/"
        app = create_app(self._dashboard)
        self._rejections = app.state.rejections
        try:
            self._server = BackgroundServer(app, settings.host, settings.port).start()
        except RuntimeError as exc:
            self._server = None
            self._serve_error = (f"staff dashboard could not start on {url} ({exc}). Fix: free the port or change "
                                 "the dashboard node's `port` parameter")
            self.set_status(ERROR, self._serve_error)
            return
        self.set_status(OK, f"staff dashboard at {url}", url=url)

    def deactivate_core(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.destroy_timer(self._discovery_timer)
        self.destroy_subscription(self._diag_sub)
        with self._io_lock:
            for io in self._kiosk_io.values():
                for sub in io["subs"]:
                    self.destroy_subscription(sub)
                self.destroy_publisher(io["update_pub"])
                self.destroy_client(io["reload"])
            self._kiosk_io.clear()

    def cleanup_core(self) -> None:
        if self._dashboard is not None:
            self._dashboard.close()
            self._dashboard = None

    # ---- discovery and kiosk topics -------------------------------------------------------------
    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        statuses = [{"name": s.name, "level": int.from_bytes(s.level, "little") if isinstance(s.level, bytes)
                     else int(s.level), "message": s.message, "values": {kv.key: kv.value for kv in s.values}}
                    for s in msg.status]
        for kiosk in self._dashboard.on_diagnostics(statuses):
            self._connect(kiosk)

    def _discover(self) -> None:
        graph = self.get_node_names_and_namespaces()
        for kiosk in kiosks_on_graph(graph):
            self._connect(kiosk)
        others = [ns for name, ns in graph if name == "dashboard" and ns != self.get_namespace()]
        storage = self._dashboard.storage_status()
        values = {"kiosks": len(self._kiosk_io), "db_bytes": storage["size_bytes"],
                  "waiting_writes": storage["waiting_writes"]}
        if self._serve_error:
            self.set_status(ERROR, self._serve_error, **values)
        elif storage["problem"]:
            self.set_status(ERROR, storage["problem"], **values)
        elif others:
            self.set_status(WARN, f"another dashboard runs on this DDS domain ({', '.join(others)}); run one per "
                            "center (start the other kiosks' bringup with --no-dashboard)", **values)
        else:
            self.set_status(OK, f"staff dashboard at http://{self.cfg['host']}:{self.cfg['port']}/", **values)

    def _connect(self, kiosk: str) -> None:
        """Subscribe to one kiosk's topics (once)."""
        with self._io_lock:
            if kiosk in self._kiosk_io:
                return
            ns = "/" + kiosk
            subs = [self.create_subscription(String, f"{ns}/{topic}",
                                             lambda msg, t=topic: self._on_kiosk_message(kiosk, t, msg.data),
                                             LATCHED_QOS if topic == "dialogue/session" else INBOX_QOS)
                    for topic in SUBSCRIBED_TOPICS]
            self._kiosk_io[kiosk] = {
                "subs": subs,
                "update_pub": self.create_publisher(String, f"{ns}/dashboard/escalation_update", RELIABLE_QOS),
                "reload": self.create_client(Trigger, f"{ns}/dialogue/reload"),
            }
        self._dashboard.discovered([kiosk])
        self.get_logger().info(f"kiosk discovered: {ns}")

    def _on_kiosk_message(self, kiosk: str, topic: str, data: str) -> None:
        reason = self._dashboard.on_message(kiosk, topic, data)
        if reason is not None:
            self.reject(f"{topic} from {kiosk}", reason)

    def extra_diagnostics(self) -> dict:
        """The staff app's refused HTTP requests and WebSocket frames (also on its /healthz)."""
        return self._rejections.diagnostics() if self._rejections is not None else {}

    # ---- hooks for the web app (called on the server's threads) ---------------------------------
    def _publish_update(self, kiosk: str, update: EscalationUpdate) -> None:
        with self._io_lock:
            io = self._kiosk_io.get(kiosk)
        if io is None:
            raise KeyError(f"kiosk {kiosk} is not connected")
        io["update_pub"].publish(String(data=encode(update)))

    def _reload_dialogue(self, kiosks: list[str]) -> dict[str, dict]:
        results: dict[str, dict] = {}
        timeout = float(self.cfg["reload_timeout_s"])
        for kiosk in kiosks:
            with self._io_lock:
                io = self._kiosk_io.get(kiosk)
            if io is None:
                results[kiosk] = {"success": False, "message": "not connected"}
                continue
            client = io["reload"]
            if not client.wait_for_service(timeout_sec=min(timeout, 5.0)):
                results[kiosk] = {"success": False, "message": "no dialogue/reload service (dialogue node down?)"}
                continue
            done = threading.Event()
            future = client.call_async(Trigger.Request())
            future.add_done_callback(lambda _f, event=done: event.set())
            started = time.monotonic()
            if not done.wait(timeout):
                results[kiosk] = {"success": False, "message": f"no answer within {timeout:.0f} s"}
                continue
            response = future.result()
            results[kiosk] = {"success": bool(response.success), "message": response.message,
                              "seconds": round(time.monotonic() - started, 2)}
        return results


def main(args: list[str] | None = None) -> None:
    run_node(DashboardNode, args)
