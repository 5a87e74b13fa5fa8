"""Audio sources for the microphone node: a real microphone (PyAudio) or WAV files (simulated).

Every source yields float32 mono 16 kHz blocks. A real device is opened at its native rate and
resampled with soxr; a WAV file or folder is replayed in real time (``speed`` > 1 for tests).
"""

from __future__ import annotations

import contextlib
import logging
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from speech.devices import no_sound_card_reason
from speech.resample import resample_float

__all__ = [
    "AudioSourceError",
    "MicrophoneUnavailable",
    "PyAudioSource",
    "WavFolderSource",
    "read_wav",
]

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
BLOCK_S = 0.032


class AudioSourceError(RuntimeError):
    """A source failed in a way the caller should report (file skipped, device lost)."""


class MicrophoneUnavailable(AudioSourceError):
    """No input device could be opened."""


def read_wav(path: Path) -> np.ndarray:
    """Read a PCM WAV file as float32 mono 16 kHz. Raises AudioSourceError with the reason."""
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        raise AudioSourceError(f"cannot read WAV '{path}': {exc}") from exc
    if width not in (1, 2, 4) or channels < 1 or rate < 4000:
        raise AudioSourceError(f"unsupported WAV '{path}': {channels} ch, {width * 8}-bit, {rate} Hz")
    if width == 1:
        audio = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    else:
        dtype = "<i2" if width == 2 else "<i4"
        audio = np.frombuffer(raw[: len(raw) // width * width], dtype=dtype).astype(np.float32)
        audio /= float(2 ** (8 * width - 1))
    audio = audio[: len(audio) // channels * channels].reshape(-1, channels).mean(axis=1)
    return resample_float(audio, rate, SAMPLE_RATE_HZ)


@dataclass
class WavFolderSource:
    """Simulated microphone: replays a WAV file, or every new WAV appearing in a folder, once.

    A folder source plays only the files that arrive while it runs: the WAVs already in the
    folder when it is created are left unplayed (counted in ``skipped_at_start``), so a restarted
    kiosk never answers old questions again. Between files it yields silence, so a
    voice-activity detector sees the end of each utterance. Files are read, never deleted or moved.
    """

    path: Path
    speed: float = 1.0
    poll_s: float = 0.25
    loop: bool = False

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self._seen: set[Path] = set(self.path.glob("*.wav")) if self.path.is_dir() and not self.loop else set()
        self.skipped_at_start = len(self._seen)
        if self.skipped_at_start:
            log.info("simulated microphone %s: %d WAV file(s) already there are not played; "
                     "copy a file in while the kiosk runs to play it", self.path, self.skipped_at_start)
        self.errors: list[str] = []
        self.current: str = ""

    def missing_message(self) -> str:
        return (f"the simulated microphone {self.path} is gone (no such file or folder); fix: create it "
                "again or set microphone.wav_path / Microphone giả lập không còn, hãy tạo lại thư mục")

    def _next_file(self) -> Path | None:
        if self.path.is_file():
            candidates = [self.path]
        elif self.path.is_dir():
            candidates = sorted(self.path.glob("*.wav"), key=lambda p: (p.stat().st_mtime, p.name))
        else:
            return None
        for candidate in candidates:
            if candidate not in self._seen and _is_complete(candidate):
                return candidate
        if self.loop and candidates:
            self._seen.clear()
        return None

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield 32 ms blocks forever (silence while no file is pending)."""
        block = int(BLOCK_S * SAMPLE_RATE_HZ)
        silence = np.zeros(block, dtype=np.float32)
        next_t = time.monotonic()
        while True:
            if not self.path.exists():
                raise AudioSourceError(self.missing_message())
            path = self._next_file()
            if path is None:
                self.current = ""
                next_t = _pace(next_t, BLOCK_S * 8 / self.speed)
                for _ in range(8):
                    yield silence
                continue
            self._seen.add(path)
            try:
                audio = read_wav(path)
            except AudioSourceError as exc:
                self.errors.append(str(exc))
                log.warning("%s", exc)
                continue
            self.current = path.name
            audio = np.concatenate([audio, np.zeros(SAMPLE_RATE_HZ, dtype=np.float32)])  # 1 s tail
            for start in range(0, len(audio), block):
                next_t = _pace(next_t, BLOCK_S / self.speed)
                chunk = audio[start : start + block]
                yield np.pad(chunk, (0, block - len(chunk))) if len(chunk) < block else chunk


def _is_complete(path: Path) -> bool:
    """A file still being written (size changing) is picked up on a later poll."""
    try:
        size = path.stat().st_size
        time.sleep(0.01)
        return size > 0 and size == path.stat().st_size
    except OSError:
        return False


def _pace(next_t: float, step_s: float) -> float:
    delay = next_t - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    return max(next_t, time.monotonic() - 1.0) + step_s


_MIC_FIX = (
    "plug in a USB microphone, check `arecord -l`, or set microphone.source to a WAV file or folder "
    "(simulated microphone)."
)


class PyAudioSource:
    """A real microphone through PyAudio, opened at the device's native rate."""

    def __init__(self, device_name_contains: str = "") -> None:
        self.device_name_contains = device_name_contains
        self._pa = None
        self._stream = None
        self.device_name = ""
        self.native_rate_hz = 0

    def open(self) -> None:
        """Open the device; raise MicrophoneUnavailable with a fix when there is none."""
        import pyaudio

        self.close()
        reason = no_sound_card_reason()
        if reason:
            if self.device_name_contains:
                reason += f"; wanted a device whose name contains '{self.device_name_contains}'"
            raise MicrophoneUnavailable(f"no microphone could be opened ({reason}). Fix: {_MIC_FIX}")
        pa = pyaudio.PyAudio()
        try:
            info = self._find_device(pa)
            self.native_rate_hz = int(info["defaultSampleRate"])
            self.device_name = str(info["name"])
            self._stream = pa.open(
                format=pyaudio.paFloat32,
                channels=1,
                rate=self.native_rate_hz,
                input=True,
                input_device_index=int(info["index"]),
                frames_per_buffer=int(self.native_rate_hz * BLOCK_S),
            )
        except (OSError, ValueError) as exc:
            pa.terminate()
            raise MicrophoneUnavailable(
                f"no microphone could be opened ({exc}). Fix: {_MIC_FIX}"
            ) from exc
        self._pa = pa

    def _find_device(self, pa) -> dict:
        if self.device_name_contains:
            for i in range(pa.get_device_count()):
                info = pa.get_device_info_by_index(i)
                wanted = self.device_name_contains.lower() in str(info["name"]).lower()
                if info.get("maxInputChannels", 0) > 0 and wanted:
                    return info
            raise OSError(f"no input device whose name contains '{self.device_name_contains}'")
        return pa.get_default_input_device_info()

    def blocks(self) -> Iterator[np.ndarray]:
        if self._stream is None:
            self.open()
        frames = int(self.native_rate_hz * BLOCK_S)
        while True:
            try:
                raw = self._stream.read(frames, exception_on_overflow=False)
            except OSError as exc:
                self.close()
                raise MicrophoneUnavailable(f"microphone '{self.device_name}' was lost: {exc}") from exc
            yield resample_float(np.frombuffer(raw, dtype=np.float32), self.native_rate_hz, SAMPLE_RATE_HZ)

    def close(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(OSError):
                self._stream.close()
            self._stream = None
        if self._pa is not None:
            self._pa.terminate()
            self._pa = None
