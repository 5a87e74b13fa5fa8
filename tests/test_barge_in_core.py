"""Barge-in core without ROS: the kiosk's own voice (a real espeak-ng reply through a simulated echo
path) is cancelled and never becomes an utterance; a citizen speaking over it is detected quickly."""

from __future__ import annotations

import numpy as np
import pytest

from speech.audio_in import read_wav
from speech.barge_in import (
    SAMPLE_RATE_HZ,
    BargeInOptions,
    EchoCanceller,
    GatedVad,
    PlaybackReference,
    SimulatedEcho,
)
from speech.vad import SileroVad, SpeechStarted, UtteranceEnded, UtterancePreview, VadOptions, VadSegmenter
from tests.conftest import espeak_wav

REPLY = ("Dạ, đăng ký khai sinh làm tại quầy số một, miễn lệ phí nếu đăng ký trong sáu mươi ngày. "
         "Anh chị cần mang giấy chứng sinh và căn cước của cha mẹ.")
T0 = 1000.0  # wall clock of the stream's start


@pytest.fixture(scope="module")
def voices(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("voices")
    return read_wav(espeak_wav(REPLY, tmp / "reply.wav")), read_wav(espeak_wav("Tôi muốn đăng ký kết hôn",
                                                                               tmp / "citizen.wav"))


def simulate(reply: np.ndarray, citizen: np.ndarray | None, citizen_at_s: float, echo_gain: float,
             echo_delay_ms: float, reference_late_s: float = 0.0):
    """Two kiosk replies through an echo path; the citizen (if any) speaks ``citizen_at_s`` into the
    second. Each reply's reference comes in three sentence-long chunks, as the tts node publishes
    it, each ``reference_late_s`` after its sound starts (a loaded machine delivers it late).
    Returns (barge-in events, utterances as wall-clock (start, end), canceller, start of the second
    reply)."""
    reference = PlaybackReference(keep_s=60)
    first, second = 0.5, 0.5 + len(reply) / SAMPLE_RATE_HZ + 0.6
    third = len(reply) // 3
    pending = [(T0 + start + i * third / SAMPLE_RATE_HZ, reply[i * third: (i + 1) * third if i < 2 else None])
               for start in (first, second) for i in range(3)]
    total = int(SAMPLE_RATE_HZ * (second + len(reply) / SAMPLE_RATE_HZ + 2.0))
    mic = np.random.default_rng(1).normal(0, 0.003, total).astype(np.float32)  # room noise
    if citizen is not None:
        at = int(SAMPLE_RATE_HZ * (second + citizen_at_s))
        mic[at:at + len(citizen)] += 0.7 * citizen
    echo = SimulatedEcho(reference, gain=echo_gain, delay_ms=echo_delay_ms)
    canceller = EchoCanceller(reference)
    gated = GatedVad(SileroVad(), canceller, BargeInOptions())
    segmenter = VadSegmenter(VadOptions(), vad=gated)
    events, utterances, speaking, stopped_at = [], [], False, np.inf
    for i in range(0, total, 512):
        end = T0 + (i + 512) / SAMPLE_RATE_HZ
        t = end - T0
        while pending and pending[0][0] + reference_late_s <= end:
            reference.add(*pending.pop(0))
        playing = t < stopped_at and any(s <= t <= s + len(reply) / SAMPLE_RATE_HZ for s in (first, second))
        if playing != speaking:
            gated.set_robot_speaking(playing, end)
            speaking = playing
        block = canceller.process(echo.mix(mic[i:i + 512], end), end)
        gated.set_stream_offset(end - (segmenter.received_s + len(block) / SAMPLE_RATE_HZ))
        for event in segmenter.feed(block):
            assert isinstance(event, SpeechStarted | UtterancePreview | UtteranceEnded)
            if isinstance(event, UtteranceEnded):
                utterances.append((T0 + event.start_s, T0 + event.end_of_speech_s))
        for detected in gated.pop_events():
            events.append(detected)
            stopped_at = detected.detected_unix_s + 0.05 - T0  # the tts node stops playback
            reference.cut(T0 + stopped_at)
            pending = [c for c in pending if c[0] < T0 + stopped_at]  # the tts node plays no more
    return events, utterances, canceller, T0 + second


@pytest.mark.parametrize("echo_gain,delay_ms", [(0.5, 30.0), (1.0, 120.0)])
def test_the_kiosk_does_not_hear_its_own_voice(voices, echo_gain, delay_ms):
    reply, _ = voices
    events, utterances, canceller, _ = simulate(reply, None, 0.0, echo_gain, delay_ms)
    assert events == [] and utterances == [], "the kiosk's own reply must not become speech"
    assert canceller.erle_db > 20.0, f"echo removed by only {canceller.erle_db:.1f} dB"


@pytest.mark.parametrize("late_s", [0.05, 0.15, 0.3])
def test_a_reference_that_arrives_late_does_not_make_the_kiosk_interrupt_itself(voices, late_s):
    """Under load the playback message reaches the microphone node after its first blocks: the
    canceller must use it for the blocks that follow, not only for the next ones."""
    reply, _ = voices
    events, utterances, _, _ = simulate(reply, None, 0.0, 0.8, 40.0, reference_late_s=late_s)
    assert events == [] and utterances == [], f"interrupted itself with the reference {late_s * 1000:.0f} ms late"


@pytest.mark.parametrize("citizen_at_s", [0.3, 2.0, 5.0])
def test_a_citizen_speaking_over_the_kiosk_is_detected_within_300_ms(voices, citizen_at_s):
    reply, citizen = voices
    events, utterances, _, second_start = simulate(reply, citizen, citizen_at_s, 1.0, 30.0)
    assert len(events) == 1
    onset = second_start + citizen_at_s
    detected = events[0]
    assert 0.0 <= detected.speech_start_unix_s - onset < 0.2
    assert detected.detected_unix_s - onset < 0.3, "stop playback within 300 ms of the citizen's first word"
    # the citizen's words become one utterance, from about their onset (pre-roll) to their end
    assert len(utterances) == 1, utterances
    start, end = utterances[0]
    assert onset - 0.7 < start < onset + 0.1
    assert end > onset + len(citizen) / SAMPLE_RATE_HZ - 0.5


def test_simulated_echo_is_the_reference_delayed_and_attenuated():
    reference = PlaybackReference()
    tone = np.sin(np.arange(1600) / 10).astype(np.float32)
    reference.add(T0, tone)
    echo = SimulatedEcho(reference, gain=0.5, delay_ms=10.0)
    mixed = echo.mix(np.zeros(1600, np.float32), T0 + 0.1)
    assert np.allclose(mixed[160:], 0.5 * tone[:1440], atol=1e-6) and np.allclose(mixed[:160], 0.0)
    reference.cut(T0 + 0.05)
    assert np.allclose(reference.samples(T0, 1600)[800:], 0.0)
