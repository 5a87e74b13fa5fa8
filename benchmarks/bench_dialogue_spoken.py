"""Spoken-question benchmark: espeak-ng speech -> the kiosk's ASR -> intent model; print one JSON object.

Each question of ``benchmarks/data/spoken_questions.yaml`` is spoken with ``espeak-ng -v vi``,
recognized by :class:`speech.asr.SpeechRecognizer` and classified: from the top transcript
alone, and from the recognizer's N-best list (what the kiosk does); both are compared with the
accuracy on the clean text. Questions whose transcript the recognizer rejects count as wrong unless the expected
intent is out_of_scope.

    .venv/bin/python benchmarks/bench_dialogue_spoken.py [--model-dir models/dialogue] [--speed 150]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from dialogue.asr_data import DEFAULT_MODEL, recognizer, speak  # noqa: E402
from dialogue.model import OUT_OF_SCOPE, IntentModel  # noqa: E402

DEFAULT_DATA = REPO_ROOT / "benchmarks" / "data" / "spoken_questions.yaml"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--model-dir", type=Path, default=REPO_ROOT / "models" / "dialogue")
    ap.add_argument("--asr-model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--speed", type=int, default=150, help="espeak-ng speed (words per minute)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    questions = (yaml.safe_load(args.data.read_text(encoding="utf-8")) or {}).get("questions") or []
    questions = [q for q in questions if q.get("text") and q.get("intent")][: args.limit]
    model = IntentModel.load(args.model_dir)
    t0 = time.perf_counter()
    asr = recognizer(args.asr_model, beam_size=5, cpu_threads=args.threads)
    load_s = time.perf_counter() - t0

    clean_ok, asr_ok, nbest_ok, asr_times, audio_s, rejected = [], [], [], [], [], 0
    for q in questions:
        expected = q["intent"]
        clean_ok.append(model.predict(q["text"]).intent == expected)
        audio = speak(q["text"], args.speed)
        audio_s.append(len(audio) / 16000)
        t0 = time.perf_counter()
        result = asr.transcribe(audio)
        asr_times.append(time.perf_counter() - t0)
        if not result.accepted:
            rejected += 1
            asr_ok.append(expected == OUT_OF_SCOPE)
            nbest_ok.append(expected == OUT_OF_SCOPE)
            continue
        asr_ok.append(model.predict(result.text).intent == expected)
        nbest_ok.append(model.predict_hypotheses(result.hypotheses).intent == expected)

    times = np.array(asr_times)
    report = {
        "benchmark": "dialogue_spoken",
        "data": str(args.data),
        "n_questions": len(questions),
        "recognizer": "speech.asr.SpeechRecognizer",
        "espeak_speed_wpm": args.speed,
        "accuracy_clean_text": round(float(np.mean(clean_ok)), 4) if clean_ok else 0.0,
        "accuracy_asr_text": round(float(np.mean(asr_ok)), 4) if asr_ok else 0.0,
        "accuracy_asr_nbest": round(float(np.mean(nbest_ok)), 4) if nbest_ok else 0.0,
        "asr_num_hypotheses": asr.options.num_hypotheses,
        "asr_rejected": rejected,
        "asr_load_s": round(load_s, 2),
        "asr_s_per_question": {
            "mean": round(float(times.mean()), 3) if len(times) else 0.0,
            "p50": round(float(np.percentile(times, 50)), 3) if len(times) else 0.0,
            "p95": round(float(np.percentile(times, 95)), 3) if len(times) else 0.0,
        },
        "audio_s_mean": round(float(np.mean(audio_s)), 2) if audio_s else 0.0,
        "model_sha256": model.meta.get("model_sha256"),
    }
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
