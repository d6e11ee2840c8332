"""Small bar charts for the home page, drawn only where sources differ: for one event and one
kind of figure (deaths, wounded, participants), the value each outlet reported, side by side.

A chart never merges or averages: each bar is one claim, labelled with its outlet and its words
("at least 13"), and its length is the claim's ``kaz:reportedValue`` (the smallest number the
words can mean, decision 002), so "dozens" and "at least 24" draw the same bar and say why.
"""

from __future__ import annotations

from collections import defaultdict

#: length of the longest bar, in the SVG's units
BAR_WIDTH = 260
ROW = 24


def charts_where_sources_differ(rows: list[dict]) -> list[dict]:
    """From figure rows (``PageRenderer._figure`` plus ``events``), one chart per (event, kind)
    that two or more outlets reported a number for, with the bars scaled to its largest value."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        if _number(row["value"]) is None:
            continue
        for event in row["events"]:
            groups[(event["href"], row["kind"])].append({**row, "event": event})
    charts = []
    for (_, kind), claims in sorted(groups.items(), key=lambda item: (item[1][0]["event"]["label"], item[0][1])):
        outlets = {o["label"] for claim in claims for o in claim["outlets"]}
        if len(outlets) < 2:
            continue
        largest = max(_number(c["value"]) or 0 for c in claims) or 1
        bars = [{"outlets": c["outlets"], "wording": c["wording"], "value": c["value"], "claim": c["claim"],
                 "y": index * ROW, "width": round((_number(c["value"]) or 0) / largest * BAR_WIDTH, 1)}
                for index, c in enumerate(sorted(claims, key=lambda c: -(_number(c["value"]) or 0)))]
        charts.append({"event": claims[0]["event"], "kind": kind, "bars": bars, "height": len(bars) * ROW,
                       "width": BAR_WIDTH})
    return charts


def _number(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None  # a duration (P21D) is not drawn
