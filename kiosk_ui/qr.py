"""QR codes for the citizen's phone, drawn offline (segno) as SVG."""

from __future__ import annotations

import io
from functools import lru_cache

import segno

__all__ = ["qr_svg"]


@lru_cache(maxsize=128)
def qr_svg(data: str) -> str:
    """A standalone SVG QR code of ``data`` (error correction M, quiet zone 4, black on white),
    sized by its ``viewBox`` so the page or the print view scales it."""
    buf = io.BytesIO()
    segno.make(data, error="m", micro=False).save(
        buf, kind="svg", border=4, dark="#000", light="#fff", xmldecl=False, svgns=True, omitsize=True,
        svgclass=None, lineclass=None,
    )
    return buf.getvalue().decode("utf-8")
