"""Long typed questions (several sentences, as in newspaper Q&A columns): find what is asked.

The model reads at most ``MAX_TEXT_CHARS``; a long question tells its context first and asks
last. Each sentence is classified, and the probabilities are averaged with more weight on the
sentences that ask ("xin hỏi", "thủ tục ... thế nào", "?") and on the whole text's opening.
"""

from __future__ import annotations

import re

from dialogue.model import MAX_TEXT_CHARS, IntentModel, IntentPrediction
from kiosk_protocol.text import fold_key

__all__ = ["LONG_QUESTION_CHARS", "predict_long", "sentences"]

LONG_QUESTION_CHARS = 120  # shorter questions are classified whole
_SPLIT_RE = re.compile(r"(?<=[.?!;\n])\s+|\n+")
_ASKING_RE = re.compile(
    r"\b(?:xin hoi|cho hoi|muon hoi|xin cho biet|hoi|the nao|nhu the nao|ra sao|lam sao|lam gi|phai lam|"
    r"thu tuc|ho so|giay to gi|can gi|o dau|bao lau|co duoc|co phai|co can|mong duoc|huong dan|quy trinh)\b"
)


def sentences(text: str) -> list[str]:
    """The sentences of a question (at . ? ! ; and line breaks), without empty ones."""
    return [p.strip() for p in _SPLIT_RE.split(text) if p and len(p.strip()) > 3]


def predict_long(model: IntentModel, text: str, top_k: int = 3) -> IntentPrediction:
    """:meth:`IntentModel.predict` for short text; a weighted sentence average for long text."""
    parts = sentences(text)
    if len(text) <= LONG_QUESTION_CHARS or len(parts) < 2:
        return model.predict(text, top_k=top_k)
    texts = [text[:MAX_TEXT_CHARS], *parts]
    weights = [1.0]
    for i, part in enumerate(parts):
        asking = bool(_ASKING_RE.search(fold_key(part))) or part.rstrip().endswith("?")
        weights.append(1.0 + (1.0 if asking else 0.0) + (0.5 if i == len(parts) - 1 else 0.0))
    return model.predict_combined(texts, weights, top_k=top_k)
