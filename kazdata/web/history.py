"""The history of releases over HTTP: ``/releases/``, each kept release's description, dumps,
checksums and change set at stable URLs, and the Atom feed.

Every answer is a lookup in what ``kazdata publish`` and the builds wrote
(``kazdata.release.kept``): the server opens a kept release on first use and reads its files,
as it reads the release it serves. ``/dumps/...`` stays the latest release's.
"""

from __future__ import annotations

import hashlib
import threading

from flask import Blueprint, Response, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from kazdata.entities.pages import template_environment
from kazdata.errors import NotFound
from kazdata.formats import (
    ATOM,
    GRAPH_FORMATS,
    HTML,
    N_QUADS,
    PLAIN_JSON,
    PLAIN_TEXT,
    RDF_PATCH,
    RESULT_FORMATS,
    Format,
    file_content_type,
)
from kazdata.http_contract import (
    CACHE_CONTROL,
    CONTENT_SECURITY_POLICY,
    TEXT_PLAIN,
    VARY_ACCEPT,
    see_other,
)
from kazdata.release.kept import CHANGES, KeptReleases, history_stamp
from kazdata.release.opened import Release
from kazdata.release.series import atom_feed, graph_bytes, series_triples
from kazdata.web.cors import add_cors
from kazdata.web.negotiation import choose_format
from kazdata.web.resources import public_url, served
from kazdata.web.routes import route
from kazdata.web.sending import send_release_file

blueprint = Blueprint("history", __name__)
_lock = threading.Lock()
_kept: dict[tuple, KeptReleases] = {}


def kept() -> KeptReleases:
    """The kept releases around the served one, read again when ``history.json`` changes."""
    release = served().release
    stamp = history_stamp(release)
    found = _kept.get(stamp)
    if found is None or found.served is not release:
        found = KeptReleases.around(release)
        with _lock:
            _kept.clear()  # one history per process: the one around the release it serves now
            _kept[stamp] = found
    return found


def respond(body: bytes | str, fmt: Format, vary: str = VARY_ACCEPT) -> Response:
    """A computed answer, with its ETag (of the bytes), caching and CORS headers."""
    data = body.encode() if isinstance(body, str) else body
    response = Response(data, content_type=fmt.content_type)
    response.set_etag(hashlib.sha256(data).hexdigest()[:32])
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Vary"] = vary
    if fmt is HTML:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.make_conditional(request)
    return add_cors(response)


def render(template: str, **context) -> str:
    return template_environment().get_template(template).render(language="en", formats={}, **context)


@route(blueprint, "releases")
def releases() -> Response:
    """The series: HTML for people, DCAT versions in RDF, the Atom feed for readers."""
    history = kept()
    fmt = choose_format(request.accept_mimetypes, [HTML, *GRAPH_FORMATS.values(), ATOM])
    root = public_url(history.served)
    if fmt is ATOM:
        summaries = {version: history.summary(version) for version in history.versions}
        return respond(atom_feed(history.entries, summaries, root, "kazdata"), ATOM)
    if fmt is HTML:
        rows = [{"entry": entry, "summary": history.summary(entry.version)} for entry in reversed(history.entries)]
        return respond(render("releases.html", title="Releases", rows=rows, current=history.served.version), HTML)
    base = history.served.base
    return respond(graph_bytes(series_triples(history.entries, base, history.served.version), fmt, base), fmt)


@route(blueprint, "release-version")
def release_version(version: str) -> BaseResponse:
    """``{base}releases/{version}``, the IRI of one release (decision 015): described by
    ``/dataset`` when it is the release served, by ``/releases/{version}/dataset`` otherwise; a
    version not kept is a 404 listing the kept ones."""
    history = kept()
    history.entry(version)
    return see_other_response("/dataset" if version == history.served.version else f"/releases/{version}/dataset")


def see_other_response(target: str, status: int = 303, vary: str = VARY_ACCEPT) -> BaseResponse:
    """A redirect with a plain-text body naming ``target`` (host-relative, as every Location is)."""
    response = redirect(target, code=status)
    response.set_data(see_other(target) if status == 303 else f"{status} Found: {target}\n")
    response.headers["Content-Type"] = TEXT_PLAIN
    response.headers["Vary"] = vary
    response.headers["Cache-Control"] = CACHE_CONTROL
    return add_cors(response)


@route(blueprint, "release-sums")
def release_sums(version: str) -> Response:
    """What ``sha256sum -c`` checks in a copy of ``/releases/{version}/``: its dumps and change set."""
    release = kept().open(version)
    lines = "".join(f"{digest}  {name}\n" for name, digest in sorted(release.digests.items())
                    if name.startswith(("dumps/", f"{CHANGES}/")))
    return respond(lines, PLAIN_TEXT, vary="")


@route(blueprint, "release-dump")
def release_dump(version: str, name: str) -> Response:
    release = kept().open(version)
    response = send_release_file(release, release.file(f"dumps/{name}"), content_type=file_content_type(name), vary="")
    if name.endswith(".gz"):
        response.headers.pop("Vary", None)
    return response


@route(blueprint, "release-change-file")
def release_change_file(version: str, name: str) -> Response:
    """A file of the change set: ``{graph}.added.nq``, ``{graph}.removed.nq``, ``changes.rdfp``,
    ``summary.json`` (the paths ``/releases/{version}/SHA256SUMS`` lists)."""
    release = kept().open(version)
    fmt = _CHANGE_FILES.get(name.rsplit(".", 1)[-1])
    if fmt is None or not release.has(f"{CHANGES}/{name}"):
        raise NotFound(f"the change set of {version} has no file {name!r}; it has "
                       + ", ".join(n.split("/", 1)[1] for n in sorted(release.digests) if n.startswith(f"{CHANGES}/")))
    return send_release_file(release, release.file(f"{CHANGES}/{name}"), fmt, vary="")


#: the change set's files by extension (``kazdata.builder.changes``)
_CHANGE_FILES = {fmt.extension: fmt for fmt in (N_QUADS, RDF_PATCH, PLAIN_JSON, RESULT_FORMATS["tsv"])}


@route(blueprint, "release-changes")
def release_changes(version: str) -> Response:
    """What changed in ``version`` since the release it follows: a page, the JSON summary, or
    the RDF Patch; a release built without ``--previous`` has none (404)."""
    history = kept()
    summary = history.summary(version)
    if summary is None:
        raise NotFound(f"release {version} was built without --previous: it has no change set")
    fmt = choose_format(request.accept_mimetypes, [HTML, PLAIN_JSON, RDF_PATCH])
    release = history.open(version)
    if fmt is RDF_PATCH:
        return send_release_file(release, release.file(f"{CHANGES}/changes.rdfp"), RDF_PATCH, vary=VARY_ACCEPT)
    if fmt is PLAIN_JSON:
        return send_release_file(release, release.file(f"{CHANGES}/summary.json"), PLAIN_JSON, vary=VARY_ACCEPT)
    page = history.rendered.get(version)
    if page is None:  # once per process and kept release: the change set never changes
        page = history.rendered[version] = render_changes(history, version, summary, release).encode()
    return respond(page, HTML)


#: entities shown per kind of change on a change page; the rest are in the machine forms
PAGE_ENTITIES = 200


def render_changes(history: KeptReleases, version: str, summary: dict, release: Release) -> str:
    """The change page: the counts, the graphs, and up to ``PAGE_ENTITIES`` entities per kind of change."""
    groups: dict[str, list[dict]] = {"added": [], "removed": [], "changed": []}
    changes = history.entity_changes(version)
    for entry in changes.values() if changes is not None else ():
        if len(groups[entry["status"]]) < PAGE_ENTITIES:
            groups[entry["status"]].append(entry)
    files = sorted(name.split("/", 1)[1] for name in release.digests if name.startswith(f"{CHANGES}/")
                   and not name.endswith(".json"))
    return render("changes.html", title=f"Changes in release {version}", summary=summary, files=files,
                  version=version, groups=groups, shown=PAGE_ENTITIES)
