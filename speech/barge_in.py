"""Barge-in: a citizen may interrupt the kiosk, and the kiosk must not hear (and answer) itself.

While the kiosk talks, the microphone hears its own voice. The tts node publishes what it plays
(``speech/playback``: the kiosk's voice at 16 kHz with the wall-clock time it starts), which is
the **echo reference** here:

* :class:`PlaybackReference` keeps the last seconds of it, aligned on the wall clock.
* :class:`EchoCanceller` (an adaptive filter on that reference) subtracts the kiosk's voice as the
  microphone hears it, before the VAD and the ASR.
* :class:`GatedVad` wraps the voice-activity detector the segmenter calls: while the kiosk talks
  (and ``tail_ms`` after), a frame is speech only when the VAD says so above
  ``vad_threshold`` (higher than the normal threshold) *and* it is ``echo_margin_db`` louder than
  what is left of the echo; otherwise the segmenter sees silence, so the kiosk's own voice never
  becomes an utterance. ``min_speech_ms``
  of such frames in a row is a barge-in (:class:`BargeInDetected`): the microphone node tells the
  tts node, which stops playback; the citizen's utterance goes on to the ASR as usual.
* :class:`SimulatedEcho` is the echo path the simulated microphone lacks: it mixes the reference,
  delayed and attenuated, into the WAV input, so tests can prove both halves.

No audio is stored: the reference lives in memory for ``keep_s`` seconds.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BargeInDetected",
    "BargeInOptions",
    "EchoCanceller",
    "GatedVad",
    "PlaybackReference",
    "SimulatedEcho",
    "StreamClock",
]

SAMPLE_RATE_HZ = 16000
FRAME_SAMPLES = 512
FRAME_S = FRAME_SAMPLES / SAMPLE_RATE_HZ
_SILENT_RMS = 1e-4


@dataclass(frozen=True)
class BargeInOptions:
    """Gate and detector settings (milliseconds and decibels in the names)."""

    vad_threshold: float = 0.6
    min_speech_ms: int = 96
    echo_margin_db: float = 6.0
    tail_ms: int = 400

    def __post_init__(self) -> None:
        if not 0 < self.vad_threshold < 1:
            raise ValueError(f"vad_threshold must be within (0, 1), got {self.vad_threshold}")
        if self.min_speech_ms < FRAME_S * 1000 or self.tail_ms < 0:
            raise ValueError("min_speech_ms must be >= 32 ms and tail_ms >= 0")
        if not 0 <= self.echo_margin_db <= 40:
            raise ValueError("echo_margin_db must be within 0..40 dB")

    @property
    def margin(self) -> float:
        return 10 ** (self.echo_margin_db / 20)


class PlaybackReference:
    """The kiosk's own played audio on the wall clock: chunks of 16 kHz float32 samples."""

    def __init__(self, keep_s: float = 30.0) -> None:
        self.keep_s = keep_s
        self._lock = threading.Lock()
        self._chunks: list[tuple[float, np.ndarray]] = []  # (start on the wall clock, samples)

    def add(self, start_unix_s: float, samples: np.ndarray) -> None:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        with self._lock:
            self._chunks.append((start_unix_s, samples))
            horizon = start_unix_s - self.keep_s
            self._chunks = [c for c in self._chunks if c[0] + len(c[1]) / SAMPLE_RATE_HZ >= horizon]

    def cut(self, at_unix_s: float) -> None:
        """Playback stopped at this time (barge-in): nothing after it was heard."""
        with self._lock:
            kept = []
            for start, samples in self._chunks:
                if start < at_unix_s:
                    kept.append((start, samples[: int((at_unix_s - start) * SAMPLE_RATE_HZ)]))
            self._chunks = kept

    def playing(self, t0: float, t1: float) -> bool:
        with self._lock:
            return any(start <= t1 and start + len(s) / SAMPLE_RATE_HZ >= t0 for start, s in self._chunks)

    def samples(self, t0: float, count: int) -> np.ndarray:
        """``count`` samples of the reference from wall time ``t0`` (zeros where nothing plays)."""
        out = np.zeros(count, np.float32)
        with self._lock:
            for start, samples in self._chunks:
                offset = round((start - t0) * SAMPLE_RATE_HZ)  # index in ``out`` of the chunk's first sample
                lo, hi = max(0, offset), min(count, offset + len(samples))
                if hi > lo:
                    out[lo:hi] += samples[lo - offset: hi - offset]
        return out


class EchoCanceller:
    """Removes the kiosk's own voice from the microphone signal, using the playback reference.

    A partitioned-block frequency-domain adaptive filter (overlap-save NLMS, ``BLOCK`` = 512
    samples, ``partitions`` blocks of taps ≈ 32 ms each) learns the echo path from the reference
    to the microphone — loudspeaker, room, delay — and subtracts its estimate. The reference is
    taken ``lead_ms`` early so an echo that arrives a little before the nominal time (clock
    jitter) is still inside the filter. Adaptation stops while a citizen is known to talk
    (:attr:`freeze`, set by :class:`GatedVad`), so their voice does not train it away. The filter
    is kept between replies; until it has adapted on ``warmup_blocks`` blocks (≈ 0.8 s of the
    kiosk's first speech) and removes ``min_erle_db`` of the echo it is not trusted
    (:attr:`converged` False: no barge-in yet). While nothing plays the
    signal passes unchanged.
    """

    BLOCK = FRAME_SAMPLES

    def __init__(self, reference: PlaybackReference, partitions: int = 6, lead_ms: float = 32.0,
                 step: float = 0.8, warmup_blocks: int = 24, double_talk_factor: float = 2.0,
                 min_erle_db: float = 10.0) -> None:
        if not 1 <= partitions <= 32 or not 0 < step <= 1 or lead_ms < 0:
            raise ValueError("partitions must be within 1..32, step within (0, 1] and lead_ms >= 0")
        self.reference = reference
        self.partitions = partitions
        self.lead_s = lead_ms / 1000.0
        self.step = step
        self.warmup_blocks = warmup_blocks
        self.double_talk_factor = double_talk_factor
        self.min_erle_db = min_erle_db
        n = self.BLOCK
        self._weights = np.zeros((partitions, n + 1), np.complex128)
        self._spectra = np.zeros((partitions, n + 1), np.complex128)  # X per partition, rebuilt each block
        self._power = np.full(n + 1, 1e-6)
        self._pending = np.zeros(0, np.float32)
        self._pending_end_s = 0.0
        self.echo_rms = 0.0
        self.adapted_blocks = 0
        self.freeze = False  # set while a citizen is known to speak
        self._mic_power = 0.0
        self._error_power = 0.0
        self._leaks: deque[float] = deque(maxlen=64)  # residual/microphone on the last echo-only blocks (≈ 2 s)
        self._blocks_out = 0
        self._stats: dict[int, tuple[float, float, bool]] = {}  # block index → (mic rms, residual rms, playing)

    def block_stats(self, index: int) -> tuple[float, float, bool] | None:
        """(microphone rms, residual rms, reference playing) of output block ``index`` (pops it)."""
        return self._stats.pop(index, None)

    @property
    def converged(self) -> bool:
        """Trusted once it has adapted on ``warmup_blocks`` echo blocks and even its worst recent
        leakage is ``min_erle_db`` below the echo."""
        return self.adapted_blocks >= self.warmup_blocks and self.leakage <= 10 ** (-self.min_erle_db / 20)

    @property
    def leakage(self) -> float:
        """How much of the echo gets through, as a high percentile (90 %) of residual/microphone level
        on recent echo-only blocks: the worst the kiosk's own voice leaks, not the average."""
        if len(self._leaks) < 8:
            return 1.0
        return float(np.percentile(self._leaks, 90))

    def leftover_rms(self, mic_rms: float) -> float:
        """The echo expected to remain in a block whose microphone level is ``mic_rms``."""
        return max(mic_rms * max(self.leakage, 10 ** (-30 / 20)), _SILENT_RMS * 10)

    @property
    def erle_db(self) -> float:
        """Echo return loss enhancement on recent echo-only blocks (how much echo is removed)."""
        return 10 * math.log10(max(self._mic_power, 1e-12) / max(self._error_power, 1e-12))

    def process(self, block: np.ndarray, block_end_unix_s: float) -> np.ndarray:
        """Cancel the echo in any length of audio; returns the processed whole blocks."""
        self._pending = np.concatenate([self._pending, np.asarray(block, np.float32).reshape(-1)])
        n = self.BLOCK
        whole = len(self._pending) // n * n
        if whole == 0:
            return np.zeros(0, np.float32)
        out = np.empty(whole, np.float32)
        first_end = block_end_unix_s - (len(self._pending) - n) / SAMPLE_RATE_HZ
        for index, start in enumerate(range(0, whole, n)):
            mic = self._pending[start:start + n]
            cleaned, playing = self._block(mic, first_end + index * n / SAMPLE_RATE_HZ)
            out[start:start + n] = cleaned
            self._stats[self._blocks_out] = (_rms(mic), _rms(cleaned), playing)
            self._stats.pop(self._blocks_out - 256, None)  # nobody read them: forget
            self._blocks_out += 1
        self._pending = self._pending[whole:]
        return out

    def _block(self, mic: np.ndarray, end_s: float) -> tuple[np.ndarray, bool]:
        n = self.BLOCK
        start_s = end_s - n / SAMPLE_RATE_HZ + self.lead_s  # the reference runs ahead of the echo
        span_s = self.partitions * n / SAMPLE_RATE_HZ
        if not self.reference.playing(start_s - span_s, end_s):
            return mic, False
        # the reference of all partitions, read again for every block: a playback message that
        # arrives late (a loaded machine) is used for the blocks right after it, not only later ones
        history = self.reference.samples(start_s - span_s, (self.partitions + 1) * n).astype(np.float64)
        ref = history[-n:]
        for p in range(self.partitions):  # partition p: the 2n samples ending p blocks ago
            stop = len(history) - p * n
            self._spectra[p] = np.fft.rfft(history[stop - 2 * n: stop])
        estimate = np.fft.irfft((self._weights * self._spectra).sum(axis=0))[n:]
        error = mic.astype(np.float64) - estimate
        error_rms = float(np.sqrt(np.mean(error ** 2)))
        self.echo_rms = float(np.sqrt(np.mean(estimate ** 2)))
        step = 0.0 if self.freeze else self.step
        double_talk = self.converged and error_rms > self.double_talk_factor * self.leftover_rms(_rms(mic))
        if double_talk:
            step *= 0.1  # louder than the echo can explain: likely double talk, adapt only slowly
        if step and _rms(ref) > _SILENT_RMS * 10:
            # the power of all partitions, never below what they hold now: when a late reference
            # fills the history at once, a power that lagged behind would make the step explode
            now_power = np.mean(np.abs(self._spectra) ** 2, axis=0)
            self._power = np.maximum(0.9 * self._power + 0.1 * now_power, now_power)
            gradient_spectrum = np.fft.rfft(np.concatenate([np.zeros(n), error]))
            # all partitions' power, regularized so quiet bins (speech gaps) do not blow up the step
            normalizer = self.partitions * (self._power + 0.01 * float(self._power.mean())) + 1e-3 * n
            for p in range(self.partitions):
                update = step * np.conj(self._spectra[p]) * gradient_spectrum / normalizer
                taps = np.fft.irfft(self._weights[p] + update)
                taps[n:] = 0.0  # gradient constraint (linear, not circular, convolution)
                self._weights[p] = np.fft.rfft(taps)
            if not double_talk:  # the echo-only blocks measure how much echo is removed
                self.adapted_blocks += 1
                if _rms(mic) > _SILENT_RMS * 30:  # loud enough to measure the leak
                    self._leaks.append(error_rms / _rms(mic))
                self._mic_power = 0.95 * self._mic_power + 0.05 * _rms(mic) ** 2
                self._error_power = 0.95 * self._error_power + 0.05 * error_rms ** 2
        return error.astype(np.float32), True


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0


@dataclass(frozen=True)
class BargeInDetected:
    """The citizen spoke over the kiosk: speech started at ``speech_start_unix_s``."""

    speech_start_unix_s: float
    detected_unix_s: float
    probability: float
    erle_db: float


class GatedVad:
    """A VAD for :class:`speech.vad.VadSegmenter` that gates frames while the kiosk talks.

    It sees the echo-cancelled signal (the segmenter is fed the canceller's output, block for
    block). While gating, a frame is speech when the VAD probability reaches ``vad_threshold`` and
    the cancelled frame is ``echo_margin_db`` above the echo expected to be left in it (the
    microphone level lowered by the canceller's measured :attr:`EchoCanceller.erle_db`). Once a
    barge-in fires, the citizen has the floor: the gate opens until the kiosk speaks again. The
    microphone node calls :meth:`set_stream_offset` before each block (wall clock = stream time +
    offset) and :meth:`set_robot_speaking` from ``speech/robot_speaking``.
    """

    def __init__(self, vad, canceller: EchoCanceller, options: BargeInOptions) -> None:
        self._vad = vad
        self.canceller = canceller
        self.options = options
        self._frames = 0
        self._offset_s = 0.0
        self._speaking = False
        self._speaking_ended_s = -math.inf
        self._recent: list[tuple[bool, float]] = []  # (speech, frame start) of the last frames
        self._fired = False
        self._events: list[BargeInDetected] = []
        self.gated_frames = 0

    def set_stream_offset(self, offset_s: float) -> None:
        self._offset_s = offset_s

    def set_robot_speaking(self, speaking: bool, now_unix_s: float) -> None:
        if speaking and not self._speaking:
            self._fired = False
            self._recent.clear()
        if not speaking and self._speaking:
            self._speaking_ended_s = now_unix_s
        self._speaking = speaking

    def reset(self) -> None:
        self._vad.reset()
        self._recent.clear()

    def pop_events(self) -> list[BargeInDetected]:
        events, self._events = self._events, []
        return events

    def _gating(self, end_s: float) -> bool:
        if self._fired:
            return False
        return self._speaking or end_s - self._speaking_ended_s <= self.options.tail_ms / 1000.0

    def __call__(self, frame: np.ndarray) -> float:
        self._frames += 1
        end_s = self._frames * FRAME_S + self._offset_s
        prob = self._vad(frame)
        if not self._gating(end_s):
            self._recent.clear()
            return prob
        stats = self.canceller.block_stats(self._frames - 1)
        speech = False
        if self.canceller.converged and stats is not None:  # before that, the echo path is unknown
            mic_rms, residual_rms, _playing = stats
            loud = residual_rms > self.canceller.leftover_rms(mic_rms) * self.options.margin
            speech = prob >= self.options.vad_threshold and loud
        self._recent.append((speech, end_s - FRAME_S))
        need = math.ceil(self.options.min_speech_ms / 1000 / FRAME_S)
        del self._recent[: max(0, len(self._recent) - (need + 1))]  # the last need+1 frames
        hits = [start for ok, start in self._recent if ok]
        self.canceller.freeze = len(hits) >= 2  # a citizen is talking: do not adapt to their voice
        if speech and len(hits) >= need and not self._fired and self._speaking:
            self._fired = True
            self._events.append(BargeInDetected(hits[0], end_s, prob, self.canceller.erle_db))
        if not speech:
            self.gated_frames += 1
            return 0.0
        return prob


class StreamClock:
    """A steady wall clock for the microphone stream: anchor + samples so far.

    Blocks reach the node with jitter (scheduling, catch-up bursts, a simulated source that delivers
    silence eight blocks at a time), but the echo reference must be aligned with the stream itself,
    continuously. The anchor is taken from the first block's arrival and re-taken only when the
    stream drifts from the wall clock by more than ``resync_s`` (a paused or restarted source).
    """

    def __init__(self, resync_s: float = 0.3) -> None:
        self.resync_s = resync_s
        self._samples = 0
        self._anchor: float | None = None
        self.resyncs = 0

    def block_end(self, now_unix_s: float, samples: int) -> float:
        self._samples += samples
        stream_s = self._samples / SAMPLE_RATE_HZ
        if self._anchor is None or abs(now_unix_s - (self._anchor + stream_s)) > self.resync_s:
            self.resyncs += self._anchor is not None
            self._anchor = now_unix_s - stream_s
        return self._anchor + stream_s


class SimulatedEcho:
    """Mixes the kiosk's own playback, delayed and attenuated, into simulated microphone audio."""

    def __init__(self, reference: PlaybackReference, gain: float, delay_ms: float) -> None:
        if not (0 <= gain <= 4 and 0 <= delay_ms <= 1000):
            raise ValueError("simulated echo gain must be within 0..4 and delay within 0..1000 ms")
        self.reference = reference
        self.gain = gain
        self.delay_s = delay_ms / 1000.0

    def mix(self, block: np.ndarray, block_end_unix_s: float) -> np.ndarray:
        if self.gain <= 0:
            return block
        start = block_end_unix_s - len(block) / SAMPLE_RATE_HZ - self.delay_s
        echo = self.reference.samples(start, len(block))
        return np.clip(block + self.gain * echo, -1.0, 1.0).astype(np.float32)
