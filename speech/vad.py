"""Streaming voice-activity detection and utterance endpointing.

Uses the Silero VAD v6 ONNX model that faster-whisper ships (no download), one 32 ms frame
(512 samples at 16 kHz) at a time, and cuts an utterance after ``min_silence_ms`` of trailing
silence (default 600 ms, below the 0.7 s the kiosk promises).

Adaptive endpointing (``adaptive_floor_ms`` > 0): the endpoint starts at the floor and rises to
the visitor's longest recent pause between words plus a margin (capped at ``min_silence_ms``), so
a fluent speaker is answered sooner and a hesitant one is not cut off.

Speculative recognition: after ``preview_silence_ms`` of trailing silence (shorter than the
endpoint) a :class:`UtterancePreview` carries the utterance so far, so the recognizer can start
while the endpoint is still waiting. When the utterance then ends without new speech, its
:class:`UtteranceEnded` names the preview (``preview_id``: same audio, the preview's result
stands); when speech resumes, the preview is void and a later one (or none) follows.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "FRAME_SAMPLES", "SileroVad", "SpeechStarted", "UtteranceEnded", "UtterancePreview", "VadOptions", "VadSegmenter",
]

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
FRAME_SAMPLES = 512
FRAME_S = FRAME_SAMPLES / SAMPLE_RATE_HZ
_CONTEXT_SAMPLES = 64
SPLIT_GAP_S = 1.2  # speech resuming this soon after an endpoint: the pause was inside the question
SPEAKER_GAP_S = 20.0  # after this much silence the adaptive endpoint forgets the last speaker


def default_model_path() -> Path:
    from faster_whisper.utils import get_assets_path

    return Path(get_assets_path()) / "silero_vad_v6.onnx"


class SileroVad:
    """Frame-by-frame speech probability from the Silero VAD ONNX model (1 thread)."""

    def __init__(self, model_path: str | Path | None = None) -> None:
        import onnxruntime

        path = Path(model_path) if model_path else default_model_path()
        if not path.is_file():
            raise FileNotFoundError(
                f"VAD model '{path}' not found. Fix: reinstall faster-whisper (scripts/setup.sh)."
            )
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 4
        self._session = onnxruntime.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT_SAMPLES, dtype=np.float32)

    def __call__(self, frame: np.ndarray) -> float:
        """Speech probability of one 512-sample float32 frame."""
        window = np.concatenate([self._context, frame]).reshape(1, -1).astype(np.float32)
        out, self._h, self._c = self._session.run(None, {"input": window, "h": self._h, "c": self._c})
        self._context = frame[-_CONTEXT_SAMPLES:]
        return float(np.asarray(out).reshape(-1)[0])


@dataclass
class VadOptions:
    """Endpointing options (milliseconds / seconds in the names)."""

    threshold: float = 0.5
    neg_threshold: float = 0.35
    min_speech_ms: int = 250
    min_silence_ms: int = 600
    pre_roll_ms: int = 300
    max_utterance_s: float = 15.0
    preview_silence_ms: int = 200  # trailing silence before a speculative preview; 0: no previews
    # adaptive endpointing: 0 keeps ``min_silence_ms`` fixed; else the endpoint is this floor, raised
    # to the visitor's longest recent pause inside speech + ``pause_margin_ms`` (at most ``min_silence_ms``)
    adaptive_floor_ms: int = 0
    pause_margin_ms: int = 150


@dataclass
class SpeechStarted:
    """A visitor started talking; ``time_s`` is the stream time of the first speech frame."""

    time_s: float


@dataclass
class UtteranceEnded:
    """One cut utterance. ``end_of_speech_s`` is the stream time the last speech frame ended;
    ``preview_id`` names the :class:`UtterancePreview` with the same audio (0: none)."""

    samples: np.ndarray
    start_s: float
    end_of_speech_s: float
    cut_at_max: bool = False
    preview_id: int = 0


@dataclass
class UtterancePreview:
    """The utterance so far, during a pause that may be its end (speculative recognition)."""

    samples: np.ndarray
    start_s: float
    end_of_speech_s: float
    preview_id: int


class VadSegmenter:
    """Feeds 16 kHz float32 audio, yields SpeechStarted / UtteranceEnded events."""

    def __init__(self, options: VadOptions | None = None, vad: SileroVad | None = None) -> None:
        self.options = options or VadOptions()
        self._vad = vad or SileroVad()
        self._pending = np.zeros(0, dtype=np.float32)
        # the speech that triggers a start (min_speech_ms) plus the lead-in kept before it (pre_roll_ms)
        lead_ms = self.options.pre_roll_ms + self.options.min_speech_ms
        self._pre_roll: deque[np.ndarray] = deque(maxlen=max(1, round(lead_ms / 1000 / FRAME_S)))
        self._frames: list[np.ndarray] = []
        self._clock_s = 0.0
        self._in_speech = False
        self._speech_run = 0
        self._silence_run = 0
        self._start_s = 0.0
        self._last_speech_end_s = 0.0
        self._preview_id = 0  # the preview of the current pause, 0: none yet
        self._previews = 0
        self._pauses_ms: deque[float] = deque(maxlen=8)  # this visitor's recent pauses inside speech
        self.last_probability = 0.0

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def clock_s(self) -> float:
        """Stream time: seconds of audio consumed so far."""
        return self._clock_s

    @property
    def received_s(self) -> float:
        """Stream time at the end of all audio fed so far (consumed or still buffered)."""
        return self._clock_s + len(self._pending) / SAMPLE_RATE_HZ

    @property
    def endpoint_ms(self) -> float:
        """Trailing silence that ends the current utterance (fixed, or adapted to the visitor's pauses)."""
        opts = self.options
        if opts.adaptive_floor_ms <= 0:
            return opts.min_silence_ms
        longest = max(self._pauses_ms, default=0.0)
        return min(opts.min_silence_ms, max(opts.adaptive_floor_ms, longest + opts.pause_margin_ms))

    def _learn_gap(self, gap_s: float) -> None:
        """Speech starting soon after an endpoint: that pause was inside the question (the endpoint was
        too short for this speaker); after a long silence: a new speaker, forget what was learned."""
        if gap_s > SPEAKER_GAP_S:
            self._pauses_ms.clear()
        elif self._last_speech_end_s > 0 and gap_s < SPLIT_GAP_S:
            self._pauses_ms.append(gap_s * 1000)

    def forget_speaker(self) -> None:
        """A new visitor: forget the pauses the adaptive endpoint learned."""
        self._pauses_ms.clear()

    def reset(self) -> None:
        """Drop any partial utterance (e.g. when the robot starts speaking)."""
        self._vad.reset()
        self._pending = np.zeros(0, dtype=np.float32)
        self._pre_roll.clear()
        self._frames = []
        self._in_speech = False
        self._speech_run = self._silence_run = 0
        self._preview_id = 0

    def feed(self, audio: np.ndarray) -> Iterator[SpeechStarted | UtterancePreview | UtteranceEnded]:
        """Consume audio of any length; yield the events it completes."""
        self._pending = np.concatenate([self._pending, np.asarray(audio, dtype=np.float32).reshape(-1)])
        while len(self._pending) >= FRAME_SAMPLES:
            frame, self._pending = self._pending[:FRAME_SAMPLES], self._pending[FRAME_SAMPLES:]
            yield from self._step(frame)

    def flush(self) -> Iterator[UtteranceEnded]:
        """End of stream: close an open utterance."""
        if self._in_speech:
            yield self._close(cut_at_max=False)

    def _step(self, frame: np.ndarray) -> Iterator[SpeechStarted | UtterancePreview | UtteranceEnded]:
        opts = self.options
        prob = self._vad(frame)
        self.last_probability = prob
        frame_start = self._clock_s
        self._clock_s += FRAME_S
        if not self._in_speech:
            self._pre_roll.append(frame)
            self._speech_run = self._speech_run + 1 if prob >= opts.threshold else 0
            if self._speech_run * FRAME_S * 1000 >= opts.min_speech_ms:
                self._in_speech = True
                self._frames = list(self._pre_roll)
                self._start_s = frame_start - (len(self._frames) - 1) * FRAME_S
                self._learn_gap(self._start_s - self._last_speech_end_s)
                self._last_speech_end_s = self._clock_s
                self._silence_run = 0
                self._pre_roll.clear()
                yield SpeechStarted(self._start_s)
            return
        self._frames.append(frame)
        if prob >= opts.neg_threshold:
            if self._silence_run * FRAME_S * 1000 >= 100:  # a pause between words: speech resumed
                self._pauses_ms.append(self._silence_run * FRAME_S * 1000)
            self._silence_run = 0
            self._preview_id = 0  # speech resumed: an earlier preview is void
            self._last_speech_end_s = self._clock_s
        else:
            self._silence_run += 1
        silence_ms = self._silence_run * FRAME_S * 1000
        if silence_ms >= self.endpoint_ms:
            yield self._close(cut_at_max=False)
        elif self._clock_s - self._start_s >= opts.max_utterance_s:
            yield self._close(cut_at_max=True)
        elif opts.preview_silence_ms > 0 and not self._preview_id and silence_ms >= opts.preview_silence_ms:
            self._previews += 1
            self._preview_id = self._previews
            yield UtterancePreview(self._kept(), self._start_s, self._last_speech_end_s, self._preview_id)

    def _kept(self) -> np.ndarray:
        keep_s = self._last_speech_end_s - self._start_s + 0.2  # keep 200 ms of the trailing silence
        return np.concatenate(self._frames)[: int(keep_s * SAMPLE_RATE_HZ)]

    def _close(self, cut_at_max: bool) -> UtteranceEnded:
        preview = 0 if cut_at_max else self._preview_id
        event = UtteranceEnded(self._kept(), self._start_s, self._last_speech_end_s, cut_at_max, preview)
        self._frames = []
        self._in_speech = False
        self._speech_run = self._silence_run = 0
        self._preview_id = 0
        return event
