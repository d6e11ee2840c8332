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

from kazdata.entities import maps, places
from kazdata.entities.chronology import timeline_tree
from kazdata.entities.description import (
    RDF_TYPE,
    RDFS_LABEL,
    SCHEMA_NAME,
    EntityRef,
    entity_ref,
    labels_and_types,
    record_link_iris,
)
from kazdata.entities.figure_charts import charts_where_sources_differ
from kazdata.entities.graph_view import (
    ALTERNATE_NAME,
    DEFAULT_LANGUAGE,
    PROV,
    RDFS_COMMENT,
    SCHEMA,
    SEM,
    GraphView,
    format_date,
    format_date_range,
)
from kazdata.entities.timeline_drawing import WIDTH, Axis, track
from kazdata.entities.triples import TripleIndex, token
from kazdata.formats import DOCUMENT_FORMATS, HTML, JSON_LD, Style

#: the most people, organisations, figures and events the home page lists (the indexes list all)
HOME_LIST = 40
#: the most events the timeline draws, in timeline order (``/index/event`` lists all)
TIMELINE_LIMIT = 300
#: a figure in words that English joins to who it counts with "of" ("hundreds of oil workers",
#: "dozens of ..."), as against a number or "several hundred", which take the noun directly
_COUNTED_IN_WORDS = re.compile(r"\b(?:tens|dozens|scores|hundreds|thousands|millions)\Z", re.I)
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
        """What every record shows: its link, the outlets that reported it, and its reference as
        Wikidata shows one under a statement: the documents it is from, each with its address
        (``schema:url``), publisher and publication date, as far as the data gives them (the
        entity's document carries them: ``description.references``)."""
        view = self.view
        sources = []
        for source in view.objects(record, PROV + "wasDerivedFrom"):
            url, published = view.value(source, SCHEMA + "url"), view.value(source, SCHEMA + "datePublished")
            sources.append({**view.link(source, language), "url": url.value if url is not None else None,
                            "publishers": self._links(source, SCHEMA + "publisher", language),
                            "published": {"iso": published.value, "text": format_date(published)}
                            if isinstance(published, ox.Literal) else None})
        return {"claim": view.link(record, language), "link": view.link(record, language),
                "outlets": self._links(record, PROV + "wasAttributedTo", language), "sources": sources}

    def _figure(self, claim, language: str) -> dict:
        view, kaz = self.view, self.view.vocabulary.term
        value = view.value(claim, kaz("reportedValue")) or view.value(claim, kaz("reportedDuration"))
        qualifier, kind = view.value(claim, kaz("qualifier")), view.value(claim, kaz("figureKind"))
        group = view.value(claim, kaz("countedGroup"))
        wording = view.label(view.value(claim, kaz("wording")) or claim, language)
        shown_group = view.label(group, language) if group else ""
        if wording.endswith(" " + shown_group):  # "one person": the wording already names who is counted
            shown_group = ""
        elif shown_group and _COUNTED_IN_WORDS.search(wording):  # "Thousands" of oilmen, "dozens" of ...
            shown_group = "of " + shown_group
        return {**self._record(claim, language),
                "wording": wording,
                "value": value.value if value is not None else "",
                "qualifier": view.label(qualifier, language) if qualifier else "",
                "kind": view.label(kind, language) if kind else "",
                "group": shown_group}

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

    def _when(self, subject) -> dict | None:
        """The event's day, its span of days, or the days it may have started on, as the
        timeline says them (``GraphView.index_entry``)."""
        view = self.view
        start = view.value(subject, SCHEMA + "startDate") or view.value(subject, SEM + "hasEarliestBeginTimeStamp")
        if start is None:
            return None
        latest, end = view.value(subject, SEM + "hasLatestBeginTimeStamp"), view.value(subject, SCHEMA + "endDate")
        if latest is None and end is not None:
            return {"text": format_date_range(start, end, span=True), "uncertain": False}
        return {"text": format_date_range(start, latest), "uncertain": latest is not None}

    def _map(self, subject, kind: str, language: str) -> dict | None:
        """The map of a place, or of an entity located somewhere: its places with coordinates,
        or, for one without, the nearest place containing it that has some (said in ``notes``),
        among the places near them. None for an entity that is nowhere; ``{"missing": ...}`` for
        a place or located entity that the data gives no coordinates for."""
        view = self.view
        by_iri = {p["iri"]: p for p in view.places}
        own: list[dict] = []
        notes = []
        located = places.locations(view, subject)
        for location in located:
            place = by_iri.get(location.value) if isinstance(location, ox.NamedNode) else None
            if place is None:
                place = next((by_iri[c.value] for c in places.containing(view, location) if c.value in by_iri), None)
                if place is not None:
                    notes.append({"place": view.link(location, language), "shown": view.link(ox.NamedNode(place["iri"]), language)})
            if place is not None and place not in own:
                own.append(place)
        if not own:
            is_located = kind == "place" or located != [subject]
            return {"missing": [view.link(p, language) for p in located]} if is_located else None
        near = [p for p in view.places if p not in own
                and any(abs(p["lat"] - o["lat"]) < 5 and abs(p["lon"] - o["lon"]) < 8 for o in own)]
        points = [{**p, "href": view.href(ox.NamedNode(p["iri"])), "own": p in own} for p in own + near]
        drawn = maps.draw(points, "Map of " + ", ".join(p["label"] for p in own) + " and places near")
        return {**drawn, "notes": notes}

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
        inside = [{"event": view.link(event, language), "places": [view.link(p, language) for p in inner]}
                  for event, inner in places.events_inside(view, subject)]
        jsonld = json.loads(JSON_LD.serialize(triples, self.style))
        same_as = [view.link(o, language) for o in view.objects(subject, SCHEMA + "sameAs")]
        alternate = [{"text": o.value, "language": o.language}
                     for o in view.objects(subject, ALTERNATE_NAME.value) if isinstance(o, ox.Literal)]
        return self._render(
            "entity.html", language, ref=ref, iri=subject.value, title=view.label(subject, language),
            title_lang=view.named(subject, language)[1],
            document_iri=view.vocabulary.document(ref.path),  # rel=canonical: as the Link header says
            types=[view.link(t, language) for t in view.objects(subject, RDF_TYPE.value)],
            description=view.label(view.value(subject, SCHEMA + "description"), language)
            if view.value(subject, SCHEMA + "description") else None,
            properties=sorted(properties.values(), key=lambda e: e["predicate"]["label"].lower()),
            incoming=sorted(incoming.values(), key=lambda e: e["predicate"]["label"].lower()),
            when=self._when(subject),
            figures=figures, statements=statements, quotations=quotations, same_as=same_as,
            alternate=alternate, map=self._map(subject, ref.kind, language), inside=inside,
            jsonld=json.dumps(jsonld, ensure_ascii=False).replace("<", "\\u003c"),
            html=HTML, citation=citation, reference_terms=self._reference_terms(language))

    def _reference_terms(self, language: str) -> dict[str, dict]:
        """The properties a record's reference is made of, named as the data names them (their
        labels, else their words: "was derived from", "date published")."""
        terms = {"source": PROV + "wasDerivedFrom", "url": SCHEMA + "url", "publisher": SCHEMA + "publisher",
                 "published": SCHEMA + "datePublished", "outlet": PROV + "wasAttributedTo"}
        return {key: self.view.link(ox.NamedNode(iri), language) for key, iri in terms.items()}

    def site_pages(self, index: list[dict], language: str) -> dict[str, str]:
        """The home page, the timeline, the index of each kind of entity and the ontology page."""
        kinds: dict[str, list] = defaultdict(list)
        for entry in index:
            kinds[entry["kind"]].append(entry)
        for entries in kinds.values():
            entries.sort(key=lambda e: e["labels"].get(language, e["labels"][DEFAULT_LANGUAGE]).lower())
        events = kinds.get("event", [])
        timeline = self._timeline(events[:TIMELINE_LIMIT], language)
        timeline["total"] = len(events)
        figures = self._key_figures(language)
        result = {
            "home": self._render("home.html", language, kinds=sorted(kinds.items()),
                                 event_count=len(events), title="kazdata", timeline=timeline,
                                 map=self._events_map(events), figures=figures, span=_span(events),
                                 charts=charts_where_sources_differ(figures),
                                 outlets=sorted({o["label"] for f in figures for o in f["outlets"]}),
                                 people=kinds.get("person", [])[:HOME_LIST], organisations=kinds.get("organization", [])[:HOME_LIST]),
            "timeline": self._render("timeline.html", language, timeline=timeline, title="Timeline of events"),
            "ontology": self._render("ontology.html", language, terms=self._ontology_terms(language),
                                     title="kazdata ontology"),
        }
        for kind, entries in kinds.items():
            result[f"kind-{kind}"] = self._render("kind.html", language, kind=kind, entries=entries,
                                                  title=f"Index: {kind}")
        return result

    def _timeline(self, events: list[dict], language: str) -> dict:
        """The timeline's events in order (``chronology``), sub-events under their parents, each
        with its track on the drawn axis (``timeline_drawing``) and the figures reported about it."""
        view = self.view
        roots, children = timeline_tree(events)
        axis = Axis(events)
        figure_claim = view.vocabulary.term("FigureClaim")
        entries = {}
        for event in events:
            claims = [c for c in view.subjects(SCHEMA + "about", ox.NamedNode(event["iri"]))
                      if any(t.value == figure_claim for t in view.objects(c, RDF_TYPE.value))]
            entries[event["iri"]] = {"track": track(axis, event),
                                     "figures": [self._figure(c, language) for c in claims]}
        return {"roots": roots, "children": children, "entries": entries, "ticks": axis.ticks(),
                "width": WIDTH, "shown": len(events)}

    def _events_map(self, events: list[dict]) -> dict | None:
        """The map of the home page: every place an event is located at (or, for a place without
        coordinates, the nearest place containing it with some), the first ``HOME_LIST`` events."""
        view = self.view
        by_iri = {p["iri"]: p for p in view.places}
        shown: list[dict] = []
        for event in events[:HOME_LIST * 10]:
            for location in view.objects(ox.NamedNode(event["iri"]), places.LOCATION):
                place = by_iri.get(location.value) or next(
                    (by_iri[c.value] for c in places.containing(view, location) if c.value in by_iri), None)
                if place is not None and place not in shown:
                    shown.append(place)
        if not shown:
            return None
        points = [{**p, "href": view.href(ox.NamedNode(p["iri"])), "own": True} for p in shown]
        return maps.draw(points, "Map of the places where the recorded events happened")

    def _key_figures(self, language: str) -> list[dict]:
        """Every reported figure (at most ``HOME_LIST``), by kind and event, with its outlet: the
        home page sets side by side what each source reported."""
        view = self.view
        claims = view.subjects(RDF_TYPE.value, ox.NamedNode(view.vocabulary.term("FigureClaim")))[:HOME_LIST]
        rows = []
        for claim in claims:
            figure = self._figure(claim, language)
            events = view.objects(claim, SCHEMA + "about")
            rows.append({**figure, "events": [view.link(e, language) for e in events]})
        return sorted(rows, key=lambda r: (r["kind"], r["events"][0]["label"] if r["events"] else "", r["value"]))

    def _ontology_terms(self, language: str) -> list[dict]:
        view = self.view
        namespace = view.vocabulary.ontology
        terms = []
        for term in view.typed_subjects(namespace):
            types = {t.value for t in view.objects(term, RDF_TYPE.value)}
            kind = ("class" if OWL + "Class" in types else
                    "property" if any("Property" in t for t in types) else "individual")
            examples = view.first_subjects(RDF_TYPE, term, 3) or view.first_subjects(term, None, 3)
            comment = view.value(term, RDFS_COMMENT.value)
            terms.append({
                "name": term.value[len(namespace):], "iri": term.value, "label": view.label(term, language),
                "comment": comment.value if comment else "", "kind": kind,
                "domain": self._term_links(view.objects(term, RDFS + "domain"), language),
                "range": self._term_links(view.objects(term, RDFS + "range"), language),
                "parents": self._term_links(view.objects(term, RDFS + "subClassOf")
                                            + view.objects(term, RDFS + "subPropertyOf"), language),
                "uses": self._uses(term, kind),
                "examples": [view.link(e, language) for e in examples]})
        return terms

    def _term_links(self, terms: list, language: str) -> list[dict]:
        """Links to classes and properties, each named by its label and, for a term of another
        vocabulary, its prefixed name: schema:Event and sem:Event are both labelled "event"."""
        prefixes = self.view.vocabulary.prefixes
        links = []
        for term in dict.fromkeys(terms):
            link = self.view.link(term, language)
            if isinstance(term, ox.NamedNode) and not term.value.startswith(self.view.vocabulary.ontology):
                link["prefixed"] = next((f"{name}:{term.value[len(iri):]}" for name, iri in prefixes.items()
                                         if term.value.startswith(iri)), term.value)
            links.append(link)
        return links

    def _uses(self, term, kind: str) -> int:
        """How often the data uses ``term``: the resources of a class or of any of its subclasses,
        the statements of a property, the statements whose value an individual is."""
        view = self.view
        if kind == "class":
            classes, pending = {term}, [term]
            while pending:
                for sub in view.subjects(RDFS + "subClassOf", pending.pop()):
                    if sub not in classes:
                        classes.add(sub)
                        pending.append(sub)
            return len({s for c in classes for s in view.subjects(RDF_TYPE.value, c)})
        if kind == "property":
            return view.count(term)
        namespace = view.vocabulary.ontology
        return sum(1 for s in view.subjects_of_object(term) if not str(s).startswith(f"<{namespace}"))


def _span(events: list[dict]) -> tuple[str, str] | None:
    """The first and last day the events are dated by, as the index entries say them."""
    dated = sorted((e for e in events if e["sort_date"]), key=lambda e: e["sort_date"])
    return (dated[0]["date"], dated[-1]["date"]) if dated else None


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


OWL = "http://www.w3.org/2002/07/owl#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
