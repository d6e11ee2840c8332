"""What the Python server computes per request, computed once for a static export.

The dumps listing and its checksums depend only on the release; the sitemap depends on the
serving host as well, so it is written with a placeholder that nginx's ``sub_filter`` replaces
with ``$scheme://$http_host`` (the Python server's ``request.host_url``), and once more for
Apache, whose mod_substitute cannot insert a variable before 2.5, with mod_include's ``echo``
in its place. Both are rendered by ``kazdata.http_contract``, as the Python server renders them.
The stylesheet and script come from the entities package's static folder.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from kazdata.entities.pages import STATIC_DIR
from kazdata.http_contract import SITEMAP_ROOT, dumps_listing, sitemap
from kazdata.release.opened import Release

if TYPE_CHECKING:
    from kazdata.export.static_site import SiteWriter

#: Replaced by nginx with the scheme and host of the request.
ROOT_PLACEHOLDER = SITEMAP_ROOT
#: The placeholder as mod_include writes it (``echo`` escapes for XML by default).
SSI_ROOT = '<!--#echo var="REQUEST_SCHEME" -->://<!--#echo var="HTTP_HOST" -->'
#: Where computed files live in the export (no release file has this prefix).
COMPUTED = "_kazdata"


def _etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def write_computed_files(release: Release, writer: SiteWriter) -> None:
    """Write the computed pages and static assets through ``writer`` (a ``SiteWriter``).

    The dumps listing, its checksums and the sitemap get no ETag: the Python server sends
    none for them.
    """
    writer.write(f"{COMPUTED}/dumps.html", dumps_listing(release).encode(), "")
    writer.write(f"{COMPUTED}/dumps/SHA256SUMS", release.dump_checksums.encode(), "")
    # under the release's base, as `kazdata serve` writes it by default (its `public_url`):
    # not the Host header, which a client chooses; nginx's and Apache's substitutions find nothing
    site_map = sitemap(release, release.base.rstrip("/")).encode()
    writer.write(f"{COMPUTED}/sitemap.xml", site_map, "")
    writer.write(f"{COMPUTED}/sitemap.shtml", site_map, "")
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file():
            body = path.read_bytes()
            writer.write(f"{COMPUTED}/static/{path.name}", body, _etag(body))
