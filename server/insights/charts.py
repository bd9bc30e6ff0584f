"""Bar charts as server-rendered SVG: one bar a row, each labelled in words and numbers, so a
chart is read without colour (and the same numbers stand in a table beside it).

The drawing is 320 units wide: it scales with its column, and at a phone's width its text stays
near its nominal size. Each row is the label on one line, the value at the right of that line,
the bar under them on a full-width track. A pure function: the page gives it rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 320
ROW = 46
TOP = 4
BAR_Y = 24
BAR_HEIGHT = 14
FONT = 14
CHAR = 7.4  # a generous average advance at 14 units, for truncating long names


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    fraction: float  # 0..1 of the track
    value: str  # the words at the right: "7 of 9 (78%)"
    emphasis: bool = False  # the family's row: darker, and named "Family" (never told by colour alone)


def _fit(label: str, room: float) -> str:
    most = max(int(room // CHAR), 4)
    return label if len(label) <= most else label[: most - 1].rstrip() + "…"


def bar_chart(chart_id: str, title: str, summary: str, bars: Sequence[Bar]) -> Markup:
    """An SVG of the bars, named by its title and described by ``summary`` (every value in
    words) for people who cannot see it; the table beside it has the same numbers."""
    height = TOP + ROW * max(len(bars), 1)
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img" aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(summary)}</desc>',
    ]
    for index, bar in enumerate(bars):
        y = TOP + index * ROW
        value_width = len(bar.value) * CHAR
        label = _fit(bar.label, WIDTH - value_width - 12)
        fraction = min(max(bar.fraction, 0.0), 1.0)
        width = round(WIDTH * fraction, 1)
        if 0 < width < 2:
            width = 2.0  # a small count is still seen
        parts += [
            f'<text class="chart__label" x="0" y="{y + FONT}">{escape(label)}</text>',
            f'<text class="chart__value" x="{WIDTH}" y="{y + FONT}" text-anchor="end">{escape(bar.value)}</text>',
            f'<rect class="chart__track" x="0" y="{y + BAR_Y}" width="{WIDTH}" height="{BAR_HEIGHT}" rx="2"/>',
        ]
        if width > 0:
            parts.append(
                f'<rect class="{"chart__bar-hatched" if bar.emphasis else "chart__bar"}" x="0" y="{y + BAR_Y}" '
                f'width="{width}" height="{BAR_HEIGHT}" rx="2"/>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text and attribute above is escaped)


def summary(bars: Sequence[Bar]) -> str:
    """Every row in words, for the chart's description."""
    return "; ".join(f"{bar.label}: {bar.value}" for bar in bars) + "." if bars else "Nothing to show."
