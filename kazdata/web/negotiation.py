"""Content negotiation with Werkzeug's Accept parsing: q-values, wildcards, parameters, no header at all.

The one module that parses Accept headers, shared by the Python server and the static export
(which compiles its decisions into nginx and Apache tables); it imports Werkzeug, not Flask.

Media-type parameters other than ``q`` (RFC 9110 §12.5.1) are read here, once, before
Werkzeug's ``best_match`` (which would otherwise ask for the very same parameters on the offered
type): ``charset`` matches when it names UTF-8, the only charset anything here is written in,
and rules the element out otherwise; every other parameter is ignored. That includes the JSON-LD
``profile``: the JSON-LD we send is compacted (with its context embedded) and flattened (every
node at the top of ``@graph``), so the ``compacted`` and ``flattened`` profiles are honoured as they
are, and ``expanded``, which no document is written in, is ignored (docs/decisions/011).
"""

from __future__ import annotations

from collections.abc import Iterable

from werkzeug.datastructures import LanguageAccept, MIMEAccept
from werkzeug.http import parse_accept_header, parse_options_header

from kazdata.errors import NotAcceptable, NotFound
from kazdata.formats import Format
from kazdata.http_contract import not_acceptable, offered_types, unknown_suffix

#: the one charset every text format is written in
CHARSET = "utf-8"


def parse_accept(header: str | None) -> MIMEAccept:
    return understood(parse_accept_header(header, MIMEAccept))


def understood(accept: MIMEAccept) -> MIMEAccept:
    """``accept`` with its media-type parameters read: elements whose ``charset`` is not UTF-8
    dropped, every other parameter removed (see the module's docstring)."""
    if not any(";" in value for value, _quality in accept):
        return accept
    kept = []
    for value, quality in accept:
        media_type, parameters = parse_options_header(value)
        if parameters.get("charset", CHARSET).lower() == CHARSET:
            kept.append((media_type, quality))
    return MIMEAccept(kept or [("*/*", 0)])  # empty would mean "no Accept header": anything


def parse_accept_language(header: str | None) -> LanguageAccept:
    return parse_accept_header(header, LanguageAccept)


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when Accept-Encoding allows gzip (``gzip`` or ``*`` with a non-zero quality)."""
    return bool(parse_accept_header(accept_encoding)["gzip"])


#: (Accept's elements, the offered formats' ids) -> (those formats, the choice or None). Werkzeug's
#: ``best_match`` tries every offered type against every element: about 30 µs for the SPARQL
#: endpoint's two lists (both are negotiated for every query), the largest cost of a light query
#: in the web worker (issue 20); a few Accept values make nearly all traffic. The formats are
#: kept in the value, so their ids cannot be reused while an entry names them: an entry goes
#: only with its value (``clear``), and a tuple of ids alone would answer for new formats made
#: where freed ones were (tests/test_linked_data.py makes and drops formats to show it). Ids,
#: not the formats as keys: callers compare the chosen format by identity (``fmt is JSON_LD``),
#: which equal formats would not keep, and a Format hashes all its fields (0.8 µs for four,
#: 0.3 µs for their ids).
_CHOSEN: dict[tuple, tuple[tuple[Format, ...], Format | None]] = {}
_CHOSEN_KEPT = 1024
_CHOSEN_ELEMENTS = 16  # an Accept header with more elements is negotiated, not remembered


def choose_format(accept: MIMEAccept, formats: Iterable[Format]) -> Format:
    """The format the client prefers among ``formats`` (in server preference order).

    A request without Accept gets the first format. Raises NotAcceptable listing every
    media type offered when nothing matches.
    """
    formats = tuple(formats)
    if not accept:
        return formats[0]
    key = (tuple(accept), tuple(map(id, formats)))
    remembered = _CHOSEN.get(key)
    if remembered is not None:
        best = remembered[1]
    else:
        best = _best(accept, formats)
        if len(accept) <= _CHOSEN_ELEMENTS:
            if len(_CHOSEN) >= _CHOSEN_KEPT:
                _CHOSEN.clear()
            _CHOSEN[key] = (formats, best)
    if best is None:
        offered = offered_types(list(formats))
        raise NotAcceptable(not_acceptable(offered), offered=offered)
    return best


def _best(accept: MIMEAccept, formats: tuple[Format, ...]) -> Format | None:
    """Werkzeug's ``best_match`` over each format's own media type (the one it is sent as) and,
    only where the client names them, its aliases: a wildcard rates the type that is sent, so
    ``application/*`` never brings Turtle through ``application/x-turtle``, nor ``text/turtle;q=0,
    */*`` bring it back (RFC 9110 §12.5.1: what is sent is what the client accepts)."""
    accept = understood(accept)
    named = {value.lower() for value, _quality in accept}
    by_type = {media_type: fmt for fmt in formats
               for media_type in (fmt.media_type, *(t for t in fmt.media_types[1:] if t in named))}
    best = accept.best_match(list(by_type))
    return None if best is None else by_type[best]


def format_for(extension: str | None, accept: MIMEAccept, formats: list[Format]) -> Format:
    """The format a URL suffix names, or else the one Accept prefers; NotFound for an unknown suffix."""
    if extension is None:
        return choose_format(accept, formats)
    fmt = next((f for f in formats if f.extension == extension), None)
    if fmt is None:
        raise NotFound(unknown_suffix(extension, formats))
    return fmt


def choose_language(accept: LanguageAccept, languages: list[str], default: str = "en") -> str:
    return accept.best_match(languages, default=default) or default
