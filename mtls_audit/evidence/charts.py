"""Charts of the reports and the dashboard as inline SVG: trends over runs, stacked bars and
the certificate expiry timeline.

Drawn here as numbers (coordinates, labels) and written by the templates
(``report_templates/charts.svg``): no script, no external file, readable by a screen reader
through its title and description, which give every number the chart shows, and by a person
through the caption and the table beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from mtls_audit.wording import plural

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
    font_size: int = 11

    @property
    def keys(self) -> tuple[tuple[str, str, str], ...]:
        """The legend: (name, colour, marker) of each series."""
        return tuple((s.name, s.colour, s.marker) for s in self.series)


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
        f"Failing results by severity over {plural(len(moments), 'run')}, "
        f"from {moments[0][:10]} to {moments[-1][:10]}; the latest: "
        + ", ".join(f"{latest.get(name, 0)} {name}" for name, _, _ in SERIES)
        + ". The same figures are in the table of runs."
    )
    return Chart(title, description, series, tuple((y(t), t) for t in ticks), x_labels)


# Stacked bars and the timeline: a label column, then the plot, then the totals.
_LABEL_WIDTH, _TOTAL_WIDTH, _ROW, _BAR, _HEAD, _FOOT = 190, 50, 20, 13, 8, 30
# Ticks of the bars and the timeline closer than this (in drawing units) are left out.
_TICK_GAP = 36


@dataclass(frozen=True)
class Segment:
    """One part of a bar: a key's count, drawn from ``x`` for ``width``."""

    key: str
    colour: str
    x: float
    width: float
    count: int
    label: str  # the tooltip: "IN: 12 high"


@dataclass(frozen=True)
class Bar:
    label: str
    y: float
    total: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, each stacked from the counts of its keys, with a legend of the keys."""

    title: str
    description: str
    bars: tuple[Bar, ...]
    keys: tuple[tuple[str, str, str], ...]  # the legend: (label, colour, marker)
    ticks: tuple[tuple[float, int], ...]  # (x, value)
    height: float
    width: int = WIDTH
    left: int = _LABEL_WIDTH
    right: int = WIDTH - _TOTAL_WIDTH
    bar: int = _BAR
    font_size: int = 11


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, Mapping[str, int]]],
    keys: Sequence[tuple[str, str, str]],
    description: str,
) -> BarChart:
    """Bars for ``rows`` (label, counts by key), stacked in the order of ``keys`` (key, label,
    colour); ``description`` says the numbers in words."""
    top = max([1, *(sum(counts.get(k, 0) for k, _, _ in keys) for _, counts in rows)])
    span = WIDTH - _TOTAL_WIDTH - _LABEL_WIDTH

    def width(count: int) -> float:
        return span * count / top

    bars = []
    for index, (label, counts) in enumerate(rows):
        x, segments = float(_LABEL_WIDTH), []
        for key, name, colour in keys:
            count = counts.get(key, 0)
            if count:
                tip = f"{label}: {count} {name}"
                segments.append(Segment(key, colour, x, width(count), count, tip))
                x += width(count)
        total = sum(s.count for s in segments)
        bars.append(Bar(label, _HEAD + index * _ROW, total, tuple(segments)))
    ticks = _spaced([(_LABEL_WIDTH + width(t), t) for t in (0, top // 2, top)])
    legend = tuple((name, colour, "square") for _, name, colour in keys)
    height = _HEAD + len(rows) * _ROW + _FOOT
    return BarChart(title, description, tuple(bars), legend, ticks, height)


@dataclass(frozen=True)
class Mark:
    """A certificate on the timeline: its name, and its expiry at ``x`` on row ``y``."""

    name: str
    state: str
    colour: str
    x: float
    y: float
    days: int
    label: str


@dataclass(frozen=True)
class Timeline:
    """Certificates by days to expiry around the as-of date (day 0); past the axis, at its end."""

    title: str
    description: str
    marks: tuple[Mark, ...]
    ticks: tuple[tuple[float, int], ...]  # (x, days)
    today: float
    warning: float  # the end of the warning window
    height: float
    width: int = WIDTH
    left: int = _LABEL_WIDTH
    right: int = WIDTH - _TOTAL_WIDTH
    font_size: int = 11
    keys: tuple[tuple[str, str, str], ...] = (
        ("expired", "#9b1c1c", "circle"),
        ("in the warning window", "#b45309", "circle"),
        ("valid", "#256b3a", "circle"),
    )


STATE_COLOURS = {"expired": "#9b1c1c", "expiring": "#b45309", "valid": "#256b3a"}
# The timeline shows at most two years ahead; later expiries sit at its right end.
_HORIZON = 730


class Dated(NamedTuple):
    """A certificate for the timeline: ``days`` to expiry in full days, negative once expired,
    and the same said in words ("expired 18 days ago")."""

    name: str
    state: str
    days: int
    words: str


def timeline(
    title: str, certificates: Sequence[Dated], warning_days: int, as_of: str
) -> Timeline | None:
    """``certificates`` soonest first; None without one."""
    if not certificates:
        return None
    low = min(0, *(c.days for c in certificates))
    high = min(_HORIZON, max(warning_days * 2, *(c.days for c in certificates)))
    span = WIDTH - _TOTAL_WIDTH - _LABEL_WIDTH

    def x(days: int) -> float:
        return _LABEL_WIDTH + span * (min(max(days, low), high) - low) / (high - low)

    marks = tuple(
        Mark(c.name, c.state, STATE_COLOURS.get(c.state, "#5b6470"), x(c.days), _HEAD + i * _ROW,
             c.days, f"{c.name}: {c.words}")
        for i, c in enumerate(certificates)
    )  # fmt: skip
    expired = [m for m in marks if m.state == "expired"]
    expiring = [m for m in marks if m.state == "expiring"]
    description = (
        f"{plural(len(marks), 'certificate')} by days to expiry as of {as_of}: "
        f"{len(expired)} expired, {len(expiring)} inside the {warning_days}-day warning window. "
        + "; ".join(m.label for m in marks)
        + "."
    )
    ticks = _spaced([(x(t), t) for t in sorted({0, low, warning_days, high})])
    height = _HEAD + len(marks) * _ROW + _FOOT
    return Timeline(title, description, marks, ticks, x(0), x(warning_days), height)


def _spaced(ticks: Sequence[tuple[float, int]]) -> tuple[tuple[float, int], ...]:
    """The ticks, left to right, without those too close to the one before (0 always kept)."""
    kept: list[tuple[float, int]] = []
    for x, value in ticks:
        if not kept or x - kept[-1][0] >= _TICK_GAP:
            kept.append((x, value))
        elif value == 0:
            kept[-1] = (x, value)
    return tuple(kept)
