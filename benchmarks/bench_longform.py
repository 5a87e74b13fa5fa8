"""Long typed questions (newspaper / ministry Q&A style) through the dialogue engine; prints one JSON object.

``benchmarks/data/longform_questions.yaml``: several sentences of context, relatives, formal
wording, sometimes two procedures. Each question is a new visit, typed on the screen. Outcomes as
in ``spoken_eval.judge``; a question's ``also`` procedures count as right too.

    .venv/bin/python benchmarks/bench_longform.py [--model-dir models/dialogue]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from spoken_eval import OUTCOMES, judge  # noqa: E402

DATA = REPO / "benchmarks" / "data" / "longform_questions.yaml"


def main(argv: list[str] | None = None) -> int:
    from dialogue import DialogueEngine

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=REPO / "models" / "dialogue")
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args(argv)
    engine = DialogueEngine.load(model_dir=args.model_dir)
    procedures = set(engine.kb.procedures)
    questions = yaml.safe_load(args.data.read_text(encoding="utf-8"))["questions"]
    rows, times = [], []
    for i, q in enumerate(questions):
        started = time.perf_counter()
        reply = engine.respond(q["text"], session_id=f"long{i}", source="screen").as_dict()
        times.append((time.perf_counter() - started) * 1000)
        outcomes = [judge(p, reply, procedures) for p in [q["intent"], *(q.get("also") or [])]]
        best = min(outcomes, key=lambda o: ("right", "confirm_right", "refusal", "confirm_other", "wrong",
                                            "silence").index(o))
        rows.append({"intent": q["intent"], "outcome": best, "got": reply["procedure_id"] or reply["intent"],
                     "type": reply["reply_screen"].get("type"),
                     "candidates": [c["procedure_id"] for c in reply["reply_screen"].get("candidates") or []]})
    n = len(rows)
    counts = {o: sum(r["outcome"] == o for r in rows) for o in OUTCOMES}
    times.sort()
    report = {"benchmark": "longform_typed", "n": n, **counts,
              "right_rate": round(counts["right"] / n, 4), "wrong_rate": round(counts["wrong"] / n, 4),
              "right_or_confirm_right_rate": round((counts["right"] + counts["confirm_right"]) / n, 4),
              "respond_ms_p50": round(times[n // 2], 2), "respond_ms_p95": round(times[int(n * 0.95)], 2),
              "load_average": [round(x, 2) for x in os.getloadavg()], "rows": rows}
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
