"""Vietnamese speech recognition with faster-whisper (CTranslate2), gated against hallucinations.

Whisper pads every input to 30 s, so a 3 s question costs as much as 30 s of audio. By default
the encoder window is trimmed to the utterance plus ``pad_window_s`` of silence (CTranslate2
accepts shorter inputs), which cuts the cost ~3x; when the trimmed decode loops (a known
failure mode of short windows) the utterance is decoded again with the standard 30 s window.

Every result is checked before anyone acts on it: empty text, low average log-probability,
repetition loops and known Whisper hallucinations ("Hãy subscribe cho kênh…") are rejected
with a reason, never answered.
"""

from __future__ import annotations

import logging
import os
import re
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kiosk_protocol.text import fold_diacritics, nfc

__all__ = ["AsrOptions", "AsrResult", "AsrUnavailable", "SpeechRecognizer"]

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
_FULL_WINDOW_FRAMES = 3000  # 30 s of 10 ms mel frames

# Phrases Whisper invents from YouTube captions; matched without diacritics, lowercase.
HALLUCINATION_PATTERNS = (
    r"subscribe",
    r"dang ky kenh",
    r"theo doi kenh",
    r"cam on cac ban da (theo doi|xem|lang nghe)",
    r"hen gap lai cac ban",
    r"like (va|and) share",
    r"ghien mi go",
    r"la la school",
    r"vietsub",
    r"phu de",
    r"amara\.org",
)
_HALLUCINATION_RE = re.compile("|".join(HALLUCINATION_PATTERNS))


class AsrUnavailable(RuntimeError):
    """The recognizer cannot start (missing or broken model)."""


@dataclass
class AsrOptions:
    """Options of :class:`SpeechRecognizer`. ``None`` for ``pad_window_s`` means the 30 s window."""

    model_path: str = "models/whisper-base"
    language: str = "vi"
    compute_type: str = "int8"
    cpu_threads: int = 2
    beam_size: int = 5
    num_hypotheses: int = 5  # N-best list handed to the dialogue (<= beam_size)
    pad_window_s: float | None = 3.0
    min_window_s: float = 4.0
    max_tokens_per_s: float = 20.0  # decode length cap; 12 cut the end of fast real speech (issue 10)
    min_avg_logprob: float = -1.6
    max_no_speech_prob: float = 0.6  # only meaningful for the full 30 s window
    max_compression_ratio: float = 2.4
    min_audio_s: float = 0.3
    max_audio_s: float = 30.0
    initial_prompt: str = ""
    hotwords: str = ""  # faster-whisper's hotwords: words put before the decoder prompt (measure first)


@dataclass
class AsrResult:
    """One utterance's transcript. ``confidence`` is exp(average token log-probability)."""

    text: str
    confidence: float
    no_speech_prob: float
    accepted: bool
    reject_reason: str = ""
    asr_s: float = 0.0
    audio_s: float = 0.0
    window_s: float = 0.0
    fallback_used: bool = False
    hypotheses: list[tuple[str, float]] = field(default_factory=list)  # N-best (text, confidence), top first


def compression_ratio(text: str) -> float:
    """zlib compression ratio: loops such as "a a a a a" compress far better than speech."""
    data = text.encode("utf-8")
    return len(data) / max(1, len(zlib.compress(data)))


class SpeechRecognizer:
    """Load a CTranslate2 Whisper model once; transcribe 16 kHz mono float32 utterances."""

    def __init__(self, options: AsrOptions | None = None) -> None:
        self.options = options or AsrOptions()
        path = Path(self.options.model_path)
        missing = [n for n in ("model.bin", "config.json", "tokenizer.json") if not (path / n).is_file()]
        if missing:
            raise AsrUnavailable(
                f"ASR model files {missing} not found in '{path}'. Fix: run scripts/setup.sh "
                "(assembles faster-whisper base into models/whisper-base), or set asr.model_path "
                "to a CTranslate2 Whisper model folder."
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import ctranslate2  # heavy imports happen here, once
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer

        self._ctranslate2 = ctranslate2
        try:
            self._model = WhisperModel(
                str(path),
                device="cpu",
                compute_type=self.options.compute_type,
                cpu_threads=self.options.cpu_threads,
                local_files_only=True,
            )
        except Exception as exc:  # a truncated or corrupt model.bin
            raise AsrUnavailable(
                f"cannot load the ASR model in '{path}': {exc}. Fix: re-run scripts/setup.sh"
            ) from exc
        self._tokenizer = Tokenizer(
            self._model.hf_tokenizer, True, task="transcribe", language=self.options.language
        )
        self._prompt = self._build_prompt()
        self.model_name = path.name

    def _build_prompt(self) -> list[int]:
        tok = self._tokenizer
        prompt: list[int] = []
        # as faster-whisper does: hotwords (or else the initial prompt) as "previous text"
        previous = (self.options.hotwords or self.options.initial_prompt).strip()
        if previous:
            prompt = [tok.sot_prev, *tok.encode(" " + previous)[-223:]]
        return [*prompt, *tok.sot_sequence, tok.no_timestamps]

    def transcribe(self, samples: np.ndarray) -> AsrResult:
        """Transcribe one utterance (float32, 16 kHz, mono). Never raises on bad audio."""
        started = time.perf_counter()
        audio = np.asarray(samples, dtype=np.float32).reshape(-1)
        audio_s = len(audio) / SAMPLE_RATE_HZ
        if audio_s < self.options.min_audio_s or not np.isfinite(audio).all():
            return AsrResult("", 0.0, 1.0, False, "too short or invalid audio", 0.0, audio_s)
        if audio_s > self.options.max_audio_s:
            audio = audio[: int(self.options.max_audio_s * SAMPLE_RATE_HZ)]
        features = self._model.feature_extractor(audio)
        hypotheses, no_speech, window_s = self._decode(features, self.options.pad_window_s, audio_s)
        fallback = False
        if self.options.pad_window_s is not None and self._looks_looped(hypotheses[0][0]):
            hypotheses, no_speech, window_s = self._decode(features, None, audio_s)
            fallback = True
        text, confidence = hypotheses[0]
        hypotheses = [h for h in hypotheses if h[0] and not self._looks_looped(h[0])] or hypotheses[:1]
        result = AsrResult(text, confidence, no_speech, True, "", 0.0, audio_s, window_s, fallback, hypotheses)
        result.accepted, result.reject_reason = self.check(result)
        result.asr_s = time.perf_counter() - started
        return result

    def _decode(
        self, features: np.ndarray, pad_window_s: float | None, audio_s: float
    ) -> tuple[list[tuple[str, float]], float, float]:
        """Beam-search decode: the N-best (text, confidence) list, no-speech probability, window in s."""
        frames = features.shape[-1]
        if pad_window_s is None:
            window = _FULL_WINDOW_FRAMES
        else:
            wanted_s = max(self.options.min_window_s, audio_s + pad_window_s)
            window = min(_FULL_WINDOW_FRAMES, int(np.ceil(wanted_s)) * 100)
        batch = np.zeros((1, features.shape[0], window), dtype=np.float32)
        used = min(frames, window)
        batch[0, :, :used] = features[:, :used]
        encoded = self._model.model.encode(self._ctranslate2.StorageView.from_array(batch), to_cpu=False)
        # the prompt (hotwords / initial prompt) counts towards CTranslate2's max_length
        max_length = int(min(448, len(self._prompt) + min(224, 10 + self.options.max_tokens_per_s * audio_s)))
        out = self._model.model.generate(
            encoded,
            [self._prompt],
            beam_size=self.options.beam_size,
            num_hypotheses=max(1, min(self.options.num_hypotheses, self.options.beam_size)),
            return_scores=True,
            return_no_speech_prob=True,
            max_length=max_length,
            suppress_blank=True,
            suppress_tokens=[-1],
        )[0]
        hypotheses = []
        for ids, score in zip(out.sequences_ids, out.scores, strict=True):
            text = nfc(self._tokenizer.decode([t for t in ids if t < self._tokenizer.eot])).strip()
            hypotheses.append((text, min(1.0, float(np.exp(score)))))
        return hypotheses or [("", 0.0)], float(out.no_speech_prob), window / 100.0

    def _looks_looped(self, text: str) -> bool:
        return compression_ratio(text) > self.options.max_compression_ratio

    def check(self, result: AsrResult) -> tuple[bool, str]:
        """Accept a result, or reject it with the reason (hallucination, loop, low confidence, ...)."""
        full_window = result.window_s >= 30.0
        text = result.text
        folded = fold_diacritics(text).lower()
        if not re.search(r"\w", text):
            return False, "no speech recognized"
        if _HALLUCINATION_RE.search(folded):
            return False, "known Whisper hallucination"
        if self._looks_looped(text):
            return False, "repetition loop"
        if np.log(max(result.confidence, 1e-9)) < self.options.min_avg_logprob:
            return False, f"low confidence ({result.confidence:.2f})"
        if full_window and result.no_speech_prob > self.options.max_no_speech_prob:
            return False, f"no speech (p={result.no_speech_prob:.2f})"
        return True, ""
