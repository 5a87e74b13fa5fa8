"""Speech cores without ROS: audio sources, streaming VAD endpointing, faster-whisper gating."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from kiosk_robot.harness import REPO, espeak_wav
from speech.asr import AsrOptions, AsrResult, AsrUnavailable, SpeechRecognizer
from speech.audio_in import AudioSourceError, MicrophoneUnavailable, PyAudioSource, WavFolderSource, read_wav
from speech.speculative import SpeculationBook
from speech.vad import SpeechStarted, UtteranceEnded, UtterancePreview, VadOptions, VadSegmenter

SR = 16000


def _write_wav(path: Path, audio: np.ndarray, rate: int = SR, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def speech_clip(tmp_path_factory) -> np.ndarray:
    return read_wav(espeak_wav("Xin chào, tôi muốn hỏi về thủ tục", tmp_path_factory.mktemp("a") / "q.wav"))


@pytest.fixture(scope="module")
def asr() -> SpeechRecognizer:
    return SpeechRecognizer(AsrOptions(model_path=str(REPO / "models" / "whisper-base")))


def _events(segmenter: VadSegmenter, audio: np.ndarray):
    events = []
    for start in range(0, len(audio), 512):
        events += list(segmenter.feed(audio[start : start + 512]))
    return events + list(segmenter.flush())


# ---- audio sources -----------------------------------------------------------------------------
def test_read_wav_resamples_stereo_44k_to_mono_16k(tmp_path):
    stereo = np.tile(np.sin(np.linspace(0, 2000, 44100))[:, None] * 0.5, (1, 2)).reshape(-1)
    audio = read_wav(_write_wav(tmp_path / "s.wav", stereo, rate=44100, channels=2))
    assert audio.dtype == np.float32 and abs(len(audio) - SR) <= 2
    assert 0.3 < np.abs(audio).max() <= 0.51


@pytest.mark.parametrize("payload", [b"", b"RIFF\x00\x00\x00\x00WAVEjunk", b"not a wav at all" * 10])
def test_corrupt_wav_raises_a_clear_error(tmp_path, payload):
    path = tmp_path / "bad.wav"
    path.write_bytes(payload)
    with pytest.raises(AudioSourceError, match=r"bad\.wav"):
        read_wav(path)


def test_wav_folder_plays_each_new_file_once_and_keeps_it(tmp_path, speech_clip):
    source = WavFolderSource(tmp_path, speed=1000.0)
    _write_wav(tmp_path / "a.wav", speech_clip)
    blocks = source.blocks()
    played = [next(blocks) for _ in range(int((len(speech_clip) + SR) / 512) + 40)]
    audio = np.concatenate(played)
    assert np.abs(audio).max() > 0.1  # the file was played ...
    assert (tmp_path / "a.wav").exists()  # ... and not deleted
    tail = np.concatenate([next(blocks) for _ in range(200)])
    assert np.abs(tail).max() == 0.0  # ... and only once


def test_wav_folder_after_a_restart_plays_only_new_files(tmp_path, speech_clip):
    """Issue 10 (a): WAVs left in the folder from an earlier run are not answered again."""
    _write_wav(tmp_path / "old.wav", speech_clip)
    source = WavFolderSource(tmp_path, speed=1000.0)  # the kiosk (re)starts with old.wav present
    assert source.skipped_at_start == 1
    blocks = source.blocks()
    idle = np.concatenate([next(blocks) for _ in range(100)])
    assert np.abs(idle).max() == 0.0  # old.wav is not replayed
    _write_wav(tmp_path / "new.wav", speech_clip)
    played = np.concatenate([next(blocks) for _ in range(int((len(speech_clip) + SR) / 512) + 40)])
    assert np.abs(played).max() > 0.1  # a file arriving while it runs is played
    assert source.current in ("new.wav", "")


def test_missing_microphone_says_how_to_fix_it():
    source = PyAudioSource(device_name_contains="no-such-device-xyz")
    with pytest.raises(MicrophoneUnavailable, match="Fix"):
        source.open()


# ---- VAD endpointing ---------------------------------------------------------------------------
def test_vad_cuts_one_utterance_with_short_trailing_silence(speech_clip):
    audio = np.concatenate([np.zeros(SR), speech_clip, np.zeros(2 * SR)]).astype(np.float32)
    segmenter = VadSegmenter(VadOptions(min_silence_ms=600))
    events = []
    cut_at_s = None
    for start in range(0, len(audio), 512):
        for event in segmenter.feed(audio[start : start + 512]):
            events.append(event)
            if isinstance(event, UtteranceEnded):
                cut_at_s = segmenter.clock_s
    assert [type(e) for e in events] == [SpeechStarted, UtterancePreview, UtteranceEnded]
    preview, utterance = events[1], events[2]
    # the speculative preview came during the pause, with the audio the utterance then kept
    assert utterance.preview_id == preview.preview_id > 0
    assert np.array_equal(preview.samples, utterance.samples)
    assert preview.end_of_speech_s == utterance.end_of_speech_s
    assert 0.7 <= utterance.start_s <= 1.2
    assert cut_at_s - utterance.end_of_speech_s <= 0.7  # endpointing delay
    assert abs(len(utterance.samples) / SR - len(speech_clip) / SR) < 0.8


def test_vad_preview_is_void_when_speech_resumes(speech_clip):
    """A pause longer than the preview but shorter than the endpoint: the preview is not confirmed."""
    loud = np.flatnonzero(np.abs(speech_clip) > 0.01)
    clip = speech_clip[loud[0] : loud[-1] + 1]  # no silence of its own at either end
    gap = np.zeros(int(0.4 * SR), dtype=np.float32)
    audio = np.concatenate([np.zeros(SR), clip, gap, clip, np.zeros(2 * SR)]).astype(np.float32)
    events = _events(VadSegmenter(VadOptions(min_silence_ms=600, preview_silence_ms=200)), audio)
    previews = [e for e in events if isinstance(e, UtterancePreview)]
    ends = [e for e in events if isinstance(e, UtteranceEnded)]
    assert len(ends) == 1 and len(previews) >= 2
    assert ends[0].preview_id == previews[-1].preview_id != previews[0].preview_id
    assert len(ends[0].samples) > len(previews[0].samples)  # the first preview missed the second part
    assert not any(isinstance(e, UtterancePreview) for e in _events(
        VadSegmenter(VadOptions(preview_silence_ms=0)), audio))


def test_adaptive_endpoint_learns_a_hesitant_speakers_pauses(speech_clip):
    """Fluent: cut after the 450 ms floor; a pause that split a question raises the endpoint for the
    same speaker (up to the 700 ms ceiling), and a long silence forgets it."""
    loud = np.flatnonzero(np.abs(speech_clip) > 0.01)
    clip = speech_clip[loud[0] : loud[-1] + 1]
    hesitant = np.concatenate([clip, np.zeros(int(0.55 * SR), np.float32), clip]).astype(np.float32)
    seg = VadSegmenter(VadOptions(min_silence_ms=700, adaptive_floor_ms=450, preview_silence_ms=0))
    assert seg.endpoint_ms == 450
    first = [e for e in _events(seg, np.concatenate([np.zeros(SR), hesitant, np.zeros(SR)]))
             if isinstance(e, UtteranceEnded)]
    assert len(first) == 2  # the 550 ms pause ended the question too early ...
    assert 600 <= seg.endpoint_ms <= 700  # ... so the endpoint rose for this speaker
    again = [e for e in _events(seg, np.concatenate([hesitant, np.zeros(SR)])) if isinstance(e, UtteranceEnded)]
    assert len(again) == 1
    _events(seg, np.concatenate([np.zeros(25 * SR), clip, np.zeros(SR)]))  # a new visitor after a long silence
    assert seg.endpoint_ms == 450


def test_speculation_book_keeps_only_a_confirmed_result():
    book = SpeculationBook()
    book.start("p1")
    assert book.done("p1", "text 1") is None  # finished before the endpoint
    assert book.claim("p1", "final 1") == ("ready", "text 1") and book.hits == 1
    book.start("p2")  # still running when the endpoint comes: the final waits for it
    assert book.claim("p2", "final 2") == ("pending", None)
    assert book.done("p2", "text 2") == "final 2" and book.hits == 2
    book.start("p3")
    book.start("p4")  # speech resumed: a newer preview supersedes p3
    assert not book.wanted("p3") and book.done("p3", "stale") is None and book.wasted == 1
    book.drop()  # a final utterance that confirms nothing
    assert book.claim("p4", "final 4") == ("unknown", None)


def test_vad_ignores_silence_and_steady_noise():
    rng = np.random.default_rng(3)
    audio = np.concatenate([np.zeros(2 * SR), rng.normal(0, 0.02, 5 * SR)]).astype(np.float32)
    assert _events(VadSegmenter(), audio) == []


def test_vad_cuts_a_monologue_into_bounded_pieces(speech_clip):
    monologue = np.tile(speech_clip, int(60 * SR / len(speech_clip)) + 1)[: 60 * SR]
    utterances = [e for e in _events(VadSegmenter(VadOptions(max_utterance_s=15.0)), monologue)
                  if isinstance(e, UtteranceEnded)]
    assert len(utterances) >= 4
    assert all(len(u.samples) / SR <= 15.5 for u in utterances)


# ---- ASR -----------------------------------------------------------------------------------------
def test_asr_recognizes_a_clear_vietnamese_greeting(asr, tmp_path):
    result = asr.transcribe(read_wav(espeak_wav("Xin chào", tmp_path / "hi.wav")))
    assert result.accepted, result
    assert "chào" in result.text.lower()
    assert 0 < result.confidence <= 1 and result.window_s < 30
    assert result.hypotheses[0] == (result.text, result.confidence)
    assert 1 <= len(result.hypotheses) <= asr.options.num_hypotheses
    assert all(0 < conf <= 1 for _, conf in result.hypotheses)


@pytest.mark.parametrize("kind", ["silence", "noise", "too_short", "nan"])
def test_asr_does_not_accept_non_speech(asr, kind):
    rng = np.random.default_rng(11)
    audio = {"silence": np.zeros(3 * SR), "noise": rng.normal(0, 0.1, 3 * SR), "too_short": np.zeros(1000),
             "nan": np.full(SR, np.nan)}[kind].astype(np.float32)
    result = asr.transcribe(audio)
    assert not result.accepted and result.reject_reason


@pytest.mark.parametrize("text", ["Hãy subscribe cho kênh Ghiền Mì Gõ để không bỏ lỡ",
                                  "Cảm ơn các bạn đã theo dõi", "hay dang ky kenh nhe",
                                  "khai sinh khai sinh khai sinh khai sinh khai sinh khai sinh khai sinh khai sinh"])
def test_asr_rejects_known_hallucinations_and_loops(asr, text):
    accepted, reason = asr.check(AsrResult(text, 0.9, 0.0, True, window_s=6.0))
    assert not accepted and reason


def test_asr_handles_a_long_monologue_without_crashing(asr, speech_clip):
    result = asr.transcribe(np.tile(speech_clip, 20))
    assert result.audio_s > 30 and isinstance(result.text, str)


def test_missing_asr_model_names_the_file_and_the_fix(tmp_path):
    with pytest.raises(AsrUnavailable, match=r"model\.bin.*scripts/setup\.sh"):
        SpeechRecognizer(AsrOptions(model_path=str(tmp_path)))


def test_sound_card_check_reads_the_kernel_list(tmp_path):
    from speech.devices import no_sound_card_reason

    cards = tmp_path / "asound" / "cards"
    cards.parent.mkdir()
    cards.write_text("--- no soundcards ---\n")
    assert "no sound card" in no_sound_card_reason(cards)
    cards.write_text(" 0 [Device         ]: USB-Audio - USB PnP Sound Device\n")
    assert no_sound_card_reason(cards) is None


def test_asr_with_long_hotwords_still_transcribes(tmp_path):
    """The decoder prompt counts towards CTranslate2's max_length: a long hotwords list once left no
    room for the transcript (IndexError). Hotwords are off by default (they inject their words)."""
    hotwords = ", ".join(["khai sinh", "kết hôn", "khai tử", "tạm trú", "thường trú", "chứng thực", "căn cước"] * 4)
    asr = SpeechRecognizer(AsrOptions(model_path=str(REPO / "models" / "whisper-base"), hotwords=hotwords))
    result = asr.transcribe(read_wav(espeak_wav("Xin chào", tmp_path / "hi.wav")))
    assert result.text and result.hypotheses
