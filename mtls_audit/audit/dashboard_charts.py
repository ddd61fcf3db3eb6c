"""Trend charts of the dashboard as inline SVG: failing results by severity over runs.

Drawn here as numbers (coordinates, labels) and written by the template
(``report_templates/dashboard/chart.svg``): no script, no external file, readable by a screen
reader through its title and description, and by a person through the table beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 16, 16, 36
# Dark enough on white for WCAG AA (4.5:1) as text, and told apart by their markers too.
SERIES = (
    ("critical", "#8b0000", "circle"),
    ("high", "#b45309", "square"),
    ("medium", "#1d4ed8", "diamond"),
)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # the point's tooltip: when, and how many


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    marker: str
    points: tuple[Point, ...]

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    series: tuple[Series, ...]
    y_ticks: tuple[tuple[float, int], ...]  # (y, value)
    x_labels: tuple[tuple[float, str, str], ...]  # (x, text, text-anchor)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = _LEFT
    bottom: float = HEIGHT - _BOTTOM
    right: float = WIDTH - _RIGHT


def trend_chart(
    title: str, moments: Sequence[str], counts: Sequence[Mapping[str, int]]
) -> Chart | None:
    """A chart of ``counts`` (failing results by severity) at ``moments``; None without runs."""
    if not moments:
        return None
    top = max([1, *(c.get(name, 0) for c in counts for name, _, _ in SERIES)])
    span_x = WIDTH - _LEFT - _RIGHT
    span_y = HEIGHT - _TOP - _BOTTOM

    def x(index: int) -> float:
        return _LEFT + (span_x * index / (len(moments) - 1) if len(moments) > 1 else span_x / 2)

    def y(value: int) -> float:
        return _TOP + span_y * (1 - value / top)

    series = tuple(
        Series(
            name,
            colour,
            marker,
            tuple(
                Point(x(i), y(c.get(name, 0)), f"{moments[i]}: {c.get(name, 0)} {name}")
                for i, c in enumerate(counts)
            ),
        )
        for name, colour, marker in SERIES
    )
    ticks = tuple(dict.fromkeys((0, top // 2, top)))
    last = len(moments) - 1
    first = (x(0), moments[0][:10], "start" if last else "middle")
    x_labels = (first,) + (((x(last), moments[last][:10], "end"),) if last else ())
    latest = counts[-1]
    description = (
        f"Failing results by severity over {len(moments)} run(s), from {moments[0][:10]} to "
        f"{moments[-1][:10]}; the latest: "
        + ", ".join(f"{latest.get(name, 0)} {name}" for name, _, _ in SERIES)
        + ". The same figures are in the table of runs."
    )
    return Chart(title, description, series, tuple((y(t), t) for t in ticks), x_labels)
