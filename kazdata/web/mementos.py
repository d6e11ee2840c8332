"""Time travel (Memento, RFC 7089) over the kept releases.

- **Original resources and TimeGates.** When the served release is in a history of releases,
  an entity's IRI (``/id/{kind}/{slug}``) and the dataset (``/dataset``) are their own
  TimeGates (RFC 7089, pattern 2.1): with
  ``Accept-Datetime`` they answer 302 to the memento current at that date; without it, as
  before, with ``Vary: Accept-Datetime`` and a Link to their TimeMap. An ``Accept-Datetime``
  that is not an HTTP date is a 400 saying so.
- **Mementos**: ``/releases/{version}/doc/{kind}/{slug}`` (and ``/releases/{version}/dataset``)
  is the document as release ``version`` has it, negotiated like ``/doc/``, with
  ``Memento-Datetime`` and the Links RFC 7089 names (original, timegate, timemap, first, last,
  prev and next memento).
- **TimeMaps**: ``/timemap/id/{kind}/{slug}`` and ``/timemap/dataset`` in link-format, RDF, or
  HTML (an entity's history: the releases it is in and what changed about it in each).

In Link headers the original is the IRI itself (under the release's base); every other target
is host-relative, as in the server's other Link headers. A TimeMap body gives absolute URLs
under the public URL, since link-format is read away from the request that fetched it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, request
from werkzeug.http import parse_date
from werkzeug.wrappers import Response as BaseResponse

from kazdata.errors import BadRequest, NotFound
from kazdata.formats import GRAPH_FORMATS, HTML, LINK_FORMAT
from kazdata.http_contract import GRAPH_FILES, VARY_TIMEGATE, bad_accept_datetime, link_header
from kazdata.release.history import KeptRelease, history_of
from kazdata.release.kept import KeptReleases, select
from kazdata.release.series import graph_bytes, http_date, timemap_links, timemap_triples
from kazdata.web.documents import plan_document
from kazdata.web.history import kept, render, respond, see_other_response
from kazdata.web.negotiation import accepts_gzip, choose_format, choose_language
from kazdata.web.resources import public_url, served
from kazdata.web.routes import route
from kazdata.web.sending import send_release_file

blueprint = Blueprint("mementos", __name__)
#: the endpoints that are original resources and their own TimeGates
_ENTITY, _DATASET = "linked_data.identifier", "linked_data.dataset"


class TimeTravel:
    """The mementos of one original resource: where each is, and the URLs around them."""

    def __init__(self, history: KeptReleases, path: str | None) -> None:
        """``path``: an entity's ``kind/slug``, or None for the dataset."""
        self.history, self.path = history, path
        if path is None:
            self.mementos = list(history.entries)
            self.original, self.timemap = f"{history.served.base}dataset", "/timemap/dataset"
        else:
            self.mementos = history.with_entity(path)
            self.original, self.timemap = f"{history.served.base}id/{path}", f"/timemap/id/{path}"
        if not self.mementos:
            raise NotFound(f"no release kept has an entity {path}; releases: {', '.join(history.versions)}")

    def url(self, entry: KeptRelease) -> str:
        return f"/releases/{entry.version}/" + ("dataset" if self.path is None else f"doc/{self.path}")

    def links(self, chosen: KeptRelease | None = None) -> str:
        """The Link header of the original (``chosen`` None) or of the memento ``chosen``."""
        links = [(self.original, "original timegate", None), (self.timemap, "timemap", LINK_FORMAT.media_type)]
        if chosen is not None:
            rels: dict[str, list[str]] = {}
            for rel, entry in self.history.neighbours(chosen, self.mementos).items():
                rels.setdefault(self.url(entry), []).append(rel.split()[0])
            links += [(url, " ".join(names) + " memento", None) for url, names in rels.items()]
        return link_header(links)


def accept_datetime(value: str) -> datetime:
    """The moment an ``Accept-Datetime`` names; BadRequest (400, with the TimeGate's Vary) otherwise."""
    moment = parse_date(value)
    if moment is None:
        raise BadRequest(bad_accept_datetime(value), headers={"Vary": VARY_TIMEGATE})
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _original() -> str | None:
    """``path`` of the original resource this request names (``""`` for the dataset), else None.

    None also when the served release is not in a history of releases (``kazdata publish``): a
    server of one release that nobody published is not a TimeGate, and answers as it always did,
    as a static export of it does (the parity tests of decision 006 hold)."""
    if request.endpoint not in (_ENTITY, _DATASET) or history_of(served().release.directory) is None:
        return None
    if request.endpoint == _ENTITY and request.view_args:
        return f"{request.view_args['kind']}/{request.view_args['slug']}"
    if request.endpoint == _DATASET and request.path == "/dataset":
        return ""
    return None


def timegate() -> BaseResponse | None:
    """Before the views: an original resource asked with ``Accept-Datetime`` answers as TimeGate."""
    value = request.headers.get("Accept-Datetime")
    path = _original()
    if value is None or path is None:
        return None
    travel = TimeTravel(kept(), path or None)
    chosen = select(travel.mementos, accept_datetime(value))
    response = see_other_response(travel.url(chosen), status=302, vary=VARY_TIMEGATE)
    response.headers["Link"] = travel.links()
    return response


def mark_original(response: Response) -> Response:
    """After the views: an original resource's own answer says it is a TimeGate and has a TimeMap."""
    path = _original()
    if path is None or request.headers.get("Accept-Datetime") is not None or response.status_code >= 400:
        return response  # an error names no resource with a TimeMap (and its path may be anything)
    vary = response.headers.get("Vary")
    response.headers["Vary"] = f"{vary}, Accept-Datetime" if vary else "Accept-Datetime"
    timemap = f"/timemap/id/{path}" if path else "/timemap/dataset"
    extra = link_header([(timemap, "timemap", LINK_FORMAT.media_type)])
    response.headers["Link"] = f"{response.headers['Link']}, {extra}" if response.headers.get("Link") else extra
    return response


def register_time_travel(app: Flask) -> None:
    app.before_request(timegate)
    app.after_request(mark_original)


def _memento_headers(response: BaseResponse, travel: TimeTravel, entry: KeptRelease) -> BaseResponse:
    response.headers["Memento-Datetime"] = http_date(entry.moment)
    response.headers["Link"] = travel.links(entry)
    return response


@route(blueprint, "memento")
def memento(version: str, kind: str, slug: str) -> BaseResponse:
    """The document about ``kind/slug`` in release ``version``, negotiated as ``/doc/`` is."""
    history = kept()
    extension = None
    if "." in slug:
        slug, extension = slug.rsplit(".", 1)
    release = history.open(version)
    plan = plan_document(release, kind, slug, extension, accept=request.accept_mimetypes,
                         languages=request.accept_languages,
                         gzip_ok=accepts_gzip(request.headers.get("Accept-Encoding")) and not request.headers.get("Range"))
    headers = [(name, value.replace("/doc/", f"/releases/{version}/doc/", 1) if name == "Content-Location" else value)
               for name, value in plan.headers if name != "Link"]
    response = Response(plan.body, headers=headers)
    response.set_etag(plan.etag)
    response.last_modified = datetime.fromtimestamp(plan.last_modified, UTC)
    _memento_headers(response, TimeTravel(history, f"{kind}/{slug}"), history.entry(version))
    return response.make_conditional(request, accept_ranges=True, complete_length=len(plan.body))


@route(blueprint, "release-dataset")
def release_dataset(version: str) -> BaseResponse:
    """A kept release's own description (its VoID/DCAT files, its dataset page): the dataset's memento."""
    history = kept()
    release = history.open(version)
    formats = [*GRAPH_FORMATS.values(), HTML]
    fmt = choose_format(request.accept_mimetypes, formats)
    if fmt is HTML:
        language = choose_language(request.accept_languages, release.languages)
        response = send_release_file(release, release.file(f"pages/dataset.{language}.html"), HTML,
                                     vary="Accept, Accept-Language")
    else:
        response = send_release_file(release, release.file(f"{GRAPH_FILES['dataset']}.{fmt.extension}"), fmt,
                                     vary="Accept")
    return _memento_headers(response, TimeTravel(history, None), history.entry(version))


def _timemap(travel: TimeTravel) -> Response:
    fmt = choose_format(request.accept_mimetypes, [LINK_FORMAT, *GRAPH_FORMATS.values(), HTML])
    history = travel.history
    root = public_url(history.served).rstrip("/")
    absolute = [(root + travel.url(entry), entry) for entry in travel.mementos]
    if fmt is LINK_FORMAT:
        return respond(timemap_links(travel.original, root + travel.timemap, absolute), LINK_FORMAT)
    if fmt is HTML:
        return respond(render("history.html", title=f"History of {travel.path or 'the dataset'}",
                              rows=_history_rows(travel), timemap=travel.timemap, original=travel.original), HTML)
    triples = timemap_triples(travel.original, root + travel.timemap, absolute, history.served.base)
    return respond(graph_bytes(triples, fmt, history.served.base), fmt)


def _history_rows(travel: TimeTravel) -> list[dict]:
    """Every kept release, newest first: whether the resource is in it, and what changed about it."""
    rows = []
    present = {entry.version for entry in travel.mementos}
    for entry in reversed(travel.history.entries):
        summary = travel.history.summary(entry.version)
        changes = travel.history.entity_changes(entry.version)
        change = changes.get(travel.path) if changes is not None and travel.path is not None else None
        rows.append({"entry": entry, "present": entry.version in present, "url": travel.url(entry),
                     "change": change, "summary": summary})
    return rows


@route(blueprint, "timemap")
def timemap(kind: str, slug: str) -> Response:
    return _timemap(TimeTravel(kept(), f"{kind}/{slug}"))


@route(blueprint, "dataset-timemap")
def dataset_timemap() -> Response:
    return _timemap(TimeTravel(kept(), None))
