"""Writers for SPARQL SELECT/ASK results (JSON, XML, CSV, TSV) that stream row by row, for
rows that are Python objects: a remote store's answer, parsed by pyoxigraph in the web worker.

The embedded stores never come here: their query processes write with pyoxigraph's own writers
(``kazdata.sparql.answers``). The tests check every writer's output with parsers that are not
ours. Each results format in ``kazdata.formats.RESULT_FORMATS`` names its writer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from kazdata.sparql.policy import AskResult, SelectResult

ResultsWriter = Callable[[SelectResult | AskResult], Iterator[bytes]]


def _json_term(term) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {"subject": _json_term(term.subject),
                                            "predicate": _json_term(term.predicate),
                                            "object": _json_term(term.object)}}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        out["datatype"] = term.datatype.value
    return out


def write_json(result) -> Iterator[bytes]:
    if isinstance(result, AskResult):
        yield json.dumps({"head": {}, "boolean": result.value}).encode()
        return
    yield (b'{"head":{"vars":' + json.dumps(result.variables).encode() + b'},"results":{"bindings":[')
    for index, row in enumerate(result.rows):
        binding = {v: _json_term(row[v]) for v in result.variables if row[v] is not None}
        yield (b"," if index else b"") + json.dumps(binding, ensure_ascii=False).encode()
    yield b"]}}\n"


#: An XML parser turns a literal carriage return into a line feed (XML 1.0 section 2.11): written
#: as a character reference it survives.
_CARRIAGE_RETURN = {"\r": "&#13;"}


def _xml_term(term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Triple):
        return (f"<triple><subject>{_xml_term(term.subject)}</subject><predicate>{_xml_term(term.predicate)}"
                f"</predicate><object>{_xml_term(term.object)}</object></triple>")
    if term.language:
        return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value, _CARRIAGE_RETURN)}</literal>"
    if term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value, _CARRIAGE_RETURN)}</literal>"
    return f"<literal>{escape(term.value, _CARRIAGE_RETURN)}</literal>"


def write_xml(result) -> Iterator[bytes]:
    yield b'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
    if isinstance(result, AskResult):
        yield f"<head/><boolean>{'true' if result.value else 'false'}</boolean></sparql>\n".encode()
        return
    yield ("<head>" + "".join(f"<variable name={quoteattr(v)}/>" for v in result.variables)
           + "</head><results>").encode()
    for row in result.rows:
        cells = "".join(f"<binding name={quoteattr(v)}>{_xml_term(row[v])}</binding>"
                        for v in result.variables if row[v] is not None)
        yield f"<result>{cells}</result>".encode()
    yield b"</results></sparql>\n"


def _csv_cell(term) -> str:
    if term is None:
        return ""
    text = f"_:{term.value}" if isinstance(term, ox.BlankNode) else \
        str(term) if isinstance(term, ox.Triple) else term.value
    if any(c in text for c in ',"\r\n'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def write_csv(result) -> Iterator[bytes]:
    if isinstance(result, AskResult):
        yield f"_askResult\r\n{'true' if result.value else 'false'}\r\n".encode()
        return
    yield (",".join(result.variables) + "\r\n").encode()
    for row in result.rows:
        yield (",".join(_csv_cell(row[v]) for v in result.variables) + "\r\n").encode()


def _tsv_term(term) -> str:
    """A term in SPARQL 1.2 TSV syntax: N-Triples, and ``<<( s p o )>>`` for a triple term (whose
    ``str`` in pyoxigraph is the bare ``s p o`` of an N-Triples line, which no parser reads back)."""
    if isinstance(term, ox.Triple):
        return f"<<( {_tsv_term(term.subject)} {_tsv_term(term.predicate)} {_tsv_term(term.object)} )>>"
    return str(term)


def write_tsv(result) -> Iterator[bytes]:
    """TSV cells are terms in N-Triples/Turtle syntax, which is what ``str`` of a pyoxigraph term is."""
    if isinstance(result, AskResult):
        yield f"?_askResult\n{'true' if result.value else 'false'}\n".encode()
        return
    yield ("\t".join(f"?{v}" for v in result.variables) + "\n").encode()
    for row in result.rows:
        cells = ("" if row[v] is None else _tsv_term(row[v]).replace("\t", "\\t") for v in result.variables)
        yield ("\t".join(cells) + "\n").encode()

