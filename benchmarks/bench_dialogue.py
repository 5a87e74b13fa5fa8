"""Benchmark the intent model on the held-out questions; print one JSON object.

Trains a fresh model into a temporary folder (to measure training time) unless ``--model-dir``
is given, then reports top-1 accuracy (overall, per style), out-of-scope precision/recall/F1,
the most confused label pairs, single-thread latency per ``predict`` and the model size.

    .venv/bin/python benchmarks/bench_dialogue.py [--model-dir models/dialogue] [--calls 2000]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from dialogue.model import META_FILE, MODEL_FILE, OUT_OF_SCOPE, IntentModel  # noqa: E402

DEFAULT_DATA = REPO_ROOT / "benchmarks" / "data" / "heldout_questions.yaml"


def _load_questions(path: Path) -> list[dict]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [q for q in data.get("questions") or [] if q.get("text") is not None and q.get("intent")]


def evaluate(model: IntentModel, questions: list[dict]) -> dict:
    """Accuracy, per-style accuracy, out-of-scope P/R/F1 and confused pairs."""
    per_style: dict[str, list[bool]] = defaultdict(list)
    confused: Counter[tuple[str, str]] = Counter()
    tp = fp = fn = 0
    correct = []
    unknown_labels = sorted({q["intent"] for q in questions} - set(model.labels))
    for q in questions:
        pred = model.predict(str(q["text"])).intent
        ok = pred == q["intent"]
        correct.append(ok)
        per_style[str(q.get("style", "?"))].append(ok)
        if not ok:
            confused[(q["intent"], pred)] += 1
        is_oos, pred_oos = q["intent"] == OUT_OF_SCOPE, pred == OUT_OF_SCOPE
        tp += is_oos and pred_oos
        fp += pred_oos and not is_oos
        fn += is_oos and not pred_oos
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n_questions": len(questions),
        "accuracy": round(float(np.mean(correct)), 4) if correct else 0.0,
        "accuracy_per_style": {
            s: {"n": len(v), "accuracy": round(float(np.mean(v)), 4)} for s, v in sorted(per_style.items())
        },
        "out_of_scope": {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)},
        "top_confused": [{"true": t, "predicted": p, "count": n} for (t, p), n in confused.most_common(10)],
        "labels_in_data_unknown_to_model": unknown_labels,
    }


def latency(model: IntentModel, texts: list[str], calls: int) -> dict:
    """p50/p95 of one ``predict`` call (single thread), after a warm-up."""
    for t in texts[:50]:
        model.predict(t)
    times = []
    for i in range(calls):
        t0 = time.perf_counter()
        model.predict(texts[i % len(texts)])
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1000
    return {
        "calls": calls,
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "max_ms": round(float(ms.max()), 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--model-dir", type=Path, default=None, help="use this model instead of training one")
    ap.add_argument("--kb-dir", type=Path, default=REPO_ROOT / "dialogue" / "kb")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--lenient-kb", action="store_true", help="train even if the KB fails validation")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    report: dict = {"benchmark": "dialogue_intent", "data": str(args.data)}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model_dir
        if model_dir is None:
            from dialogue.train import train

            model_dir = Path(tmp) / "dialogue"
            t0 = time.perf_counter()
            info = train(args.kb_dir, model_dir, seed=args.seed, quiet=True, strict=not args.lenient_kb)
            report["train_s"] = round(time.perf_counter() - t0, 2)
            report["training"] = {
                k: info[k] for k in ("n_sources", "n_training_texts", "n_labels", "source_counts", "calibration")
            }
        t0 = time.perf_counter()
        model = IntentModel.load(model_dir)
        report["load_s"] = round(time.perf_counter() - t0, 3)
        report["model_bytes"] = (model_dir / MODEL_FILE).stat().st_size
        meta = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
        report["oos_threshold"] = meta["oos_threshold"]
        report["model_sha256"] = meta.get("model_sha256")
        questions = _load_questions(args.data)
        report.update(evaluate(model, questions))
        report["latency"] = latency(model, [str(q["text"]) for q in questions], args.calls)
    report["targets"] = {
        "accuracy": 0.95,
        "p95_ms": 5.0,
        "accuracy_met": report["accuracy"] >= 0.95,
        "p95_met": report["latency"]["p95_ms"] <= 5.0,
    }
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
