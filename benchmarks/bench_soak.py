"""Soak: the whole kiosk on simulated devices for ``--minutes`` (default 30); RSS and open fds of every node.

Every node that runs on this machine starts from the kiosk's own bringup (separate processes,
real DDS): microphone (a folder of WAVs: Vietnamese questions spoken by espeak-ng, copied in one
after another), asr, dialogue, tts (one WAV per reply), ui, the center's dashboard, perception
(camera playing the generated ``visit`` scene in a loop, engagement), motion and base (simulated).
A conversation loop alternates a spoken and a typed question every ``--turn-every-s``; a staff
member is logged in on the dashboard's WebSocket. Every ``--sample-s`` the RSS and open fds of
each node process (and of the bringup) are read from /proc; the report gives per process first →
last, max and the least-squares slope per hour (over every sample, and after ``--warmup-s``),
replies answered, node restarts and ERROR diagnostics. A benchmark, not in CI: one JSON object on
stdout (and ``--out``).

Usage: .venv/bin/python benchmarks/bench_soak.py [--minutes 30] [--turn-every-s 15] [--sample-s 30]
       [--warmup-s 300] [--out FILE]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import httpx
from bench_dashboard import PASSWORD, QUESTIONS, StaffSocket, login
from bench_load import emit, percentiles_ms
from proc_stats import ProcessSampler

from kiosk_robot.harness import Kiosk, TopicRecorder, espeak_wav, node_active

NAMESPACE = "soak_kiosk"
CENTER = "soak_center"
NODES = ["microphone", "asr", "dialogue", "tts", "ui", "dashboard", "perception", "motion", "base"]
DIAGNOSTICS = [(NAMESPACE, n) for n in ("speech/microphone", "speech/asr", "dialogue/dialogue", "speech/tts",
                                        "ui/ui", "perception/camera", "perception/engagement", "motion/motion",
                                        "motion/base")] + [(CENTER, "dashboard/dashboard")]
SPOKEN = ["Xin chào", "Tôi muốn đăng ký kết hôn", "Làm căn cước công dân cần giấy tờ gì",
          "Đăng ký khai sinh cho con", "Chứng thực bản sao ở đâu", "Đăng ký tạm trú"]


class Conversation:
    """Spoken questions (WAVs into the simulated microphone) and typed ones (the page's ask endpoint)."""

    def __init__(self, kiosk: Kiosk, recorder: TopicRecorder, wavs: list[Path]) -> None:
        self.kiosk, self.recorder, self.wavs = kiosk, recorder, wavs
        self.http = httpx.Client(base_url=kiosk.url, timeout=30)
        self.tally = {"voice": {"asked": 0, "answered": 0, "spoken": 0}, "typed": {"asked": 0, "answered": 0,
                                                                                   "spoken": 0}}
        self.latency: dict[str, list[float]] = {"voice": [], "typed": []}
        self.errors: list[str] = []

    def _wait(self, predicate, timeout_s: float) -> dict | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = next((r for r in self.recorder.get("dialogue/reply") if predicate(r)), None)
            if found is not None:
                return found
            time.sleep(0.2)
        return None

    def _spoken(self, reply: dict, timeout_s: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(s["reply_id"] == reply["reply_id"] for s in self.recorder.get("speech/spoken")):
                return True
            time.sleep(0.2)
        return False

    def voice(self, k: int) -> None:
        wav = self.wavs[k % len(self.wavs)]
        target = self.kiosk.mic_dir / f"q{k:05d}.wav"
        part = target.with_suffix(".part")
        part.write_bytes(wav.read_bytes())
        fed = time.time()
        part.replace(target)  # atomically: the microphone never reads half a file
        self.tally["voice"]["asked"] += 1
        reply = self._wait(lambda r: r["source"] == "voice" and r["published_unix_s"] > fed, 60.0)
        if reply is None:
            self.errors.append(f"turn {k}: no reply to the spoken '{wav.stem}'")
        else:
            self.tally["voice"]["answered"] += 1
            if reply.get("end_of_speech_unix_s"):
                self.latency["voice"].append(reply["published_unix_s"] - reply["end_of_speech_unix_s"])
            self.tally["voice"]["spoken"] += self._spoken(reply)
        target.unlink(missing_ok=True)  # read whole when played: the folder stays small

    def typed(self, k: int) -> None:
        sent = time.time()
        r = self.http.post("/api/ask", json={"text": QUESTIONS[k % len(QUESTIONS)]})
        self.tally["typed"]["asked"] += 1
        if r.status_code != 202:
            self.errors.append(f"turn {k}: /api/ask HTTP {r.status_code} {r.text[:200]}")
            return
        input_id = r.json()["input_id"]
        reply = self._wait(lambda r: r.get("in_reply_to") == input_id, 30.0)
        if reply is None:
            self.errors.append(f"turn {k}: no reply to the typed question {input_id}")
            return
        self.tally["typed"]["answered"] += 1
        self.latency["typed"].append(reply["published_unix_s"] - sent)
        self.tally["typed"]["spoken"] += self._spoken(reply)


def node_errors(recorder: TopicRecorder, seen: dict[str, str]) -> None:
    """Remember each node's ERROR (or worse) diagnostics message, first time seen."""
    for name, status in list(recorder.diagnostics.items()):
        if status["level"] >= 2 and name not in seen:
            seen[name] = status["message"]


def soak(tmp: Path, minutes: float, turn_every_s: float, sample_s: float, warmup_s: float = 300.0) -> dict:
    wavs = [espeak_wav(text, tmp / f"spoken_{i}.wav") for i, text in enumerate(SPOKEN)]
    kiosk = Kiosk(tmp / "kiosk", NAMESPACE, dashboard=True, dashboard_namespace=CENTER,
                  overrides={"camera": {"source": "generated:visit", "loop": True},
                             "dashboard": {"discovery_period_s": 1.0}})
    recorder = TopicRecorder(NAMESPACE)
    report: dict = {"minutes": minutes, "turn_every_s": turn_every_s, "sample_s": sample_s, "warmup_s": warmup_s}
    staff = None
    try:
        recorder.wait_for(lambda: all(node_active(recorder, ns, n) for ns, n in DIAGNOSTICS), 240, "every node active")
        recorder.wait_for(lambda: recorder.node.count_subscribers("audio/utterance") >= 1
                          and recorder.node.count_subscribers("dialogue/reply") >= 3, 60, "the pipeline connected")
        subprocess.run([sys.executable, "-m", "kiosk_ui.dashboard", "create-admin", "--db",
                        str(tmp / "kiosk" / "dashboard.db"), "--password-stdin"], input=PASSWORD + "\n", text=True,
                       capture_output=True, timeout=60, check=True)
        admin, cookie = login(kiosk.dashboard_url)
        staff = StaffSocket(kiosk.dashboard_url, cookie)
        sampler = ProcessSampler(kiosk, NODES, fixed={"bringup": kiosk.process.pid})
        conversation = Conversation(kiosk, recorder, wavs)
        seen_errors: dict[str, str] = {}
        api_errors = 0
        start = time.monotonic()
        end = start + minutes * 60
        next_sample = start

        def sample_if_due() -> None:
            nonlocal next_sample, api_errors
            if time.monotonic() >= next_sample:
                sampler.sample()
                node_errors(recorder, seen_errors)
                api_errors += admin.get("/api/kiosks").status_code != 200
                next_sample += sample_s

        k = 0
        while time.monotonic() < end:
            sample_if_due()
            (conversation.voice if k % 2 == 0 else conversation.typed)(k)
            k += 1
            while time.monotonic() < min(start + k * turn_every_s, end):
                sample_if_due()
                time.sleep(0.2)
        next_sample = 0.0
        sample_if_due()
        report["elapsed_s"] = round(time.monotonic() - start, 1)
        report["turns"] = conversation.tally
        report["reply_ms"] = {"voice_end_of_speech_to_reply": percentiles_ms(conversation.latency["voice"]),
                              "typed_ask_to_reply": percentiles_ms(conversation.latency["typed"])}
        report["staff_turns_received"] = sum(1 for _, e in list(staff.events) if e.get("kind") == "turn")
        report["processes"] = sampler.summary(warmup_s=warmup_s)
        report["errors"] = {"conversation": len(conversation.errors), "conversation_examples": conversation.errors[:10],
                            "node_error_diagnostics": seen_errors, "dashboard_api_errors": api_errors,
                            "sampler": sampler.errors[:10],
                            "restarts": sum(p.get("restarts", 0) for p in report["processes"].values())}
        admin.close()
    except Exception:
        print(f"the kiosk's log:\n{kiosk.log_tail(6000)}", file=sys.stderr)
        raise
    finally:
        if staff is not None:
            staff.close()
        recorder.close()
        report["bringup_exit_code"] = kiosk.stop()
    return report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--turn-every-s", type=float, default=15.0)
    ap.add_argument("--sample-s", type=float, default=30.0)
    ap.add_argument("--warmup-s", type=float, default=300.0, help="slopes also without the first seconds")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = ap.parse_args()
    return emit(lambda tmp: soak(tmp, args.minutes, args.turn_every_s, args.sample_s, args.warmup_s), args.out)


if __name__ == "__main__":
    sys.exit(main())
