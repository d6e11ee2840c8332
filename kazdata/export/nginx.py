"""The nginx configuration of a static export, rendered from ``templates/nginx/``.

Everything the configuration decides is generated from the same tables the Python server
uses: the format registry (extensions, media types, alternates), the negotiation tables
(``kazdata.export.negotiation_tables``), the release's ETags, the security and CORS headers, through
``kazdata.export.responses``, which the Apache configuration renders as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import jinja2

from kazdata.export.negotiation_tables import (
    DecisionTable,
    accept_table,
    language_table,
)
from kazdata.export.responses import contract_context, document_links, graph_links, named_graph_links
from kazdata.formats import DOCUMENT_FORMATS, GRAPH_FORMATS, HTML
from kazdata.http_contract import (
    DOCUMENT_PREFERENCE,
    no_graph,
    no_index,
    no_ontology_version,
    no_release_version,
    nothing_published,
    see_other,
    unknown_suffix,
)
from kazdata.release.opened import Release

if TYPE_CHECKING:
    from kazdata.export.static_site import ExportedFile

TEMPLATES = ("nginx.conf", "kazdata-maps.conf", "kazdata-locations.conf", "kazdata-headers.conf")

_environment = jinja2.Environment(loader=jinja2.PackageLoader("kazdata.export", "templates/nginx"),
                                  autoescape=False, trim_blocks=True, lstrip_blocks=True,
                                  keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def nginx_string(value: str) -> str:
    """``value`` as a double-quoted nginx token; ValueError for what nginx would unescape."""
    if '"' in value or re.search(r"\\[\\'trn]", value) or any(ord(c) < 32 for c in value):
        raise ValueError(f"cannot quote {value!r} for nginx")
    return f'"{value}"'


def map_block(source: str, variable: str, entries: Iterable[tuple[str, str]], default: str) -> str:
    """An nginx ``map`` block; exact keys are looked up first, regexes tried in the given order."""
    lines = [f"map {source} {variable} {{", f"    default {nginx_string(default)};"]
    for key, value in entries:
        if not key.startswith("~") and key in ("default", "hostnames", "include", "volatile"):
            key = "\\" + key
        lines.append(f"    {nginx_string(key)} {nginx_string(value)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def table_maps(table: DecisionTable, source: str, variable: str) -> str:
    """Two maps deciding ``variable`` from ``source`` as ``table`` says: the exact headers and
    the plain patterns in the first, which defers a header holding a ``*`` to the second."""
    wildcards = f"{variable}_wildcards"
    first = [*table.exact, (r"~\*", wildcards), *(("~*" + pattern, value) for pattern, value in table.plain)]
    second = [("~*" + pattern, value) for pattern, value in table.wildcard]
    return (map_block(source, variable, first, table.default)
            + map_block(source, wildcards, second, table.default))


def _nginx_text(text: str) -> str:
    """A plain-text body for ``return``, newlines as nginx escapes."""
    return text.replace("\n", "\\n")


def etag_entries(files: list[ExportedFile]) -> list[tuple[str, str]]:
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


def render(release: Release, files: list[ExportedFile], *, out: Path, listen: str, upstream: str) -> dict[str, str]:
    """File name -> text of the configuration for a site exported to ``out``."""
    context = contract_context(release)
    accept, page_accept = accept_table(DOCUMENT_PREFERENCE), accept_table([HTML])
    graph_accept = accept_table(list(GRAPH_FORMATS.values()))
    languages = language_table(release.languages)
    etags = etag_entries(files)
    keys = [key for table in (accept, page_accept, graph_accept, languages) for key, _ in table.exact + table.plain] \
        + [key for key, _ in etags]
    parts = urlsplit(upstream)
    context.update({
        "out": str(out), "root": str(out / "site"), "listen": listen,
        "upstream": upstream, "upstream_scheme": parts.scheme,
        "upstream_host": f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}",
        "hash_max_size": max(1024, _power_of_two(2 * len(keys))),
        "hash_bucket_size": max(128, _power_of_two(max(len(k) for k in keys) + 24)),
        "accept_map": table_maps(accept, "$http_accept", "$kazdata_format"),
        "page_accept_map": table_maps(page_accept, "$http_accept", "$kazdata_page_format"),
        "graph_accept_map": table_maps(graph_accept, "$http_accept", "$kazdata_graph_format"),
        "named_graph_links": named_graph_links("$kazdata_named_graph"),
        "graph_not_acceptable": _nginx_text(context["graph_not_acceptable"]),
        "unknown_graph_suffix": unknown_suffix("$kazdata_suffix", GRAPH_FORMATS.values()),
        "no_graph": no_graph("$kazdata_named_graph", [iri.rsplit("/", 1)[-1] for iri in release.graphs]),
        "no_release": no_release_version("$kazdata_release", release.version),
        "no_ontology_version": no_ontology_version("$kazdata_ontology_version", release.ontology_versions),
        "see_other_dataset": _nginx_text(see_other(context["see_other_target"])),
        "language_map": table_maps(languages, "$http_accept_language", "$kazdata_language"),
        "extensions": list(DOCUMENT_FORMATS),
        "unknown_suffix": unknown_suffix("$kazdata_suffix", DOCUMENT_FORMATS.values()),
        "doc_links": document_links("$kazdata_kind/$kazdata_slug", release.base),
        "graph_links": graph_links("$kazdata_graph"), "etags": etags,
        "not_acceptable": _nginx_text(context["not_acceptable"]),
        "page_not_acceptable": _nginx_text(context["page_not_acceptable"]),
        "see_other": _nginx_text(see_other("/doc/$kazdata_kind/$kazdata_slug")),
        "no_index": no_index("$kazdata_index", release.kinds),
        "nothing_published": nothing_published("$uri"), "nothing_published_raw": nothing_published("$request_uri"),
    })
    return {name: _environment.get_template(name).render(context) for name in TEMPLATES}


def write_nginx_config(release: Release, files: list[ExportedFile], staging: Path, *, final: Path, listen: str,
                       upstream: str) -> None:
    """Write the configuration into ``staging``, with paths pointing at ``final``."""
    for name, text in render(release, files, out=final, listen=listen, upstream=upstream).items():
        (staging / name).write_text(text, encoding="utf-8")
