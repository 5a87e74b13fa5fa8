"""Search the dialogue's catalog the way citizens type: no diacritics, typos, old names, partial words.

The catalog's search keys were folded by the dialogue with :func:`kiosk_protocol.text.fold_key`;
the query is folded with the same function here, so there is one folding rule. Each query word
is matched against each word of a key: equal, the start of a word (typing, "dang ky tam tr"), or
one or two edits away (typos, "dnag ky ket hon"). A procedure scores its best key; names and
aliases (old names such as "hộ khẩu", "sổ đỏ", "chứng minh nhân dân" among them) count more
than example questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from kiosk_protocol import Catalog, CatalogProcedure
from kiosk_protocol.text import fold_key

__all__ = ["MAX_QUERY_CHARS", "CatalogIndex", "SearchHit"]

MAX_QUERY_CHARS = 200
_NAME_WEIGHT = 1.05  # the first three keys: the page's label, the official and the short name
_EXAMPLE_WEIGHT = 0.8  # example questions match less strongly than names and aliases
_MIN_SCORE = 0.45  # weaker matches are noise
_RELATIVE_FLOOR = 0.55  # and so is anything far below the best match
_MAX_WORDS = 12  # a longer query is a sentence: only its first words are matched


@dataclass(frozen=True)
class SearchHit:
    procedure_id: str
    label: str
    name: str
    category: str
    score: float


def _edits_at_most(a: str, b: str, limit: int) -> int | None:
    """Optimal-string-alignment distance of ``a`` and ``b`` when it is ``<= limit``, else None."""
    if abs(len(a) - len(b)) > limit:
        return None
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return None
        prev2, prev = prev, cur
    return prev[-1] if prev[-1] <= limit else None


def _word_score(query: str, word: str, last: bool) -> float:
    """How well one typed word matches one key word (0: not at all)."""
    if query == word:
        return 1.0
    if word.startswith(query) and (last or len(query) >= 2):
        return 0.85 if last else 0.7
    if len(query) >= 3 and _edits_at_most(query, word, 1) is not None:
        return 0.7
    if len(query) >= 6 and _edits_at_most(query, word, 2) is not None:
        return 0.5
    if last and len(query) >= 4 and _edits_at_most(query, word[: len(query)], 1) is not None:
        return 0.6  # a typo in a word still being typed
    return 0.0


class CatalogIndex:
    """An index over one catalog version; safe to share between threads (read only after build)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.procedures: dict[str, CatalogProcedure] = {p.id: p for p in catalog.procedures}
        self._keys: list[tuple[str, tuple[str, ...], float]] = []  # (procedure id, words, weight)
        for proc in catalog.procedures:
            weights = [_NAME_WEIGHT] * 3 + [1.0] * (len(proc.search_keys) - 3)
            keyed = [*zip(proc.search_keys, weights, strict=False),
                     *((e, _EXAMPLE_WEIGHT) for e in proc.search_examples)]
            for key, weight in keyed:
                words = tuple(fold_key(key).split())  # keys are folded already; refolding is a no-op
                if words:
                    self._keys.append((proc.id, words, weight))
        self._vocabulary = sorted({w for _, words, _ in self._keys for w in words})
        self._matches = lru_cache(maxsize=4096)(self._matches_uncached)

    def _matches_uncached(self, query_word: str, last: bool) -> dict[str, float]:
        out = {}
        for word in self._vocabulary:
            score = _word_score(query_word, word, last)
            if score:
                out[word] = score
        return out

    def search(self, query: str, limit: int = 8) -> list[SearchHit]:
        """Procedures matching a typed query, best first (empty for a query without letters)."""
        words = fold_key(query[:MAX_QUERY_CHARS]).split()[:_MAX_WORDS]
        if not words:
            return []
        tables = [self._matches(w, i == len(words) - 1) for i, w in enumerate(words)]
        allowed_misses = 1 if len(words) >= 3 else 0
        best: dict[str, float] = {}
        for pid, key_words, weight in self._keys:
            scores = [max((t.get(k, 0.0) for k in key_words), default=0.0) for t in tables]
            misses = scores.count(0.0)
            if misses > allowed_misses:
                continue
            matched_key_words = sum(1 for k in key_words if any(k in t for t in tables))
            coverage = matched_key_words / len(key_words)
            score = (sum(scores) / len(words)) * (0.75 + 0.25 * coverage) * weight
            if _in_order(words, key_words):
                score += 0.1
            if score > best.get(pid, 0.0):
                best[pid] = score
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], self.procedures[kv[0]].label))
        floor = max(_MIN_SCORE, ranked[0][1] * _RELATIVE_FLOOR) if ranked else 0.0
        return [self._hit(pid, score) for pid, score in ranked[:limit] if score >= floor]

    def suggest(self, sentence: str, limit: int = 3) -> list[SearchHit]:
        """Procedures a whole sentence names (each word of a name or alias in it), for "did you mean"."""
        words = set(fold_key(sentence[: MAX_QUERY_CHARS * 5]).split())
        if not words:
            return []
        best: dict[str, float] = {}
        for pid, key_words, weight in self._keys:
            if weight < 1.0 or len(key_words) < 2:  # names and aliases only
                continue
            if all(k in words or (len(k) >= 4 and any(_edits_at_most(k, w, 1) is not None for w in words))
                   for k in key_words):
                best[pid] = max(best.get(pid, 0.0), float(len(key_words)))
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], self.procedures[kv[0]].label))
        return [self._hit(pid, score) for pid, score in ranked[:limit]]

    def _hit(self, pid: str, score: float) -> SearchHit:
        proc = self.procedures[pid]
        return SearchHit(procedure_id=pid, label=proc.label, name=proc.name, category=proc.category,
                         score=round(score, 4))


def _in_order(words: list[str], key_words: tuple[str, ...]) -> bool:
    """The typed words start a run of the key's words in the same order (the last may be partial)."""
    n = len(words)
    for start in range(len(key_words) - n + 1):
        window = key_words[start:start + n]
        if all(a == b for a, b in zip(words[:-1], window[:-1], strict=True)) and window[-1].startswith(words[-1]):
            return True
    return False
