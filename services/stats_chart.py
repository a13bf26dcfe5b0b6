"""The chart of ``/stats``: daily orders as a PNG bar chart (drawn from ``stats.daily_orders``)."""

from __future__ import annotations

import io
from datetime import date


def daily_orders_png(series: list[tuple[date, int]]) -> bytes:
    """A bar chart of daily orders as PNG bytes. It holds no words, only dates and numbers, so it
    reads in every language and needs no CJK font; the words go into the photo's caption.

    CPU-bound (about a tenth of a second): call it in a worker thread. It uses its own Figure and
    the Agg canvas, never pyplot's global state, so calls in several threads do not interfere.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as Chart
    from matplotlib.ticker import MaxNLocator

    counts = [n for _, n in series]
    chart = Chart(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(chart)
    ax = chart.add_subplot()
    colours = ["#2e7d32"] * len(series)
    if colours:
        colours[-1] = "#f9a825"  # today, still going
    bars = ax.bar(range(len(series)), counts, color=colours, width=0.8)
    if counts and max(counts) > 0:
        ax.bar_label(bars, labels=[str(n) if n else "" for n in counts], fontsize=7, padding=2)
    ticks = [i for i in range(len(series)) if (len(series) - 1 - i) % 5 == 0]
    ax.set_xticks(ticks, [series[i][0].strftime("%m-%d") for i in ticks], fontsize=8)
    ax.set_xlim(-0.7, len(series) - 0.3)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max([*counts, 1]) * 1.15)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    chart.tight_layout()
    buffer = io.BytesIO()
    chart.savefig(buffer, format="png")
    return buffer.getvalue()
