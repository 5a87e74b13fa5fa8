"""Seeded training-data augmentation: missing diacritics, fillers, ASR-like errors and typos.

Every function takes a :class:`random.Random` so that the same seed gives the same data.
"""

from __future__ import annotations

import logging
import random
import unicodedata

from kiosk_protocol.text import fold_diacritics, nfc

__all__ = ["add_context", "add_fillers", "asr_noise", "augment", "strip_diacritics", "typos"]

log = logging.getLogger(__name__)

PREFIXES = (
    "dạ", "ờ", "ừm", "cho em hỏi", "chị ơi", "anh ơi", "em ơi", "bác muốn hỏi", "cho tôi hỏi",
    "cho tui hỏi chút", "xin hỏi", "dạ cho hỏi", "cô ơi cho cháu hỏi", "ờ thì", "này em",
    "robot ơi", "cho bác hỏi", "mình muốn hỏi", "ê cho hỏi", "chú hỏi cái",
)
# Context that elderly or chatty visitors put around the actual question.
CONTEXT = (
    "bác già rồi không rành mấy cái này", "tôi ở xa mới lên", "con tôi dặn ra đây hỏi",
    "hôm trước tôi lên rồi mà chưa xong", "tui không biết chữ nhiều", "nhà tôi ở xóm trên",
    "tôi mới chuyển về phường mình", "chồng tôi đi làm xa", "hôm nay tôi xin nghỉ làm để đi",
    "ông nhà tôi nhờ tôi hỏi", "mấy đứa nhỏ bận quá", "tui hỏi mấy chỗ rồi mà không ai chỉ",
    "mắt bác kém không đọc được bảng", "tui ở quê lên chơi với con", "năm nay tôi bảy mươi tuổi rồi",
    "chân tui yếu đi lại khó", "cháu ơi bác hỏi cái này", "nói thiệt tui cũng không rõ lắm",
    "bà con hàng xóm chỉ tui ra đây", "tui làm ruộng không có thời gian", "mấy bữa ni bận quá",
)
SUFFIXES = (
    "ạ", "vậy", "vậy em", "nhé", "nha", "với", "hả em", "không em", "dị", "rứa", "hỉ", "thế",
    "được không", "nhờ", "giùm", "với ạ", "nghen", "đó",
)

# Tone marks (combining) and vowel modifiers, after NFD decomposition.
_TONES = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
_MODIFIERS = ("\u0306", "\u0302", "\u031b")
# Initial-consonant and rhyme confusions typical of ASR output and of regional pronunciation.
_INITIALS = (
    ("tr", "ch"), ("ch", "tr"), ("gi", "d"), ("d", "gi"), ("d", "r"), ("r", "d"), ("r", "g"),
    ("s", "x"), ("x", "s"), ("v", "d"), ("l", "n"), ("n", "l"), ("kh", "h"), ("h", "kh"),
    ("đ", "d"), ("ng", "n"), ("qu", "h"), ("th", "t"), ("ph", "b"),
)
_FINALS = (("ng", "n"), ("n", "ng"), ("c", "t"), ("t", "c"), ("nh", "n"), ("i", "y"), ("y", "i"))


def strip_diacritics(text: str) -> str:
    """Text as typed on a keyboard without Vietnamese input."""
    return fold_diacritics(text)


def add_fillers(text: str, rng: random.Random) -> str:
    """Add a spoken-style prefix and/or suffix ("dạ", "cho em hỏi", "... ạ")."""
    roll = rng.random()
    if roll < 0.45:
        return f"{rng.choice(PREFIXES)} {text}"
    if roll < 0.75:
        return f"{text} {rng.choice(SUFFIXES)}"
    return f"{rng.choice(PREFIXES)} {text} {rng.choice(SUFFIXES)}"


def add_context(text: str, rng: random.Random) -> str:
    """Wrap the question in a chatty clause ("bác già rồi không rành mấy cái này, ...")."""
    roll = rng.random()
    if roll < 0.55:
        return f"{rng.choice(CONTEXT)}, {text}"
    if roll < 0.8:
        return f"{text}, {rng.choice(CONTEXT)}"
    first, second = rng.sample(CONTEXT, k=2)
    return f"{first}, {second}, {text}"


def _swap_tone(syllable: str, rng: random.Random) -> str:
    chars = list(unicodedata.normalize("NFD", syllable))
    tone_idx = [i for i, c in enumerate(chars) if c in _TONES]
    if tone_idx and rng.random() < 0.5:
        del chars[tone_idx[0]]  # tone dropped ("hôn" for "hỏn")
    elif tone_idx:
        chars[tone_idx[0]] = rng.choice(_TONES)
    else:
        vowels = [i for i, c in enumerate(chars) if c.lower() in "aeiouy"]
        if vowels:
            chars.insert(vowels[-1] + 1, rng.choice(_TONES))
    return nfc("".join(chars))


def _swap_modifier(syllable: str, rng: random.Random) -> str:
    chars = list(unicodedata.normalize("NFD", syllable))
    mod_idx = [i for i, c in enumerate(chars) if c in _MODIFIERS]
    if mod_idx:
        del chars[mod_idx[0]]
    else:
        vowels = [i for i, c in enumerate(chars) if c.lower() in "aeou"]
        if vowels:
            chars.insert(vowels[0] + 1, rng.choice(_MODIFIERS))
    return nfc("".join(chars))


def _swap_consonant(syllable: str, rng: random.Random) -> str:
    if rng.random() < 0.65:
        options = [(a, b) for a, b in _INITIALS if syllable.startswith(a)]
        if options:
            a, b = rng.choice(options)
            return b + syllable[len(a):]
    options = [(a, b) for a, b in _FINALS if syllable.endswith(a) and len(syllable) > len(a)]
    if options:
        a, b = rng.choice(options)
        return syllable[: -len(a)] + b
    return syllable


def asr_noise(text: str, rng: random.Random, rate: float = 0.18) -> str:
    """Imitate recognition errors: tone/diacritic swaps, consonant confusions, dropped or merged syllables."""
    words = text.split()
    out: list[str] = []
    for word in words:
        if rng.random() >= rate or len(words) < 2:
            out.append(word)
            continue
        kind = rng.random()
        if kind < 0.35:
            out.append(_swap_tone(word, rng))
        elif kind < 0.5:
            out.append(_swap_modifier(word, rng))
        elif kind < 0.8:
            out.append(_swap_consonant(word, rng))
        elif kind < 0.9:
            continue  # syllable dropped
        elif out:
            out[-1] = out[-1] + word  # two syllables merged
        else:
            out.append(word)
    return " ".join(out) if out else text


def typos(text: str, rng: random.Random, n_max: int = 2) -> str:
    """One or two keyboard slips: a letter deleted, doubled or swapped with its neighbour."""
    chars = list(text)
    for _ in range(rng.randint(1, n_max)):
        if len(chars) < 4:
            break
        i = rng.randrange(1, len(chars) - 1)
        kind = rng.random()
        if kind < 0.4:
            del chars[i]
        elif kind < 0.7:
            chars.insert(i, chars[i])
        else:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def augment(text: str, rng: random.Random, n_variants: int = 5) -> list[str]:
    """Noisy variants of one example (the example itself not included), reproducible with ``rng``."""
    text = nfc(" ".join(text.split()))
    variants = [strip_diacritics(text)]
    makers = (
        lambda t: add_fillers(t, rng),
        lambda t: asr_noise(t, rng),
        lambda t: add_context(t, rng),
        lambda t: strip_diacritics(typos(t, rng)),
        lambda t: asr_noise(add_fillers(t, rng), rng, rate=0.25),
        lambda t: typos(add_fillers(t, rng), rng, n_max=1),
        lambda t: strip_diacritics(add_fillers(t, rng)),
        lambda t: asr_noise(t, rng, rate=0.35),
    )
    while len(variants) < n_variants:
        variants.append(makers[(len(variants) - 1) % len(makers)](text))
    return variants[:n_variants]
