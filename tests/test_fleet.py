"""Two centers on two DDS domains, each with a real dialogue node and a fleet bridge, seen by one
province view over Zenoh on loopback (multicast scouting off)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import yaml

from fleet import ProvinceView, ZenohOptions, key_id, open_session
from fleet.keys import parse_key
from fleet.state import CenterState
from kiosk_protocol import UserInput, encode
from kiosk_robot.harness import REPO, VENV_BIN, free_port

pytestmark = pytest.mark.ros


def test_keys_state_and_privacy_without_ros():
    assert key_id("Phường Ba Đình") == "phuong-ba-dinh" and key_id("kiosk_1") == "kiosk-1"
    assert parse_key("kiosk/ha-noi/c1/k1/health") == ("ha-noi", "c1", "k1", "health")
    assert parse_key("kiosk/ha-noi/c1/alive") is None
    state = CenterState(stale_after_s=5.0)
    state.on_status("/k1/speech/asr", 0, "ok", {"lifecycle_state": "active"}, now_s=100.0)
    state.on_status("/k1/ui/ui", 2, "port busy", {}, now_s=100.0)
    assert state.health("/k1", now_s=101.0)["level"] == "ERROR"
    state.on_status("/k1/ui/ui", 0, "ok", {}, now_s=100.0)
    assert state.health("/k1", now_s=101.0)["level"] == "OK"
    assert state.health("/k1", now_s=110.0)["level"] == "STALE"
    shared = state.on_escalation("/k1", {"escalation_id": "e", "reason": "visitor_request", "user_text": "tên tôi"})
    assert "user_text" not in shared and state.stats("/k1")["escalations"] == 1


class _Center:
    def __init__(self, tmp, name: str, kiosk: str, domain: int, endpoint: str) -> None:
        self.kiosk = kiosk
        self.domain = domain
        params = tmp / f"{name}.yaml"
        params.write_text(yaml.safe_dump({"/**/fleet_bridge": {"ros__parameters": {
            "province": "Hà Nội", "center": name, "zenoh": {"connect": endpoint},
            "health_period_s": 1.0, "stats_period_s": 1.0, "discovery_period_s": 0.5}}}, allow_unicode=True))
        env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
        self.logs = [tmp / f"{name}-kiosk.log", tmp / f"{name}-center.log"]
        self.processes = []
        for log, args in zip(self.logs, (["--profile", "kiosk", "--nodes", "dialogue", "--namespace", kiosk],
                                         ["--profile", "center", "--namespace", "center"]), strict=True):
            with log.open("wb") as out:
                self.processes.append(subprocess.Popen(
                    [str(VENV_BIN / "kiosk_bringup"), "--root", str(REPO), "--params-file", str(params), *args],
                    cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT))

    def ask(self, text: str) -> None:
        import rclpy
        from std_msgs.msg import String

        context = rclpy.Context()
        rclpy.init(context=context, domain_id=self.domain)
        node = rclpy.create_node("fleet_test_input", namespace=self.kiosk, context=context)
        pub = node.create_publisher(String, "ui/input", 10)
        deadline = time.monotonic() + 30
        while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
        pub.publish(String(data=encode(UserInput(text=text))))
        time.sleep(1.0)
        node.destroy_node()
        rclpy.try_shutdown(context=context)

    def stop(self) -> list[int]:
        for proc in self.processes:
            proc.send_signal(signal.SIGINT)
        return [proc.wait(timeout=40) for proc in self.processes]

    def log_tail(self) -> str:
        return "\n".join(log.read_text(errors="replace")[-2000:] for log in self.logs)


def test_two_centers_on_two_domains_reach_one_province_view(tmp_path, ros_domain):
    endpoint = f"tcp/127.0.0.1:{free_port()}"
    session = open_session(ZenohOptions(listen=(endpoint,)))
    view = ProvinceView(session, "Hà Nội")
    centers = [_Center(tmp_path, "Phường A", "kiosk_a", ros_domain + 1, endpoint),
               _Center(tmp_path, "Phường B", "kiosk_b", ros_domain + 2, endpoint)]

    def wait(predicate, timeout_s: float, what: str):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            result = predicate(view.snapshot())
            if result:
                return result
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}: {view.snapshot()}\n"
                             + "\n".join(c.log_tail() for c in centers))

    try:
        def healthy(snap):
            kiosks = {(c, k): v for c, e in snap["centers"].items() for k, v in e["kiosks"].items()}
            return all(kiosks.get(key, {}).get("health", {}).get("level") == "OK"
                       for key in (("phuong-a", "kiosk-a"), ("phuong-b", "kiosk-b")))

        wait(healthy, 120, "both kiosks healthy on the province view")
        centers[0].ask("cho tôi gặp cán bộ")
        escalations = wait(lambda s: s["escalations"], 60, "an escalation from center A")
        assert [(e["center"], e["kiosk"], e["reason"]) for e in escalations] == [
            ("phuong-a", "kiosk-a", "visitor_request")]
        assert "user_text" not in escalations[0], "the citizen's words stay in the center"
        wait(lambda s: s["centers"]["phuong-a"]["kiosks"]["kiosk-a"].get("stats", {}).get("replies", 0) >= 1,
             30, "center A's statistics")
        snap = view.snapshot()
        assert set(snap["centers"]["phuong-a"]["kiosks"]) == {"kiosk-a"}, "domains are isolated"
        assert set(snap["centers"]["phuong-b"]["kiosks"]) == {"kiosk-b"}
        assert snap["centers"]["phuong-a"]["alive"] and snap["centers"]["phuong-b"]["alive"]
        assert snap["centers"]["phuong-b"]["kiosks"]["kiosk-b"].get("stats", {}).get("escalations", 0) == 0
        # a view opened late gets the latest values at once, by query
        late = ProvinceView(session, "ha-noi")
        assert {("phuong-a", "kiosk-a"), ("phuong-b", "kiosk-b")} <= set(late.kiosks)
        late.close()
        # a center that stops is marked offline
        assert centers[1].stop() == [0, 0]
        wait(lambda s: not s["centers"]["phuong-b"]["alive"], 30, "center B offline")
    finally:
        codes = [c.stop() for c in centers if all(p.poll() is None for p in c.processes)]
        view.close()
        session.close()
    assert all(code == [0, 0] for code in codes)
