"""Charts drawn on the server as inline SVG (SPEC 6.5: no script library, no CDN; the page works offline).

Each chart takes its figures as ``(label, value)`` pairs, a function that writes a value for people (with its
unit) and, optionally, a link per figure (its drill-down). The page shows the same figures in a table beside
the chart, so the chart is a picture of the table, never the only place a number is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

#: the palette (the stylesheet's accent, and a second colour for a line over columns)
BAR = "#2f6db5"
LINE = "#c0392b"
TEXT = "#333"
MUTED = "#999"


def _fmt(value: float) -> str:
    return f"{value:,}"


def _link(svg: str, href: str | None) -> str:
    return f'<a href="{escape(href)}">{svg}</a>' if href else svg


def _frame(width: int, height: int, title: str, body: list[str], cls: str) -> Markup:
    return Markup(
        f'<svg class="chart {cls}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, fmt: Callable[[float], str] = _fmt,
              links: Sequence[str | None] | None = None, width: int = 520) -> Markup:
    """Horizontal bars, one per ``(label, value)``, the value written at the bar's end."""
    row, top, label_w, value_w = 26, 6, 130, 130
    height = top * 2 + row * max(len(items), 1)
    span = width - label_w - value_w - 10
    peak = max([abs(v) for _l, v in items] + [0]) or 1
    body = []
    for i, (label, value) in enumerate(items):
        y = top + i * row
        w = max(0.0, span * abs(value) / peak)
        bar = (f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end" font-size="13" fill="{TEXT}">'
               f"{escape(label)}</text>"
               f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{BAR}" rx="2">'
               f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
               f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" font-size="12" fill="{TEXT}">{escape(fmt(value))}</text>')
        body.append(_link(bar, links[i] if links else None))
    if not items:
        body.append(f'<text x="10" y="20" font-size="12" fill="{MUTED}">–</text>')
    return _frame(width, height, title, body, "bar-chart")


def trend_chart(labels: Sequence[str], columns: Sequence[float], line: Sequence[float], *, title: str,
                column_name: str, line_name: str, fmt: Callable[[float], str] = _fmt,
                links: Sequence[str | None] | None = None, width: int = 560, height: int = 240) -> Markup:
    """Columns (a flow per period) with a line over them (a level at each period's end), on one scale,
    with a legend naming both."""
    left, right, top, bottom = 44, 10, 28, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(labels), 1)
    step = plot_w / n
    peak = max(list(columns) + list(line) + [0]) or 1

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * value / peak

    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{MUTED}"/>',
            f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11" fill="{MUTED}">'
            f"{escape(fmt(peak))}</text>",
            f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11" fill="{MUTED}">0</text>',
            f'<rect x="{left}" y="6" width="12" height="10" fill="{BAR}"/>'
            f'<text x="{left + 16}" y="15" font-size="12" fill="{TEXT}">{escape(column_name)}</text>',
            f'<line x1="{left + 150}" y1="11" x2="{left + 170}" y2="11" stroke="{LINE}" stroke-width="2"/>'
            f'<text x="{left + 174}" y="15" font-size="12" fill="{TEXT}">{escape(line_name)}</text>']
    points = []
    for i, label in enumerate(labels):
        x = left + i * step
        value = columns[i] if i < len(columns) else 0
        y = y_of(value)
        column = (f'<rect x="{x + step * 0.2:.1f}" y="{y:.1f}" width="{step * 0.6:.1f}" '
                  f'height="{top + plot_h - y:.1f}" fill="{BAR}"><title>{escape(label)} {escape(column_name)}: '
                  f"{escape(fmt(value))}</title></rect>"
                  f'<text x="{x + step / 2:.1f}" y="{height - 8}" text-anchor="middle" font-size="11" '
                  f'fill="{TEXT}">{escape(label)}</text>')
        body.append(_link(column, links[i] if links else None))
        if i < len(line):
            points.append((x + step / 2, y_of(line[i]), label, line[i]))
    if points:
        body.append(f'<polyline fill="none" stroke="{LINE}" stroke-width="2" points="'
                    + " ".join(f"{x:.1f},{y:.1f}" for x, y, _l, _v in points) + '"/>')
        body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{LINE}"><title>{escape(label)} '
                 f"{escape(line_name)}: {escape(fmt(value))}</title></circle>" for x, y, label, value in points]
    return _frame(width, height, title, body, "trend-chart")
