"""What the Python server computes per request, computed once for a static export.

The dumps listing and its checksums depend only on the release; the sitemap depends on the
serving host as well, so it is written with a placeholder that nginx's ``sub_filter`` replaces
with ``$scheme://$http_host`` (the Python server's ``request.host_url``), and once more for
Apache, whose mod_substitute cannot insert a variable before 2.5, with mod_include's ``echo``
in its place. The stylesheet and script come from the web package's static folder.
"""

from __future__ import annotations

import hashlib

from werkzeug.utils import escape

from kazdata.entities.pages import STATIC_DIR, template_environment
from kazdata.release.opened import Release

#: Replaced by nginx with the scheme and host of the request.
ROOT_PLACEHOLDER = "@KAZDATA_ROOT@"
#: The placeholder as mod_include writes it (``echo`` escapes for XML by default).
SSI_ROOT = '<!--#echo var="REQUEST_SCHEME" -->://<!--#echo var="HTTP_HOST" -->'
#: Where computed files live in the export (no release file has this prefix).
COMPUTED = "_kazdata"


def _etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def sitemap(release: Release) -> str:
    """The Python server's /sitemap.xml with the host left as ``ROOT_PLACEHOLDER``."""
    kinds = release.kinds
    paths = ["/", "/timeline", "/ontology", "/shapes", "/sparql", "/dumps/"]
    paths += [f"/index/{kind}" for kind in kinds] + [f"/doc/{path}" for path in sorted(release.entities)]
    body = ['<?xml version="1.0" encoding="UTF-8"?>',
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    body += [f"<url><loc>{escape(ROOT_PLACEHOLDER + path)}</loc></url>" for path in paths]
    body.append("</urlset>\n")
    return "\n".join(body)


def dumps_listing(release: Release) -> str:
    """The /dumps/ page as the Python server renders it."""
    files = [{"name": name[len("dumps/"):], "size": release.file(name).path.stat().st_size, "sha256": digest}
             for name, digest in sorted(release.digests.items()) if name.startswith("dumps/")]
    return template_environment().get_template("dumps.html").render(
        language="en", title="Downloads", files=files, version=release.version, formats={})


def write_computed_files(release: Release, writer) -> None:
    """Write the computed pages and static assets through ``writer`` (a ``SiteWriter``).

    The dumps listing, its checksums and the sitemap get no ETag: the Python server sends
    none for them.
    """
    writer.write(f"{COMPUTED}/dumps.html", dumps_listing(release).encode(), "")
    writer.write(f"{COMPUTED}/dumps/SHA256SUMS", release.dump_checksums.encode(), "")
    writer.write(f"{COMPUTED}/sitemap.xml", sitemap(release).encode(), "")
    writer.write(f"{COMPUTED}/sitemap.shtml", sitemap(release).replace(ROOT_PLACEHOLDER, SSI_ROOT).encode(), "")
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file():
            body = path.read_bytes()
            writer.write(f"{COMPUTED}/static/{path.name}", body, _etag(body))
