"""Server-side SVG charts: no charting library, no CDN, no script. Every text is escaped."""

from __future__ import annotations

from html import escape

__all__ = ["bar_chart", "hbar_chart"]

_FONT = "font-family=\"DejaVu Sans, Liberation Sans, sans-serif\""
_BAR = "#1f6f8b"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000):
        if value <= step * 4:
            return float(step * ((int(value) + step - 1) // step or 1))
    return float(value)


def _frame(width: int, height: int, title: str, body: list[str]) -> str:
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="12" y="22" font-size="15" font-weight="bold" {_FONT} fill="#222">{escape(title)}</text>',
        *body,
        "</svg>",
    ])


def bar_chart(title: str, labels: list[str], values: list[float], width: int = 640, height: int = 260,
              label_every: int = 1, color: str = _BAR) -> str:
    """Vertical bars (a time series: per hour, per day)."""
    left, right, top, bottom = 44, 12, 36, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max(values, default=0))
    body = []
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" {_FONT} fill="#555">'
                    f"{top_value * i / 4:g}</text>")
    n = max(1, len(values))
    slot = plot_w / n
    for i, (label, value) in enumerate(zip(labels, values, strict=False)):
        h = plot_h * (value / top_value) if top_value else 0
        x = left + i * slot + slot * 0.12
        body.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.76:.1f}" height="{h:.1f}" '
                    f'fill="{color}"><title>{escape(label)}: {value:g}</title></rect>')
        if i % max(1, label_every) == 0:
            body.append(f'<text x="{x + slot * 0.38:.1f}" y="{height - bottom + 16}" font-size="11" '
                        f'text-anchor="middle" {_FONT} fill="#333">{escape(label)}</text>')
    if not values or not any(values):
        body.append(f'<text x="{width / 2:.0f}" y="{top + plot_h / 2:.0f}" font-size="13" text-anchor="middle" '
                    f'{_FONT} fill="#888">Chưa có dữ liệu / no data yet</text>')
    return _frame(width, height, title, body)


def hbar_chart(title: str, labels: list[str], values: list[float], width: int = 640, color: str = _BAR) -> str:
    """Horizontal bars (categories: procedures, ratings, escalation reasons)."""
    row_h, top, label_w = 26, 36, 250
    height = top + row_h * max(1, len(values)) + 12
    top_value = max(values, default=0) or 1
    body = []
    for i, (label, value) in enumerate(zip(labels, values, strict=False)):
        y = top + i * row_h
        w = (width - label_w - 60) * value / top_value
        shown = label if len(label) <= 38 else label[:37] + "…"
        body.append(f'<text x="{label_w - 8}" y="{y + 17}" font-size="12" text-anchor="end" {_FONT} fill="#333">'
                    f"<title>{escape(label)}</title>{escape(shown)}</text>")
        body.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{color}"/>')
        body.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" font-size="12" {_FONT} fill="#222">{value:g}</text>')
    if not values:
        body.append(f'<text x="{width / 2:.0f}" y="{top + 16}" font-size="13" text-anchor="middle" {_FONT} '
                    'fill="#888">Chưa có dữ liệu / no data yet</text>')
    return _frame(width, height, title, body)
