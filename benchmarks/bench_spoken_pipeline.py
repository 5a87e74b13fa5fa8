"""Per-accent spoken benchmark over the whole kiosk; prints one JSON object.

Every held-out question of ``benchmarks/data/spoken_questions.yaml`` is spoken once per accent
family with espeak-ng (variants, two speeds, clean / light noise / light reverb: see
``benchmarks/spoken_eval.py``) and judged right / wrong / confirm / refusal / silence.

* ``--mode pipeline`` (default): the running kiosk (``kiosk_bringup``: microphone → VAD → ASR →
  dialogue → TTS over DDS, real time, simulated microphone folder); the answer is read from
  ``dialogue/reply`` and the latency (end of speech → first reply audio) from ``speech/spoken``.
  Each question is a new visit (``end_session`` first). ~15-25 min on 2 busy cores.
* ``--mode core``: the same cores in this process (VAD segmenter, recognizer, dialogue engine),
  with ASR results cached in ``var/bench_cache/`` so a dialogue lever (a model, a threshold) is
  re-measured in seconds. No latency figure.
* ``--quick``: every third question (20 × 3 accents): ~6 min in pipeline mode.

    .venv/bin/python benchmarks/bench_spoken_pipeline.py [--mode pipeline|core] [--quick]
        [--accents northern,central,southern] [--model-dir models/dialogue] [--out result.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("KIOSK_ROOT", str(REPO))

from spoken_eval import (  # noqa: E402
    ACCENTS,
    SAMPLE_RATE_HZ,
    AsrCache,
    build_clips,
    injected,
    judge,
    load_average,
    load_questions,
    summarize,
    write_wav,
)


def procedure_ids() -> set[str]:
    from dialogue.kb import load_knowledge_base

    return set(load_knowledge_base().procedures)


# --------------------------------------------------------------------------- core mode


def run_core(clips, model_dir: Path, asr_model: Path, procedures: set[str], hotwords: str = "",
             cache_path: Path = REPO / "var" / "bench_cache" / "asr_spoken.json",
             answer_threshold: float | None = None) -> list[dict]:
    from dialogue import DialogueEngine
    from speech.asr import AsrOptions, SpeechRecognizer
    from speech.vad import UtteranceEnded, VadSegmenter

    try:
        from dialogue.session import EngineOptions

        engine = DialogueEngine.load(model_dir=model_dir,
                                     options=EngineOptions(answer_threshold_speech=answer_threshold))
    except ImportError:  # the code before issue 10
        engine = DialogueEngine.load(model_dir=model_dir)
    options = AsrOptions(model_path=str(asr_model), hotwords=hotwords) if hotwords else AsrOptions(
        model_path=str(asr_model))
    tag = json.dumps(vars(options), sort_keys=True, default=str)  # every option: a change re-recognizes
    cache = AsrCache(cache_path)
    asr = None
    rows = []
    for n, clip in enumerate(clips):
        segmenter = VadSegmenter()
        audio = np.concatenate([clip.samples, np.zeros(SAMPLE_RATE_HZ, np.float32)])
        events = [e for e in segmenter.feed(audio) if isinstance(e, UtteranceEnded)] + list(segmenter.flush())
        replies, transcripts, dialogue_ms = [], [], []
        session = f"bench{n}"
        for event in events:
            key = AsrCache.key(event.samples, tag)
            if key not in cache.data:
                if asr is None:
                    asr = SpeechRecognizer(options)
                r = asr.transcribe(event.samples)
                cache.data[key] = {"text": r.text, "hypotheses": r.hypotheses, "accepted": r.accepted,
                                   "reject_reason": r.reject_reason, "asr_s": r.asr_s}
            t = cache.data[key]
            transcripts.append(t)
            started = time.perf_counter()
            if hasattr(engine, "hear"):
                reply = engine.hear(t["text"], [tuple(h) for h in t["hypotheses"]], accepted=t["accepted"],
                                    reject_reason=t["reject_reason"], session_id=session)
            else:  # the code before issue 10: a rejected transcript gets no reply
                reply = engine.respond(t["text"], session_id=session,
                                       hypotheses=[tuple(h) for h in t["hypotheses"]]) if t["accepted"] else None
            dialogue_ms.append((time.perf_counter() - started) * 1000)
            if reply is not None:
                replies.append(reply.as_dict())
        rows.append(_row(clip, replies, transcripts, None, procedures, len(events)))
        rows[-1]["dialogue_ms"] = dialogue_ms
        if hotwords:
            rows[-1]["injected"] = [p for t in transcripts for p in injected(hotwords, clip.text, t.get("text", ""))]
    cache.save()
    return rows


def _row(clip, replies: list[dict], transcripts: list[dict], latency_s, procedures, n_utterances) -> dict:
    outcomes = [judge(clip.intent, r, procedures) for r in replies]
    outcome = "wrong" if "wrong" in outcomes else (outcomes[-1] if outcomes else "silence")
    return {
        "clip": clip.name, "accent": clip.accent, "voice": clip.voice, "speed_wpm": clip.speed_wpm,
        "effect": clip.effect, "intent": clip.intent, "text": clip.text, "outcome": outcome,
        "utterances": n_utterances, "heard": [t.get("text", "") for t in transcripts],
        "replies": [{"intent": r.get("intent"), "procedure_id": r.get("procedure_id"),
                     "type": (r.get("reply_screen") or {}).get("type"), "voice": r.get("reply_voice", "")[:120],
                     "escalation_reason": r.get("escalation_reason", "")} for r in replies],
        "latency_s": latency_s,
    }


# --------------------------------------------------------------------------- pipeline mode


def run_pipeline(clips, tmp: Path, procedures: set[str], overrides: dict) -> list[dict]:
    from kiosk_protocol import UserInput, encode
    from kiosk_robot.harness import Kiosk, TopicRecorder, node_active

    os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(30, 200)))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    namespace = "spk"
    params = {"microphone": {"wav_speed": 1.0}}
    for node, values in overrides.items():
        params.setdefault(node, {}).update(values)
    kiosk = Kiosk(tmp, namespace, overrides=params)
    recorder = TopicRecorder(namespace)
    rows = []
    try:
        names = ("speech/microphone", "speech/asr", "dialogue/dialogue", "speech/tts")
        recorder.wait_for(lambda: all(node_active(recorder, namespace, n) for n in names), 240, "nodes active")
        time.sleep(1.0)
        for clip in clips:
            recorder.publish("ui/input", encode(UserInput(action="end_session")))
            time.sleep(0.3)
            counts = {t: len(recorder.get(t)) for t in ("audio/utterance", "speech/transcript", "dialogue/reply",
                                                         "speech/spoken")}
            fname = f"{clip.name}.wav"
            write_wav(kiosk.mic_dir / fname, clip.samples)
            dropped = time.monotonic()
            audio_s = len(clip.samples) / SAMPLE_RATE_HZ
            deadline = dropped + audio_s + 20.0
            while True:
                time.sleep(0.1)
                utts = [u for u in recorder.get("audio/utterance")[counts["audio/utterance"]:]
                        if u["source"] == fname and not u.get("speculative")]  # finals only
                ids = {u["utterance_id"] for u in utts}
                trs = [t for t in recorder.get("speech/transcript")[counts["speech/transcript"]:]
                       if t["utterance_id"] in ids]
                reps = [r for r in recorder.get("dialogue/reply")[counts["dialogue/reply"]:] if r["in_reply_to"] in ids]
                played = time.monotonic() - dropped > audio_s + 1.6
                settled = played and len(trs) == len(utts) and (
                    len(reps) >= sum(t["accepted"] for t in trs) and (reps or not utts
                                                                      or time.monotonic() - dropped > audio_s + 4))
                if settled or time.monotonic() > deadline:
                    break
            latency = None
            if reps:
                first_id = reps[0]["reply_id"]
                spoken = _wait(recorder, lambda c=counts["speech/spoken"], rid=first_id: next(
                    (s for s in recorder.get("speech/spoken")[c:] if s["reply_id"] == rid), None), 5.0)
                if spoken and spoken.get("end_of_speech_unix_s"):
                    latency = spoken["first_audio_unix_s"] - spoken["end_of_speech_unix_s"]
            _wait(recorder, lambda: not (recorder.get("speech/robot_speaking") or [False])[-1], 10.0)
            rows.append(_row(clip, reps, trs, latency, procedures, len(utts)))
            print(f"{clip.name}: {rows[-1]['outcome']} {rows[-1]['heard']} "
                  f"{[r['procedure_id'] or r['intent'] for r in rows[-1]['replies']]} "
                  f"lat={latency if latency is None else round(latency, 2)}", file=sys.stderr, flush=True)
        rss = {}
        for name in ("microphone", "asr", "dialogue", "tts"):
            pids = kiosk.pids(name)
            if pids:
                status = Path(f"/proc/{pids[-1]}/status").read_text()
                rss[name] = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmHWM"))) // 1024
        rows.append({"peak_rss_mb": rss})
    finally:
        recorder.close()
        kiosk.stop()
    return rows


def _wait(recorder, fn, timeout_s: float):
    """``TopicRecorder.wait_for``, with None instead of an error on a time-out."""
    try:
        return recorder.wait_for(fn, timeout_s, "")
    except AssertionError:
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("pipeline", "core"), default="pipeline")
    ap.add_argument("--quick", action="store_true", help="every third question (20 per accent)")
    ap.add_argument("--accents", default=",".join(ACCENTS))
    ap.add_argument("--model-dir", type=Path, default=REPO / "models" / "dialogue")
    ap.add_argument("--asr-model", type=Path, default=REPO / "models" / "whisper-base")
    ap.add_argument("--hotwords", default="", help="core mode: faster-whisper hotwords for the recognizer")
    ap.add_argument("--answer-threshold", type=float, default=None,
                    help="core mode: the speech answer threshold (default: the model's calibrated one)")
    ap.add_argument("--cache", type=Path, default=REPO / "var" / "bench_cache" / "asr_spoken.json",
                    help="core mode: the ASR result cache")
    ap.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE",
                    help="pipeline mode: a node parameter override, e.g. microphone.vad.min_silence_ms=500")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON (with every row) here")
    args = ap.parse_args(argv)
    overrides: dict = {}
    for item in args.set:
        key, value = item.split("=", 1)
        node, param = key.split(".", 1)
        overrides.setdefault(node, {})[param] = json.loads(value) if value[:1] in "-0123456789tf[{\"" else value
    t0 = time.time()
    load_start = load_average()
    questions = load_questions(args.quick)
    clips = build_clips(questions, args.accents.split(","))
    procedures = procedure_ids()
    if args.mode == "core":
        rows = run_core(clips, args.model_dir, args.asr_model, procedures, args.hotwords, args.cache,
                        args.answer_threshold)
        rss = None
    else:
        with tempfile.TemporaryDirectory() as tmp:
            rows = run_pipeline(clips, Path(tmp), procedures, overrides)
        rss = rows.pop()["peak_rss_mb"]
    report = {
        "benchmark": "spoken_pipeline", "mode": args.mode, "quick": args.quick,
        "n_questions": len(questions), "n_clips": len(clips), "overrides": overrides,
        "load_average_start": load_start, "load_average_end": load_average(), "cpus": os.cpu_count(),
        "wall_s": round(time.time() - t0, 1), "summary": summarize(rows, procedures),
    }
    if rss:
        report["peak_rss_mb"] = rss
    if args.hotwords:
        report["hotwords"] = args.hotwords
        report["clips_with_injected_hotwords"] = sum(bool(r.get("injected")) for r in rows)
        report["injected_hotword_phrases"] = sum(len(r.get("injected", [])) for r in rows)
    dms = [d for r in rows for d in r.get("dialogue_ms", [])]
    if dms:
        report["dialogue_ms"] = {"p50": round(float(np.percentile(dms, 50)), 3),
                                 "p95": round(float(np.percentile(dms, 95)), 3)}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**report, "rows": rows}, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
