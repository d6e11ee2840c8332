"""Literals as remote stores write them, mended to the forms RDF defines (decision 019).

A store may answer with a literal in a form of its own. Virtuoso 7 keeps some datatypes as
native values and writes them back in its SPARQL JSON results in forms no XSD lexical space has:
an ``xsd:duration`` as a bare number (seconds for a day-time duration, ``"1.8144e+06"`` for
``P21D``; whole months for a year-month one, ``"24"`` for ``P2Y``) and an ``xsd:boolean`` as ``1``
or ``0`` (a valid lexical form, but not the canonical one the other backends write). The mends
are a registry by datatype, applied to each literal of an answer; a literal already in a valid
form passes unchanged, so a store that writes standard forms costs one dictionary lookup a term.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

import pyoxigraph as ox

XSD = "http://www.w3.org/2001/XMLSchema#"
_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


def _boolean(value: str) -> str | None:
    return {"1": "true", "0": "false"}.get(value)


def _duration(value: str) -> str | None:
    """ISO 8601 for Virtuoso's numbers: whole months when written as an integer, seconds when
    written with a point or an exponent (Virtuoso writes day-time durations as doubles)."""
    if not _NUMBER.fullmatch(value):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    sign, number = ("-" if number < 0 else ""), abs(number)
    if re.fullmatch(r"-?\d+", value):
        years, months = divmod(int(number), 12)
        parts = (f"{years}Y" if years else "") + (f"{months}M" if months or not years else "")
        return f"{sign}P{parts}"
    days, rest = divmod(number, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = (f"{int(hours)}H" if hours else "") + (f"{int(minutes)}M" if minutes else "") + (
        f"{format(seconds.normalize(), 'f')}S" if seconds else "")
    if not clock and not days:
        return f"{sign}PT0S"
    return f"{sign}P" + (f"{int(days)}D" if days else "") + (f"T{clock}" if clock else "")


#: datatype IRI -> the mend: the standard form, or None when the value is already one
MENDS: dict[str, Callable[[str], str | None]] = {
    XSD + "boolean": _boolean,
    XSD + "duration": _duration,
}


def mend_term(term):
    """``term``, or the literal in its standard form when a store wrote it in one of its own."""
    if isinstance(term, ox.Literal):
        mend = MENDS.get(term.datatype.value)
        if mend is not None:
            mended = mend(term.value)
            if mended is not None:
                return ox.Literal(mended, datatype=term.datatype)
    return term


def mend_triple(triple: ox.Triple) -> ox.Triple:
    """The triple with its object mended (subjects and predicates are never literals)."""
    mended = mend_term(triple.object)
    return triple if mended is triple.object else ox.Triple(triple.subject, triple.predicate, mended)
