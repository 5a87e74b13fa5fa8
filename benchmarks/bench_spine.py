"""Benchmark the kiosk's spine and print one JSON object.

* ASR real-time factor on spoken questions (espeak-ng -v vi), trimmed encoder window vs
  Whisper's standard 30 s window.
* dialogue latency per turn; TTS real-time factor and time to first audio (espeak-ng, Piper).
* end of speech → first reply audio over the real ROS 2 pipeline (bringup, DDS, all nodes),
  p50/p95 over N utterances, and peak RSS (VmHWM) per node process.

Usage: .venv/bin/python benchmarks/bench_spine.py [--utterances 12] [--skip-e2e]
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
import yaml

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("KIOSK_ROOT", str(REPO))

from kiosk_robot.harness import Kiosk, TopicRecorder, espeak_wav, node_active  # noqa: E402
from speech.asr import AsrOptions, SpeechRecognizer  # noqa: E402
from speech.audio_in import read_wav  # noqa: E402


def percentiles(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=float)
    return {"p50": round(float(np.percentile(arr, 50)), 4), "p95": round(float(np.percentile(arr, 95)), 4),
            "mean": round(float(arr.mean()), 4), "n": len(values)}


def spoken_questions(n: int) -> list[str]:
    data = yaml.safe_load((REPO / "benchmarks" / "data" / "spoken_questions.yaml").read_text(encoding="utf-8"))
    texts = [q["text"] for q in data["questions"] if q["intent"] != "out_of_scope"]
    random.Random(5).shuffle(texts)
    return texts[:n]


def bench_asr(wavs: list[Path]) -> dict:
    results = {}
    audio = [read_wav(w) for w in wavs]
    for label, pad in (("trimmed_window", 3.0), ("full_30s_window", None)):
        asr = SpeechRecognizer(AsrOptions(model_path=str(REPO / "models" / "whisper-base"), pad_window_s=pad))
        asr.transcribe(audio[0])  # warm-up
        rtfs, secs, accepted = [], [], 0
        for samples in audio:
            result = asr.transcribe(samples)
            rtfs.append(result.asr_s / result.audio_s)
            secs.append(result.asr_s)
            accepted += result.accepted
        total_audio = sum(len(a) for a in audio) / 16000
        results[label] = {"rtf": percentiles(rtfs), "asr_s": percentiles(secs),
                          "rtf_total": round(sum(secs) / total_audio, 4), "accepted": accepted}
    results["audio_s"] = percentiles([len(a) / 16000 for a in audio])
    return results


def bench_dialogue(texts: list[str]) -> dict:
    from dialogue import DialogueEngine

    engine = DialogueEngine.load()
    for text in texts[:3]:
        engine.respond(text, session_id="warm")
    times = []
    for i, text in enumerate(texts * 5):
        started = time.perf_counter()
        engine.respond(text, session_id=f"s{i}")
        times.append((time.perf_counter() - started) * 1000)
    return {"respond_ms": percentiles(times)}


def bench_tts() -> dict:
    from speech.tts import SpeechSynthesizer, TtsOptions

    reply = ("Dạ, đăng ký khai sinh làm tại quầy số 1, miễn lệ phí nếu đăng ký trong 60 ngày. "
             "Anh chị cần mang giấy chứng sinh và căn cước của cha mẹ. "
             "Anh chị có muốn nghe các giấy tờ cần mang không?")
    voices = {"espeak-ng": TtsOptions(voice_model_path=""),
              "piper_en_US_joe_stand_in": TtsOptions(voice_model_path=str(REPO / "models/piper/en_US-joe-medium.onnx"))}
    out = {}
    for label, options in voices.items():
        synth = SpeechSynthesizer(options)
        list(synth.synthesize("Xin chào."))  # warm-up
        first, rtf = [], []
        for _ in range(5):
            started = time.perf_counter()
            first_s, audio_s = None, 0.0
            for chunk in synth.synthesize(reply):
                first_s = first_s or time.perf_counter() - started
                audio_s += len(chunk.samples) / chunk.sample_rate_hz
            rtf.append((time.perf_counter() - started) / audio_s)
            first.append(first_s)
        out[label] = {"backend": synth.backend, "rtf": percentiles(rtf), "time_to_first_audio_s": percentiles(first)}
    return out


def bench_end_to_end(wavs: list[Path], tmp: Path) -> dict:
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(30, 200)))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    namespace = "bench"
    kiosk = Kiosk(tmp, namespace, overrides={"microphone": {"wav_speed": 1.0}})
    recorder = TopicRecorder(namespace)
    latencies, replies, rejected = [], 0, 0
    try:
        names = ("speech/microphone", "speech/asr", "dialogue/dialogue", "speech/tts", "ui/ui")
        recorder.wait_for(lambda: all(node_active(recorder, namespace, n) for n in names), 180, "all nodes active")
        for i, wav in enumerate(wavs):
            before = len(recorder.get("speech/transcript"))
            spoken_before = len(recorder.get("speech/spoken"))
            (kiosk.mic_dir / f"{i:03d}.wav").write_bytes(wav.read_bytes())
            recorder.wait_for(lambda b=before: len(recorder.get("speech/transcript")) > b, 60, "a transcript")
            transcript = recorder.get("speech/transcript")[before]
            if not transcript["accepted"]:
                rejected += 1
                continue
            recorder.wait_for(lambda s=spoken_before: len(recorder.get("speech/spoken")) > s, 60, "spoken reply")
            spoken = recorder.get("speech/spoken")[spoken_before]
            replies += 1
            latencies.append(spoken["first_audio_unix_s"] - spoken["end_of_speech_unix_s"])
            time.sleep(0.5)
        rss = {}
        for name in ("microphone", "asr", "dialogue", "tts", "ui"):
            pid = kiosk.pids(name)[-1]
            status = Path(f"/proc/{pid}/status").read_text()
            rss[name] = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) // 1024
    finally:
        recorder.close()
        kiosk.stop()
    return {"end_of_speech_to_first_audio_s": percentiles(latencies) if latencies else None,
            "utterances": len(wavs), "answered": replies, "rejected_by_asr": rejected, "peak_rss_mb": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=12)
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args()
    texts = spoken_questions(args.utterances)
    report: dict = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        wavs = [espeak_wav(text, tmp / f"q{i:03d}.wav") for i, text in enumerate(texts)]
        report["asr"] = bench_asr(wavs)
        report["dialogue"] = bench_dialogue(texts)
        report["tts"] = bench_tts()
        if not args.skip_e2e:
            report["pipeline"] = bench_end_to_end(wavs, tmp / "e2e")
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
