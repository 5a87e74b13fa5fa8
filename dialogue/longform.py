"""Long typed questions (several sentences, as in newspaper Q&A columns): read the start and the end.

The model reads at most ``MAX_TEXT_CHARS``; a long question tells its context first and asks
last. Its opening and its closing ``MAX_TEXT_CHARS`` are classified and their probabilities
averaged. (Measured on benchmarks/data/longform_questions.yaml against a weighted average over
sentences and the maximum over sentences: those spread the probability and ranked worse.)
"""

from __future__ import annotations

import re

from dialogue.model import MAX_TEXT_CHARS, IntentModel, IntentPrediction

__all__ = ["predict_long", "sentences"]

_SPLIT_RE = re.compile(r"(?<=[.?!;\n])\s+|\n+")


def sentences(text: str) -> list[str]:
    """The sentences of a question (at . ? ! ; and line breaks), without empty ones."""
    return [p.strip() for p in _SPLIT_RE.split(text) if p and len(p.strip()) > 3]


def predict_long(model: IntentModel, text: str, top_k: int = 3) -> IntentPrediction:
    """:meth:`IntentModel.predict` for text the model reads whole; else opening + closing averaged."""
    if len(text) <= MAX_TEXT_CHARS:
        return model.predict(text, top_k=top_k)
    tail = text[-MAX_TEXT_CHARS:]
    tail = tail[tail.find(" ") + 1 :] if " " in tail else tail  # start at a word
    return model.predict_combined([text[:MAX_TEXT_CHARS], tail], [1.0, 1.0], top_k=top_k)
