"""The nginx configuration of a static export, rendered from ``templates/nginx/``.

Everything the configuration decides is generated from the same tables the Python server
uses: the format registry (extensions, media types, alternates), the negotiation function
(``kazdata.nginx_negotiation``), the release's ETags, the security and CORS headers.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import jinja2

from kazdata.formats import DATASET_FORMATS, DOCUMENT_FORMATS, HTML
from kazdata.namespaces import LICENSE
from kazdata.nginx_negotiation import accept_map_entries, language_map_entries, map_block
from kazdata.release import Release
from kazdata.static_pages import ROOT_PLACEHOLDER
from kazdata.web.cors import EXPOSED
from kazdata.web.documents import CACHE_CONTROL, DOCUMENT_PREFERENCE, link_header
from kazdata.web.negotiation import offered_types
from kazdata.web.security import CONTENT_SECURITY_POLICY

#: Kinds and slugs the locations accept; the export refuses entities outside them, since they
#: reach headers (Link, Location) and file names.
KIND_PATTERN = "[a-z0-9_-]+"
SLUG_PATTERN = "[A-Za-z0-9_~-]+"
TEMPLATES = ("nginx.conf", "kazdata-maps.conf", "kazdata-locations.conf", "kazdata-headers.conf")

_environment = jinja2.Environment(loader=jinja2.PackageLoader("kazdata", "templates/nginx"),
                                  autoescape=False, trim_blocks=True, lstrip_blocks=True,
                                  keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def content_types() -> list[tuple[str, str]]:
    """``(extension, Content-Type)`` for every file the site sends, from the format registry."""
    types = {fmt.extension: fmt.content_type for fmt in (*DOCUMENT_FORMATS.values(), *DATASET_FORMATS.values())}
    types.update({"gz": "application/gzip", "xml": "application/xml; charset=utf-8",
                  "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"})
    return sorted(types.items())


def document_links() -> list[tuple[str, str]]:
    """The Link header of ``/doc/`` per chosen format, as ``plan_document`` writes it, with
    nginx variables for the entity; the canonical link's base is filled in by ``render``."""
    stem = "/doc/$kazdata_kind/$kazdata_slug"
    links = []
    for fmt in DOCUMENT_PREFERENCE:
        entries = [(f"{stem}.{other.extension}", "alternate", other.media_type)
                   for other in DOCUMENT_PREFERENCE if other is not fmt]
        entries += [("@BASE@doc/$kazdata_kind/$kazdata_slug", "canonical", None), (LICENSE, "license", None),
                    ("/dataset", "describedby", "text/turtle")]
        links.append((fmt.extension, link_header(entries)))
    return links


def graph_links() -> list[tuple[str, str]]:
    """The Link header of /ontology, /shapes, /dataset for an RDF format (none for HTML)."""
    links = []
    for fmt in DOCUMENT_PREFERENCE:
        if fmt is HTML:
            continue
        entries = [(f"/$kazdata_graph.{other.extension}", "alternate", other.media_type)
                   for other in DOCUMENT_PREFERENCE if other is not fmt]
        links.append((fmt.extension, link_header(entries + [(LICENSE, "license", None)])))
    return links


def _not_acceptable(formats) -> str:
    offered = ", ".join(offered_types(formats))
    return (f"406 Not acceptable: none of the requested media types is offered here; offered: {offered}\\n"
            f"Offered: {offered}\\n")


def etag_entries(files) -> list[tuple[str, str]]:
    """``("/identity/NAME" or "/gzip/NAME", etag)``; a file without a gzip copy is listed under
    /gzip with its own ETag (try_files falls back to it)."""
    entries: dict[str, str] = {}
    zipped = {f.relative for f in files if f.gzip}
    for file in files:
        if not file.etag:
            continue
        entries[f"/{'gzip' if file.gzip else 'identity'}/{file.relative}"] = file.etag
        if not file.gzip and file.relative not in zipped:
            entries[f"/gzip/{file.relative}"] = file.etag
    return sorted(entries.items())


def _power_of_two(n: int) -> int:
    size = 1
    while size < n:
        size *= 2
    return size


def render(release: Release, files, *, out: Path, listen: str, upstream: str) -> dict[str, str]:
    """File name -> text of the configuration for a site exported to ``out``."""
    for path in release.entities:
        kind, slug = path.split("/", 1)
        if not (re.fullmatch(KIND_PATTERN, kind) and re.fullmatch(SLUG_PATTERN, slug)):
            raise ValueError(f"entity path {path!r} has characters the static configuration does not route")
    accept, accept_wild = accept_map_entries(DOCUMENT_PREFERENCE, "$kazdata_format_wildcards")
    page_accept, page_accept_wild = accept_map_entries([HTML], "$kazdata_page_format_wildcards")
    languages, languages_wild = language_map_entries(release.languages, "$kazdata_language_wildcards")
    etags = etag_entries(files)
    keys = [key for key, _ in accept + page_accept + languages + etags]
    parts = urlsplit(upstream)
    base_links = [(ext, link.replace("@BASE@", release.base)) for ext, link in document_links()]
    context = {
        "version": release.version, "out": str(out), "root": str(out / "site"), "listen": listen,
        "upstream": upstream, "upstream_scheme": parts.scheme,
        "upstream_host": f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}",
        "hash_max_size": max(1024, _power_of_two(2 * len(keys))),
        "hash_bucket_size": max(128, _power_of_two(max(len(k) for k in keys) + 24)),
        "accept_map": map_block("$http_accept", "$kazdata_format", accept, "")
        + map_block("$http_accept", "$kazdata_format_wildcards", accept_wild, ""),
        "page_accept_map": map_block("$http_accept", "$kazdata_page_format", page_accept, "")
        + map_block("$http_accept", "$kazdata_page_format_wildcards", page_accept_wild, ""),
        "language_map": map_block("$http_accept_language", "$kazdata_language", languages, "en")
        + map_block("$http_accept_language", "$kazdata_language_wildcards", languages_wild, "en"),
        "extensions": list(DOCUMENT_FORMATS), "suffixes": ", ".join("." + ext for ext in DOCUMENT_FORMATS),
        "doc_links": base_links, "graph_links": graph_links(), "etags": etags,
        "types": content_types(), "exposed": EXPOSED, "csp": CONTENT_SECURITY_POLICY,
        "cache_control": CACHE_CONTROL, "kind_pattern": KIND_PATTERN, "slug_pattern": SLUG_PATTERN,
        "not_acceptable": _not_acceptable(DOCUMENT_PREFERENCE), "page_not_acceptable": _not_acceptable([HTML]),
        "home_link": link_header([("/dataset", "describedby", "text/turtle"), (LICENSE, "license", None)]),
        "kinds": ", ".join(release.kinds),
        "root_placeholder": ROOT_PLACEHOLDER, "default_language": release.languages[0],
    }
    return {name: _environment.get_template(name).render(context) for name in TEMPLATES}


def write_nginx_config(release: Release, files, staging: Path, *, final: Path, listen: str,
                       upstream: str) -> None:
    """Write the configuration into ``staging``, with paths pointing at ``final``."""
    for name, text in render(release, files, out=final, listen=listen, upstream=upstream).items():
        (staging / name).write_text(text, encoding="utf-8")
