"""tts: replies → speech, sentence by sentence, on the speaker or into WAV files (simulated)."""

from __future__ import annotations

import threading
import time

from std_msgs.msg import Bool, String

from kiosk_protocol import BargeIn, Playback, Reply, Spoken, encode
from speech.resample import resample_int16
from speech.speaker import PyAudioSpeaker, SpeakerUnavailable, WavFileSpeaker
from speech.tts import SpeechSynthesizer, TtsOptions, TtsUnavailable, read_ahead

from .lifecycle_base import (
    ERROR,
    LATCHED_QOS,
    OK,
    RELIABLE_QOS,
    WARN,
    ConfigureError,
    KioskLifecycleNode,
    Param,
    Worker,
    between,
    non_negative,
    one_of,
    positive,
    resolve_path,
    run_node,
)


def speech_rate(screen: dict) -> float:
    """The card's ``speech_rate`` (the dialogue slows down for elderly visitors) within 0.5–2, else 1."""
    rate = screen.get("speech_rate", 1.0)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.5 <= rate <= 2.0:
        return 1.0
    return float(rate)


class TtsNode(KioskLifecycleNode):
    AREA = "speech"
    PARAMS = (
        Param("voice_model_path", "models/piper-vi/vi_VN-vais1000-medium.onnx",
              "Piper voice (.onnx); its config is <model>.json. Missing: espeak-ng is used"),
        Param("voice_config_path", "", "Piper voice config (empty: <model>.json)"),
        Param("espeak_voice", "vi", "espeak-ng voice used when no Piper voice is installed"),
        Param("espeak_rate_wpm", 150, "espeak-ng speaking rate", "words/min", between(80, 450)),
        Param("sentence_silence_s", 0.25, "pause between sentences", "s", non_negative),
        Param("speaker.mode", "auto", "auto: the speaker if present, else WAV files; device; wav",
              check=one_of("auto", "device", "wav")),
        Param("speaker.device_name_contains", "", "pick the output device whose name contains this"),
        Param("speaker.wav_dir", "var/tts_out", "simulated speaker: folder for one WAV per reply"),
        Param("speaker.keep_files", 50, "simulated speaker keeps this many WAV files", "files", positive),
        Param("speaker.retry_period_s", 10.0, "auto mode: look for a speaker this often while writing WAVs", "s",
              positive),
        Param("speaker.realtime", True, "simulated speaker: take as long as the audio would (like a real one)"),
        Param("stop_on_barge_in", True, "stop playback when the microphone reports the visitor speaking over it"),
    )

    def __init__(self) -> None:
        super().__init__("tts")
        self._interrupt = threading.Event()
        self._speaking_reply = ""
        self._barge_in_s = 0.0
        self._interrupted = 0

    def configure_core(self) -> None:
        cfg = self.cfg
        options = TtsOptions(
            voice_model_path=str(resolve_path(cfg["voice_model_path"])) if cfg["voice_model_path"] else "",
            voice_config_path=str(resolve_path(cfg["voice_config_path"])) if cfg["voice_config_path"] else "",
            espeak_voice=cfg["espeak_voice"],
            espeak_rate_wpm=cfg["espeak_rate_wpm"],
            sentence_silence_s=cfg["sentence_silence_s"],
        )
        try:
            self._synth = SpeechSynthesizer(options)
        except TtsUnavailable as exc:
            raise ConfigureError(str(exc)) from exc
        self._speaker, speaker_note = self._open_speaker()
        self._report(speaker_note)

    def _report(self, speaker_note: str) -> None:
        level, message = self._synth.status
        level = WARN if (level == "WARN" or speaker_note) else OK
        self.set_status(level, "; ".join(m for m in (message, speaker_note) if m),
                        backend=self._synth.backend, voice=self._synth.voice_name)

    def _open_speaker(self):
        """The configured speaker, or (auto mode) the WAV speaker with a note saying why."""
        cfg = self.cfg
        self._last_probe_s = time.monotonic()
        if cfg["speaker.mode"] in ("auto", "device"):
            try:
                return PyAudioSpeaker(cfg["speaker.device_name_contains"]), ""
            except SpeakerUnavailable as exc:
                if cfg["speaker.mode"] == "device":
                    raise ConfigureError(str(exc)) from exc
                note = f"no speaker, writing WAV files to {cfg['speaker.wav_dir']} ({exc})"
        else:
            note = ""
        speaker = WavFileSpeaker(resolve_path(cfg["speaker.wav_dir"]), keep_files=cfg["speaker.keep_files"],
                                 realtime=cfg["speaker.realtime"])
        return speaker, note

    def activate_core(self) -> None:
        self._speaking_pub = self.create_publisher(Bool, "speech/robot_speaking", LATCHED_QOS)
        self._spoken_pub = self.create_publisher(String, "speech/spoken", RELIABLE_QOS)
        self._playback_pub = self.create_publisher(String, "speech/playback", RELIABLE_QOS)
        self._speaking_pub.publish(Bool(data=False))
        self._worker = Worker(self._speak, max_items=3, name="tts", on_error=lambda reply, exc: self.set_status(
            ERROR, f"could not speak reply {reply.reply_id}: {exc!r}"))
        self._sub = self.create_subscription(String, "dialogue/reply", self._on_reply, RELIABLE_QOS)
        self._barge_sub = self.create_subscription(String, "audio/barge_in", self._on_barge_in, RELIABLE_QOS)

    def deactivate_core(self) -> None:
        self.destroy_subscription(self._sub)
        self.destroy_subscription(self._barge_sub)
        self.destroy_publisher(self._playback_pub)
        self._speaker.stop()
        self._worker.stop()
        self.destroy_publisher(self._speaking_pub)
        self.destroy_publisher(self._spoken_pub)

    def cleanup_core(self) -> None:
        self._speaker.close()

    def _on_reply(self, msg: String) -> None:
        reply = self.decode_or_warn(msg.data, Reply, "reply")
        if reply is not None:
            self._worker.put(reply)

    def _on_barge_in(self, msg: String) -> None:
        """The visitor spoke over the kiosk: stop the current reply now (the speaker stops within a block)."""
        barge_in = self.decode_or_warn(msg.data, BargeIn, "barge-in")
        if barge_in is None or not self.cfg["stop_on_barge_in"] or not self._speaking_reply:
            return
        self._barge_in_s = time.time()
        self._interrupt.set()
        self._speaker.stop()

    def _pick_up_new_speaker(self) -> None:
        """Auto mode on the WAV fallback: switch to a speaker that has been plugged in."""
        waiting = self.cfg["speaker.mode"] == "auto" and isinstance(self._speaker, WavFileSpeaker)
        if waiting and time.monotonic() - self._last_probe_s > self.cfg["speaker.retry_period_s"]:
            speaker, note = self._open_speaker()
            if not note:
                self._speaker.close()
                self._speaker = speaker
                self._report("")

    def _speak(self, reply: Reply) -> None:
        if reply.published_unix_s < self._barge_in_s:  # queued before the visitor interrupted: stale
            self.get_logger().info(f"dropped reply {reply.reply_id}: the visitor spoke over the kiosk since")
            return
        self._pick_up_new_speaker()
        speed = speech_rate(reply.reply_screen)
        started = time.time()
        first_audio = None
        sentences, audio_s, synth_s = 0, 0.0, 0.0
        self._interrupt.clear()
        self._speaking_reply = reply.reply_id
        self._speaking_pub.publish(Bool(data=True))
        chunks = read_ahead(self._synth.synthesize(reply.reply_voice, speed=speed))
        try:
            self._speaker.begin(reply.reply_id)
            for chunk in chunks:
                if self._interrupt.is_set():
                    break
                if first_audio is None:
                    first_audio = time.time()
                if self._plays_in_real_time():
                    self._publish_playback(reply.reply_id, chunk)
                self._speaker.play(chunk)
                sentences += 1
                audio_s += len(chunk.samples) / chunk.sample_rate_hz
                synth_s += chunk.synth_s
            wav_path = self._speaker.end()
        except Exception as exc:  # a bad sentence or a lost speaker must not stop the node
            self.set_status(ERROR, f"could not speak reply {reply.reply_id}: {exc!r}")
            return
        finally:
            chunks.close()
            self._speaking_reply = ""
            self._speaking_pub.publish(Bool(data=False))
        done = time.time()
        interrupted = self._interrupt.is_set()
        if interrupted:
            self._interrupted += 1
        spoken = Spoken(
            reply_id=reply.reply_id, voice=self._synth.voice_name, sentences=sentences,
            audio_duration_s=audio_s, synth_s=synth_s, first_audio_unix_s=first_audio or done,
            done_unix_s=done, end_of_speech_unix_s=reply.end_of_speech_unix_s,
            wav_paths=[wav_path] if wav_path else [], interrupted=interrupted,
            interrupted_unix_s=self._barge_in_s if interrupted else None,
        )
        self._spoken_pub.publish(String(data=encode(spoken)))
        self.update_values(last_rtf=f"{synth_s / max(audio_s, 1e-3):.3f}",
                           last_time_to_first_audio_s=f"{(first_audio or done) - started:.3f}",
                           interrupted_by_barge_in=self._interrupted)

    def _plays_in_real_time(self) -> bool:
        """A device, or the simulated speaker in real time: only then is there an echo to cancel."""
        return not isinstance(self._speaker, WavFileSpeaker) or self._speaker.realtime

    def _publish_playback(self, reply_id: str, chunk) -> None:
        """The echo reference for the microphone: this sentence at 16 kHz, starting now."""
        samples = resample_int16(chunk.samples, chunk.sample_rate_hz, 16000)
        msg = Playback.from_samples(samples, reply_id=reply_id, start_unix_s=time.time())
        self._playback_pub.publish(String(data=encode(msg)))


def main(args: list[str] | None = None) -> None:
    run_node(TtsNode, args)
