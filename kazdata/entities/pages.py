"""HTML pages for people: the site's (indexes, timeline, ontology) rendered by the build, and
entity pages, rendered on demand from the entity's stored triples (``page_lines``, decision 007).

Pages use labels, not IRIs, in the page's language (falling back to English), and link with
host-relative paths (``/doc/event/...``) so that browsing works on whatever host serves the
release while the RDF keeps the canonical IRIs. Jinja's autoescape escapes every value.
What a page says about a term (labels, values, links) is read through ``kazdata.entities.graph_view``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import jinja2
import pyoxigraph as ox

from kazdata.entities.description import (
    RDF_TYPE,
    RDFS_LABEL,
    SCHEMA_NAME,
    EntityRef,
    entity_ref,
    labels_and_types,
    record_link_iris,
)
from kazdata.entities.graph_view import (
    ALTERNATE_NAME,
    DEFAULT_LANGUAGE,
    PROV,
    RDFS_COMMENT,
    SCHEMA,
    SEM,
    GraphView,
    format_date_range,
    local_name,
)
from kazdata.entities.triples import TripleIndex, token
from kazdata.formats import DOCUMENT_FORMATS, HTML, JSON_LD, Style
from kazdata.release.citation import citation_of

#: the stylesheet and the query page's script, served at /static/ and copied by the export
STATIC_DIR = Path(__file__).resolve().parent / "static"
_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("kazdata.entities", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def template_environment() -> jinja2.Environment:
    """The one Jinja environment, shared with the web layer's few live pages."""
    return _templates



class PageRenderer:
    """Renders the HTML of a release, one language at a time."""

    def __init__(self, view: GraphView, style: Style) -> None:
        self.view = view
        self.style = style

    def _render(self, template: str, language: str, **context) -> str:
        return _templates.get_template(template).render(language=language, formats=DOCUMENT_FORMATS,
                                                       **context)

    def _figures_and_statements(self, subject, language: str) -> tuple[list, list, list]:
        """The records linked to ``subject`` (``record_link_iris``: about it, said in it, by it),
        sorted by IRI, as the page's reported figures, attributed statements and quotations."""
        view = self.view
        records = sorted({record for predicate in record_link_iris(view.base)
                          for record in view.subjects(predicate, subject)}, key=str)
        figures, statements, quotations = [], [], []
        for record in records:
            types = {t.value for t in view.objects(record, RDF_TYPE.value)}
            if view.vocabulary.term("FigureClaim") in types:
                figures.append(self._figure(record, language))
            elif view.vocabulary.term("StatementClaim") in types:
                statements.append(self._statement(record, language))
            elif SCHEMA + "Quotation" in types:
                quotations.append(self._quotation(record, language))
        return figures, statements, quotations

    def _links(self, record, predicate: str, language: str) -> list[dict]:
        return [self.view.link(o, language) for o in self.view.objects(record, predicate)]

    def _record(self, record, language: str) -> dict:
        """What every record shows: its link, the outlets that reported it, the articles it is
        from with their addresses (``schema:url``)."""
        view = self.view
        sources = []
        for source in view.objects(record, PROV + "wasDerivedFrom"):
            url = view.value(source, SCHEMA + "url")
            sources.append({**view.link(source, language), "url": url.value if url is not None else None})
        return {"claim": view.link(record, language), "link": view.link(record, language),
                "outlets": self._links(record, PROV + "wasAttributedTo", language), "sources": sources}

    def _figure(self, claim, language: str) -> dict:
        view, kaz = self.view, self.view.vocabulary.term
        value = view.value(claim, kaz("reportedValue")) or view.value(claim, kaz("reportedDuration"))
        qualifier, kind = view.value(claim, kaz("qualifier")), view.value(claim, kaz("figureKind"))
        group = view.value(claim, kaz("countedGroup"))
        return {**self._record(claim, language),
                "wording": view.label(view.value(claim, kaz("wording")) or claim, language),
                "value": value.value if value is not None else "",
                "qualifier": view.label(qualifier, language) if qualifier else "",
                "kind": view.label(kind, language) if kind else "",
                "group": view.label(group, language) if group else ""}

    def _statement(self, claim, language: str) -> dict:
        view, kaz = self.view, self.view.vocabulary.term
        text = view.value(claim, SCHEMA + "text")
        return {**self._record(claim, language),
                "text": text.value if text else view.label(claim, language),
                "speakers": self._links(claim, kaz("statedBy"), language),
                "attackers": self._links(claim, kaz("allegedAttacker"), language),
                "weapons": [w.value for w in view.objects(claim, kaz("allegedWeapon"))]}

    def _quotation(self, node, language: str) -> dict:
        view, kaz = self.view, self.view.vocabulary.term
        text, medium = view.value(node, SCHEMA + "text"), view.value(node, kaz("medium"))
        return {**self._record(node, language), "text": text.value if text else "",
                "speakers": self._links(node, SCHEMA + "spokenByCharacter", language)
                or self._links(node, SCHEMA + "creator", language),
                "displayers": self._links(node, kaz("displayedBy"), language),
                "medium": medium.value if medium is not None else ""}

    def _when(self, subject) -> str | None:
        """The event's day, or its range of days said as a range, as the timeline says it."""
        view = self.view
        start = view.value(subject, SCHEMA + "startDate") or view.value(subject, SEM + "hasEarliestBeginTimeStamp")
        if start is None:
            return None
        return format_date_range(start, view.value(subject, SEM + "hasLatestBeginTimeStamp"))

    def _map(self, subject) -> dict | None:
        """An SVG map without tiles: every place with coordinates as a dot, this one highlighted."""
        view = self.view
        points = view.places
        own = next((p for p in points if p["iri"] == subject.value), None)
        if own is None:
            return None
        near = [p for p in points if abs(p["lat"] - own["lat"]) < 5 and abs(p["lon"] - own["lon"]) < 8]
        lats, lons = [p["lat"] for p in near], [p["lon"] for p in near]
        south, north = min(lats) - 1, max(lats) + 1
        west, east = min(lons) - 1, max(lons) + 1
        width, height = 360, 240

        def project(p):
            return (round((p["lon"] - west) / (east - west) * width, 1),
                    round((north - p["lat"]) / (north - south) * height, 1))
        dots = [{"x": project(p)[0], "y": project(p)[1], "label": p["label"],
                 "href": view.href(ox.NamedNode(p["iri"])), "own": p is own} for p in near]
        return {"width": width, "height": height, "dots": dots, "lat": own["lat"], "lon": own["lon"]}

    def entity_page(self, ref, triples: list[ox.Triple], language: str, citation=None) -> str:
        """The entity's page; ``citation`` (``kazdata.release.citation``) fills its "Cite this release" block."""
        view = self.view
        subject = ox.NamedNode(ref.iri(view.base))
        properties: dict[str, dict] = {}
        for triple in triples:
            if triple.subject != subject or triple.predicate in (RDFS_LABEL, SCHEMA_NAME):
                continue
            key = triple.predicate.value
            entry = properties.setdefault(key, {"predicate": view.link(triple.predicate, language), "objects": []})
            entry["objects"].append(view.link(triple.object, language))
        incoming: dict[str, dict] = defaultdict(lambda: {"count": 0, "subjects": []})
        for triple in triples:
            if triple.object == subject and triple.subject != subject and \
                    entity_ref(triple.subject.value, view.base) is not None:  # type: ignore[union-attr]  # stubs: RDF-star subjects
                entry = incoming[triple.predicate.value]
                entry["predicate"] = view.link(triple.predicate, language)
                entry["count"] += 1
                entry["subjects"].append(view.link(triple.subject, language))
        figures, statements, quotations = self._figures_and_statements(subject, language)
        jsonld = json.loads(JSON_LD.serialize(triples, self.style))
        same_as = [view.link(o, language) for o in view.objects(subject, SCHEMA + "sameAs")]
        alternate = [{"text": o.value, "language": o.language}
                     for o in view.objects(subject, ALTERNATE_NAME.value) if isinstance(o, ox.Literal)]
        return self._render(
            "entity.html", language, ref=ref, iri=subject.value, title=view.label(subject, language),
            document_iri=view.vocabulary.document(ref.path),  # rel=canonical: as the Link header says
            types=[view.link(t, language) for t in view.objects(subject, RDF_TYPE.value)],
            description=view.label(view.value(subject, SCHEMA + "description"), language)
            if view.value(subject, SCHEMA + "description") else None,
            properties=sorted(properties.values(), key=lambda e: e["predicate"]["label"].lower()),
            incoming=sorted(incoming.values(), key=lambda e: e["predicate"]["label"].lower()),
            when=self._when(subject),
            figures=figures, statements=statements, quotations=quotations, same_as=same_as,
            alternate=alternate, map=self._map(subject),
            jsonld=json.dumps(jsonld, ensure_ascii=False).replace("<", "\\u003c"),
            html=HTML, citation=citation)

    def site_pages(self, index: list[dict], language: str) -> dict[str, str]:
        """The home page, the timeline, the index of each kind of entity and the ontology page."""
        kinds: dict[str, list] = defaultdict(list)
        for entry in index:
            kinds[entry["kind"]].append(entry)
        for entries in kinds.values():
            entries.sort(key=lambda e: e["labels"].get(language, e["labels"][DEFAULT_LANGUAGE]).lower())
        events = sorted(kinds.get("event", []), key=lambda e: (e["sort_date"] or "9999", e["path"]))
        children: dict[str, list] = defaultdict(list)
        for event in events:
            for parent in event["parent"]:
                children[parent].append(event)
        roots = [e for e in events if not e["parent"]]
        result = {
            "home": self._render("home.html", language, kinds=sorted(kinds.items()),
                                 event_count=len(events), title="kazdata"),
            "timeline": self._render("timeline.html", language, roots=roots, children=children,
                                     title="Timeline of events"),
            "ontology": self._render("ontology.html", language, terms=self._ontology_terms(language),
                                     title="kazdata ontology"),
        }
        for kind, entries in kinds.items():
            result[f"kind-{kind}"] = self._render("kind.html", language, kind=kind, entries=entries,
                                                  title=f"Index: {kind}")
        return result

    def _ontology_terms(self, language: str) -> list[dict]:
        view = self.view
        namespace = view.vocabulary.ontology
        terms = []
        for term in view.typed_subjects(namespace):
            types = {t.value for t in view.objects(term, RDF_TYPE.value)}
            usage_as_class = view.count(RDF_TYPE, term)  # each subject types itself once
            usage_as_property = view.count(term)
            examples = view.first_subjects(RDF_TYPE, term, 3) or view.first_subjects(term, None, 3)
            comment = view.value(term, RDFS_COMMENT.value)
            terms.append({
                "name": term.value[len(namespace):], "iri": term.value, "label": view.label(term, language),
                "comment": comment.value if comment else "",
                "kind": "class" if "http://www.w3.org/2002/07/owl#Class" in types else
                        "property" if any("Property" in t for t in types) else "individual",
                "domain": [view.link(d, language) for d in view.objects(term, "http://www.w3.org/2000/01/rdf-schema#domain")],
                "range": [view.link(r, language) for r in view.objects(term, "http://www.w3.org/2000/01/rdf-schema#range")],
                "parents": [view.link(p, language) for p in
                            view.objects(term, "http://www.w3.org/2000/01/rdf-schema#subClassOf")
                            + view.objects(term, "http://www.w3.org/2000/01/rdf-schema#subPropertyOf")],
                "uses": usage_as_class + usage_as_property,
                "examples": [view.link(e, language) for e in examples]})
        return terms


PAGE_LABELS = frozenset(token(p) for p in (RDFS_LABEL, SCHEMA_NAME, ALTERNATE_NAME))
_IRI_TOKEN = re.compile(rb"<[^<>\"{}|^`\\\s]*>")


def page_lines(index: TripleIndex, ref: EntityRef, base: str, document: list[bytes]) -> list[bytes]:
    """What the HTML page of ``ref`` reads besides its ``document`` lines, as N-Triples lines.

    ``PageRenderer.entity_page`` over a view of the document plus these lines (and the release's
    places) renders the same page as over the whole graph (a test holds them equal). Since the
    document carries the records about the entity and the names of what they link to (issue 12),
    these are only names of terms the document writes without describing them, usually none.
    """
    # every IRI written in the document: a few more than the page shows (datatypes, an IRI quoted
    # in a literal) cost a few label lines and change nothing on the page
    terms = set(_IRI_TOKEN.findall(b"".join(document)))
    extra = labels_and_types(index, terms, PAGE_LABELS)
    return sorted(set(extra) - set(document))


SH = "http://www.w3.org/ns/shacl#"
SPDX = "http://spdx.org/rdf/terms#"


def render_shapes_page(shape_triples: list[ox.Triple], language: str) -> str:
    """A readable summary of the SHACL shapes: each node shape, what it targets, its messages."""
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in shape_triples)

    def values(subject, predicate: str) -> list:
        return sorted({q.object for q in store.quads_for_pattern(subject, ox.NamedNode(SH + predicate), None, None)},
                      key=str)

    shapes = []
    # subjects are never triples: RDF 1.2 and pyoxigraph 0.5 have none, its stubs still do (RDF-star)
    node_shapes: set[ox.NamedNode | ox.BlankNode] = {
        q.subject for q in store.quads_for_pattern(None, RDF_TYPE, ox.NamedNode(SH + "NodeShape"), None)}  # type: ignore[misc]
    for shape in sorted(node_shapes, key=str):
        parts = [shape, *values(shape, "property"), *values(shape, "sparql")]
        messages = []
        for part in parts:
            severity = next(iter(values(part, "severity")), None) or next(iter(values(shape, "severity")), None)
            for message in values(part, "message"):
                messages.append({"text": message.value,
                                 "severity": local_name(severity.value) if severity else "Violation"})
        names = values(shape, "name") + sorted({q.object for q in store.quads_for_pattern(shape, RDFS_LABEL, None, None)}, key=str)
        shapes.append({"iri": shape.value, "name": local_name(shape.value),
                       "label": names[0].value if names else local_name(shape.value),
                       "targets": [local_name(t.value) for t in values(shape, "targetClass")],
                       "messages": messages})
    return _templates.get_template("shapes.html").render(language=language, shapes=shapes,
                                                         title="SHACL shapes", formats={})


def render_dataset_page(void_triples: list[ox.Triple], base: str, language: str) -> str:
    """The VoID/DCAT description as a page: what the dataset is, its size, dumps and sources."""
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in void_triples)
    view = GraphView(store, base)
    dataset = ox.NamedNode(view.vocabulary.dataset)
    void, dcat, dcterms = "http://rdfs.org/ns/void#", "http://www.w3.org/ns/dcat#", "http://purl.org/dc/terms/"

    def text(predicate: str) -> str:
        value = view.value(dataset, predicate)
        return value.value if value is not None else ""

    def sha256(distribution) -> str:
        checksum = view.value(distribution, SPDX + "checksum")
        value = view.value(checksum, SPDX + "checksumValue") if checksum is not None else None
        return value.value if value is not None else ""

    dumps = [{"href": view.href(d), "label": view.label(d, language), "sha256": sha256(d),
              "size": (view.value(d, dcat + "byteSize").value if view.value(d, dcat + "byteSize") else "")}
             for d in view.objects(dataset, dcat + "distribution")]
    partitions = [(local_name(view.value(p, void + "class").value), int(view.value(p, void + "entities").value))
                  for p in view.objects(dataset, void + "classPartition")]
    classes = [{"label": label, "count": count} for label, count in sorted(partitions, key=lambda c: (-c[1], c[0]))]
    graphs = [{"iri": g.value, "triples": view.value(g, void + "triples").value,
               "sources": [view.link(d, language) for d in view.objects(g, "http://www.w3.org/ns/prov#wasDerivedFrom")]}
              for g in view.objects(dataset, void + "subset")]
    rights = view.value(dataset, dcterms + "rights")
    return _templates.get_template("dataset.html").render(
        language=language, formats={}, title=text(dcterms + "title"), description=text(dcterms + "description"),
        license=text(dcterms + "license"), version=text(dcat + "version"), triples=text(void + "triples"),
        entities=text(void + "entities"), dumps=dumps, classes=classes, graphs=graphs, issued=text(dcterms + "issued"),
        rights=view.label(rights, language) if isinstance(rights, ox.NamedNode) else "",
        citation=citation_of(void_triples, dataset.value))
