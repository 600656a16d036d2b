"""The digest's chart: mentions per day stacked by label, mood score (mean compound) as a line, as a PNG.

matplotlib is imported only when a chart is drawn: it costs about a second of start-up that the
CLI and the daemon should not pay for every command.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from monitor.digest.figures import DAYS
from monitor.digest.view import GREEN, GREY, INK, RED
from monitor.models import Digest

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def render_chart(d: Digest, *, dpi: int = 150) -> bytes:
    """A PNG (900×420 at the default dpi, sharp when shown 600 px wide): mentions per day
    stacked by label, mean compound as a line on a -1..1 axis. An empty week gives a small
    chart that says so. Drawn on a bare matplotlib Figure: no pyplot, no global backend."""
    # Lazy (see the module docstring): only a drawn chart pays for matplotlib.
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig = Figure(figsize=(6.0, 2.8 if not d.empty else 1.4), dpi=dpi, layout="constrained")
    fig.patch.set_facecolor("white")
    ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#9aa3ad")
    ax.tick_params(colors="#4a5561", labelsize=8, length=3)
    x = list(range(len(d.days)))
    ax.set_xticks(x, [f"{DAYS[day.day.weekday()]} {day.day.day}" for day in d.days])
    if d.empty:
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        ax.set_xlim(-0.5, len(x) - 0.5)
        ax.text(
            0.5,
            0.55,
            "No mentions this week",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=10,
            color="#4a5561",
        )
        return _png(fig)
    bottom = [0] * len(x)
    for label, colour in (("negative", RED), ("neutral", GREY), ("positive", GREEN)):
        heights = [getattr(day.sentiment, label) for day in d.days]
        ax.bar(x, heights, 0.62, bottom=bottom, color=colour, label=label.capitalize(), zorder=2)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.grid(axis="y", color="#e6e9ed", linewidth=0.8, zorder=0)
    ax.set_ylabel("Mentions", fontsize=8, color="#4a5561")
    ax.set_xlim(-0.5, len(x) - 0.5)

    line = ax.twinx()
    line.set_ylim(-1.05, 1.05)
    line.set_yticks([-1, -0.5, 0, 0.5, 1], ["-1", "-0.5", "0", "+0.5", "+1"])
    line.tick_params(colors="#4a5561", labelsize=8, length=3)
    for side in ("top", "left", "bottom"):
        line.spines[side].set_visible(False)
    line.spines["right"].set_color("#9aa3ad")
    line.axhline(0, color="#9aa3ad", linewidth=0.8, linestyle=(0, (2, 2)), zorder=1)
    days = [(i, day.sentiment.mean_compound) for i, day in enumerate(d.days)]
    # Days without mentions have no mean: the line breaks there rather than inventing a zero.
    line.plot(
        x,
        [float("nan") if m is None else m for _, m in days],
        color=INK,
        linewidth=1.8,
        marker="o",
        markersize=3.5,
        label="Mood score",
        zorder=3,
    )
    line.set_ylabel("Mood score", fontsize=8, color="#4a5561")
    handles = [*ax.get_legend_handles_labels()[0], *line.get_legend_handles_labels()[0]]
    fig.legend(
        handles=handles,
        loc="outside upper center",
        ncols=4,
        frameon=False,
        fontsize=8,
        handlelength=1.2,
        columnspacing=1.4,
    )
    return _png(fig)


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    # No Software/date metadata: the same digest always gives the same bytes.
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
