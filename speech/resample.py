"""Sample-rate conversion (soxr) shared by the audio sources, the synthesizer and the speakers."""

from __future__ import annotations

import numpy as np

__all__ = ["resample_float", "resample_int16"]


def resample_float(audio: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """Resample float audio in [-1, 1]; returns float32."""
    if from_hz == to_hz or len(audio) == 0:
        return np.asarray(audio, dtype=np.float32)
    import soxr

    return soxr.resample(np.asarray(audio, dtype=np.float32), from_hz, to_hz).astype(np.float32)


def resample_int16(samples: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """Resample int16 PCM; returns int16."""
    if from_hz == to_hz or len(samples) == 0:
        return samples.astype(np.int16, copy=False)
    out = resample_float(samples.astype(np.float32) / 32768.0, from_hz, to_hz)
    return np.clip(out * 32768.0, -32768, 32767).astype(np.int16)
