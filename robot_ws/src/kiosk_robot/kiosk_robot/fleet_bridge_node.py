"""fleet_bridge: one per center; puts its kiosks' health, escalations and stats on Zenoh.

Reads ``/diagnostics`` (every kiosk of the center's DDS domain) and, for each kiosk namespace it
discovers, ``dialogue/escalation``, ``dialogue/reply``, ``dialogue/session`` and ``ui/rating``.
Publishes under ``kiosk/<province>/<center>/<kiosk>/{health,escalation,stats}`` (see
:mod:`fleet`); the citizen's words stay in the center unless ``share_user_text`` is true.
"""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray
from std_msgs.msg import String

from fleet import CenterPublisher, CenterState, FleetKeys, ZenohOptions, open_session
from fleet.session import endpoints
from kiosk_protocol import Escalation, Rating, Reply, SessionEvent

from .lifecycle_base import (
    LATCHED_QOS,
    OK,
    RELIABLE_QOS,
    WARN,
    ConfigureError,
    KioskLifecycleNode,
    Param,
    one_of,
    positive,
    resolve_path,
    run_node,
)

WATCHED = {"dialogue/escalation": Escalation, "dialogue/reply": Reply, "dialogue/session": SessionEvent,
           "ui/rating": Rating}


class FleetBridgeNode(KioskLifecycleNode):
    AREA = "fleet"
    PARAMS = (
        Param("province", "", "province id in the key expressions, e.g. ha-noi (folded to a-z0-9-)"),
        Param("center", "", "this center's id, e.g. phuong-ba-dinh"),
        Param("zenoh.mode", "peer", "Zenoh session mode", check=one_of("peer", "client")),
        Param("zenoh.connect", "", "endpoints to connect to, comma-separated (e.g. the province router "
              "tcp/province-router:7447)"),
        Param("zenoh.listen", "", "endpoints to listen on, comma-separated (empty: none)"),
        Param("zenoh.multicast_scouting", False,
              "find peers by UDP multicast and gossip (off: only the endpoints above)"),
        Param("zenoh.config_path", "", "Zenoh JSON5 config (TLS, credentials), kept outside the repository"),
        Param("health_period_s", 5.0, "put every kiosk's health this often (and at once on a change)", "s",
              positive),
        Param("stats_period_s", 30.0, "put every kiosk's statistics this often", "s", positive),
        Param("stale_after_s", 10.0, "a node without diagnostics for this long is STALE", "s", positive),
        Param("discovery_period_s", 2.0, "look for new kiosk namespaces this often", "s", positive),
        Param("share_user_text", False, "also send the citizen's words with escalations (privacy: off)"),
    )

    def __init__(self) -> None:
        super().__init__("fleet_bridge")
        self._publisher: CenterPublisher | None = None
        self._watched: dict[str, list] = {}
        self._levels: dict[str, str] = {}

    def configure_core(self) -> None:
        cfg = self.cfg
        if not cfg["province"].strip() or not cfg["center"].strip():
            raise ConfigureError("fleet_bridge needs its province and center ids. Fix: set fleet_bridge.province "
                                 "and fleet_bridge.center in the center's parameter file (e.g. ha-noi, "
                                 "phuong-ba-dinh)")
        try:
            keys = FleetKeys.of(cfg["province"], cfg["center"])
        except ValueError as exc:
            raise ConfigureError(f"{exc}. Fix: use letters or digits in province and center") from exc
        config_path = str(resolve_path(cfg["zenoh.config_path"])) if cfg["zenoh.config_path"] else ""
        options = ZenohOptions(mode=cfg["zenoh.mode"], connect=endpoints(cfg["zenoh.connect"]),
                               listen=endpoints(cfg["zenoh.listen"]),
                               multicast_scouting=cfg["zenoh.multicast_scouting"], config_path=config_path)
        try:
            self._publisher = CenterPublisher(open_session(options), keys)
        except Exception as exc:  # zenoh raises its own ZError for a bad endpoint or config
            raise ConfigureError(f"cannot open the Zenoh session ({exc}). Fix: check zenoh.connect / "
                                 "zenoh.listen endpoints (tcp/<host>:<port>) and zenoh.config_path") from exc
        self._state = CenterState(stale_after_s=cfg["stale_after_s"], share_user_text=cfg["share_user_text"])
        self.set_status(OK, f"publishing to Zenoh as {keys.center_prefix}", key_prefix=keys.center_prefix)

    def activate_core(self) -> None:
        self._diag_sub = self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, RELIABLE_QOS)
        self._bridge_timers = [
            self.create_timer(self.cfg["discovery_period_s"], self._discover),
            self.create_timer(self.cfg["health_period_s"], self._put_health),
            self.create_timer(self.cfg["stats_period_s"], self._put_stats),
        ]
        self._discover()

    def deactivate_core(self) -> None:
        self.destroy_subscription(self._diag_sub)
        for timer in self._bridge_timers:
            self.destroy_timer(timer)
        for subs in self._watched.values():
            for sub in subs:
                self.destroy_subscription(sub)
        self._watched.clear()

    def cleanup_core(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None

    def _own_namespace(self, namespace: str) -> bool:
        return namespace.rstrip("/") == self.get_namespace().rstrip("/")

    def _discover(self) -> None:
        """Subscribe to the watched topics of every kiosk namespace that has appeared."""
        for topic, _types in self.get_topic_names_and_types():
            for suffix, kind in WATCHED.items():
                if not topic.endswith("/" + suffix):
                    continue
                namespace = topic[: -len(suffix) - 1] or "/"
                if self._own_namespace(namespace) or topic in self._watched:
                    continue
                qos = LATCHED_QOS if suffix == "dialogue/session" else RELIABLE_QOS
                self._watched[topic] = [self.create_subscription(
                    String, topic, lambda msg, ns=namespace, k=kind: self._on_kiosk_message(ns, k, msg), qos)]
        self.update_values(kiosks=len(self._state.kiosks()), topics=len(self._watched),
                           sent=self._publisher.sent if self._publisher else 0)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            level = int.from_bytes(status.level, "little") if isinstance(status.level, bytes) else int(status.level)
            namespace = self._state.on_status(status.name, level, status.message,
                                              {kv.key: kv.value for kv in status.values})
            if namespace is None or self._own_namespace(namespace):
                continue
            health = self._state.health(namespace)
            if self._levels.get(namespace) != health["level"]:
                self._levels[namespace] = health["level"]
                self._put(namespace, "health", health)

    def _on_kiosk_message(self, namespace: str, kind: type, msg: String) -> None:
        message = self.decode_or_warn(msg.data, kind, kind.__name__)
        if message is None:
            return
        if isinstance(message, Escalation):
            self._put(namespace, "escalation", self._state.on_escalation(namespace, message.model_dump()))
        elif isinstance(message, Reply):
            self._state.on_reply(namespace)
        elif isinstance(message, SessionEvent):
            self._state.on_session(namespace, message.event)
        elif isinstance(message, Rating):
            self._state.on_rating(namespace, message.score)

    def _put(self, namespace: str, kind: str, payload: dict) -> None:
        if self._publisher is None:
            return
        try:
            self._publisher.put(namespace.strip("/").replace("/", "-") or "root", kind, payload)
        except Exception as exc:  # a lost Zenoh link must not stop the bridge
            self.set_status(WARN, f"could not put {kind} for {namespace}: {exc!r}")

    def _put_health(self) -> None:
        for namespace in self._state.kiosks():
            if not self._own_namespace(namespace):
                self._put(namespace, "health", self._state.health(namespace))

    def _put_stats(self) -> None:
        for namespace in self._state.kiosks():
            if not self._own_namespace(namespace):
                self._put(namespace, "stats", self._state.stats(namespace))


def main(args: list[str] | None = None) -> None:
    run_node(FleetBridgeNode, args)
