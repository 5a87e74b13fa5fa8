"""Fault injection while a conversation runs (issue 11): every node killed in turn, all of a
kiosk's DDS participants restarted at once, models corrupt at start, the microphone gone and back.

The kiosk (microphone, asr, dialogue, tts, ui) and the center's dashboard run from their own
bringups. Each node is killed with SIGKILL in the middle of the visit: the other nodes keep their
processes and keep answering, the bringup restarts the killed one, and what staff had already
acknowledged on the dashboard is still there after the dashboard itself was killed. The results
are the rows of docs/reliability.md.
"""

from __future__ import annotations

import os
import shutil
import signal

import pytest

from kiosk_protocol import UserInput, encode
from tests.conftest import REPO, Kiosk, node_active
from tests.test_dashboard_ros import ADMIN_PASSWORD, api_login, ask, create_admin, start_dashboard, wait_active

pytestmark = [pytest.mark.ros, pytest.mark.slow]
NS = "faults"
CENTER = "faults_center"
KIOSK_NODES = {"microphone": "speech/microphone", "asr": "speech/asr", "dialogue": "dialogue/dialogue",
               "tts": "speech/tts", "ui": "ui/ui"}
ERROR = 2


def _typed(recorder, text: str, procedure_id: str, via_page: Kiosk | None = None, timeout_s: float = 40) -> dict:
    """Ask on the page's HTTP API (or straight on ui/input) and wait for the reply."""
    start = len(recorder.get("dialogue/reply"))
    if via_page is not None:
        ask(via_page, text)
    else:
        recorder.publish("ui/input", encode(UserInput(text=text)))
    reply = recorder.wait_for(lambda: next((r for r in recorder.get("dialogue/reply")[start:]
                                            if r["user_text"] == text), None), timeout_s, f"a reply to {text!r}")
    assert reply["procedure_id"] == procedure_id, reply
    return reply


def _kiosk_nodes_ok(client) -> bool:
    """The dashboard has fresh, OK (or WARN: the espeak fallback voice) health from every kiosk node."""
    kiosk = next((k for k in client.get("/api/kiosks").json()["kiosks"] if k.get("kiosk") == NS), None)
    nodes = (kiosk or {}).get("nodes", [])
    return all(any(n["name"].endswith(area) and n["level"] <= 1 for n in nodes) for area in KIOSK_NODES.values())


def _restarted(recorder, bringup: Kiosk, name: str, namespace: str, area_node: str, count: int) -> None:
    recorder.wait_for(lambda: len(bringup.pids(name)) > count, 60, f"{name} restarted by the bringup")
    recorder.diagnostics.pop(f"/{namespace}/{area_node}", None)
    recorder.wait_for(lambda: node_active(recorder, namespace, area_node), 120, f"the restarted {name} active")


def test_each_node_killed_in_turn_and_the_whole_kiosk_restarted_lose_nothing(tmp_path, recorder_factory):
    kiosk = Kiosk(tmp_path / "kiosk", NS, nodes=",".join(KIOSK_NODES))
    center = start_dashboard(tmp_path / "center", CENTER, REPO / "dialogue" / "kb", REPO / "models" / "dialogue",
                             discovery_period_s=0.5, stale_after_s=3.0)
    recorder = recorder_factory(NS)
    try:
        wait_active(recorder, [(NS, n) for n in KIOSK_NODES.values()] + [(CENTER, "dashboard/dashboard")])
        create_admin(tmp_path / "center" / "dashboard.db")
        client, csrf = api_login(center.dashboard_url, "admin", ADMIN_PASSWORD)
        recorder.wait_for(lambda: NS in client.get("/api/status").json()["kiosks"], 30, "the dashboard sees the kiosk")
        # the visit: a question, then a request for staff that staff acknowledge
        _typed(recorder, "đăng ký khai sinh cần giấy tờ gì", "dang_ky_khai_sinh", via_page=kiosk)
        ask(kiosk, "cho tôi gặp cán bộ")
        escalation = recorder.wait_for(lambda: next((e for e in client.get("/api/escalations").json()
                                                     if e["kiosk"] == NS), None), 30, "the escalation on the dashboard")
        r = client.post(f"/api/escalations/{escalation['escalation_id']}/acknowledge", json={},
                        headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200 and r.json()["status"] == "acknowledged", r.text
        stored = client.get("/api/stats/summary").json()

        questions = {"microphone": ("làm căn cước cần giấy tờ gì", "cap_the_can_cuoc"),
                     "asr": ("đăng ký tạm trú ở đâu", "dang_ky_tam_tru"),
                     "dialogue": ("đăng ký kết hôn cần giấy tờ gì", "dang_ky_ket_hon"),
                     "tts": ("đăng ký thường trú cần gì", "dang_ky_thuong_tru"),
                     "ui": ("làm căn cước cần giấy tờ gì", "cap_the_can_cuoc"),
                     "dashboard": ("đăng ký tạm trú ở đâu", "dang_ky_tam_tru")}
        for name, (question, procedure) in questions.items():
            bringup, namespace = (center, CENTER) if name == "dashboard" else (kiosk, NS)
            area_node = "dashboard/dashboard" if name == "dashboard" else KIOSK_NODES[name]
            others = {n: kiosk.pids(n)[-1] for n in KIOSK_NODES if n != name}
            count = len(bringup.pids(name))
            os.kill(bringup.pids(name)[-1], signal.SIGKILL)
            if name != "dialogue":  # the others keep answering while it is down (typed, without the page)
                _typed(recorder, question, procedure)
            _restarted(recorder, bringup, name, namespace, area_node, count)
            _typed(recorder, question, procedure, via_page=kiosk)  # and through the page once it is back
            for other, pid in others.items():
                assert kiosk.pids(other)[-1] == pid, f"{other} was restarted when {name} was killed"
                os.kill(pid, 0)
        # the restarted dashboard lost nothing it had stored or acknowledged
        client, csrf = api_login(center.dashboard_url, "admin", ADMIN_PASSWORD)
        after = {e["escalation_id"]: e["status"] for e in client.get("/api/escalations").json()}
        assert after[escalation["escalation_id"]] == "acknowledged"
        summary = client.get("/api/stats/summary").json()
        assert summary["questions"] >= stored["questions"] >= 2, (stored, summary)

        # every DDS participant of the kiosk at once (all its node processes); the bringup restarts them
        counts = {n: len(kiosk.pids(n)) for n in KIOSK_NODES}
        for name in KIOSK_NODES:
            os.kill(kiosk.pids(name)[-1], signal.SIGKILL)
        for name, area_node in KIOSK_NODES.items():
            _restarted(recorder, kiosk, name, NS, area_node, counts[name])
        _typed(recorder, "đăng ký kết hôn cần giấy tờ gì", "dang_ky_ket_hon", via_page=kiosk)
        # spoken, end to end, after all that: microphone → asr → dialogue → tts
        start = len(recorder.get("dialogue/reply"))
        kiosk.speak("Tôi muốn đăng ký kết hôn", "after_restarts")
        reply = recorder.wait_for(lambda: next((r for r in recorder.get("dialogue/reply")[start:]
                                                if r["source"] == "voice"), None), 90, "a spoken question answered")
        assert reply["procedure_id"] == "dang_ky_ket_hon", reply
        recorder.wait_for(lambda: any(s["reply_id"] == reply["reply_id"] for s in recorder.get("speech/spoken")),
                          60, "the answer spoken")
        recorder.wait_for(lambda: _kiosk_nodes_ok(client), 30, "the dashboard shows every restarted node OK")
        assert "Traceback" not in kiosk.log_tail(10**7), "a node died with a traceback"
    finally:
        codes = {"kiosk": kiosk.stop(), "center": center.stop()}
        assert codes == {"kiosk": 0, "center": 0}, (codes, kiosk.log_tail(), center.log_tail())


def test_corrupt_models_at_start_are_reported_with_the_fix_and_the_nodes_stay_up(tmp_path, recorder_factory):
    whisper = tmp_path / "whisper"
    shutil.copytree(REPO / "models" / "whisper-base", whisper, ignore=shutil.ignore_patterns("model.bin"))
    (whisper / "model.bin").write_bytes(os.urandom(4096))  # truncated, garbage
    dialogue = tmp_path / "dialogue_model"
    shutil.copytree(REPO / "models" / "dialogue", dialogue)
    (dialogue / "dialogue.onnx").write_bytes(b"not an onnx model" * 100)
    voice = tmp_path / "voice.onnx"
    voice.write_bytes(b"\x00garbage" * 100)
    voice.with_suffix(".onnx.json").write_text('{"audio": {"sample_rate": 22050}}')
    kiosk = Kiosk(tmp_path, "corrupt", nodes="asr,dialogue,tts", overrides={
        "asr": {"model_path": str(whisper), "retry_period_s": 1.0},
        "dialogue": {"model_dir": str(dialogue)},
        "tts": {"voice_model_path": str(voice)},
    })
    recorder = recorder_factory("corrupt")
    try:
        expected = {"speech/asr": (ERROR, str(whisper)), "dialogue/dialogue": (ERROR, "dialogue.onnx"),
                    "speech/tts": (1, "espeak")}  # a bad voice: the robotic fallback, said as a warning
        for name, (level, words) in expected.items():
            recorder.wait_for(lambda n=name, lv=level, w=words: (s := recorder.diagnostics.get(f"/corrupt/{n}"))
                              and s["level"] == lv and w in s["message"], 90, f"{name} level {level} naming {words}")
        messages = {n: recorder.diagnostics[f"/corrupt/{n}"]["message"] for n in expected}
        print(messages)
        assert "fix" in messages["speech/asr"].lower() or "setup" in messages["speech/asr"], messages
        assert "train" in messages["dialogue/dialogue"] or "fix" in messages["dialogue/dialogue"].lower(), messages
        assert node_active(recorder, "corrupt", "speech/tts"), "tts speaks with the fallback voice"
        for name in ("asr", "dialogue", "tts"):
            pids = kiosk.pids(name)
            assert len(pids) == 1, f"{name} was restarted in a loop: {kiosk.log_tail()}"
            os.kill(pids[0], 0)
        # the technician repairs the model; the asr retries and comes up without a restart
        shutil.copyfile(REPO / "models" / "whisper-base" / "model.bin", whisper / "model.bin")
        recorder.wait_for(lambda: node_active(recorder, "corrupt", "speech/asr"), 120, "asr active once repaired")
    finally:
        assert kiosk.stop() == 0, kiosk.log_tail()


def test_the_microphone_disappears_and_comes_back(tmp_path, recorder_factory):
    kiosk = Kiosk(tmp_path, "mic_gone", nodes="microphone", overrides={"microphone": {"device_retry_period_s": 1.0}})
    recorder = recorder_factory("mic_gone")
    name = "/mic_gone/speech/microphone"
    try:
        recorder.wait_for(lambda: node_active(recorder, "mic_gone", "speech/microphone"), 60, "microphone active")
        shutil.rmtree(kiosk.mic_dir)  # the simulated microphone's device goes away
        recorder.wait_for(lambda: (s := recorder.diagnostics.get(name)) and s["level"] == ERROR
                          and str(kiosk.mic_dir) in s["message"], 30, "ERROR naming the lost microphone")
        kiosk.mic_dir.mkdir()
        recorder.wait_for(lambda: (s := recorder.diagnostics.get(name)) and s["level"] == 0, 30, "OK once it is back")
        kiosk.speak("Xin chào", "back")
        recorder.wait_for(lambda: recorder.get("audio/utterance"), 30, "an utterance from the returned microphone")
        assert len(kiosk.pids("microphone")) == 1, "the node was restarted"
    finally:
        assert kiosk.stop() == 0, kiosk.log_tail()
