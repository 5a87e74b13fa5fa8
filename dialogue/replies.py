"""Vietnamese reply texts: a short spoken form and the screen card (shared contract 1).

Spoken text is plain Vietnamese for TTS: no markdown, no URLs, no slashes ("anh chị", not
"anh/chị"), at most two sentences and then an offer. Screen text may be longer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dialogue.center import Center
from dialogue.kb import Procedure

__all__ = [
    "FOCUSES",
    "METHOD_LABELS",
    "Reply",
    "address_reply",
    "candidate",
    "choose_reply",
    "clarify_reply",
    "confirm_reply",
    "escalation_reply",
    "message_reply",
    "not_understood_reply",
    "procedure_card",
    "procedure_reply",
    "spoken",
]

FOCUSES = ("papers", "fee", "time", "where", "online")
METHOD_LABELS = {"in_person": "Nộp trực tiếp", "online": "Nộp trực tuyến", "post": "Qua bưu chính"}

OFFER_PAPERS = "Anh chị có muốn nghe các giấy tờ cần mang không?"
OFFER_FEE = "Anh chị có muốn nghe lệ phí và thời gian giải quyết không?"
OFFER_MORE = "Anh chị cần hỏi gì thêm không ạ?"
OFFER_STAFF = "Anh chị có muốn tôi gọi cán bộ hỗ trợ không?"


@dataclass
class Reply:
    """A reply before it becomes an ``EngineReply``; ``offer`` is the pending yes/no offer."""

    voice: str
    screen: dict[str, Any]
    offer: str | None = None  # "papers" | "fee" | "call_staff" | None
    extra: dict[str, Any] = field(default_factory=dict)


_URL_RE = re.compile(r"https?://\S+|www\.\S+")
_MARKUP_RE = re.compile(r"[*_#`>\[\]{}|<]")


def spoken(text: str) -> str:
    """Make text safe to speak: no URLs, markup, slashes or dashes between words."""
    text = _URL_RE.sub("", text)
    text = re.sub(r"(\d[\d.]*\s*đồng)\s*/\s*(\w+)", r"\1 một \2", text)
    text = _MARKUP_RE.sub(" ", text)
    text = text.replace("anh/chị", "anh chị").replace("Anh/chị", "Anh chị").replace("/", " ")
    text = re.sub(r"\s+[–—-]\s+", ", ", text)
    text = re.sub(r"\s+([,.?!;:])", r"\1", text)
    return " ".join(text.split())


def _short(text: str, max_chars: int = 110) -> str:
    """First clause of a KB text, for speaking: cut at ';' and drop parentheses."""
    text = re.sub(r"\s*\([^)]*\)", "", text)
    text = text.split(";")[0].strip().rstrip(".")
    if len(text) > max_chars:
        cut = text[:max_chars].rsplit(",", 1)[0] if "," in text[:max_chars] else text[:max_chars].rsplit(" ", 1)[0]
        text = cut.strip()
    return text


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _paper_short(name: str) -> str:
    name = re.sub(r"\s*\([^)]*\)", "", name)
    return name.split(";")[0].split(",")[0].strip()


def _conditional(name: str) -> bool:
    """Papers needed only in some cases ("(chỉ khi ...)", "(nếu ...)", "Trường hợp ...")."""
    low = name.lower()
    return "(chỉ" in low or "(nếu" in low or "(trường hợp" in low or low.startswith(("trường hợp", "nếu"))


def procedure_card(proc: Procedure, center: Center, focus: str | None) -> dict[str, Any]:
    """The full KB facts for the screen (contract 1 ``procedure``)."""
    counter = center.counters.get(proc.counter)
    return {
        "id": proc.id,
        "code": proc.code,
        "name": proc.name,
        "field": proc.field,
        "agency": proc.agency,
        "steps": list(proc.steps),
        "papers": [
            {"name": p.name, "form": p.form, "original_or_copy": p.original_or_copy, "quantity": p.quantity}
            for p in proc.required_papers
        ],
        "methods": [
            {
                "method": METHOD_LABELS.get(m.method, m.method),
                "processing_time": m.processing_time,
                "fee": m.fee,
            }
            for m in proc.submission_methods
        ],
        "counter": {"number": counter.number, "label": counter.label}
        if counter
        else {"number": 0, "label": proc.counter},
        "online": {
            "available": proc.online.available,
            "portal": proc.online.portal,
            "url": proc.online.url,
            "vneid": proc.online.vneid,
            "note": proc.online.note,
        },
        "result": proc.result,
        "legal_basis": list(proc.legal_basis),
        "sources": [{"url": s.url, "title": s.title} for s in proc.sources],
        "date_checked": proc.date_checked,
        "focus": focus,
    }


def _card(
    type_: str,
    title: str,
    text: str,
    *,
    procedure: dict[str, Any] | None = None,
    address: dict[str, Any] | None = None,
    choices: list[dict[str, str]] | None = None,
    candidates: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "type": type_,
        "title": title,
        "text": text,
        "procedure": procedure,
        "address": address,
        "choices": choices or [],
        "candidates": candidates or [],
    }


def candidate(proc: Procedure, probability: float = 0.0) -> dict[str, Any]:
    """A procedure button for the screen (``kiosk_protocol.Candidate``): colloquial name, official name."""
    label = proc.aliases[0] if proc.aliases else proc.short_name
    return {"procedure_id": proc.id, "label": _cap(label), "name": proc.name,
            "probability": round(min(1.0, max(0.0, float(probability))), 4)}


def _counter_spoken(proc: Procedure, center: Center) -> str:
    counter = center.counters.get(proc.counter)
    return f"quầy số {counter.number}" if counter else "quầy tiếp nhận"


def _main_method(proc: Procedure):
    """The first listed way to submit: the KB lists the usual one first."""
    return proc.submission_methods[0]


def _fee_sentence(subject: str, fee: str) -> str:
    """ "Lệ phí đăng ký kết hôn: miễn lệ phí ..." without saying "lệ phí" twice."""
    short = _short(fee)
    if short.lower().startswith(("lệ phí", "phí", "không thu", "miễn")):
        return f"Về {subject}: {_lower_first(short)}."
    return f"Lệ phí {subject}: {_lower_first(short)}."


def _fee_clause(fee: str) -> str:
    short = _short(fee)
    if short.lower().startswith(("lệ phí", "phí", "không thu", "miễn")):
        return _lower_first(short)
    return f"lệ phí {_lower_first(short)}"


def _subject(proc: Procedure, person: str | None) -> str:
    """ "đăng ký khai sinh cho con" — the procedure as said in a sentence."""
    name = _lower_first(proc.short_name)
    return f"{name} cho {person}" if person and " cho " not in f" {name} " else name


def procedure_reply(
    proc: Procedure, center: Center, focus: str | None, person: str | None, papers_heard: bool
) -> Reply:
    """Answer about a procedure, either an overview or the part asked about (``focus``)."""
    subject = _subject(proc, person)
    method = _main_method(proc)
    counter = _counter_spoken(proc, center)
    offer: str | None
    if focus == "papers":
        names = [_paper_short(p.name) for p in proc.required_papers if not _conditional(p.name)]
        names = names or [_paper_short(p.name) for p in proc.required_papers]
        shown = names[:4]
        rest = len(proc.required_papers) - len(shown)
        more = f" và {rest} giấy tờ khác tùy trường hợp" if rest > 0 else ""
        body = (
            f"Để {subject}, anh chị cần mang: {', '.join(_lower_first(n) for n in shown)}{more}. "
            "Danh sách đầy đủ có trên màn hình."
        )
        offer, offer_text = "fee_time", OFFER_FEE
        title = f"Giấy tờ cần mang: {proc.name}"
    elif focus == "fee_time":
        body = (
            f"{_fee_sentence(subject, method.fee)} "
            f"Thời gian giải quyết: {_lower_first(_short(method.processing_time))}."
        )
        offer, offer_text = None, OFFER_MORE
        title = f"Lệ phí và thời gian: {proc.name}"
        focus = "fee"
    elif focus == "fee":
        body = _fee_sentence(subject, method.fee)
        online = next((m for m in proc.submission_methods if m.method == "online"), None)
        if online is not None and online is not method:
            main_fee, online_fee = _short(method.fee).lower(), _short(online.fee).lower()
            if not (main_fee.startswith(online_fee) or online_fee.startswith(main_fee)):
                body += f" Nộp trực tuyến: {_lower_first(_short(online.fee))}."
        offer, offer_text = _after(papers_heard)
        title = f"Lệ phí: {proc.name}"
    elif focus == "time":
        body = f"Thời gian giải quyết {subject}: {_lower_first(_short(method.processing_time))}."
        offer, offer_text = _after(papers_heard)
        title = f"Thời gian giải quyết: {proc.name}"
    elif focus == "where":
        agency = _lower_first(_short(proc.agency))
        body = f"Anh chị nộp hồ sơ {subject} tại {counter} của trung tâm. Cơ quan giải quyết là {agency}."
        offer, offer_text = _after(papers_heard)
        title = f"Nơi nộp: {proc.name}"
    elif focus == "online":
        if proc.online.available:
            portal = _short(proc.online.portal) or "Cổng Dịch vụ công quốc gia"
            body = f"Có ạ, {subject} nộp trực tuyến được trên {portal}."
            if proc.online.vneid and "vneid" not in portal.lower():
                body += " Anh chị cũng có thể nộp qua ứng dụng VNeID."
        else:
            body = f"Hiện {subject} chưa nộp trực tuyến được, anh chị nộp trực tiếp tại {counter}."
        offer, offer_text = _after(papers_heard)
        title = f"Nộp trực tuyến: {proc.name}"
    else:
        body = (
            f"Để {subject}, anh chị nộp hồ sơ tại {counter}. "
            f"{_cap(_fee_clause(method.fee))}, thời gian giải quyết {_lower_first(_short(method.processing_time))}."
        )
        offer, offer_text = _after(papers_heard)
        title = proc.name
    voice = spoken(f"{_cap(body)} {offer_text}")
    screen = _card("procedure", title, _screen_text(voice), procedure=procedure_card(proc, center, focus))
    return Reply(voice=voice, screen=screen, offer=offer)


def _after(papers_heard: bool) -> tuple[str | None, str]:
    return (None, OFFER_MORE) if papers_heard else ("papers", OFFER_PAPERS)


def _screen_text(voice: str) -> str:
    return voice.replace("anh chị", "anh/chị").replace("Anh chị", "Anh/chị")


def message_reply(title: str, voice: str, *, offer: str | None = None, choices=None) -> Reply:
    """A plain message card."""
    v = spoken(voice)
    return Reply(voice=v, screen=_card("message", title, _screen_text(v), choices=choices), offer=offer)


def clarify_reply(a: Procedure, b: Procedure, person: str | None = None) -> Reply:
    """ "Anh/chị hỏi đăng ký khai sinh hay trích lục khai sinh ạ?" with two procedure buttons."""
    voice = spoken(f"Anh chị hỏi {_subject(a, person)} hay {_lower_first(b.short_name)} ạ?")
    choices = [{"label": a.name, "text": a.name}, {"label": b.name, "text": b.name}]
    screen = _card("clarify", "Anh/chị hỏi thủ tục nào?", _screen_text(voice), choices=choices,
                   candidates=[candidate(a), candidate(b)])
    return Reply(voice=voice, screen=screen)


def confirm_reply(procs: list[Procedure], probabilities: list[float], person: str | None = None) -> Reply:
    """ "Bà con hỏi về đăng ký khai tử phải không ạ?" — the first procedure, the others as buttons too."""
    voice = spoken(f"Bà con hỏi về {_subject(procs[0], person)} phải không ạ?")
    screen = _card("confirm", f"Bà con hỏi về {_lower_first(procs[0].short_name)}?", _screen_text(voice),
                   choices=[{"label": "Đúng", "text": "đúng rồi"}, {"label": "Không phải", "text": "không phải"}],
                   candidates=[candidate(p, pr) for p, pr in zip(procs, probabilities, strict=False)])
    return Reply(voice=voice, screen=screen)


def choose_reply(procs: list[Procedure], probabilities: list[float]) -> Reply:
    """ "Có phải bà con muốn hỏi: A, B hay C ạ?" with one button per candidate."""
    names = [_lower_first(p.short_name) for p in procs]
    listed = ", ".join(names[:-1]) + " hay " + names[-1]
    voice = spoken(f"Có phải bà con muốn hỏi {listed} ạ? Bà con nói tên, hoặc chạm vào màn hình để chọn.")
    screen = _card("clarify", "Có phải bà con muốn hỏi:", _screen_text(voice),
                   candidates=[candidate(p, pr) for p, pr in zip(procs, probabilities, strict=False)])
    return Reply(voice=voice, screen=screen)


NOT_UNDERSTOOD_VOICE = (
    "Xin lỗi, tôi chưa nghe rõ. Bà con nói lại giúp tôi, hoặc chạm vào màn hình để chọn thủ tục nhé."
)


def not_understood_reply(voice: str = NOT_UNDERSTOOD_VOICE, choices=None) -> Reply:
    """Nothing was understood: say so, ask to repeat or to touch the screen (never silence)."""
    v = spoken(voice)
    return Reply(voice=v, screen=_card("not_understood", "Tôi chưa nghe rõ", _screen_text(v), choices=choices))


def ask_procedure_reply(focus: str | None) -> Reply:
    """The visitor asked a follow-up but no procedure is known yet."""
    what = {
        "papers": "giấy tờ",
        "fee": "lệ phí",
        "time": "thời gian giải quyết",
        "where": "nơi nộp hồ sơ",
        "online": "cách nộp trực tuyến",
    }.get(focus or "", "thông tin")
    return message_reply(
        "Anh/chị hỏi thủ tục nào?",
        f"Anh chị muốn hỏi {what} của thủ tục nào ạ? Ví dụ: khai sinh, kết hôn, tạm trú, chứng thực.",
    )


def escalation_reply(reason: str) -> Reply:
    """Hand-over to staff."""
    if reason == "visitor_request":
        voice = "Dạ, tôi đã báo cán bộ đến hỗ trợ anh chị. Anh chị vui lòng chờ trong giây lát ạ."
    else:
        voice = (
            "Xin lỗi, tôi chưa hiểu rõ câu hỏi của anh chị. "
            "Tôi đã báo cán bộ đến hỗ trợ, anh chị vui lòng chờ trong giây lát ạ."
        )
    v = spoken(voice)
    return Reply(voice=v, screen=_card("escalation", "Đang gọi cán bộ hỗ trợ", _screen_text(v)))


def address_reply(result: Any) -> Reply:
    """Old→new address result (``dialogue.addresses.AddressResult``)."""
    if result.found and len(result.candidates) > 1:
        title = "Phường, xã cũ đã được chia"
    elif result.found:
        title = "Địa chỉ sau sắp xếp đơn vị hành chính"
    else:
        title = "Chưa tìm thấy địa chỉ"
    voice = spoken(f"{result.message_voice} {OFFER_MORE}" if result.found else result.message_voice)
    screen = _card("address", title, result.message, address=result.as_screen())
    return Reply(voice=voice, screen=screen)
