"""The Apache httpd 2.4 configuration of a static export, rendered from ``templates/apache/``.

``site/.htaccess`` does what nginx's locations do, with mod_rewrite, mod_headers and mod_mime:
routes, 303 redirects, content negotiation, the file to send (gzip or identity) and the
headers. Negotiation is not Apache's mod_negotiation but the same decision tables nginx uses
(``kazdata.export.negotiation_tables``), as ``RewriteCond`` chains, so both servers answer alike and
as the Python server does (docs/decisions/006-static-deployment.md says why).

What needs the server configuration (``kazdata-apache.conf``: a ``RewriteMap`` cannot be
declared in ``.htaccess``, nor can a proxy be pooled there) is optional for the ``.htaccess``:
without it Apache sends its own ETags and ``/sparql`` is not proxied. ``apache.conf`` is a
complete server around both, for ``apache2 -d OUT -f OUT/apache.conf``.
"""

from __future__ import annotations

import email.utils
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
from kazdata.http_contract import DOCUMENT_PREFERENCE, nothing_published, see_other
from kazdata.release.opened import Release

if TYPE_CHECKING:
    from kazdata.export.static_site import ExportedFile

#: Where Debian's apache2 package keeps its modules.
MODULES_DIR = "/usr/lib/apache2/modules"
#: Modules the configuration needs, loaded by apache.conf unless already loaded.
MODULES = (("mpm_event_module", "mod_mpm_event.so"), ("authz_core_module", "mod_authz_core.so"),
           ("mime_module", "mod_mime.so"), ("rewrite_module", "mod_rewrite.so"),
           ("headers_module", "mod_headers.so"), ("proxy_module", "mod_proxy.so"),
           ("proxy_http_module", "mod_proxy_http.so"))
#: The ETag map: "identity/NAME" or "gzip/NAME" -> the release's ETag of the file sent.
ETAGS = "kazdata-etags.txt"
#: Environment variables set by the rewrite rules, as the headers read them: the rules run on
#: the request, the file is sent by an internal redirect, which renames them ``REDIRECT_...``.
SENT = "REDIRECT_"

_environment = jinja2.Environment(loader=jinja2.PackageLoader("kazdata.export", "templates/apache"),
                                  autoescape=False, trim_blocks=True, lstrip_blocks=True,
                                  keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def quoted(value: str) -> str:
    """``value`` as a double-quoted mod_rewrite argument; ValueError for what cannot be quoted
    (mod_rewrite has no escape for ``"``)."""
    if '"' in value or value.endswith("\\") or any(ord(c) < 32 for c in value):
        raise ValueError(f"cannot quote {value!r} for mod_rewrite")
    return f'"{value}"'


def rewrite_chain(table: DecisionTable, header: str, variable: str, gate: str) -> str:
    """``RewriteCond``/``RewriteRule`` lines setting ``variable`` as ``table`` decides ``header``.

    They run only when the environment variable ``gate`` is set (the route needs this
    negotiation). The first matching rule sets ``variable`` and skips (``S=``) to the end of
    the chain, so a header is decided by the first entry that matches, as in an nginx map:
    exact headers first, then the wildcard or the plain patterns, then the default. ``NV``
    keeps mod_rewrite from adding the header to Vary on its own: the Vary sent is kazdata's.
    """
    source = f"%{{HTTP:{header}}}"
    rules: list[tuple[list[str], str | None]] = []  # (conditions, value or None for a jump)
    for text, value in table.exact:
        condition = f"RewriteCond {source} ^$ [NV]" if text == "" else \
            f"RewriteCond {source} {quoted('=' + text)} [NC,NV]"
        rules.append(([condition], value))
    jump_to_wildcards = len(rules)
    rules.append(([f"RewriteCond {source} \\* [NV]"], None))
    rules += [([f"RewriteCond {source} {quoted(pattern)} [NC,NV]"], value) for pattern, value in table.plain]
    jump_to_default = len(rules)
    rules.append(([], None))
    rules += [([f"RewriteCond {source} {quoted(pattern)} [NC,NV]"], value) for pattern, value in table.wildcard]
    default = len(rules)
    rules.append(([], table.default))
    lines = [f"RewriteCond %{{ENV:{gate}}} ^$", f"RewriteRule ^ - [S={len(rules)}]"]
    for index, (conditions, setting) in enumerate(rules):  # setting: None for a jump
        lines += conditions
        if index == jump_to_wildcards:
            lines.append(f"RewriteRule ^ - [S={len(table.plain) + 1}]")
        elif index == jump_to_default:
            lines.append(f"RewriteRule ^ - [S={len(table.wildcard)}]")
        elif index == default:
            lines.append(f"RewriteRule ^ - [E={variable}:{setting}]")
        else:
            lines.append(f"RewriteRule ^ - [E={variable}:{setting},S={len(rules) - index - 1}]")
    return "\n".join(lines) + "\n"


def etag_lines(files: list[ExportedFile]) -> str:
    """The ``txt:`` RewriteMap of ETags: one ``identity/NAME ETAG`` or ``gzip/NAME ETAG`` a line."""
    return "".join(f"{'gzip' if f.gzip else 'identity'}/{f.relative} {f.etag}\n" for f in files if f.etag)


def _text(body: str) -> str:
    """A plain-text ErrorDocument message: quoted, newlines as ``\\n``."""
    if '"' in body:
        raise ValueError(f"cannot write {body!r} as an ErrorDocument")
    return '"' + body.replace("\n", "\\n") + '"'


def render(release: Release, files: list[ExportedFile], *, out: Path, listen: str, upstream: str) -> dict[str, str]:
    """Relative file name -> text of the configuration for a site exported to ``out``."""
    context = contract_context(release)
    stem, graph = f"%{{{SENT}KAZDATA_STEM}}e", f"%{{{SENT}KAZDATA_GRAPH}}e"
    host = listen.rpartition(":")[0] or "localhost"
    context.update({
        "out": str(out), "root": str(out / "site"), "listen": listen,
        "server_name": host.strip("[]"), "upstream": upstream.rstrip("/"), "etags": str(out / ETAGS),
        "modules": MODULES, "modules_dir": MODULES_DIR, "sent": SENT,
        "format_chain": rewrite_chain(accept_table(DOCUMENT_PREFERENCE), "Accept", "KAZDATA_EXT",
                                      "KAZDATA_NEGOTIATE_FORMAT"),
        "named_graph_chain": rewrite_chain(accept_table(list(GRAPH_FORMATS.values())), "Accept", "KAZDATA_EXT",
                                           "KAZDATA_NEGOTIATE_GRAPH_FORMAT"),
        "graph_extensions": "|".join(GRAPH_FORMATS),
        "named_graph_links": named_graph_links(f"%{{{SENT}KAZDATA_NAMED}}e"),
        "page_chain": rewrite_chain(accept_table([HTML]), "Accept", "KAZDATA_PAGE_FORMAT",
                                    "KAZDATA_NEGOTIATE_PAGE"),
        "language_chain": rewrite_chain(language_table(release.languages), "Accept-Language",
                                        "KAZDATA_LANGUAGE", "KAZDATA_NEGOTIATE_LANGUAGE"),
        "extensions": "|".join(DOCUMENT_FORMATS), "doc_links": document_links(stem, release.base),
        "graph_links": graph_links(graph),
        "modified": email.utils.formatdate(release.modified, usegmt=True),
        "not_acceptable": _text(context["not_acceptable"]),
        "page_not_acceptable": _text(context["page_not_acceptable"]),
        "see_other": _text(see_other("%{reqenv:KAZDATA_SEE_OTHER}")),
        "not_found": _text(f"404 Not found: {nothing_published('%{REQUEST_URI}')}\n"),
    })
    if urlsplit(upstream).scheme not in ("http", "https"):
        raise ValueError(f"cannot proxy to {upstream!r}")
    texts = {name: _environment.get_template(template).render(context)
             for name, template in (("site/.htaccess", "htaccess"), ("apache.conf", "apache.conf"),
                                    ("kazdata-apache.conf", "kazdata-apache.conf"))}
    texts[ETAGS] = etag_lines(files)
    return texts


def write_apache_config(release: Release, files: list[ExportedFile], staging: Path, *, final: Path, listen: str,
                        upstream: str) -> None:
    """Write ``site/.htaccess``, ``apache.conf``, ``kazdata-apache.conf`` and the ETag map into
    ``staging``, with paths pointing at ``final``."""
    for name, text in render(release, files, out=final, listen=listen, upstream=upstream).items():
        (staging / name).write_text(text, encoding="utf-8")
