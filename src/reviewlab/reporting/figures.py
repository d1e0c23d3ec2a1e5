"""Every figure of a report: :func:`draw` shows it at the size it is drawn, with alt text.

A notebook cell ends with ``draw(fig)`` (or ``display(draw(fig))``): the figure becomes a PNG
output whose metadata carries alt text :func:`describe` reads from what the figure plots (panel
titles, axes, the values of bars, labelled points and heatmap cells, the range of each line);
nbconvert writes it into the ``<img alt>`` of the report. Figures are drawn at most
:data:`MAX_WIDTH` pixels wide, the width of a report's column, so the browser never shrinks them.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection, QuadMesh
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.text import Annotation

#: Pixels per inch of a report's figures, and the widest figure a report column shows unshrunk.
DPI, MAX_WIDTH = 100, 1000
#: At most this many values are named per panel (the rest: "…").
VALUES = 15


@dataclass(frozen=True)
class Drawn:
    """A figure as a notebook output: a PNG with its alt text (the image's metadata)."""

    png: bytes
    alt: str

    def _repr_mimebundle_(self, **_: Any) -> tuple[dict, dict]:  # IPython's display protocol
        return {"image/png": self.png, "text/plain": self.alt}, {"image/png": {"alt": self.alt}}


def draw(figure: Any, alt: str | None = None) -> Drawn:
    """``figure`` (a matplotlib Figure, or a seaborn grid: its ``.figure``) as a PNG output with
    ``alt`` (default: :func:`describe`); the figure is closed, so it is not shown twice."""
    figure = getattr(figure, "figure", figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    text = alt or describe(figure)
    plt.close(figure)
    return Drawn(buffer.getvalue(), text)


def describe(figure: Figure) -> str:
    """Alt text from what ``figure`` plots: per panel its title, axes and values."""
    figure.canvas.draw()  # tick labels exist once drawn
    panels = [_panel(ax) for ax in figure.axes if ax.has_data()]
    title = figure._suptitle.get_text() + ". " if figure._suptitle else ""
    count = f"{len(panels)} panels. " if len(panels) > 1 else ""
    return title + count + " ".join(panels)


def _panel(ax: Axes) -> str:
    title = ax.get_title() or "Chart"
    axes = "; ".join(f"{k}: {v}" for k, v in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())) if v)
    values = _heatmap(ax) or _boxes(ax) or _bars(ax) or _points(ax)
    lines = [_line(line) for line in ax.get_lines() if not line.get_label().startswith("_")]
    body = "; ".join(v for v in (values, *lines) if v)
    return f"{title} ({axes})" * bool(axes) + (title * (not axes)) + (f": {body}." if body else ".")


def _labels(ax: Axes, which: str) -> dict[float, str]:
    """Tick position -> label of an axis whose labels are words (empty for a numeric axis)."""
    found = _ticks(ax, which)
    words = [text for text in found.values() if text and not _number(text)]
    return found if words else {}


def _ticks(ax: Axes, which: str) -> dict[float, str]:
    """Tick position -> its label's text (mathtext markup removed)."""
    ticks = ax.get_xticklabels() if which == "x" else ax.get_yticklabels()
    return {float(t.get_position()[which == "y"]): _plain(t.get_text()) for t in ticks}


def _plain(text: str) -> str:
    """``$\\mathdefault{10^{2}}$`` -> ``10^2``."""
    return re.sub(r"\\mathdefault|[${}]", "", text)


def _number(text: str) -> bool:
    """Whether a tick label is a number (``-0.5``, ``1,000``, ``25%``, ``10^2``)."""
    return bool(re.fullmatch(r"[-−+]?[\d.,]+(\^[-−]?\d+)?%?", text))


def _heatmap(ax: Axes) -> str:
    """A heatmap's annotated cells, row by row under their row labels."""
    if not any(isinstance(c, QuadMesh) for c in ax.collections) or not ax.texts:
        return ""
    rows = _labels(ax, "y") or {}
    cells: dict[float, list[str]] = {}
    for text in sorted(ax.texts, key=lambda t: t.get_position()[0]):
        cells.setdefault(round(text.get_position()[1], 2), []).append(text.get_text())
    return "; ".join(f"{rows.get(y, y)}: {' '.join(values)}" for y, values in sorted(cells.items()))


def _boxes(ax: Axes) -> str:
    """Each box of a (vertical) box plot: its category's median and quartiles."""
    names = {at: text for at, text in _ticks(ax, "x").items() if text}
    parts = []
    for container in ax.containers:  # seaborn's BoxPlotContainer: boxes and median lines
        for box, median in zip(
            getattr(container, "boxes", []), getattr(container, "medians", []), strict=False
        ):
            xs, ys = median.get_xdata(), box.get_path().vertices[:, 1]
            where = _near(names, float(np.mean(xs)))
            parts.append(
                f"{where} median {_value(median.get_ydata()[0])} "
                f"(quartiles {_value(ys.min())} to {_value(ys.max())})".strip()
            )
    return _listed(parts)


def _bars(ax: Axes) -> str:
    """Each bar's height named by its tick label (and its series, for grouped bars); for a
    histogram (more than :data:`VALUES` bars) its span and its tallest bar."""
    names = {at: text for at, text in _ticks(ax, "x").items() if text}
    parts = []
    for container in ax.containers:
        if not isinstance(container, BarContainer) or not container.patches:
            continue
        bars = container.patches
        series = container.get_label()
        prefix = "" if not series or series.startswith("_") else f"{series} "
        if len(bars) > VALUES:
            top = max(bars, key=lambda b: b.get_height())
            parts.append(
                f"{prefix}{len(bars)} bars from {_value(bars[0].get_x())} to "
                f"{_value(bars[-1].get_x() + bars[-1].get_width())}, the tallest "
                f"{_value(top.get_height())} at {_value(top.get_x() + top.get_width() / 2)}"
            )
            continue
        for bar in bars:
            where = _near(names, bar.get_x() + bar.get_width() / 2)
            parts.append(f"{prefix}{where} {_value(bar.get_height())}".strip())
    return _listed(parts)


def _points(ax: Axes) -> str:
    """Points at a labelled category, ``label value [low, high]`` where an error bar spans
    them; annotated points as ``label (x, y)``; else how many points are scattered."""
    ys, xs = _labels(ax, "y"), _labels(ax, "x")
    bounds = _error_bars(ax, ys, xs)
    parts = []
    for x, y in _markers(ax):
        label, value = (_near(ys, y), x) if ys else (_near(xs, x), y)
        if label:
            low, high = bounds.get(label, (None, None))
            span = f" [{_value(low)}, {_value(high)}]" if low is not None else ""
            parts.append(f"{label} {_value(value)}{span}")
    parts += [
        f"{t.get_text()} ({_value(t.xy[0])}, {_value(t.xy[1])})"
        for t in ax.texts
        if isinstance(t, Annotation)
    ]
    scattered = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
    if not parts and scattered:
        return f"{scattered} points"
    return _listed(list(dict.fromkeys(parts)))


def _markers(ax: Axes) -> list[tuple[Any, Any]]:
    """Every scattered point and line marker (not error-bar caps), as ``(x, y)``."""
    caps = {id(cap) for c in ax.containers if isinstance(c, ErrorbarContainer) for cap in c[1]}
    blocks = [c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)]
    blocks += [
        np.column_stack(line.get_data())
        for line in ax.get_lines()
        if line.get_marker() not in (None, "None", "", " ") and id(line) not in caps
    ]
    return [(x, y) for block in blocks for x, y in np.asarray(block, dtype=object)]


def _error_bars(ax: Axes, ys: dict, xs: dict) -> dict[str, tuple[float, float]]:
    """Category label -> the (low, high) its error bar spans (along the value axis)."""
    spans = {}
    bars = [b for c in ax.containers if isinstance(c, ErrorbarContainer) for b in c[2]]
    for (x0, y0), (x1, y1) in (s for b in bars for s in b.get_segments()):
        label = _near(ys, y0) if ys else _near(xs, x0) if xs else ""
        if label and (y0 == y1 if ys else x0 == x1):
            ends = (x0, x1) if ys else (y0, y1)
            spans[label] = (min(ends), max(ends))
    return spans


def _near(labels: dict[float, str], position: Any) -> str:
    if isinstance(position, str):
        return position
    return next((text for at, text in labels.items() if abs(at - float(position)) < 0.01), "")


def _value(value: Any) -> str:
    return value if isinstance(value, str) else f"{float(value):.3g}"


def _line(line: Any) -> str:
    """A labelled line: its number of points and the range of its values."""
    try:
        y = np.asarray(line.get_ydata(), dtype=float)
    except ValueError:  # categories: named by :func:`_points`
        return ""
    y = y[np.isfinite(y)]
    if not len(y):
        return ""
    return f"{line.get_label()} {len(y)} points from {y.min():.3g} to {y.max():.3g}"


def _listed(parts: list[str]) -> str:
    more = ", …" if len(parts) > VALUES else ""
    return ", ".join(parts[:VALUES]) + more
