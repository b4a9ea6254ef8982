"""Where a figure's legends sit against its data, in display coordinates."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def legends(fig: plt.Figure) -> list:
    """Every legend of the figure: the axes' own and the figure's."""
    found = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return found + list(fig.legends)


def _drawn_points(ax: plt.Axes, line, per_segment: int = 10) -> np.ndarray:
    """A line's data points and points along its segments, in display coordinates, kept where
    they fall inside its axes (the rest is clipped, not drawn)."""
    points = line.get_transform().transform(np.asarray(line.get_xydata(), float))
    points = points[np.isfinite(points).all(axis=1)]
    if len(points) > 1:
        t = np.linspace(0.0, 1.0, per_segment, endpoint=False)[None, :, None]
        points = np.vstack([(points[:-1, None, :] * (1 - t) + points[1:, None, :] * t).reshape(-1, 2), points[-1:]])
    box = ax.bbox
    keep = (points[:, 0] >= box.x0) & (points[:, 0] <= box.x1) & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1)
    return points[keep]


def lines_under_legends(fig: plt.Figure) -> list[str]:
    """The drawn lines (of any axes, twins included) with a data point or a stretch of segment
    inside a legend's box once the figure is drawn, as "axes title: line label" (empty: no
    legend covers data)."""
    fig.canvas.draw()
    covered = []
    for legend in legends(fig):
        box = legend.get_window_extent()
        for ax in fig.axes:
            for line in ax.lines:
                if not line.get_visible() or len(line.get_xydata()) == 0:
                    continue
                points = _drawn_points(ax, line)
                inside = (
                    (points[:, 0] > box.x0)
                    & (points[:, 0] < box.x1)
                    & (points[:, 1] > box.y0)
                    & (points[:, 1] < box.y1)
                )
                if inside.any():
                    covered.append(f"{ax.get_title(loc='left') or ax.get_title()}: {line.get_label()}")
    return covered


def overlapping_legends(fig: plt.Figure) -> list[tuple[int, int]]:
    """Pairs of legends (by their order in :func:`legends`) whose boxes overlap once drawn."""
    fig.canvas.draw()
    boxes = [legend.get_window_extent() for legend in legends(fig)]
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])]
