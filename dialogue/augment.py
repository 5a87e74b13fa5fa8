"""Seeded training-data augmentation: missing diacritics, fillers, ASR-like errors and typos.

Every function takes a :class:`random.Random` so that the same seed gives the same data.
"""

from __future__ import annotations

import logging
import random
import unicodedata

from kiosk_protocol.text import fold_diacritics, nfc

__all__ = [
    "ELDERLY_OPENINGS",
    "add_context",
    "add_fillers",
    "asr_noise",
    "augment",
    "elderly",
    "old_names",
    "regionalize",
    "typos",
]

log = logging.getLogger(__name__)

PREFIXES = (
    "dạ",
    "ờ",
    "ừm",
    "cho em hỏi",
    "chị ơi",
    "anh ơi",
    "em ơi",
    "bác muốn hỏi",
    "cho tôi hỏi",
    "cho tui hỏi chút",
    "xin hỏi",
    "dạ cho hỏi",
    "cô ơi cho cháu hỏi",
    "ờ thì",
    "này em",
    "robot ơi",
    "cho bác hỏi",
    "mình muốn hỏi",
    "ê cho hỏi",
    "chú hỏi cái",
)
# Context that elderly or chatty visitors put around the actual question.
CONTEXT = (
    "bác già rồi không rành mấy cái này",
    "tôi ở xa mới lên",
    "con tôi dặn ra đây hỏi",
    "hôm trước tôi lên rồi mà chưa xong",
    "tui không biết chữ nhiều",
    "nhà tôi ở xóm trên",
    "tôi mới chuyển về phường mình",
    "chồng tôi đi làm xa",
    "hôm nay tôi xin nghỉ làm để đi",
    "ông nhà tôi nhờ tôi hỏi",
    "mấy đứa nhỏ bận quá",
    "tui hỏi mấy chỗ rồi mà không ai chỉ",
    "mắt bác kém không đọc được bảng",
    "tui ở quê lên chơi với con",
    "năm nay tôi bảy mươi tuổi rồi",
    "chân tui yếu đi lại khó",
    "cháu ơi bác hỏi cái này",
    "nói thiệt tui cũng không rõ lắm",
    "bà con hàng xóm chỉ tui ra đây",
    "tui làm ruộng không có thời gian",
    "mấy bữa ni bận quá",
)
SUFFIXES = (
    "ạ",
    "vậy",
    "vậy em",
    "nhé",
    "nha",
    "với",
    "hả em",
    "không em",
    "dị",
    "rứa",
    "hỉ",
    "thế",
    "được không",
    "nhờ",
    "giùm",
    "với ạ",
    "nghen",
    "đó",
)

# Long polite openings and rambling context of elderly visitors, put before the question.
ELDERLY_OPENINGS = (
    "dạ thưa cô chú cho bác hỏi thăm chút",
    "cháu ơi cho bà hỏi cái này",
    "thưa chị, tôi già rồi",
    "cô ơi, bác hỏi cái này cô đừng cười nghe",
    "dạ thưa anh, ông già này hỏi chút",
    "chú ơi cho tui hỏi thăm",
    "con ơi, mẹ hỏi con chút chuyện",
    "dạ, bác chào cháu, cho bác hỏi",
    "bà hỏi thăm chút nghen con",
    "thưa cán bộ, cho tôi trình bày cái này",
    "dạ cho ông hỏi nhờ một chút",
    "bác không rành chữ nghĩa, cháu chỉ giùm bác",
)
ELDERLY_CONTEXT = (
    "con bác nó mới sinh thằng cu",
    "thằng út nhà tôi nó đi làm trong nam",
    "bà nhà tôi đau ốm liên miên",
    "tôi ở với đứa cháu ngoại",
    "con gái tôi lấy chồng xa",
    "hồi trước tôi làm ở hợp tác xã",
    "nhà tui có mấy sào ruộng",
    "tôi mới ở quê ra ở với con",
    "ông nhà tôi mất mấy năm rồi",
    "thằng cháu nội nó nhờ tôi đi",
    "tui ăn học không tới đâu",
    "mấy đứa con đi làm ăn xa hết",
    "bữa trước tui có lên một lần rồi",
    "tôi nghe bà con trong xóm nói",
)
ELDERLY_LEADS = ("giờ bác muốn", "nay tui muốn hỏi", "giờ tôi tính", "nên bà muốn hỏi", "giờ muốn", "mới hỏi")
ELDERLY_CLOSINGS = (
    "cháu chỉ giùm bác với",
    "thì làm sao cháu",
    "phải làm những gì hả con",
    "bác cảm ơn nghe",
    "nói chậm chậm cho bác nghe với",
    "có khó không cháu",
    "tui không biết gì hết trơn",
)
# Regional (Southern, Central) wording: (standard word or phrase, replacements).
REGIONAL = (
    ("gì", ("chi", "gì dzậy")),
    ("sao", ("răng", "sao dzậy")),
    ("thế nào", ("răng", "làm sao", "ra sao")),
    ("vậy", ("dzậy", "rứa", "dị", "vầy")),
    ("thế", ("rứa", "vậy")),
    ("đâu", ("mô", "đâu dzậy")),
    ("không", ("hông", "hôn", "khôn")),
    ("làm", ("mần",)),
    ("này", ("ni", "nì")),
    ("kia", ("tê", "kìa")),
    ("đó", ("đó", "nớ", "đấy")),
    ("tôi", ("tui", "tau")),
    ("bao nhiêu", ("nhiêu", "mấy")),
    ("ở đâu", ("ở mô", "chỗ nào", "ở đâu dzậy")),
    ("cái", ("cái vụ", "cái")),
    ("ở đó", ("bển", "ở trển")),
    ("nhé", ("nhen", "nghen", "hỉ")),
    ("nhỉ", ("hỉ", "hén")),
    ("con", ("con", "tụi nhỏ")),
    ("được", ("được", "đặng")),
    ("muốn", ("muốn", "tính")),
    ("bây giờ", ("bây giờ", "chừ", "giờ")),
)
REGIONAL_PARTICLES = ("nhen", "hông", "hỉ", "rứa", "nghen", "hén", "dzậy", "đó nghen", "nè")
# Old or everyday names people still use, mapped onto the current terms found in examples.
OLD_NAMES = (
    ("căn cước công dân", ("chứng minh thư", "chứng minh nhân dân", "thẻ căn cước")),
    ("thẻ căn cước", ("chứng minh thư", "chứng minh nhân dân", "cái cmnd")),
    ("căn cước", ("chứng minh thư", "chứng minh")),
    ("đăng ký thường trú", ("nhập hộ khẩu", "làm hộ khẩu", "vô hộ khẩu")),
    ("thường trú", ("hộ khẩu", "khẩu")),
    ("tạm trú", ("tạm trú tạm vắng", "sổ tạm trú")),
    ("giấy chứng nhận quyền sử dụng đất", ("sổ đỏ", "sổ hồng", "bằng khoán đất")),
    ("sổ đỏ", ("sổ hồng", "giấy đất")),
    ("chứng thực", ("công chứng", "thị thực")),
    ("đăng ký kết hôn", ("làm hôn thú", "làm giấy hôn thú", "làm giấy kết hôn")),
    ("khai tử", ("báo tử", "khai báo người mất")),
    ("khai sinh", ("giấy khai sinh", "làm giấy tờ cho cháu nó mới đẻ")),
    ("lý lịch tư pháp", ("giấy chứng nhận không tiền án", "lý lịch")),
    ("bảo hiểm y tế", ("thẻ bảo hiểm", "bảo hiểm khám bệnh")),
    ("trợ cấp", ("tiền trợ cấp", "tiền hỗ trợ")),
    ("hộ kinh doanh", ("giấy phép buôn bán", "giấy phép kinh doanh")),
)

# Tone marks (combining) and vowel modifiers, after NFD decomposition.
_TONES = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
_MODIFIERS = ("\u0306", "\u0302", "\u031b")
# Initial-consonant and rhyme confusions typical of ASR output and of regional pronunciation.
_INITIALS = (
    ("tr", "ch"),
    ("ch", "tr"),
    ("gi", "d"),
    ("d", "gi"),
    ("d", "r"),
    ("r", "d"),
    ("r", "g"),
    ("s", "x"),
    ("x", "s"),
    ("v", "d"),
    ("l", "n"),
    ("n", "l"),
    ("kh", "h"),
    ("h", "kh"),
    ("đ", "d"),
    ("ng", "n"),
    ("qu", "h"),
    ("th", "t"),
    ("ph", "b"),
)
_FINALS = (("ng", "n"), ("n", "ng"), ("c", "t"), ("t", "c"), ("nh", "n"), ("i", "y"), ("y", "i"))


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


def _replace_words(text: str, table: tuple, rng: random.Random, rate: float) -> str:
    """Replace whole-word occurrences of table keys (longest first) with a seeded choice."""
    padded = f" {text} "
    for old, new in sorted(table, key=lambda kv: -len(kv[0])):
        if f" {old} " in padded and rng.random() < rate:
            padded = padded.replace(f" {old} ", f" {rng.choice(new)} ")
    return padded.strip()


def regionalize(text: str, rng: random.Random) -> str:
    """Southern / Central wording ("gì" -> "chi", "không" -> "hông", "làm" -> "mần"), maybe a particle."""
    out = _replace_words(text, REGIONAL, rng, rate=0.7)
    if rng.random() < 0.5:
        out = f"{out} {rng.choice(REGIONAL_PARTICLES)}"
    return out


def elderly(text: str, rng: random.Random) -> str:
    """Long polite opening, rambling family context and a closing around the question."""
    parts = []
    if rng.random() < 0.8:
        parts.append(rng.choice(ELDERLY_OPENINGS) + ",")
    if rng.random() < 0.6:
        parts.append(f"{rng.choice(ELDERLY_CONTEXT)}, {rng.choice(ELDERLY_LEADS)}")
    parts.append(text)
    if rng.random() < 0.5:
        parts.append(rng.choice(ELDERLY_CLOSINGS))
    return " ".join(parts)


def old_names(text: str, rng: random.Random) -> str:
    """Current terms swapped for old or everyday names ("căn cước" -> "chứng minh thư", "sổ đỏ")."""
    return _replace_words(text, OLD_NAMES, rng, rate=0.9)


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
            return b + syllable[len(a) :]
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


def augment(text: str, rng: random.Random, n_variants: int = 5, long_forms: bool = True) -> list[str]:
    """Noisy variants of one example (the example itself not included), reproducible with ``rng``.

    ``long_forms=False`` leaves out the elderly wrappers (for short dialogue acts such as "có").
    """
    text = nfc(" ".join(text.split()))
    variants = [fold_diacritics(text)]
    wrap = (lambda t: elderly(t, rng)) if long_forms else (lambda t: add_fillers(t, rng))
    makers = (
        lambda t: add_fillers(t, rng),
        lambda t: asr_noise(t, rng),
        lambda t: regionalize(t, rng),
        wrap,
        lambda t: add_context(old_names(t, rng), rng),
        lambda t: fold_diacritics(typos(t, rng)),
        lambda t: asr_noise(regionalize(add_fillers(t, rng), rng), rng, rate=0.25),
        lambda t: typos(add_fillers(t, rng), rng, n_max=1),
        lambda t: fold_diacritics(regionalize(wrap(t), rng)),
        lambda t: asr_noise(t, rng, rate=0.35),
    )
    while len(variants) < n_variants:
        variants.append(makers[(len(variants) - 1) % len(makers)](text))
    return variants[:n_variants]
