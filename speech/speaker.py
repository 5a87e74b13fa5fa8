"""Audio output for synthesized replies: a real speaker (PyAudio) or WAV files (simulated).

Both follow one interface, driven by the tts node for each reply::

    speaker.begin(reply_id)
    for chunk in synth.synthesize(text):
        speaker.play(chunk)        # blocks until the chunk is played (or written)
    path = speaker.end()           # the reply's WAV file for WavFileSpeaker, None for a device
    ...
    speaker.stop()                 # from another thread: cut the current reply short (barge-in)
    speaker.close()

The pause between sentences is already in the chunks (``TtsOptions.sentence_silence_s``).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import wave
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from speech.devices import no_sound_card_reason
from speech.resample import resample_int16
from speech.tts import AudioChunk

__all__ = ["PyAudioSpeaker", "Speaker", "SpeakerUnavailable", "WavFileSpeaker"]

log = logging.getLogger(__name__)


class SpeakerUnavailable(RuntimeError):
    """No output device can be opened; the message says how to fix it."""


class Speaker(Protocol):
    """What the tts node needs from an output device."""

    def begin(self, reply_id: str) -> None: ...
    def play(self, chunk: AudioChunk) -> None: ...
    def end(self) -> str | None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...




class WavFileSpeaker:
    """Simulated speaker: one WAV file per reply (16-bit mono) in ``out_dir``.

    Files are named ``<UTC time>_<reply_id>.wav``; beyond ``keep_files`` the oldest are deleted.
    With ``realtime=True`` :meth:`play` takes as long as the audio would (so a "robot speaking"
    flag lasts as long as real speech); :meth:`stop` ends the wait and keeps what was played.
    """

    def __init__(self, out_dir: Path, keep_files: int = 50, realtime: bool = False) -> None:
        if keep_files < 1:
            raise ValueError(f"keep_files must be >= 1, got {keep_files}")
        self.out_dir = Path(out_dir)
        self.keep_files = keep_files
        self.realtime = realtime
        self._stop = threading.Event()
        self._reply_id = ""
        self._parts: list[np.ndarray] = []
        self._rate_hz = 0
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpeakerUnavailable(
                f"Cannot create the WAV output folder {self.out_dir}: {exc}; fix: set speaker.wav_dir "
                "to a writable folder"
            ) from exc

    def begin(self, reply_id: str) -> None:
        self._reply_id = re.sub(r"[^\w.-]", "_", reply_id)[:64] or "reply"
        self._parts, self._rate_hz = [], 0
        self._stop.clear()

    def play(self, chunk: AudioChunk) -> None:
        if self._stop.is_set():
            return
        if not self._rate_hz:
            self._rate_hz = chunk.sample_rate_hz
        self._parts.append(resample_int16(chunk.samples, chunk.sample_rate_hz, self._rate_hz))
        if self.realtime:
            self._stop.wait(len(chunk.samples) / chunk.sample_rate_hz)

    def end(self) -> str | None:
        """Write the reply's audio; return its path, or None when nothing was played."""
        if not self._parts:
            return None
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"{time.time() % 1:.3f}"[1:]
        path = self.out_dir / f"{stamp}_{self._reply_id}.wav"
        tmp = path.with_suffix(".part")
        with wave.open(str(tmp), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(self._rate_hz)
            wav.writeframes(np.concatenate(self._parts).astype("<i2").tobytes())
        tmp.replace(path)
        self._parts = []
        self._prune()
        return str(path)

    def _prune(self) -> None:
        files = sorted(self.out_dir.glob("*.wav"), key=lambda p: (p.stat().st_mtime, p.name))
        for old in files[: max(0, len(files) - self.keep_files)]:
            try:
                old.unlink()
            except OSError as exc:  # another process may have removed it
                log.debug("could not delete %s: %s", old, exc)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self.stop()


class PyAudioSpeaker:
    """A real output device via PyAudio, opened at the chunk's rate when supported, else at the
    device's native rate with soxr resampling. Plays blocks of ``block_ms`` so :meth:`stop`
    (from another thread) takes effect within one block.
    """

    def __init__(self, device_name_contains: str = "", block_ms: int = 50) -> None:
        try:
            import pyaudio
        except ImportError as exc:
            raise SpeakerUnavailable(
                "PyAudio is not installed, so no audio output device can be used; fix: apt-get install "
                "portaudio19-dev && pip install pyaudio, or set speaker.mode: wav"
            ) from exc
        reason = no_sound_card_reason()
        if reason:
            wanted = f"; wanted a device whose name contains '{device_name_contains}'" if device_name_contains else ""
            raise SpeakerUnavailable(f"No audio output device ({reason}{wanted}); fix: plug in a speaker or set "
                                     "speaker.mode: wav")
        self._pyaudio = pyaudio
        self.block_ms = block_ms
        self._stop = threading.Event()
        self._stream: Any = None
        self._stream_rate_hz = 0
        self._pa = pyaudio.PyAudio()
        try:
            self._device_index, self._device = self._find_device(device_name_contains)
        except SpeakerUnavailable:
            self._pa.terminate()
            raise
        self.device_name = str(self._device.get("name", "?"))
        log.info("speaker: %s (index %d)", self.device_name, self._device_index)

    def _find_device(self, name_contains: str) -> tuple[int, dict[str, Any]]:
        outputs: list[tuple[int, dict[str, Any]]] = []
        for index in range(self._pa.get_device_count()):
            info = self._pa.get_device_info_by_index(index)
            if int(info.get("maxOutputChannels", 0)) > 0:
                outputs.append((index, info))
        wanted = name_contains.casefold()
        matches = [(i, info) for i, info in outputs if wanted in str(info.get("name", "")).casefold()]
        if not matches:
            found = ", ".join(repr(info.get("name")) for _, info in outputs) or "none"
            which = f" whose name contains {name_contains!r}" if name_contains else ""
            raise SpeakerUnavailable(
                f"No audio output device{which} (output devices found: {found}); "
                "fix: plug in a speaker or set speaker.mode: wav"
            )
        if not name_contains:
            try:
                default = int(self._pa.get_default_output_device_info()["index"])
                matches.sort(key=lambda m: m[0] != default)
            except OSError:
                pass  # no default device: take the first output device
        return matches[0]

    def _open(self, rate_hz: int) -> None:
        pa = self._pyaudio
        try:
            self._pa.is_format_supported(rate_hz, output_device=self._device_index, output_channels=1,
                                         output_format=pa.paInt16)
            device_rate = rate_hz
        except ValueError:
            device_rate = int(self._device.get("defaultSampleRate", 48000))
        if self._stream is not None and self._stream_rate_hz == device_rate:
            if self._stream.is_stopped():
                self._stream.start_stream()
            return
        self._close_stream()
        try:
            self._stream = self._pa.open(format=pa.paInt16, channels=1, rate=device_rate, output=True,
                                         output_device_index=self._device_index,
                                         frames_per_buffer=max(256, device_rate * self.block_ms // 1000))
        except OSError as exc:
            raise SpeakerUnavailable(
                f"Cannot open output device {self.device_name!r} at {device_rate} Hz: {exc}; "
                "fix: check the speaker connection or set speaker.mode: wav"
            ) from exc
        self._stream_rate_hz = device_rate

    def begin(self, reply_id: str) -> None:
        self._stop.clear()

    def play(self, chunk: AudioChunk) -> None:
        if self._stop.is_set():
            return
        self._open(chunk.sample_rate_hz)
        samples = resample_int16(chunk.samples, chunk.sample_rate_hz, self._stream_rate_hz)
        block = max(1, self._stream_rate_hz * self.block_ms // 1000)
        for start in range(0, len(samples), block):
            if self._stop.is_set():
                return
            self._stream.write(samples[start : start + block].astype("<i2").tobytes())

    def end(self) -> str | None:
        """Wait until the queued audio has played (unless stopped); no file to return."""
        if self._stream is not None and not self._stream.is_stopped():
            self._stream.stop_stream()  # drains the buffer
        return None

    def stop(self) -> None:
        self._stop.set()

    def _close_stream(self) -> None:
        if self._stream is not None:
            try:
                self._stream.close()
            except OSError as exc:
                log.debug("closing the output stream failed: %s", exc)
            self._stream = None
            self._stream_rate_hz = 0

    def close(self) -> None:
        self.stop()
        self._close_stream()
        if self._pa is not None:
            self._pa.terminate()
            self._pa = None
