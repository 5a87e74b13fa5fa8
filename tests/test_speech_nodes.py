"""microphone + asr nodes as real processes over DDS: speech, a corrupt WAV, noise."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from tests.conftest import Kiosk, node_active

pytestmark = [pytest.mark.ros, pytest.mark.slow]


@pytest.fixture
def speech_kiosk(tmp_path, recorder_factory):
    namespace = "speech_test"
    kiosk = Kiosk(tmp_path, namespace, nodes="microphone,asr")
    recorder = recorder_factory(namespace)
    try:
        recorder.wait_for(
            lambda: all(node_active(recorder, namespace, n) for n in ("speech/microphone", "speech/asr")),
            90, "microphone and asr active")
        yield kiosk, recorder
    finally:
        code = kiosk.stop()
        assert code == 0, f"bringup did not stop cleanly ({code}):\n{kiosk.log_tail()}"


def test_spoken_greeting_becomes_an_accepted_transcript(speech_kiosk):
    kiosk, recorder = speech_kiosk
    kiosk.speak("Xin chào", "greeting")
    transcripts = recorder.wait_for(lambda: recorder.get("speech/transcript"), 60, "a transcript")
    first = transcripts[0]
    assert first["accepted"], first
    assert "chào" in first["text"].lower()
    assert first["end_of_speech_unix_s"] is not None and first["asr_s"] > 0
    assert recorder.get("audio/speaking")[:2] == [True, False]


def test_corrupt_wav_is_reported_and_the_microphone_keeps_running(speech_kiosk):
    kiosk, recorder = speech_kiosk
    (kiosk.mic_dir / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunk")
    recorder.wait_for(
        lambda: "broken.wav" in recorder.diagnostics.get("/speech_test/speech/microphone", {}).get("message", ""),
        30, "a diagnostics message naming the corrupt file")
    kiosk.speak("Xin chào", "after_broken")
    transcripts = recorder.wait_for(lambda: recorder.get("speech/transcript"), 60, "a transcript after it")
    assert transcripts[0]["accepted"]


def test_noise_and_silence_are_not_accepted(speech_kiosk):
    kiosk, recorder = speech_kiosk
    rng = np.random.default_rng(7)
    audio = np.concatenate([np.zeros(16000 * 2), rng.normal(0, 0.05, 16000 * 3)])
    path = kiosk.tmp / "noise.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    path.replace(kiosk.mic_dir / "noise.wav")
    kiosk.speak("Xin chào", "marker")  # a marker utterance after the noise
    transcripts = recorder.wait_for(
        lambda: [t for t in recorder.get("speech/transcript") if "chào" in t["text"].lower()], 90,
        "the marker transcript")
    accepted = [t for t in recorder.get("speech/transcript") if t["accepted"]]
    assert accepted == transcripts, f"noise produced an accepted transcript: {accepted}"
