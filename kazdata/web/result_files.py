"""A SPARQL answer as a file a person saves: its name, an optional byte-order mark, and a clear
406 when the format asked for cannot hold the answer.

The protocol's answer stays exact by default; these apply only when the client asks:

- ``download`` (any value) adds ``Content-Disposition: attachment; filename="kazdata-results.EXT"``
  (the extension is the format's, from the registry), so a browser saves the file instead of
  showing raw text, and a browser's GET with it gets the data, not the query page;
- ``bom=1`` (or ``true``, ``yes``, ``on``) starts a CSV or TSV answer with the UTF-8 byte-order
  mark, which spreadsheet programs need to read UTF-8 (Kazakh and Russian names) instead of a
  legacy code page; other formats are sent unchanged (a BOM is not allowed in JSON, and XML and
  RDF readers have their own encoding declarations).

A format parameter that names a format of the other kind of answer (``format=csv`` on a
CONSTRUCT, ``format=ttl`` or ``jsonld`` on a SELECT) is a 406 naming what the answer can be
written as; before, it fell back to negotiation and a CSV request got Turtle in silence. A generic
word that is the subtype of a media type the answer can take (``xml``: RDF/XML is also
``application/xml``; ``json``) still falls back to negotiation: SPARQLWrapper sends
``format=xml`` when it wants RDF/XML of a CONSTRUCT. docs/decisions/021.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from flask import Response

from kazdata.errors import BadRequest, NotAcceptable
from kazdata.formats import DATASET_FORMATS, GRAPH_FORMATS, RESULT_FORMATS, Format, by_name

DOWNLOAD = "download"
BOM = "bom"
FILE_STEM = "kazdata-results"
UTF8_BOM = b"\xef\xbb\xbf"
#: the formats a byte-order mark is written for: those spreadsheet programs open
SPREADSHEET_FORMATS = (RESULT_FORMATS["csv"], RESULT_FORMATS["tsv"])
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")
_EVERY_FORMAT = {f.extension: f for f in (*RESULT_FORMATS.values(), *GRAPH_FORMATS.values(),
                                          *DATASET_FORMATS.values())}


def refuse_other_kind(names: Iterable[str], offered: list[Format]) -> None:
    """Raise NotAcceptable when a format parameter's value names a format of the other kind of
    answer and is not a generic word the offered formats answer to too (``xml``, ``json``)."""
    names = list(names)
    if not names:
        return  # most requests: nothing to check, nothing built (the SPARQL hot path, issue 20)
    offered_table = {f.extension: f for f in offered}
    generic = {media_type.split("/", 1)[1] for f in offered for media_type in f.media_types}
    if any(by_name(name, offered_table) is not None for name in names):
        return  # one the answer can take is chosen, whatever else was sent (SPARQLWrapper sends several)
    for name in names:
        other = by_name(name, _EVERY_FORMAT)
        if other is not None and name.strip().lower() not in generic:
            kind = "a table of variable bindings" if other.extension in RESULT_FORMATS else "a graph"
            raise NotAcceptable(f"format={name} asks for {other.label}, which holds {kind}; this query's answer "
                                "cannot be written that way: ask for " + ", ".join(f.label for f in offered),
                                offered=[f.media_type for f in offered])


def as_file(response: Response, params: dict[str, list[str]], fmt: Format) -> Response:
    """``response`` with the ``download`` and ``bom`` parameters applied (see the module)."""
    if DOWNLOAD in params:
        response.headers["Content-Disposition"] = f'attachment; filename="{FILE_STEM}.{fmt.extension}"'
    if _wants_bom(params) and fmt in SPREADSHEET_FORMATS:
        body = response.iter_encoded()
        response.response = itertools.chain([UTF8_BOM], body)
        if response.content_length is not None:
            response.content_length += len(UTF8_BOM)
    return response


def _wants_bom(params: dict[str, list[str]]) -> bool:
    values = params.get(BOM, [])
    if not values:
        return False
    value = values[-1].strip().lower()
    if value not in _TRUE + _FALSE:
        raise BadRequest(f"bom must be 1 or 0 (true or false), not {values[-1][:40]!r}")
    return value in _TRUE
