"""Dates known only to lie in a range are said as ranges on the pages (issue 12: the OSCE
statement is '16–19 December', the Aktau protest '18 or 19 December', never one certain day)."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from kazdata.entities.graph_view import format_date_range

XSD_DATE = ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")


def _day(value: str) -> ox.Literal:
    return ox.Literal(value, datatype=XSD_DATE)


@pytest.mark.parametrize(("earliest", "latest", "said"), [
    ("2011-12-16", None, "16 December 2011"),
    ("2011-12-16", "2011-12-16", "16 December 2011"),
    ("2011-12-18", "2011-12-19", "18 or 19 December 2011"),
    ("2011-12-16", "2011-12-19", "16–19 December 2011"),
    ("2011-05-01", "2011-05-31", "May 2011"),
    ("2011-02-01", "2011-02-28", "February 2011"),
    ("2011-05-01", "2011-05-30", "1–30 May 2011"),
    ("2011-11-30", "2011-12-02", "30 November – 2 December 2011"),
    ("2011-12-31", "2012-01-02", "31 December 2011 – 2 January 2012"),
])
def test_a_range_of_days_is_said_as_a_range(earliest, latest, said):
    assert format_date_range(_day(earliest), _day(latest) if latest else None) == said


def test_the_timeline_shows_the_bundled_uncertain_days_as_ranges(client):
    page = client.get("/timeline", headers={"Accept": "text/html"}).get_data(as_text=True)
    for said in ("18 or 19 December 2011", "16–19 December 2011", "May 2011"):
        assert f'<span class="date">{said} <span class="note">(day uncertain)</span></span>' in page, said
    assert '<span class="date">1 May 2011' not in page
