"""A static deployment of a release: every document as a file, and nginx and Apache httpd
configurations that dereference, negotiate and send the same bytes and headers as ``kazdata serve``.

A dataset that changes only by release needs no Python at request time for its
dereferenceable part; only ``/sparql`` and the search page ``/search`` run code, and the
configuration proxies them to a kazdata server. The export is also an archivist's self-contained copy: ``SHA256SUMS`` covers
every exported file and ``README.txt`` says what is where.

Layout of ``OUT`` (see docs/decisions/006-static-deployment.md for why)::

    README.txt  SHA256SUMS  nginx.conf  kazdata-maps.conf  kazdata-locations.conf
    kazdata-headers.conf  apache.conf  kazdata-apache.conf  kazdata-etags.txt  logs/  tmp/
    site/.htaccess                 the Apache rules (mod_rewrite, mod_headers, mod_mime)
    site/identity/{release name}   each file as the client receives it without compression
    site/gzip/{release name}       the precomputed gzip copy of a file, under the file's own name
    site/identity/_kazdata/...     what the Python server computes per request, computed once here

Documents are read only through the ``Release`` API (``entities``, ``languages``, ``read``,
``file().etag``, ``has``), never by walking the release's ``docs/`` folder, so the export keeps
working however a release stores them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kazdata.errors import ExportError
from kazdata.export.apache import write_apache_config
from kazdata.export.computed_files import write_computed_files
from kazdata.export.nginx import write_nginx_config
from kazdata.formats import DOCUMENT_FORMATS, HTML
from kazdata.http_contract import GRAPH_FILES, published_checksums
from kazdata.release.checksums import CHECKSUMS, file_digest
from kazdata.release.opened import NAMED_GRAPHS, Release, ReleaseFile

#: Files of a previous export; one of them marks a folder this command may replace.
MARKER = "kazdata-locations.conf"
#: Non-document files the Python server sends (queries are sent by /sparql/examples, proxied).
SERVED_PREFIXES = ("dumps/", "pages/", f"{NAMED_GRAPHS}/")
SERVED_TOP_LEVEL = ("context.jsonld", *(f"{stem}.{ext}" for stem in GRAPH_FILES.values()
                                        for ext in DOCUMENT_FORMATS if ext != HTML.extension))


@dataclass(frozen=True)
class ExportedFile:
    """One file of the site: its name in the release (``relative``) and its ETag."""

    relative: str
    etag: str
    gzip: bool  # True for the precomputed gzip copy of ``relative``


def document_names(release: Release) -> Iterator[str]:
    """Every document of every entity, in every format and language, that the release holds."""
    for path in sorted(release.entities):
        for extension, fmt in DOCUMENT_FORMATS.items():
            if fmt is HTML:
                for language in release.languages:
                    yield f"docs/{path}.{language}.{extension}"
            else:
                yield f"docs/{path}.{extension}"


def served_names(release: Release) -> list[str]:
    """Release files the server sends, documents first; ``.gz`` copies are found beside them."""
    names = [name for name in document_names(release) if release.has(name)]
    others = sorted(name for name in release.digests
                    if (name.startswith(SERVED_PREFIXES) or name in SERVED_TOP_LEVEL)
                    and not (name.endswith(".gz") and release.has(name[:-3])))
    return names + others


def parse_upstream(url: str) -> str:
    """``http://host:port`` of the SPARQL upstream; ValueError for what the servers cannot proxy to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/") \
            or parts.query or parts.fragment:
        raise ValueError(f"--sparql-upstream must be http(s)://HOST[:PORT] without a path, not {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def parse_listen(value: str) -> str:
    """``HOST:PORT`` or ``PORT`` for nginx's ``listen``; ValueError otherwise."""
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536 or any(c in host for c in " ;{}\"'"):
        raise ValueError(f"--listen must be HOST:PORT or PORT, not {value!r}")
    return value


class SiteWriter:
    """Writes ``site/identity`` and ``site/gzip`` and remembers each file's ETag."""

    def __init__(self, site: Path, mtime: float) -> None:
        self.site = site
        self.mtime = mtime
        self.files: list[ExportedFile] = []

    def _target(self, relative: str, gzip: bool) -> Path:
        target = self.site / ("gzip" if gzip else "identity") / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def _done(self, target: Path, relative: str, etag: str, gzip: bool) -> None:
        os.utime(target, (self.mtime, self.mtime))  # Last-Modified as the Python server sends it
        self.files.append(ExportedFile(relative, etag, gzip))

    def write(self, relative: str, body: bytes, etag: str, gzip: bool = False) -> None:
        target = self._target(relative, gzip)
        target.write_bytes(body)
        self._done(target, relative, etag, gzip)

    def copy(self, file: ReleaseFile, relative: str, gzip: bool = False) -> None:
        """Copy a (possibly large) non-document file without reading it into memory."""
        assert file.path is not None  # only documents have none: they are rendered, not stored
        target = self._target(relative, gzip)
        shutil.copyfile(file.path, target)
        self._done(target, relative, file.etag, gzip)

    def link(self, existing: ExportedFile, relative: str, gzip: bool) -> None:
        """The same bytes under a second name (a dump's ``.gz`` is both a URL and a variant)."""
        source = self.site / ("gzip" if existing.gzip else "identity") / existing.relative
        target = self._target(relative, gzip)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        self._done(target, relative, existing.etag, gzip)


def write_site(release: Release, site: Path, public_url: str | None = None) -> list[ExportedFile]:
    """Every served release file (and its gzip copy) plus what the server computes per request
    (the sitemap under ``public_url``, else under the release's base)."""
    writer = SiteWriter(site, release.modified)
    for name in served_names(release):
        file = release.file(name)
        if name.startswith("dumps/"):
            writer.copy(file, name)
        else:
            writer.write(name, release.read(name), file.etag)
        if release.has(name + ".gz"):
            zipped = release.file(name + ".gz")
            if name.startswith("dumps/"):
                writer.copy(zipped, name, gzip=True)
                writer.link(writer.files[-1], name + ".gz", gzip=False)  # /dumps/x.gz is a URL too
            else:
                writer.write(name, release.read(name + ".gz"), zipped.etag, gzip=True)
    listing = published_checksums(release).encode()
    writer.write(CHECKSUMS, listing, hashlib.sha256(listing).hexdigest()[:32])  # as the Python server
    write_computed_files(release, writer, public_url)
    return writer.files


def write_checksums(out: Path) -> None:
    """``OUT/SHA256SUMS`` over every exported file (not logs or temp files), for ``sha256sum -c``."""
    paths = [path for path in sorted(out.rglob("*")) if path.is_file() and path != out / CHECKSUMS
             and path.relative_to(out).parts[0] not in ("logs", "tmp")]
    lines = [f"{file_digest(path)}  {path.relative_to(out).as_posix()}\n" for path in paths]
    (out / CHECKSUMS).write_text("".join(lines), encoding="utf-8")


def _prepare(out: Path) -> Path:
    """A fresh staging folder beside ``out``; refuses to replace a folder that is not an export."""
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ExportError(f"{out} exists and is not a static export; choose an empty or new folder")
    staging = out.with_name(f".{out.name}.partial-{os.getpid()}")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def export_static(release_dir: Path, out: Path, *, listen: str = "127.0.0.1:8080",
                  sparql_upstream: str = "http://127.0.0.1:5000", public_url: str | None = None) -> Path:
    """Export the release at ``release_dir`` to ``out`` and return ``out``.

    The export is written to a staging folder and moved into place once complete, so a failed
    export leaves ``out`` as it was; a previous export at ``out`` is replaced (its ``logs/`` are
    kept). The sitemap's URLs are under ``public_url`` (the setting's value, ending in ``/``),
    else under the release's base, as ``kazdata serve`` writes them. Raises ReleaseError for a
    broken release, ValueError for a bad ``listen`` or ``sparql_upstream``, ExportError when
    ``out`` holds something else.
    """
    listen, upstream = parse_listen(listen), parse_upstream(sparql_upstream)
    release = Release(Path(release_dir), verify="full")
    out = Path(out).resolve()
    staging = _prepare(out)
    try:
        files = write_site(release, staging / "site", public_url)
        write_nginx_config(release, files, staging, final=out, listen=listen, upstream=upstream)
        write_apache_config(release, files, staging, final=out, listen=listen, upstream=upstream)
        write_readme(release, staging, out, listen, public_url)
        write_checksums(staging)
        for state in ("logs", "tmp"):
            (staging / state).mkdir()
        if out.exists():
            trash = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(trash)
            if (trash / "logs").is_dir():
                shutil.rmtree(staging / "logs")
                (trash / "logs").rename(staging / "logs")
            staging.rename(out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for folder in (out, *[p for p in out.rglob("*") if p.is_dir()]):
        folder.chmod(0o755)  # nginx workers may run as another user
    return out


def write_readme(release: Release, staging: Path, out: Path, listen: str, public_url: str | None = None) -> None:
    root = public_url or release.base
    (staging / "README.txt").write_text(f"""kazdata static export of release {release.version} (base {release.base})

What this is
  Every entity document of the release in every format (Turtle, JSON-LD, N-Triples, RDF/XML,
  HTML in {", ".join(release.languages)}), the dumps, the dataset description, ontology, shapes,
  JSON-LD context and site pages, with nginx and Apache httpd configurations that answer as
  `kazdata serve` does: /id/ 303 redirects, the release's version IRI, the ontology's version
  IRIs and the named graphs, content negotiation on Accept and Accept-Language, CORS preflights,
  the same headers and ETags, precomputed gzip, byte ranges; /robots.txt and /favicon.ico.
  /sparql and the search page /search are proxied to a kazdata server.

Check it
  cd {out} && sha256sum -c --quiet SHA256SUMS

Serve it (as any user; listens on {listen})
  nginx -p {out} -c {out}/nginx.conf
  Logs, pid and temporary files go to logs/ and tmp/ under the -p folder; to keep them
  elsewhere, use -p DIR with a DIR/logs folder. Stop with: nginx -p {out} -c {out}/nginx.conf -s quit
  In your own nginx: include kazdata-maps.conf in the http block and kazdata-locations.conf
  in a server block (the paths inside are absolute: re-export after moving this folder).

Or serve it with Apache httpd 2.4 (Debian's apache2; as any user; listens on {listen})
  apache2 -d {out} -f {out}/apache.conf -k start      (stop: the same with -k stop)
  In your own Apache: make {out}/site the DocumentRoot and Include kazdata-apache.conf in
  that server or virtual host (release ETags, the /sparql proxy, .htaccess read once).
  On shared hosting, site/.htaccess alone works (AllowOverride FileInfo, mod_rewrite,
  mod_headers, mod_mime): Apache's own ETags, no /sparql proxy.

Layout
  site/identity/NAME   a release file NAME as sent without compression
  site/gzip/NAME       the precomputed gzip copy of NAME (sent with Content-Encoding: gzip)
  site/identity/_kazdata/   what the Python server computes (dumps listing and its
                       checksums, the sitemap and robots.txt under {root}), computed
                       once here, and the pages' style sheet, script and icon
  site/identity/SHA256SUMS  the checksums of the files served as they are, by URL path
                       (served at /SHA256SUMS)
  SHA256SUMS           checksums of everything in this folder except logs/ and tmp/

Limits of negotiation in nginx and Apache: see docs/decisions/006-static-deployment.md in kazdata.
""", encoding="utf-8")
