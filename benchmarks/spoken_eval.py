"""Shared pieces of the spoken benchmarks: the per-accent clip set and how a reply is judged.

Clips: every held-out question is spoken once per accent family (Northern ``vi``, Central
``vi-vn-x-central``, Southern ``vi-vn-x-south``); the variant (base, +f4, +m2), the speed (130 or
165 words per minute) and the effect (clean, light white noise at 25 dB SNR, light room reverb)
rotate with the question's index, so each accent gets every speed, variant and effect. None of
these (voice, speed, effect) renditions, nor any of the questions, is used by a training step
(gen-asr-data speaks training sentences only, with its own renditions).

Outcomes of one spoken question, judged on the kiosk's reply:

* ``right``: the right procedure answered (or the right act / a refusal for out-of-scope);
* ``wrong``: a *confident wrong answer*: another procedure's card, a procedure card for a
  question that was no procedure, or a hand-over claiming the citizen asked for staff;
* ``confirm_right`` / ``confirm_other``: a confirmation or candidate list that holds / lacks
  the right procedure (safe: nothing wrong is asserted);
* ``refusal``: "not understood" / out of scope (safe, but no help);
* ``silence``: no reply at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from kiosk_protocol.text import fold_key

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "benchmarks" / "data" / "spoken_questions.yaml"
ACCENTS = {"northern": "vi", "central": "vi-vn-x-central", "southern": "vi-vn-x-south"}
VARIANTS = ("", "+f4", "+m2")
SPEEDS_WPM = (130, 165)
EFFECTS = ("clean", "noise", "reverb")
OUTCOMES = ("right", "wrong", "confirm_right", "confirm_other", "refusal", "silence")
SAMPLE_RATE_HZ = 16000


@dataclass
class Clip:
    """One spoken held-out question."""

    name: str
    text: str
    intent: str
    accent: str
    voice: str
    speed_wpm: int
    effect: str
    samples: np.ndarray  # float32 16 kHz, with 0.3 s of silence before


def load_questions(quick: bool) -> list[dict]:
    """The held-out spoken questions; ``quick``: a stratified third (every third question)."""
    questions = (yaml.safe_load(DATA.read_text(encoding="utf-8")) or {})["questions"]
    return questions[::3] if quick else questions


def render(text: str, voice: str, speed_wpm: int, effect: str, seed: int) -> np.ndarray:
    from dialogue.asr_data import apply_effect, speak

    audio = apply_effect(speak(text, speed_wpm, voice), {"clean": None, "noise": 25.0}.get(effect, effect), seed)
    return np.concatenate([np.zeros(int(0.3 * SAMPLE_RATE_HZ), np.float32), audio]).astype(np.float32)


def build_clips(questions: list[dict], accents: list[str]) -> list[Clip]:
    clips = []
    for accent in accents:
        a_index = list(ACCENTS).index(accent)  # the same clips whichever accents are asked for
        for i, q in enumerate(questions):
            k = i + a_index
            voice = ACCENTS[accent] + VARIANTS[k % len(VARIANTS)]
            speed = SPEEDS_WPM[(i // len(VARIANTS)) % len(SPEEDS_WPM)]
            effect = EFFECTS[(i + 2 * a_index) % len(EFFECTS)]
            seed = int(hashlib.sha256(f"{accent}/{i}".encode()).hexdigest()[:8], 16)
            samples = render(q["text"], voice, speed, effect, seed)
            clips.append(Clip(f"{accent}_{i:03d}", q["text"], q["intent"], accent, voice, speed, effect, samples))
    return clips


def write_wav(path: Path, samples: np.ndarray) -> Path:
    tmp = path.with_suffix(".part")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE_HZ)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    tmp.replace(path)
    return path


def judge(expected: str, reply: dict | None, procedures: set[str]) -> str:
    """One of :data:`OUTCOMES` for a reply dict (``kiosk_protocol.Reply`` fields)."""
    if reply is None:
        return "silence"
    screen = reply.get("reply_screen") or {}
    kind = screen.get("type")
    pid = reply.get("procedure_id")
    intent = reply.get("intent")
    if reply.get("escalate") and reply.get("escalation_reason") == "visitor_request":
        return "right" if expected == "call_staff" else "wrong"
    if kind == "procedure" and pid:
        if expected in procedures:
            return "right" if pid == expected else "wrong"
        return "right" if intent == expected else "wrong"
    if kind in ("clarify", "confirm"):
        cands = [c.get("procedure_id") for c in screen.get("candidates") or []]
        return "confirm_right" if expected in cands else "confirm_other"
    if expected == "out_of_scope":
        return "right"
    if expected not in procedures and intent == expected:
        return "right"
    return "refusal"


def summarize(rows: list[dict], procedures: set[str]) -> dict:
    """Counts and rates per accent, for all questions and for procedure questions only."""
    out: dict = {}
    for accent in sorted({r["accent"] for r in rows}):
        mine = [r for r in rows if r["accent"] == accent]
        entry = {}
        for label, subset in (("all", mine), ("procedures", [r for r in mine if r["intent"] in procedures])):
            n = len(subset)
            counts = {o: sum(r["outcome"] == o for r in subset) for o in OUTCOMES}
            entry[label] = {"n": n, **counts,
                            "right_rate": round(counts["right"] / n, 4) if n else 0.0,
                            "wrong_rate": round(counts["wrong"] / n, 4) if n else 0.0,
                            "right_or_confirm_right_rate":
                                round((counts["right"] + counts["confirm_right"]) / n, 4) if n else 0.0}
        lat = [r["latency_s"] for r in mine if r.get("latency_s") is not None]
        if lat:
            entry["end_of_speech_to_first_audio_s"] = percentiles(lat)
        out[accent] = entry
    n = len(rows)
    out["overall"] = {"n": n, **{o: sum(r["outcome"] == o for r in rows) for o in OUTCOMES}}
    out["overall"]["wrong_rate"] = round(out["overall"]["wrong"] / n, 4) if n else 0.0
    out["overall"]["right_rate"] = round(out["overall"]["right"] / n, 4) if n else 0.0
    lat = [r["latency_s"] for r in rows if r.get("latency_s") is not None]
    if lat:
        out["overall"]["end_of_speech_to_first_audio_s"] = percentiles(lat)
    return out


def percentiles(values: list[float]) -> dict:
    arr = np.asarray(values, dtype=float)
    return {"p50": round(float(np.percentile(arr, 50)), 3), "p95": round(float(np.percentile(arr, 95)), 3),
            "mean": round(float(arr.mean()), 3), "n": len(values)}


def words(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", text.lower()).split()


def edit_distance(a: list[str], b: list[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def injected(hotwords: str, reference: str, hypothesis: str) -> list[str]:
    """Hotword phrases in the transcript that the speaker did not say."""
    ref, hyp = f" {fold_key(reference)} ", f" {fold_key(hypothesis)} "
    phrases = [fold_key(p) for p in re.split(r"[,;]", hotwords) if fold_key(p)]
    return [p for p in phrases if f" {p} " in hyp and f" {p} " not in ref]


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class AsrCache:
    """ASR results per (audio, recognizer options): dialogue levers are re-measured without re-recognizing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    @staticmethod
    def key(samples: np.ndarray, options_tag: str) -> str:
        return hashlib.sha256(samples.tobytes() + options_tag.encode()).hexdigest()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, ensure_ascii=False), encoding="utf-8")
