"""Charts drawn as inline SVG on the server: nothing to download, no script, no CDN."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from markupsafe import Markup

from vbot_provider.console.present import format_count, format_rate
from vbotflow.reconcile.figures import OUTCOMES

OUTCOME_COLOURS = {
    "answered": "#2e7d32", "not_reached": "#f9a825", "bad_number": "#c62828", "routing": "#6a1b9a",
    "account": "#ad1457", "vbot_error": "#4e342e", "unknown": "#757575", "missing": "#90a4ae",
    "pending": "#cfd8dc",
}
_CONTACTS, _ANSWERED, _RATE = "#90caf9", "#1565c0", "#e65100"


def _nice_ceiling(value: int) -> int:
    """The smallest 4, 8 or 20 × 10ⁿ at or above ``value``: an axis maximum whose quarters are round."""
    step = 1
    while True:
        for factor in (4, 8, 20):
            if step * factor >= value:
                return step * factor
        step *= 10


def trend_svg(days: Sequence[Mapping[str, Any]], width: int = 760, height: int = 240) -> Markup:
    """Contacts and answered per day as bars, the answer rate as a line (right axis, 0–100 %)."""
    left, right, top, bottom = 44, 44, 16, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_ceiling(max([int(d["contacts"]) for d in days] + [1]))
    slot = plot_w / max(len(days), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" aria-label="contacts and answered calls per day">']
    for tick in range(5):  # horizontal grid with the left (contacts) and right (rate) axis labels
        y = top + plot_h - plot_h * tick / 4
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
                     f'{format_count(peak * tick // 4)}</text>')
        parts.append(f'<text x="{left + plot_w + 6}" y="{y + 4:.1f}" font-size="11" fill="{_RATE}">'
                     f'{25 * tick} %</text>')
    rate_points = []
    for i, day in enumerate(days):
        x = left + i * slot
        contacts, answered = int(day["contacts"]), int(day["answered"])
        label = escape(f"{day['day']}: {format_count(contacts)} contacts, {format_count(answered)} answered "
                       f"({format_rate(day['answer_rate'])})")
        for value, colour, inset in ((contacts, _CONTACTS, 0.12), (answered, _ANSWERED, 0.3)):
            bar_h = plot_h * value / peak
            parts.append(f'<rect x="{x + slot * inset:.1f}" y="{top + plot_h - bar_h:.1f}" '
                         f'width="{slot * (1 - 2 * inset):.1f}" height="{bar_h:.1f}" fill="{colour}">'
                         f'<title>{label}</title></rect>')
        if day["answer_rate"] is not None:
            rate_points.append(f"{x + slot / 2:.1f},{top + plot_h - plot_h * float(day['answer_rate']):.1f}")
        if i % 5 == (len(days) - 1) % 5:  # every fifth day, ending on the last one
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                         f'font-size="11">{day["day"]:%d/%m}</text>')
    if len(rate_points) > 1:
        parts.append(f'<polyline points="{" ".join(rate_points)}" fill="none" stroke="{_RATE}" stroke-width="2"/>')
    for point in rate_points:
        x, y = point.split(",")
        parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{_RATE}"/>')
    legend = ((_CONTACTS, "contacts"), (_ANSWERED, "answered"), (_RATE, "answer rate"))
    for i, (colour, name) in enumerate(legend):
        x = left + i * 110
        parts.append(f'<rect x="{x}" y="{height - 12}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14}" y="{height - 3}" font-size="11">{name}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text inside is a number, a date or escaped


def mix_svg(outcomes: Mapping[str, int], width: int = 260, height: int = 14) -> Markup:
    """One stacked bar: the share of each outcome among a campaign's contacts."""
    total = sum(outcomes.values())
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="mix" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" aria-label="outcome mix">']
    x = 0.0
    for name in OUTCOMES:
        count = int(outcomes.get(name, 0))
        if not count or not total:
            continue
        w = width * count / total
        parts.append(f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{height}" fill="{OUTCOME_COLOURS[name]}">'
                     f'<title>{escape(name)}: {format_count(count)}</title></rect>')
        x += w
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - outcome names are escaped, the rest are numbers
