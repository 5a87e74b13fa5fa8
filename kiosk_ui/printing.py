"""The take-home checklist of a procedure: a one-page print view (HTML) and the kiosk's printer (CUPS).

:func:`find_printer` asks CUPS (``lpstat``) for a printer; without one the page hides its print
button. :meth:`Printer.submit` sends the checklist to ``lp`` as UTF-8 text, which CUPS's own
filters lay out. :func:`print_view_html` is the same checklist as an A4 page for a browser
(the tests render it to PDF in Chromium and count its pages).
"""

from __future__ import annotations

import html
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from kiosk_ui.qr import qr_svg

__all__ = ["COPY_KIND", "Printer", "PrinterError", "checklist_text", "find_printer", "print_view_html"]

_LOG = logging.getLogger("kiosk_ui.printing")

COPY_KIND = {
    "original": "Bản chính",
    "copy": "Bản sao",
    "certified_copy": "Bản sao có chứng thực",
    "original_or_copy": "Bản chính hoặc bản sao",
    "present": "Xuất trình bản chính để đối chiếu",
}
_TIMEOUT_S = 5.0


class PrinterError(RuntimeError):
    """``lp`` failed; the message says why."""


@dataclass(frozen=True)
class Printer:
    """A CUPS destination."""

    name: str
    lp: str = "lp"

    def submit(self, text: str, title: str) -> str:
        """Send UTF-8 text to the printer; return CUPS's request id. Raise :class:`PrinterError`."""
        cmd = [self.lp, "-d", self.name, "-t", title[:100], "-o", "media=A4", "-o", "cpi=13", "-o", "lpi=7", "-"]
        try:
            done = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, timeout=_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PrinterError(f"lp could not run: {exc}") from exc
        if done.returncode != 0:
            raise PrinterError(f"lp exited {done.returncode}: {done.stderr.decode(errors='replace').strip()}")
        out = done.stdout.decode(errors="replace")
        match = re.search(r"request id is (\S+)", out)
        return match.group(1) if match else out.strip()


def find_printer(setting: str = "auto") -> Printer | None:
    """The printer to use: ``"none"`` never prints; ``"auto"``/``""`` takes CUPS's default
    destination, else its first printer; any other value names a CUPS printer, if it exists."""
    setting = setting.strip()
    if setting.lower() == "none":
        return None
    lpstat, lp = shutil.which("lpstat"), shutil.which("lp")
    if not lpstat or not lp:
        _LOG.info("no CUPS client (lpstat/lp) installed: printing is off")
        return None
    printers = _lpstat(lpstat, "-p")
    names = re.findall(r"^printer (\S+)", printers, flags=re.MULTILINE)
    if setting.lower() not in ("", "auto"):
        return Printer(setting, lp) if setting in names else None
    default = re.search(r"system default destination: (\S+)", _lpstat(lpstat, "-d"))
    if default and default.group(1) in names:
        return Printer(default.group(1), lp)
    return Printer(names[0], lp) if names else None


def _lpstat(lpstat: str, flag: str) -> str:
    try:
        done = subprocess.run([lpstat, flag], capture_output=True, timeout=_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _LOG.warning("lpstat %s failed: %s", flag, exc)
        return ""
    return done.stdout.decode(errors="replace")


# --------------------------------------------------------------------------- the checklist


def _papers(card: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for paper in card.get("papers") or []:
        meta = [COPY_KIND.get(str(paper.get("original_or_copy")), str(paper.get("original_or_copy") or ""))]
        if paper.get("quantity"):
            meta.append(f"{paper['quantity']} bộ" if paper["quantity"] > 1 else "1 bản")
        out.append((str(paper.get("name") or ""), ", ".join(m for m in meta if m)))
    return out


def _counter(card: dict[str, Any]) -> str:
    counter = card.get("counter") or {}
    return str(counter.get("label") or (f"Quầy {counter['number']}" if counter.get("number") else ""))


def checklist_text(card: dict[str, Any], label: str, center_name: str) -> str:
    """The checklist as plain text for ``lp``."""
    lines = [center_name, "", f"{label.upper()}", str(card.get("name") or ""), ""]
    if _counter(card):
        lines += [f"Nộp hồ sơ tại: {_counter(card)}", ""]
    lines.append("GIẤY TỜ CẦN MANG:")
    lines += [f"[ ] {name} ({meta})" if meta else f"[ ] {name}" for name, meta in _papers(card)]
    lines += ["", "THỜI GIAN VÀ LỆ PHÍ:"]
    for m in card.get("methods") or []:
        lines.append(f"- {m.get('method')}: {m.get('processing_time')}. Lệ phí: {m.get('fee')}")
    lines += ["", "CÁC BƯỚC:"]
    lines += [f"{i}. {step}" for i, step in enumerate(card.get("steps") or [], 1)]
    online = card.get("online") or {}
    if online.get("available") and online.get("url"):
        lines += ["", f"Nộp trực tuyến: {online.get('url')}"]
    if card.get("date_checked"):
        lines += ["", f"Thông tin kiểm tra ngày {card['date_checked']}"]
    return "\n".join(lines) + "\n"


def print_view_html(card: dict[str, Any], label: str, center_name: str) -> str:
    """The checklist as one A4 page (``/static/print.css``), escaped; no script, nothing external."""
    e = html.escape
    papers = "".join(
        f'<li><span class="box"></span><span class="paper">{e(name)}'
        f'{f" <span class=meta>({e(meta)})</span>" if meta else ""}</span></li>'
        for name, meta in _papers(card)
    )
    steps = "".join(f"<li>{e(str(step))}</li>" for step in card.get("steps") or [])
    methods = "".join(
        f"<tr><th>{e(str(m.get('method') or ''))}</th><td>{e(str(m.get('processing_time') or ''))}</td>"
        f"<td>{e(str(m.get('fee') or ''))}</td></tr>"
        for m in card.get("methods") or []
    )
    online = card.get("online") or {}
    qr = ""
    if online.get("available") and online.get("url"):
        qr = (f'<div class="online"><div class="qr">{qr_svg(str(online["url"]))}</div>'
              f"<div>Nộp trực tuyến: quét mã bằng điện thoại<br><span class=url>{e(str(online['url']))}</span>"
              "</div></div>")
    laws = "; ".join(str(x) for x in card.get("legal_basis") or [])
    counter = f'<p class="counter">Nộp hồ sơ tại: <b>{e(_counter(card))}</b></p>' if _counter(card) else ""
    checked = f"Thông tin kiểm tra ngày {e(str(card.get('date_checked') or ''))}." if card.get("date_checked") else ""
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>{e(label)}</title>
<link rel="stylesheet" href="/static/print.css"></head>
<body class="print-view" data-procedure="{e(str(card.get('id') or ''))}">
<header><p class="center">{e(center_name)}</p><h1>{e(label)}</h1>
<p class="official">{e(str(card.get('name') or ''))}</p>{counter}</header>
<h2>Giấy tờ cần mang</h2><ul class="papers">{papers}</ul>
<h2>Thời gian và lệ phí</h2><table class="methods">{methods}</table>
{qr}
<h2>Các bước</h2><ol class="steps">{steps}</ol>
<footer><p>Căn cứ pháp lý: {e(laws)}</p><p>{checked}</p></footer>
</body></html>
"""
