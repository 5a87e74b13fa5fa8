"""Cheap checks for audio hardware before PortAudio probes it.

PortAudio's probing of ALSA and JACK on a machine without a sound card prints dozens of lines
to stderr every time; the microphone node probes every few seconds. When the kernel lists no
sound card at all, say so directly instead.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["no_sound_card_reason"]

_CARDS = Path("/proc/asound/cards")


def no_sound_card_reason(cards_file: Path = _CARDS) -> str | None:
    """A reason when this Linux machine certainly has no sound card, else None (probe it)."""
    if not cards_file.parent.exists() and Path("/proc/version").exists():
        return "no sound card: the kernel has no ALSA devices (/proc/asound missing)"
    try:
        text = cards_file.read_text()
    except OSError:
        return None
    if "no soundcards" in text or not text.strip():
        return "no sound card: /proc/asound/cards lists none"
    return None
