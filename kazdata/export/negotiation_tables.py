"""Content negotiation compiled into tables a web server can apply, decided by the server's own code.

Neither nginx nor Apache's mod_rewrite can compare q-values as Werkzeug does or run Python, but
both can look a header up among exact strings and then try (PCRE) regular expressions in order:
nginx as a ``map`` (``kazdata.export.nginx``), Apache as a chain of ``RewriteCond`` rules
(``kazdata.export.apache``). A ``DecisionTable`` holds both parts, generated here from the one
format registry and the one negotiation function, so the two servers decide alike:

1. **Exact entries.** The Accept headers that real clients send (browsers, curl, RDF libraries,
   each offered media type alone) are answered at export time by
   ``kazdata.web.negotiation.choose_format`` itself, so for them nginx picks exactly what the
   Python server picks, with one hash lookup.
2. **Tiers of regular expressions** for every other header, tried in order: quality tier
   (q=1, then q=0.9x, 0.8x ... 0.1x, then 0.0x); within a tier each offered format in server
   preference order by its own media types, then by ``type/*`` for its media types without an
   element of their own, then by ``*/*`` for those with neither. This mirrors Werkzeug's
   ``best_match``: a media type is rated by the most specific element matching it, the best
   rating wins, a more specific element wins a tie, then the server's order; ``q=0`` never
   matches. It is exact except where two acceptable types have q-values with the same first
   decimal digit (``0.85`` vs ``0.8``): nginx then takes the server's preferred one.
   Media-type parameters other than ``q`` make an element unmatched, as in Werkzeug.

A header nothing matches gives the table's default, ``""``: the configuration answers 406.
Accept-Language is compiled the same way (exact tags first, then primary-subtag fallback, as
Werkzeug's ``LanguageAccept`` does), defaulting to English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kazdata.errors import NotAcceptable
from kazdata.formats import Format
from kazdata.web.negotiation import (
    choose_format,
    choose_language,
    parse_accept,
    parse_accept_language,
)

#: Accept headers sent by clients we know of; each becomes an exact map entry.
KNOWN_ACCEPT = (
    "", "*/*", "*/*;q=0.8", "text/*", "application/*",
    # Firefox, Chrome/Edge, Safari page loads
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,"
    "application/signed-exchange;v=b3;q=0.7",
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/png,"
    "image/svg+xml,*/*;q=0.8",
    # rdflib, Apache Jena, RDF4J, SPARQLWrapper-style RDF requests
    "application/rdf+xml, */*;q=0.1",
    "text/turtle, application/rdf+xml;q=0.9, */*;q=0.1",
    "text/turtle,application/n-triples;q=0.9,application/ld+json;q=0.8,application/rdf+xml;q=0.7,"
    "*/*;q=0.1",
    "text/turtle,application/n-quads,application/trig;q=0.95,application/ld+json;q=0.9,"
    "application/rdf+xml;q=0.7,application/n-triples;q=0.5,text/plain;q=0.1,*/*;q=0.05",
    "application/rdf+xml, application/xml;q=0.9, text/turtle;q=0.8, */*;q=0.1",
    "application/ld+json, application/json;q=0.9, */*;q=0.1",
    "text/turtle;q=0.5, application/ld+json",
    "application/rdf+xml;q=0.9, text/html;q=0.8",
    # with parameters (RFC 9110 §12.5.1); quoted ones (a JSON-LD profile) are left to the patterns,
    # since an nginx map key cannot hold a double quote
    "text/turtle; charset=utf-8", "text/turtle;charset=utf-8", "application/n-triples;charset=utf-8",
)

KNOWN_ACCEPT_LANGUAGE = ("", "*", "en", "en-US", "en-GB", "en-US,en;q=0.9", "en-GB,en;q=0.9",
                         "en-US,en;q=0.5", "kk", "kk-KZ", "kk,ru;q=0.9,en;q=0.8", "ru", "ru-RU",
                         "ru-RU,ru;q=0.9", "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7",
                         "de-DE,de;q=0.9,en;q=0.8", "fr-FR,fr;q=0.9,en;q=0.8")

#: What Accept-Language decides when nothing in it matches, as ``choose_language``.
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class DecisionTable:
    """A header's value -> a decision, as a web server can look it up.

    ``exact`` (header, value) pairs are tried first, compared case-insensitively; then, for a
    header holding a ``*``, the ``wildcard`` regular expressions in order, else the ``plain``
    ones (only wildcards need look-aheads, which cost far more); then ``default``. Patterns are
    PCRE, matched case-insensitively against the whole header.
    """

    exact: list[tuple[str, str]]
    plain: list[tuple[str, str]]
    wildcard: list[tuple[str, str]]
    default: str


#: q-value patterns from the best tier down; ``q=0`` is in none of them.
_Q_TIERS = [r"(?:;\s*q\s*=\s*1(?:\.0*)?)?"]
_Q_TIERS += [rf";\s*q\s*=\s*0?\.{digit}\d*" for digit in range(9, 0, -1)]
_Q_TIERS += [r";\s*q\s*=\s*0?\.0+[1-9]\d*"]


#: any quality, including q=0 (an element that rates a media type, even as unacceptable)
_ANY_Q = r"(?:;\s*q\s*=\s*[0-9.]*)?"


def _wildcard(media_type: str) -> str:
    return media_type.split("/")[0] + "/*"


#: media-type parameters before the quality, as ``kazdata.web.negotiation.understood`` reads them:
#: any parameter but ``q``, except a ``charset`` other than UTF-8 (which rules the element out)
#: (``\x22`` is a double quote, which neither server's configuration syntax lets through as it is)
_PARAMETERS = r"(?:\s*;(?!\s*q\s*=)(?!\s*charset\s*=\s*(?!\x22?utf-8\x22?\s*(?:[;,]|$)))[^;,]*)*"


def _element(name_pattern: str, q_pattern: str) -> str:
    """A regex matching one comma-separated Accept element with that name, any parameters
    understood, and that quality."""
    return rf"(?:^|,)\s*{name_pattern}{_PARAMETERS}\s*{q_pattern}\s*(?:,|$)"


def _decided(header: str, formats: list[Format]) -> str:
    try:
        return choose_format(parse_accept(header), formats).extension
    except NotAcceptable:
        return ""


def accept_table(formats: list[Format]) -> DecisionTable:
    """Accept header -> extension of the format ``choose_format`` picks among ``formats``
    (``""``: none acceptable)."""
    formats = list(formats)
    known = [*KNOWN_ACCEPT, *(t for fmt in formats for t in fmt.media_types)]
    exact = [(header, _decided(header, formats)) for header in dict.fromkeys(known)]
    # Werkzeug gives each offered media type the quality of the most specific Accept element
    # matching it (``text/turtle;q=0.5, text/*`` rates text/turtle 0.5, not 1), takes the best
    # quality, prefers a more specific element on a tie, then the server's order. So each tier
    # tries (a) each format's own media types, (b) the type it is sent as, rated by "type/*"
    # alone (no element of its own), (c) rated by "*/*" alone (no element of its own or of its
    # type); in each group the formats in server order. An alias (application/x-turtle) counts
    # only where it is named, in (a), as ``kazdata.web.negotiation`` offers it.
    specific, by_type, by_any = [], [], []
    for fmt in formats:
        own = [re.escape(t) for t in fmt.media_types]
        specific.append((fmt.extension, lambda q, own=own: _element("(?:" + "|".join(own) + ")", q)))
        by_type.append((fmt.extension, lambda q, types=fmt.media_types[:1]: "^(?:" + "|".join(
            rf"(?!.*{_element(re.escape(t), _ANY_Q)})(?=.*{_element(re.escape(_wildcard(t)), q)})"
            for t in types) + ")"))
        by_any.append((fmt.extension, lambda q, types=fmt.media_types[:1]: "^(?:" + "|".join(
            rf"(?!.*{_element(re.escape(t), _ANY_Q)})(?!.*{_element(re.escape(_wildcard(t)), _ANY_Q)})"
            rf"(?=.*{_element(re.escape('*/*'), q)})" for t in types) + ")"))
    plain = [(pattern(q), extension) for q in _Q_TIERS for extension, pattern in specific]
    wildcard = [(pattern(q), extension) for q in _Q_TIERS for extension, pattern in (*specific, *by_type, *by_any)]
    return DecisionTable(exact, plain, wildcard, "")


def language_table(languages: list[str]) -> DecisionTable:
    """Accept-Language header -> the page language ``choose_language`` picks (default English)."""
    exact = [(header, choose_language(parse_accept_language(header), languages))
             for header in KNOWN_ACCEPT_LANGUAGE]
    # exact tags (and "*") at any quality beat a primary-subtag match; "*" rates only the
    # languages without an element of their own (the more specific element decides)
    tags = {q: [(_element(re.escape(language), q), language) for language in languages]
            for q in _Q_TIERS}
    anything = {q: [(f"^(?!.*{_element(re.escape(language), _ANY_Q)})(?=.*{_element(re.escape('*'), q)})",
                     language) for language in languages] for q in _Q_TIERS}
    subtags = [(_element(re.escape(language) + r"[-_][a-z0-9-]*", q), language)
               for q in _Q_TIERS for language in languages]
    plain = [entry for q in _Q_TIERS for entry in tags[q]] + subtags
    wildcard = [entry for q in _Q_TIERS for entry in (*tags[q], *anything[q])] + subtags
    return DecisionTable(exact, plain, wildcard, DEFAULT_LANGUAGE)
