"""Real recognition errors for training: speak training sentences, run the ASR, keep its output.

``python -m dialogue gen-asr-data`` calls :func:`main`. A seeded sample of training sentences is
spoken with espeak-ng in several renditions (Northern, Southern and Central Vietnamese voices with
male/female/elderly variants, several speeds; some with light seeded white noise or light room
reverberation), resampled to 16 kHz and transcribed by
the kiosk's recognizer (faster-whisper base: language vi, int8, temperature 0, beam 5, no
initial prompt); the pairs go to
``dialogue/kb/asr_transcripts.yaml`` (``{items: [{intent, text_clean, text_asr}]}``), which
training reads. Clips are decoded one by one: joining
several clips into one Whisper window was measured no faster here and caused repetition loops.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import random
import shutil
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from tqdm import tqdm

from kiosk_protocol.text import nfc
from speech.resample import resample_float
from speech.tts import wav_bytes_to_int16

__all__ = [
    "AsrDataOptions", "Clip", "add_noise", "add_reverb", "apply_effect", "generate", "main", "recognizer", "speak",
]

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "dialogue" / "kb" / "asr_transcripts.yaml"
DEFAULT_MODEL = REPO_ROOT / "models" / "whisper-base"
SAMPLE_RATE_HZ = 16000


@dataclass
class AsrDataOptions:
    """Generation settings."""

    kb_dir: Path = REPO_ROOT / "dialogue" / "kb"
    out_path: Path = DEFAULT_OUT
    model_path: Path = DEFAULT_MODEL
    seed: int = 13
    per_procedure: int = 12  # sentences per procedure intent
    per_act: int = 4  # sentences per dialogue act
    n_out_of_scope: int = 30
    # (espeak-ng voice, speed in words per minute, effect: None, a white-noise SNR in dB, or
    # "reverb"): each sentence gets ``renditions_per_sentence`` of these, rotating through the
    # list, so all of them occur. The benchmark's variants (+f4, +m2) are kept out on purpose.
    renditions: tuple[tuple[str, int, float | str | None], ...] = (
        ("vi", 150, None),
        ("vi-vn-x-south+m3", 135, None),
        ("vi-vn-x-central+f2", 170, 30.0),
        ("vi+grandpa", 125, None),
        ("vi-vn-x-south+f3", 160, 25.0),
        ("vi+m7", 175, None),
        ("vi-vn-x-central", 140, None),
        ("vi-vn-x-south", 150, "reverb"),
        ("vi+f3", 140, "reverb"),
        ("vi-vn-x-central+m3", 160, "reverb"),
        ("vi-vn-x-south+m7", 175, 28.0),
    )
    renditions_per_sentence: int = 4
    beam_size: int = 5
    cpu_threads: int = 2
    limit: int | None = None  # at most this many clips (for a quick measurement)


@dataclass
class Clip:
    """One spoken training sentence."""

    intent: str
    text: str
    voice: str
    speed_wpm: int
    samples: np.ndarray = field(repr=False)


def speak(text: str, speed_wpm: int, voice: str = "vi") -> np.ndarray:
    """Synthesize ``text`` with espeak-ng (a Vietnamese voice) as float32 mono 16 kHz samples."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng not found; install it with `apt-get install espeak-ng`")
    wav_bytes = subprocess.run(
        [exe, "-v", voice, "-s", str(speed_wpm), "--stdout", text], check=True, capture_output=True
    ).stdout
    pcm, rate = wav_bytes_to_int16(wav_bytes)
    return resample_float(pcm.astype(np.float32) / 32768.0, rate, SAMPLE_RATE_HZ)


def add_noise(audio: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """``audio`` plus seeded white noise at ``snr_db`` below the signal power."""
    power = float(np.mean(audio**2)) or 1e-8
    noise = np.random.default_rng(seed).standard_normal(audio.shape[0]).astype(np.float32)
    return (audio + noise * np.float32(np.sqrt(power / 10 ** (snr_db / 10)))).astype(np.float32)


def add_reverb(audio: np.ndarray, seed: int, rt60_s: float = 0.3, wet: float = 0.25) -> np.ndarray:
    """Light room reverberation: a seeded exponentially decaying noise impulse response."""
    rng = np.random.default_rng(seed)
    n = int(rt60_s * SAMPLE_RATE_HZ)
    t = np.arange(n) / SAMPLE_RATE_HZ
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s)
    ir[0] = 0.0
    ir = ir / (np.sqrt(np.sum(ir**2)) or 1.0)
    tail = np.convolve(audio, ir)[: len(audio)].astype(np.float32)
    out = (1 - wet) * audio + wet * tail
    peak = float(np.max(np.abs(out))) or 1.0
    return (out * min(1.0, 0.95 / peak)).astype(np.float32)


def apply_effect(audio: np.ndarray, effect: float | str | None, seed: int) -> np.ndarray:
    """None: unchanged; a number: white noise at that SNR (dB); "reverb": light reverberation."""
    if effect == "reverb":
        return add_reverb(audio, seed)
    if effect is not None:
        return add_noise(audio, float(effect), seed)
    return audio


def recognizer(model_path: Path, beam_size: int, cpu_threads: int):
    """The kiosk's own recognizer (language vi, int8, temperature 0, trimmed window, no prompt)."""
    from speech.asr import AsrOptions, SpeechRecognizer

    return SpeechRecognizer(AsrOptions(model_path=str(model_path), beam_size=beam_size, cpu_threads=cpu_threads))


def _is_loop(text: str, clean: str) -> bool:
    """True for Whisper repetition loops: far longer than the sentence, or one word 4+ times in a row."""
    words = text.lower().split()
    if len(words) > 2 * len(clean.split()) + 4:
        return True
    run = 1
    for a, b in itertools.pairwise(words):
        run = run + 1 if a.strip(",.?!") == b.strip(",.?!") else 1
        if run >= 4:
            return True
    return False


def _is_garbage(text: str) -> bool:
    """True for transcripts that are mostly digits or punctuation ("1, 2, 1.", "7-0-0-0"): hallucinations."""
    chars = [c for c in text if not c.isspace()]
    return sum(c.isalpha() for c in chars) < 0.5 * len(chars)


def _sample_sentences(opts: AsrDataOptions) -> list[tuple[str, str]]:
    """Seeded (intent, sentence) sample: examples of every procedure, a few acts and out-of-scope."""
    from dialogue.model import OUT_OF_SCOPE
    from dialogue.train import load_training_sources

    sources, _ = load_training_sources(opts.kb_dir, strict=False)
    by_label: dict[str, list[str]] = defaultdict(list)
    for s in sources:
        if s.augment and "/name" not in s.group:
            by_label[s.label].append(s.text)
    acts_data = yaml.safe_load((opts.kb_dir / "acts.yaml").read_text(encoding="utf-8")) or {}
    acts = set(acts_data.get("acts") or {})
    rng = random.Random(opts.seed)
    chosen: list[tuple[str, str]] = []
    for label in sorted(by_label):
        texts = sorted(set(by_label[label]))
        n = opts.per_act if label in acts else opts.per_procedure
        n = opts.n_out_of_scope if label == OUT_OF_SCOPE else n
        chosen += [(label, t) for t in rng.sample(texts, k=min(n, len(texts)))]
    return chosen


def generate(opts: AsrDataOptions) -> dict:
    """Speak, transcribe and write the YAML file; return a summary."""
    t0 = time.perf_counter()
    sentences = _sample_sentences(opts)
    n_r = len(opts.renditions)
    pairs = [
        (intent, text, opts.renditions[(i * opts.renditions_per_sentence + k) % n_r])
        for i, (intent, text) in enumerate(sentences)
        for k in range(min(opts.renditions_per_sentence, n_r))
    ]
    if opts.limit is not None:
        pairs = pairs[: opts.limit]
    clips = []
    # progress bars on a terminal, silent when the output is not one (CI, logs)
    for j, (intent, text, (voice, speed, effect)) in enumerate(tqdm(pairs, desc="speaking", unit="clip",
                                                                    disable=None)):
        audio = apply_effect(speak(text, speed, voice), effect, opts.seed * 100003 + j)
        clips.append(Clip(intent, text, voice, speed, audio))
    t_tts = time.perf_counter() - t0
    asr = recognizer(opts.model_path, opts.beam_size, opts.cpu_threads)
    t1 = time.perf_counter()
    outputs: list[tuple[str, bool]] = []
    for clip in tqdm(clips, desc="recognizing", unit="clip", disable=None):
        result = asr.transcribe(clip.samples)
        outputs.append((result.text, result.accepted))
    t_asr = time.perf_counter() - t1
    items = []
    dropped = 0
    for c, (out, accepted) in zip(clips, outputs, strict=True):
        if not accepted or not out.strip() or _is_loop(out, c.text) or _is_garbage(out):
            dropped += 1  # rejected by the recognizer's gate, empty, looped or no words: no training text
            continue
        items.append(
            {"intent": c.intent, "text_clean": c.text, "text_asr": nfc(out), "voice": f"{c.voice}@{c.speed_wpm}"}
        )
    header = (
        "# Generated by `python -m dialogue gen-asr-data` (dialogue/asr_data.py): training sentences\n"
        f"# spoken with espeak-ng, {opts.renditions_per_sentence} renditions each from (voice, wpm, SNR dB or reverb)\n"
        f"# {[list(r) for r in opts.renditions]},\n"
        "# recognized by faster-whisper base\n"
        f"# (int8, language vi, temperature 0, beam {opts.beam_size}, no initial prompt), seed {opts.seed}.\n"
        "# Do not edit by hand; regenerate instead.\n"
    )
    opts.out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = opts.out_path.with_suffix(".yaml.tmp")
    tmp.write_text(
        header + yaml.safe_dump({"items": items}, allow_unicode=True, sort_keys=False, width=200),
        encoding="utf-8",
    )
    tmp.replace(opts.out_path)
    return {
        "sentences": len(sentences),
        "clips": len(clips),
        "items_written": len(items),
        "dropped_rejected_empty_or_loop": dropped,
        "recognizer": "speech.asr.SpeechRecognizer",
        "tts_s": round(t_tts, 1),
        "asr_s": round(t_asr, 1),
        "asr_s_per_clip": round(t_asr / max(1, len(clips)), 3),
        "out": str(opts.out_path),
    }


def main(argv: list[str] | None = None) -> int:
    """CLI entry (``python -m dialogue gen-asr-data [options]``)."""
    d = AsrDataOptions()
    ap = argparse.ArgumentParser(prog="python -m dialogue gen-asr-data", description=__doc__.splitlines()[0])
    ap.add_argument("--kb-dir", type=Path, default=d.kb_dir, help="KB root holding procedures/ and acts.yaml")
    ap.add_argument("--out", type=Path, default=d.out_path, help="output YAML file")
    ap.add_argument("--model", type=Path, default=d.model_path, help="faster-whisper model folder")
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--per-procedure", type=int, default=d.per_procedure, help="sentences per procedure")
    ap.add_argument("--per-act", type=int, default=d.per_act, help="sentences per dialogue act")
    ap.add_argument("--out-of-scope", type=int, default=d.n_out_of_scope, help="out-of-scope sentences")
    ap.add_argument("--renditions", type=int, default=d.renditions_per_sentence, help="spoken versions per sentence")
    ap.add_argument("--threads", type=int, default=d.cpu_threads, help="CPU threads for the ASR")
    ap.add_argument("--limit", type=int, default=None, help="at most N clips (quick measurement)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    opts = AsrDataOptions(
        kb_dir=args.kb_dir,
        out_path=args.out,
        model_path=args.model,
        seed=args.seed,
        per_procedure=args.per_procedure,
        per_act=args.per_act,
        n_out_of_scope=args.out_of_scope,
        renditions_per_sentence=args.renditions,
        cpu_threads=args.threads,
        limit=args.limit,
    )
    if not (opts.model_path / "model.bin").is_file():
        log.error("ASR model not found in %s; assemble it (setup script) or pass --model", opts.model_path)
        return 2
    summary = generate(opts)
    log.info("ASR data: %s", summary)
    print(yaml.safe_dump(summary, allow_unicode=True, sort_keys=False).strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
