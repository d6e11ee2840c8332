"""The timeline drawn as SVG on the server: a day is a dot, a known span (start to end) a solid
bar, an uncertain start (``sem:hasEarliestBeginTimeStamp`` to ``sem:hasLatestBeginTimeStamp``)
an outlined bar over the days it may be.

The axis is ordinal: each day an event starts, ends or may start on is a stop, evenly spaced,
and the days between two stops are spread linearly over the gap, which is marked as a break
when it is longer than a week. A strike "since May 2011" and a shooting on 16 December then
share one readable axis, where a linear one would squeeze December into a few pixels.
"""

from __future__ import annotations

import datetime as dt

#: the SVG's coordinate width (it scales to the page's width)
WIDTH = 600
MARGIN = 12
#: a gap between two stops longer than this is drawn as a break in the axis
BREAK_DAYS = 7


def _day(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        try:
            return dt.datetime.strptime(value, "%Y-%m").date()
        except ValueError:
            return None


def _days(event: dict) -> tuple[dt.date | None, dt.date | None, dt.date | None]:
    """(earliest start, latest start, end) of an index entry; missing ones are None."""
    return _day(event.get("sort_date")), _day(event.get("latest")), _day(event.get("end"))


class Axis:
    """Positions of days on the ordinal axis of ``events``."""

    def __init__(self, events: list[dict]) -> None:
        stops = sorted({day for event in events for day in _days(event) if day is not None})
        self.stops = stops or [dt.date(2000, 1, 1)]
        self.step = (WIDTH - 2 * MARGIN) / max(len(self.stops) - 1, 1)

    def x(self, day: dt.date) -> float:
        stops = self.stops
        if day <= stops[0]:
            return MARGIN
        for index in range(1, len(stops)):
            if day <= stops[index]:
                before, after = stops[index - 1], stops[index]
                share = (day - before).days / max((after - before).days, 1)
                return round(MARGIN + (index - 1 + share) * self.step, 1)
        return WIDTH - MARGIN

    def ticks(self) -> list[dict]:
        """Each stop with its label, and whether a break comes before it."""
        ticks = []
        for index, day in enumerate(self.stops):
            gap = index > 0 and (day - self.stops[index - 1]).days > BREAK_DAYS
            ticks.append({"x": self.x(day), "label": f"{day.day} {day:%b}", "year": day.year, "break": gap})
        return ticks


def track(axis: Axis, event: dict) -> dict:
    """What to draw for one event: ``day`` (x), ``span`` (x, width) and/or ``uncertain``
    (x, width), all in the axis's coordinates; empty when the event has no date."""
    start, latest, end = _days(event)
    if start is None:
        return {}
    drawn: dict = {}
    if latest is not None and latest > start:
        drawn["uncertain"] = {"x": axis.x(start), "width": max(axis.x(latest) - axis.x(start), 4)}
    if end is not None and end > start:
        drawn["span"] = {"x": axis.x(start), "width": max(axis.x(end) - axis.x(start), 4)}
    if not drawn:
        drawn["day"] = {"x": axis.x(start)}
    return drawn
