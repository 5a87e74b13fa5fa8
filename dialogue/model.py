"""Intent model at run time: ONNX (char + word n-gram TF-IDF, logistic regression) on onnxruntime.

Only onnxruntime and numpy are imported here; scikit-learn is needed for training only
(:mod:`dialogue.train`). :func:`prepare_text` is the one text preparation used by training and
inference alike.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk_protocol.text import fold_diacritics, nfc

__all__ = [
    "EMPTY_TOKEN",
    "MAX_TEXT_CHARS",
    "META_FILE",
    "MODEL_FILE",
    "OUT_OF_SCOPE",
    "IntentModel",
    "IntentPrediction",
    "ModelUnavailable",
    "phonetic_key",
    "prepare_text",
]

log = logging.getLogger(__name__)

MODEL_FILE = "dialogue.onnx"
META_FILE = "meta.json"
OUT_OF_SCOPE = "out_of_scope"
EMPTY_TOKEN = "_"
MAX_TEXT_CHARS = 200  # longer questions are cut: keeps latency bounded, intent is in the start
TRAIN_COMMAND = "python -m dialogue train"

# Markup tags are dropped; anything else that is not a letter or a digit becomes a space.
_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,80}>")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


# Syllable initials and finals that Vietnamese speech recognition (and regional accents) confuse,
# merged into one class each: tr/ch, s/x, r/d/gi/v, n/l, k/c/q, ph/f, -n/-ng/-nh, -t/-c/-ch, y/i.
_INITIALS = (("ngh", "ng"), ("gh", "g"), ("kh", "kh"), ("gi", "z"), ("tr", "ch"), ("ph", "f"), ("qu", "cu"), ("d", "z"),
             ("r", "z"), ("v", "z"), ("s", "x"), ("l", "n"), ("k", "c"), ("q", "c"))
_FINALS = (("ng", "n"), ("nh", "n"), ("ch", "t"), ("c", "t"))


def _phonetic_syllable(syllable: str) -> str:
    for old, new in _INITIALS:
        if syllable.startswith(old) and len(syllable) > len(old):
            syllable = new + syllable[len(old):]
            break
    for old, new in _FINALS:
        if syllable.endswith(old) and len(syllable) > len(old):
            syllable = syllable[: -len(old)] + new
            break
    return syllable.replace("y", "i")


def phonetic_key(folded: str) -> str:
    """Tone-insensitive, confusion-merged form of folded text ("dang ky khai sinh" -> "zan ci khai xin")."""
    return " ".join(_phonetic_syllable(w) if w.isalpha() else w for w in folded.split())


def prepare_text(text: str) -> str:
    """Normalize a question for the model: NFC, lowercase, words only, its folded and phonetic forms.

    Markup tags, punctuation and emoji are dropped, immediately repeated words collapse to one and
    the result is cut to ``MAX_TEXT_CHARS``. Returns ``" <text> | <without diacritics> | <phonetic> "``
    so that questions typed without diacritics share n-grams with the diacritic form, and
    recognition errors that swap a tone or a confusable initial/final (:func:`phonetic_key`) still
    share syllables with the question.
    """
    words = _NON_WORD.sub(" ", _TAG.sub(" ", nfc(text or "")).lower()).split()
    # Repeated words ("ờ ờ ờ", ASR loops) collapse to one, then the text is cut.
    words = [w for i, w in enumerate(words) if i == 0 or w != words[i - 1]]
    # "_" cannot come from input (removed above): an empty question still gives one word token,
    # because the ONNX tokenizer and scikit-learn disagree on texts without any.
    cleaned = " ".join(words)[:MAX_TEXT_CHARS].strip() or EMPTY_TOKEN
    folded = fold_diacritics(cleaned)
    return f" {cleaned} | {folded} | {phonetic_key(folded)} "


class ModelUnavailable(RuntimeError):
    """The intent model files are missing or unreadable; the message names the file and the fix."""


@dataclass
class IntentPrediction:
    """Result of :meth:`IntentModel.predict`."""

    intent: str
    confidence: float
    ranked: list[tuple[str, float]]
    out_of_scope: bool


class IntentModel:
    """Loaded ONNX intent classifier; one onnxruntime session (1 intra-op thread) per instance."""

    def __init__(self, session: object, labels: list[str], oos_threshold: float, meta: dict) -> None:
        self._session = session
        self.labels = labels
        self.oos_threshold = oos_threshold
        # recognized speech scores lower than typed text; its own calibrated threshold (older models: the same)
        self.oos_threshold_speech = float(meta.get("oos_threshold_speech", oos_threshold))
        self.meta = meta
        self._input_name = session.get_inputs()[0].name  # type: ignore[attr-defined]
        outputs = [o.name for o in session.get_outputs()]  # type: ignore[attr-defined]
        self._prob_output = "probabilities" if "probabilities" in outputs else outputs[-1]

    @classmethod
    def load(cls, model_dir: Path) -> IntentModel:
        """Load ``model_dir/dialogue.onnx`` and ``model_dir/meta.json``.

        Raises :class:`ModelUnavailable` naming the missing or bad file and the fix command.
        """
        model_dir = Path(model_dir)
        onnx_path = model_dir / MODEL_FILE
        meta_path = model_dir / META_FILE
        for path in (onnx_path, meta_path):
            if not path.is_file():
                raise ModelUnavailable(f"Intent model file missing: {path}. Build it with `{TRAIN_COMMAND}`.")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            labels = [str(x) for x in meta["labels"]]
            threshold = float(meta["oos_threshold"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelUnavailable(
                f"Intent model metadata unreadable: {meta_path} ({exc}). Rebuild it with `{TRAIN_COMMAND}`."
            ) from exc
        try:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelUnavailable(
                f"Intent model unreadable: {onnx_path} ({exc}). Rebuild it with `{TRAIN_COMMAND}`."
            ) from exc
        model = cls(session, labels, threshold, meta)
        n_out = model._probabilities([prepare_text("")]).shape[1]
        if n_out != len(labels):
            raise ModelUnavailable(
                f"Intent model {onnx_path} has {n_out} outputs but {meta_path} lists {len(labels)} labels. "
                f"Rebuild it with `{TRAIN_COMMAND}`."
            )
        log.info("intent model loaded: %s (%d labels, oos threshold %.3f)", onnx_path, len(labels), threshold)
        return model

    def _probabilities(self, prepared: list[str]) -> np.ndarray:
        feed = {self._input_name: np.array(prepared, dtype=object).reshape(-1, 1)}
        out = self._session.run([self._prob_output], feed)[0]  # type: ignore[attr-defined]
        return np.asarray(out, dtype=np.float64)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, shape (len(texts), len(labels)), columns in ``labels`` order."""
        if not texts:
            return np.zeros((0, len(self.labels)))
        return self._probabilities([prepare_text(t) for t in texts])

    def predict(self, text: str, top_k: int = 3) -> IntentPrediction:
        """Classify one typed question; below the calibrated threshold the intent is ``out_of_scope``."""
        probs = self._probabilities([prepare_text(text)])[0]
        return self._decide(probs, text, top_k, self.oos_threshold)

    def predict_hypotheses(self, hypotheses: Sequence[tuple[str, float]], top_k: int = 3) -> IntentPrediction:
        """Classify a recognizer's N-best list (text, confidence), top hypothesis first.

        Probabilities are averaged with the hypotheses' weights (recognition errors differ between
        hypotheses) and judged against the threshold calibrated on recognized speech.
        """
        texts = [t for t, _ in hypotheses]
        weights = np.array([max(float(w), 0.0) for _, w in hypotheses], dtype=np.float64)
        weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(texts), 1.0 / len(texts))
        probs = weights @ self._probabilities([prepare_text(t) for t in texts])
        return self._decide(probs, texts[0], top_k, self.oos_threshold_speech)

    def predict_combined(self, texts: Sequence[str], weights: Sequence[float], top_k: int = 3) -> IntentPrediction:
        """Classify one typed question read as several texts (e.g. its sentences), weighted."""
        w = np.array([max(float(x), 0.0) for x in weights], dtype=np.float64)
        w = w / w.sum() if w.sum() > 0 else np.full(len(texts), 1.0 / len(texts))
        probs = w @ self._probabilities([prepare_text(t) for t in texts])
        return self._decide(probs, " ".join(texts), top_k, self.oos_threshold)

    def _decide(self, probs: np.ndarray, text: str, top_k: int, threshold: float) -> IntentPrediction:
        order = np.argsort(-probs, kind="stable")[: max(1, top_k)]
        ranked = [(self.labels[i], float(probs[i])) for i in order]
        top_label, top_p = ranked[0]
        if not _has_word(text):  # nothing to classify (empty, emoji, markup only)
            return IntentPrediction(intent=OUT_OF_SCOPE, confidence=1.0, ranked=ranked, out_of_scope=True)
        oos = top_label == OUT_OF_SCOPE or top_p < threshold
        intent = OUT_OF_SCOPE if oos else top_label
        # For out-of-scope, confidence is how sure the model is that no known intent fits.
        confidence = top_p if not oos or top_label == OUT_OF_SCOPE else 1.0 - top_p
        return IntentPrediction(intent=intent, confidence=confidence, ranked=ranked, out_of_scope=oos)


def _has_word(text: str) -> bool:
    """True when the text holds at least one letter or digit."""
    return bool(_NON_WORD.sub("", _TAG.sub(" ", nfc(text or ""))))
