"""Reading a graph for people: labels in a language, values, links and index entries.

One view serves every page and the build's index: over a whole release (a ``TripleIndex``,
read without parsing every line), an Oxigraph store, or the few triples of one page rendered
by the server (a ``TripleSet``). It returns plain values for templates and knows no HTML.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache, cached_property

import pyoxigraph as ox

from kazdata.entities.description import RDF_TYPE, RDFS_LABEL, SCHEMA_NAME, entity_ref
from kazdata.entities.triples import TripleIndex, resource, split_line, token
from kazdata.vocabulary import Vocabulary

SCHEMA = "https://schema.org/"
PROV = "http://www.w3.org/ns/prov#"
SEM = "http://semanticweb.cs.vu.nl/2009/11/sem/"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDFS_COMMENT = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")
ALTERNATE_NAME = ox.NamedNode(SCHEMA + "alternateName")
DEFAULT_LANGUAGE = "en"


def format_date(literal: ox.Literal) -> str:
    """'2011-12-16' -> '16 December 2011'; '2011-05' (gYearMonth) -> 'May 2011'."""
    value = literal.value
    try:
        if literal.datatype.value == XSD + "gYearMonth":
            return dt.datetime.strptime(value, "%Y-%m").strftime("%B %Y")
        if literal.datatype.value == XSD + "date":
            day = dt.date.fromisoformat(value)
            return f"{day.day} {day:%B %Y}"
    except ValueError:
        pass
    return value


def format_date_range(earliest: ox.Literal, latest: ox.Literal | None, *, span: bool = False) -> str:
    """A date known only to lie between two days, said as such: '18 or 19 December 2011',
    '16–19 December 2011', 'May 2011' (the whole month), '30 November – 2 December 2011'.
    With ``span``, the two days are a start and an end: '16–17 December 2011', never 'or'."""
    if latest is None or latest.value == earliest.value:
        return format_date(earliest)
    try:
        first, last = dt.date.fromisoformat(earliest.value), dt.date.fromisoformat(latest.value)
    except ValueError:
        return f"{format_date(earliest)} – {format_date(latest)}"
    next_day = last + dt.timedelta(days=1)
    if (first.year, first.month) == (last.year, last.month):
        if first.day == 1 and next_day.month != last.month:
            return f"{first:%B %Y}"
        joined = " or " if (last - first).days == 1 and not span else "–"
        return f"{first.day}{joined}{last.day} {last:%B %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%B} – {last.day} {last:%B %Y}"
    return f"{format_date(earliest)} – {format_date(latest)}"


def local_name(iri: str) -> str:
    for separator in ("#", "/"):
        if separator in iri.rstrip("/"):
            return iri.rstrip("/").rsplit(separator, 1)[-1]
    return iri


def term_words(iri: str) -> str:
    """The label of a term the ontology does not label (schema.org, PROV, SEM terms), written the
    way the ontology writes its own labels: the local name's words, lower case
    (``wasAttributedTo`` -> "was attributed to"), acronyms kept (``URL``). One rule for every
    property and class on the pages: the ontology's ``rdfs:label``, else this. A local name that
    is not camelCase (an entity's slug) is left as it is."""
    name = local_name(iri)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name):
        return name  # not a term's camelCase name (a slug, a number): as it is
    return " ".join(w if len(w) > 1 and w.isupper() else w.lower()
                    for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", name))


class GraphView:
    """Read-only helpers over triples: labels in a language, values, links.

    ``store`` is anything with ``ox.Store.quads_for_pattern`` over the union graph: a store, a
    ``TripleIndex`` (the build) or a ``TripleSet`` (one page, rendered by the server). ``places``
    are the release's places with coordinates (``places_with_coordinates``), for the maps; they
    and the page ``languages`` are computed from ``store`` when not given.
    """

    def __init__(self, store, base: str, *, places: list[dict] | None = None,
                 languages: list[str] | None = None) -> None:
        self.store = store
        self.base = base
        self.vocabulary = Vocabulary(base)
        if places is not None:
            self.places = places
        if languages is not None:
            self.languages = languages

    @cached_property
    def places(self) -> list[dict]:
        """Every place with a latitude and a longitude: IRI, coordinates, English label, by IRI."""
        latitude = ox.NamedNode(SCHEMA + "latitude")
        found = []
        for place in sorted({q.subject for q in self.store.quads_for_pattern(None, latitude, None, None)}, key=str):
            lat, lon = self.value(place, SCHEMA + "latitude"), self.value(place, SCHEMA + "longitude")
            if lat is not None and lon is not None and isinstance(place, ox.NamedNode):
                found.append({"iri": place.value, "lat": float(lat.value), "lon": float(lon.value),
                              "label": self.label(place)})
        return found

    def objects(self, subject, predicate: str) -> list:
        node = ox.NamedNode(predicate)
        return sorted({q.object for q in self.store.quads_for_pattern(subject, node, None, None)}, key=str)

    def subjects(self, predicate: str, obj) -> list:
        node = ox.NamedNode(predicate)
        return sorted({q.subject for q in self.store.quads_for_pattern(None, node, obj, None)}, key=str)

    def subjects_of_object(self, obj) -> list:
        """The subject of every triple whose object is ``obj``, once per triple."""
        if isinstance(self.store, TripleIndex):
            return [resource(split_line(line)[0]) for line in self.store.lines_for(None, None, token(obj))]
        return [q.subject for q in self.store.quads_for_pattern(None, None, obj, None)]

    def first_subjects(self, predicate, obj, limit: int) -> list:
        """The first ``limit`` of ``subjects(predicate, obj)`` (``obj`` None: any object)."""
        if isinstance(self.store, TripleIndex):  # its lines are sorted: no need to parse them all
            tokens = dict.fromkeys(split_line(line)[0] for line in
                                   self.store.lines_for(None, token(_node(predicate)), _token_or_none(obj)))
            return [resource(t) for t in list(tokens)[:limit]]
        return sorted({q.subject for q in self.store.quads_for_pattern(None, _node(predicate), obj, None)},
                      key=str)[:limit]

    def count(self, predicate, obj=None) -> int:
        """How many triples have ``predicate`` (and ``obj``, when given)."""
        if isinstance(self.store, TripleIndex):
            return len(self.store.lines_for(None, token(_node(predicate)), _token_or_none(obj)))
        return sum(1 for _ in self.store.quads_for_pattern(None, _node(predicate), obj, None))

    def typed_subjects(self, namespace: str) -> list:
        """Every IRI in ``namespace`` that has an rdf:type, sorted."""
        if isinstance(self.store, TripleIndex):
            prefix = f"<{namespace}".encode()
            return sorted({resource(s) for s in self.store.by_subject if s.startswith(prefix)
                           and self.store.lines_for(s, token(RDF_TYPE))}, key=str)
        return sorted({q.subject for q in self.store.quads_for_pattern(None, RDF_TYPE, None, None)
                       if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(namespace)}, key=str)

    def value(self, subject, predicate: str):
        values = self.objects(subject, predicate)
        return values[0] if values else None

    @cached_property
    def languages(self) -> list[str]:
        """Languages pages are rendered in: English, and those of any label or alternate name."""
        tags = {DEFAULT_LANGUAGE}
        if isinstance(self.store, TripleIndex):  # read the tags off the lines, without parsing them
            for predicate in (RDFS_LABEL, SCHEMA_NAME, ALTERNATE_NAME):
                for line in self.store.by_predicate.get(token(predicate), ()):
                    obj = split_line(line)[2]
                    if obj[:1] == b'"' and obj[-1:] != b'"' and obj[-1:] != b">":
                        tags.add(obj[obj.rindex(b'"@') + 2:].decode().split("-")[0].lower())
            return sorted(tags)
        for predicate in (RDFS_LABEL, SCHEMA_NAME, ALTERNATE_NAME):
            for quad in self.store.quads_for_pattern(None, predicate, None, None):
                if isinstance(quad.object, ox.Literal) and quad.object.language:
                    tags.add(quad.object.language.split("-")[0].lower())
        return sorted(tags)

    def label(self, term, language: str = DEFAULT_LANGUAGE) -> str:
        return self.named(term, language)[0]

    def named(self, term, language: str = DEFAULT_LANGUAGE) -> tuple[str, str | None]:
        """The label of ``term`` in ``language`` (else English, else any), and the language it
        is written in (None when untagged or not a name), so a page can mark it with ``lang``."""
        if isinstance(term, ox.Literal):
            return (format_date(term) if term.datatype.value.startswith(XSD + "g") or
                    term.datatype.value == XSD + "date" else term.value), None
        names = [q.object for p in (RDFS_LABEL, SCHEMA_NAME, ALTERNATE_NAME)
                 for q in self.store.quads_for_pattern(term, p, None, None) if isinstance(q.object, ox.Literal)]
        for wanted in (language, DEFAULT_LANGUAGE):
            for name in names:
                if (name.language or "").split("-")[0] == wanted:
                    return name.value, name.language
        for name in names:
            if not name.language:
                return name.value, None
        return (term_words(term.value) if isinstance(term, ox.NamedNode) else str(term)), None

    def href(self, term) -> str | None:
        """Where a link to ``term`` goes on the serving host; None for literals."""
        if not isinstance(term, ox.NamedNode):
            return None
        ref = entity_ref(term.value, self.base)
        if ref is not None:
            return f"/doc/{ref.path}"
        if term.value.startswith(self.vocabulary.ontology):
            return "/ontology#" + term.value[len(self.vocabulary.ontology):]
        if term.value.startswith(self.base):
            return "/" + term.value[len(self.base):]
        return term.value

    def link(self, term, language: str) -> dict:
        label, written_in = self.named(term, language)
        return {"label": label, "href": self.href(term), "lang": written_in,
                "iri": term.value if isinstance(term, ox.NamedNode) else None,
                "language": term.language if isinstance(term, ox.Literal) else None}

    def index_entry(self, ref) -> dict:
        """The entity's entry in ``docs/entities.tsv``; it reads only ``index_entry_predicates``."""
        subject = ox.NamedNode(ref.iri(self.base))
        literals = [d for p in (SCHEMA + "startDate", SEM + "hasEarliestBeginTimeStamp")
                    for d in self.objects(subject, p)]
        latest = next(iter(self.objects(subject, SEM + "hasLatestBeginTimeStamp")), None)
        end = next(iter(self.objects(subject, SCHEMA + "endDate")), None)
        return {"path": ref.path, "kind": ref.kind, "iri": subject.value,
                "labels": {lang: self.label(subject, lang) for lang in self.languages},
                "types": [t.value for t in self.objects(subject, RDF_TYPE.value)],
                "date": (format_date_range(literals[0], latest) if latest is not None or end is None
                         else format_date_range(literals[0], end, span=True)) if literals else None,
                "sort_date": literals[0].value if literals else None,
                "latest": latest.value if latest is not None else None,
                "end": end.value if end is not None else None,
                "parent": [p.value for p in self.objects(subject, SCHEMA + "superEvent")],
                "follows": [p.value for p in self.objects(subject, self.vocabulary.term("follows"))]}



@cache
def index_entry_predicates(base: str) -> frozenset[bytes]:
    """What ``GraphView.index_entry`` reads of an entity (the build parses only these lines), as
    N-Triples tokens; ``kaz:follows`` is under the release's base."""
    return frozenset(token(ox.NamedNode(iri)) for iri in (
        RDFS_LABEL.value, SCHEMA_NAME.value, ALTERNATE_NAME.value, RDF_TYPE.value, SCHEMA + "startDate",
        SEM + "hasEarliestBeginTimeStamp", SEM + "hasLatestBeginTimeStamp", SCHEMA + "superEvent",
        SCHEMA + "endDate", Vocabulary(base).term("follows")))


def _node(predicate) -> ox.NamedNode:
    return predicate if isinstance(predicate, ox.NamedNode) else ox.NamedNode(predicate)


def _token_or_none(term) -> bytes | None:
    return None if term is None else token(term)
