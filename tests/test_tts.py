"""Text-to-speech core (espeak-ng and Piper backends) and the output devices."""

from __future__ import annotations

import shutil
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from speech.speaker import PyAudioSpeaker, SpeakerUnavailable, WavFileSpeaker
from speech.tts import AudioChunk, SpeechSynthesizer, TtsOptions, TtsUnavailable, read_ahead

REPO = Path(__file__).resolve().parent.parent
JOE_VOICE = REPO / "models" / "piper" / "en_US-joe-medium.onnx"
MISSING_VI_VOICE = "models/piper-vi-missing/vi_VN-vais1000-medium.onnx"

REPLY = (
    "Dạ, thủ tục đăng ký khai sinh được làm tại Quầy 1 của UBND phường. "
    "Anh chị mang theo tờ khai và CCCD, lệ phí là 0 đồng nếu đăng ký đúng hạn. "
    "Kết quả trả ngay trong ngày, từ 7h30 đến 11h30."
)

REPLY_EN = (
    "Birth registration is handled at counter one of the ward people's committee. "
    "Please bring the declaration form and your citizen identity card; there is no fee on time. "
    "The result is returned the same day, from seven thirty to eleven thirty."
)

needs_joe = pytest.mark.skipif(
    not JOE_VOICE.is_file(), reason=f"{JOE_VOICE} missing: run scripts/assemble_models.py"
)


@pytest.fixture(scope="module")
def espeak() -> SpeechSynthesizer:
    return SpeechSynthesizer(TtsOptions(voice_model_path=MISSING_VI_VOICE))


@pytest.fixture(scope="module")
def joe() -> SpeechSynthesizer:
    if not JOE_VOICE.is_file():
        pytest.skip(f"{JOE_VOICE} missing: run scripts/assemble_models.py")
    return SpeechSynthesizer(TtsOptions(voice_model_path=str(JOE_VOICE)))


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


# ---------------------------------------------------------------------------- espeak-ng


def test_missing_voice_falls_back_to_espeak_with_a_warning(espeak: SpeechSynthesizer) -> None:
    assert espeak.backend == "espeak-ng"
    assert espeak.voice_name == "espeak-ng vi"
    assert espeak.sample_rate_hz == 22050
    level, message = espeak.status
    assert level == "WARN"
    assert MISSING_VI_VOICE in message
    assert "espeak-ng -v vi" in message and "vi_VN-vais1000-medium" in message
    assert "not installed" in espeak.fallback_reason


def test_espeak_speaks_a_vietnamese_sentence_at_a_plausible_duration(espeak: SpeechSynthesizer) -> None:
    sentence = "Anh chị vui lòng lấy số thứ tự và chờ đến lượt."  # 12 syllables
    chunks = list(espeak.synthesize(sentence))
    assert len(chunks) == 1
    chunk = chunks[0]
    assert isinstance(chunk, AudioChunk)
    assert chunk.samples.dtype == np.int16 and chunk.samples.ndim == 1
    assert chunk.sample_rate_hz == 22050
    assert chunk.sentence == sentence
    assert chunk.synth_s > 0
    # 150 words/min ≈ 0.4 s per syllable; allow a wide band around 12 syllables.
    assert 1.5 < chunk.duration_s < 8.0, chunk.duration_s
    assert _rms(chunk.samples) > 300  # not silence


def test_one_chunk_per_sentence_with_a_pause_between(espeak: SpeechSynthesizer) -> None:
    chunks = list(espeak.synthesize(REPLY))
    assert [c.sentence for c in chunks] == [
        "Dạ, thủ tục đăng ký khai sinh được làm tại Quầy 1 của UBND phường.",
        "Anh chị mang theo tờ khai và CCCD, lệ phí là 0 đồng nếu đăng ký đúng hạn.",
        "Kết quả trả ngay trong ngày, từ 7h30 đến 11h30.",
    ]
    pause = int(0.25 * espeak.sample_rate_hz)
    first_alone = next(espeak.synthesize(chunks[0].sentence))
    last_alone = next(espeak.synthesize(chunks[-1].sentence))
    assert len(chunks[0].samples) == len(first_alone.samples) + pause  # espeak-ng is deterministic
    assert not chunks[0].samples[-pause:].any()
    assert len(chunks[-1].samples) == len(last_alone.samples)  # no pause after the last sentence


def test_streaming_yields_the_first_sentence_before_synthesizing_the_rest(espeak: SpeechSynthesizer) -> None:
    before = espeak.sentences_synthesized
    stream = espeak.synthesize(REPLY)
    assert espeak.sentences_synthesized == before, "nothing may be synthesized before iteration"
    first = next(stream)
    assert first.sentence.startswith("Dạ, thủ tục")
    assert espeak.sentences_synthesized == before + 1, "only the first sentence may be synthesized"
    rest = list(stream)
    assert len(rest) == 2
    assert espeak.sentences_synthesized == before + 3


def test_slower_speed_gives_longer_audio(espeak: SpeechSynthesizer) -> None:
    sentence = "Thời gian giải quyết là ba ngày làm việc."
    normal = next(espeak.synthesize(sentence, speed=1.0))
    slow = next(espeak.synthesize(sentence, speed=0.7))
    assert slow.duration_s > normal.duration_s * 1.2
    with pytest.raises(ValueError, match="speed"):
        list(espeak.synthesize(sentence, speed=0))


def test_empty_text_yields_nothing(espeak: SpeechSynthesizer) -> None:
    assert list(espeak.synthesize("")) == []
    assert list(espeak.synthesize("  \n ")) == []


def test_normalization_changes_what_is_spoken(espeak: SpeechSynthesizer) -> None:
    raw = SpeechSynthesizer(TtsOptions(normalize_text=False))
    text = "Lệ phí 1.250.000 đồng tại UBND."
    normalized = next(espeak.synthesize(text))
    verbatim = next(raw.synthesize(text))
    assert normalized.duration_s != verbatim.duration_s
    assert raw.status[0] == "WARN" and "no piper voice configured" in raw.status[1].lower()


def test_corrupt_or_incomplete_voice_falls_back(tmp_path: Path) -> None:
    bad = tmp_path / "vi_VN-broken.onnx"
    bad.write_bytes(b"this is not an onnx model")
    no_config = SpeechSynthesizer(TtsOptions(voice_model_path=str(bad)))
    assert no_config.backend == "espeak-ng"
    assert "config" in no_config.fallback_reason and str(bad) in no_config.status[1]

    bad.with_suffix(".onnx.json").write_text('{"audio": {"sample_rate": 22050}}')
    corrupt = SpeechSynthesizer(TtsOptions(voice_model_path=str(bad)))
    assert corrupt.backend == "espeak-ng"
    assert "could not be loaded" in corrupt.fallback_reason
    assert corrupt.status[0] == "WARN"


def test_no_backend_at_all_raises_with_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: espeak-ng cannot be found
    with pytest.raises(TtsUnavailable) as info:
        SpeechSynthesizer(TtsOptions(voice_model_path=MISSING_VI_VOICE))
    message = str(info.value)
    assert "apt-get install espeak-ng" in message
    assert "vi_VN-vais1000-medium" in message and "models/piper-vi-missing" in message


def test_unknown_espeak_voice_raises() -> None:
    with pytest.raises(TtsUnavailable, match="xx-nonexistent"):
        SpeechSynthesizer(TtsOptions(espeak_voice="xx-nonexistent"))


# ---------------------------------------------------------------------------- Piper


@needs_joe
def test_piper_voice_yields_audio_at_its_sample_rate(joe: SpeechSynthesizer) -> None:
    assert joe.backend == "piper"
    assert joe.voice_name == "en_US-joe-medium"
    assert joe.sample_rate_hz == 22050
    assert joe.fallback_reason == ""
    assert joe.status[0] == "WARN" and "not Vietnamese" in joe.status[1]  # an English stand-in voice
    chunks = list(joe.synthesize("The office opens at seven thirty. Please take a number."))
    assert len(chunks) == 2
    for chunk in chunks:
        assert chunk.sample_rate_hz == 22050
        assert chunk.samples.dtype == np.int16
        assert 0.5 < chunk.duration_s < 6.0
        assert _rms(chunk.samples) > 300
    # Vietnamese text through any Piper voice must not crash the phonemizer.
    vietnamese = list(joe.synthesize("Lệ phí là 50.000 đồng."))
    assert len(vietnamese) == 1 and vietnamese[0].duration_s > 0.3


@needs_joe
def test_piper_speed_and_length_scale(joe: SpeechSynthesizer) -> None:
    sentence = "Please wait for your number to be called at the counter."
    normal = next(joe.synthesize(sentence, speed=1.0))
    slow = next(joe.synthesize(sentence, speed=0.6))
    assert slow.duration_s > normal.duration_s * 1.25


# ---------------------------------------------------------------------------- figures


def _measure(synth: SpeechSynthesizer, text: str) -> tuple[float, float, float]:
    started = time.perf_counter()
    stream = synth.synthesize(text)
    first = next(stream)
    first_audio_s = time.perf_counter() - started
    chunks = [first, *stream]
    audio_s = sum(c.duration_s for c in chunks)
    synth_s = sum(c.synth_s for c in chunks)
    return first_audio_s, synth_s / audio_s, audio_s


def test_print_real_time_factor_and_time_to_first_audio(espeak: SpeechSynthesizer) -> None:
    """Measured, not asserted: RTF = synthesis time / audio time on a 3-sentence reply.

    Piper is measured with the English stand-in voice on an English reply of similar length:
    the en_US voice spells Vietnamese letters out, which says nothing about a Vietnamese voice.
    """
    rows: list[tuple[str, SpeechSynthesizer, str]] = [("espeak-ng vi, Vietnamese reply", espeak, REPLY)]
    if JOE_VOICE.is_file():
        joe_voice = SpeechSynthesizer(TtsOptions(voice_model_path=str(JOE_VOICE)))
        rows.append(("piper en_US-joe-medium, English reply", joe_voice, REPLY_EN))
    print()
    for name, synth, text in rows:
        next(synth.synthesize("Xin chào."))  # warm up (first ONNX run, espeak data cache)
        first_s, rtf, audio_s = _measure(synth, text)
        print(f"TTS {name}: time to first audio {first_s * 1000:.0f} ms, RTF {rtf:.3f}, "
              f"{audio_s:.1f} s of audio for {len(text)} characters")
        assert audio_s > 0


# ---------------------------------------------------------------------------- speakers


def _chunk(seconds: float, rate_hz: int = 22050, value: int = 1000, sentence: str = "x") -> AudioChunk:
    return AudioChunk(np.full(int(seconds * rate_hz), value, dtype=np.int16), rate_hz, sentence, 0.01)


def test_wav_speaker_writes_one_valid_wav_per_reply(espeak: SpeechSynthesizer, tmp_path: Path) -> None:
    speaker = WavFileSpeaker(tmp_path / "out")
    speaker.begin("reply/42")
    chunks = list(espeak.synthesize(REPLY))
    for chunk in chunks:
        speaker.play(chunk)
    path = speaker.end()
    assert path is not None and path.endswith("_reply_42.wav")
    with wave.open(path, "rb") as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
        assert wav.getframerate() == espeak.sample_rate_hz
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert np.array_equal(frames, np.concatenate([c.samples for c in chunks]))
    speaker.close()


def test_wav_speaker_resamples_mixed_rates_and_skips_empty_replies(tmp_path: Path) -> None:
    speaker = WavFileSpeaker(tmp_path)
    speaker.begin("empty")
    assert speaker.end() is None
    speaker.begin("mixed")
    speaker.play(_chunk(1.0, 22050))
    speaker.play(_chunk(1.0, 16000))
    with wave.open(speaker.end(), "rb") as wav:
        assert wav.getframerate() == 22050
        assert abs(wav.getnframes() - 44100) < 50


def test_wav_speaker_keeps_only_the_newest_files(tmp_path: Path) -> None:
    speaker = WavFileSpeaker(tmp_path, keep_files=2)
    paths = []
    for i in range(4):
        speaker.begin(f"r{i}")
        speaker.play(_chunk(0.05))
        paths.append(speaker.end())
    remaining = sorted(p.name for p in tmp_path.glob("*.wav"))
    assert remaining == sorted(Path(p).name for p in paths[2:])


def test_wav_speaker_stop_interrupts_a_reply(tmp_path: Path) -> None:
    speaker = WavFileSpeaker(tmp_path, realtime=True)
    speaker.begin("barge-in")
    speaker.play(_chunk(0.01, value=1))
    player = threading.Thread(target=speaker.play, args=(_chunk(60.0, value=2),))
    player.start()
    speaker.stop()  # from another thread, as the node does on barge-in
    player.join(timeout=20)
    assert not player.is_alive(), "stop() must end a realtime play() long before its 60 s"
    speaker.play(_chunk(1.0, value=7))  # ignored: the reply was stopped
    with wave.open(speaker.end(), "rb") as wav:
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert 1 in frames and 7 not in frames
    speaker.begin("next")  # a new reply plays again
    speaker.play(_chunk(0.01, value=7))
    assert speaker.end() is not None


def test_pyaudio_speaker_without_a_device_says_how_to_fix_it() -> None:
    with pytest.raises(SpeakerUnavailable) as info:
        PyAudioSpeaker(device_name_contains="no-such-speaker-xyz")
    message = str(info.value)
    assert "No audio output device" in message and "no-such-speaker-xyz" in message
    assert "speaker.mode: wav" in message


def test_pyaudio_speaker_on_this_machine() -> None:
    """This machine has no sound card: the default device must fail the same clear way."""
    try:
        speaker = PyAudioSpeaker()
    except SpeakerUnavailable as exc:
        assert "fix: plug in a speaker or set speaker.mode: wav" in str(exc)
        return
    speaker.close()
    pytest.skip(f"an output device exists here ({speaker.device_name}); nothing to check")


def test_espeak_binary_is_installed() -> None:
    assert shutil.which("espeak-ng"), "apt-get install espeak-ng"


def test_read_ahead_synthesizes_the_next_sentence_while_the_first_plays():
    second_made = threading.Event()

    def sentences():
        yield AudioChunk(np.zeros(10, np.int16), 16000, "một", 0.0)
        second_made.set()
        yield AudioChunk(np.zeros(10, np.int16), 16000, "hai", 0.0)

    got = []
    for chunk in read_ahead(sentences()):
        got.append(chunk.sentence)
        if len(got) == 1:  # "playing" the first sentence: the second must get made meanwhile
            assert second_made.wait(5.0), "the second sentence was not synthesized during playback"
    assert got == ["một", "hai"]


def test_read_ahead_passes_errors_to_the_caller():
    def broken():
        raise RuntimeError("voice crashed")
        yield

    with pytest.raises(RuntimeError, match="voice crashed"):
        list(read_ahead(broken()))
