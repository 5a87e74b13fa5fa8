"""Barge-in over DDS: microphone (simulated, with a simulated echo path) → asr → dialogue → tts.

The simulated microphone mixes the kiosk's own reply audio back in (as a loudspeaker next to a
microphone would). The kiosk must not hear and answer itself; a citizen's WAV spoken over a reply
stops playback within 300 ms and is answered.
"""

from __future__ import annotations

import time

import pytest

from kiosk_protocol import UserInput, encode
from tests.conftest import Kiosk, node_active

pytestmark = [pytest.mark.ros, pytest.mark.slow]
NS = "barge_in"
NODES = ("speech/microphone", "speech/asr", "dialogue/dialogue", "speech/tts")


def _ask(recorder, text: str) -> dict:
    before = {r["reply_id"] for r in recorder.get("dialogue/reply")}
    recorder.publish("ui/input", encode(UserInput(text=text)))
    return recorder.wait_for(lambda: next((r for r in recorder.get("dialogue/reply")
                                           if r["reply_id"] not in before and r["source"] == "screen"), None),
                             30, f"a reply to {text!r}")


def _final(recorder) -> list[dict]:
    """The utterances the microphone cut (not its speculative previews sent during a pause)."""
    return [u for u in recorder.get("audio/utterance") if not u.get("speculative")]


def _spoken(recorder, reply: dict, timeout_s: float = 90) -> dict:
    return recorder.wait_for(lambda: next((s for s in recorder.get("speech/spoken")
                                           if s["reply_id"] == reply["reply_id"]), None), timeout_s,
                             "the reply spoken")


def test_the_kiosk_ignores_its_own_voice_and_a_citizen_can_interrupt(tmp_path, recorder_factory):
    kiosk = Kiosk(tmp_path, NS, nodes="microphone,asr,dialogue,tts", overrides={
        "microphone": {"wav_speed": 1.0, "barge_in": {"enabled": True, "sim_echo_gain": 0.8,
                                                      "sim_echo_delay_ms": 40.0}},
        "tts": {"speaker": {"realtime": True}},
    })
    recorder = recorder_factory(NS)
    try:
        recorder.wait_for(lambda: all(node_active(recorder, NS, n) for n in NODES), 120, "speech nodes active")
        # 1. a long answer heard back through the echo path: no barge-in, no utterance, no answer to itself
        first = _ask(recorder, "đăng ký khai sinh cần giấy tờ gì")
        spoken = _spoken(recorder, first)
        assert spoken["audio_duration_s"] > 4.0 and not spoken["interrupted"], (spoken, recorder.get("audio/barge_in"))
        time.sleep(1.0)  # the echo tail
        assert recorder.get("audio/barge_in") == []
        assert _final(recorder) == [], "the kiosk heard its own voice as an utterance"
        assert [r["source"] for r in recorder.get("dialogue/reply")] == ["screen"]
        # 2. the citizen speaks over the next answer
        second = _ask(recorder, "làm căn cước cần giấy tờ gì")
        recorder.wait_for(lambda: recorder.get("speech/robot_speaking")[-1:] == [True], 30, "the kiosk talking")
        time.sleep(1.5)
        kiosk.speak("Tôi muốn đăng ký kết hôn", "citizen")
        try:
            barge_in = recorder.wait_for(lambda: next(iter(recorder.get("audio/barge_in")), None), 15, "a barge-in")
        except AssertionError as exc:  # say what the kiosk did instead
            raise AssertionError(f"{exc}\nrobot_speaking={recorder.get('speech/robot_speaking')} "
                                 f"spoken={recorder.get('speech/spoken')} utterances={len(_final(recorder))} "
                                 f"transcripts={recorder.get('speech/transcript')}\n{kiosk.log_tail()}") from None
        interrupted = _spoken(recorder, second, 15)
        assert interrupted["interrupted"], interrupted
        stop_latency_s = interrupted["interrupted_unix_s"] - barge_in["speech_start_unix_s"]
        assert 0.0 < stop_latency_s < 0.3, f"playback stopped {stop_latency_s * 1000:.0f} ms after the speech began"
        assert interrupted["done_unix_s"] - barge_in["speech_start_unix_s"] < 0.5
        transcript = recorder.wait_for(lambda: next((t for t in recorder.get("speech/transcript")
                                                     if t["accepted"]), None), 60, "the citizen's words")
        answer = recorder.wait_for(lambda: next((r for r in recorder.get("dialogue/reply")
                                                 if r["in_reply_to"] == transcript["utterance_id"]), None), 30,
                                   "an answer to the citizen")
        assert answer["source"] == "voice" and answer["procedure_id"] == "dang_ky_ket_hon", answer
        print(f"barge-in: detected {barge_in['detected_unix_s'] - barge_in['speech_start_unix_s']:.3f} s after the "
              f"speech began, playback stopped {stop_latency_s:.3f} s after it; echo removed {barge_in['erle_db']:.0f} "
              f"dB; heard {transcript['text']!r} → {answer['intent']}")
        assert len(_final(recorder)) == 1, "only the citizen's utterance"
    finally:
        assert kiosk.stop() == 0, kiosk.log_tail()
