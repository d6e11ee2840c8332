"""What the Python server computes per request, computed once for a static export.

The dumps listing, its checksums, the sitemap and robots.txt depend only on the release and the
export's settings: the sitemap's absolute URLs are under the ``public_url`` setting (else the release's
base), as ``kazdata serve`` writes them, never under the Host header, which is the client's to
choose (docs/decisions/013-hostile-web-traffic.md). So nginx and Apache send these files as
they are. They are rendered by ``kazdata.http_contract``, as the Python server renders them.
The stylesheet, script and icon come from the entities package's static folder (the icon
is also sent at ``/favicon.ico``, where browsers ask for it).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from kazdata.entities.pages import STATIC_DIR
from kazdata.http_contract import dumps_listing, robots_txt, sitemap
from kazdata.release.opened import Release

if TYPE_CHECKING:
    from kazdata.export.static_site import SiteWriter

#: Where computed files live in the export (no release file has this prefix).
COMPUTED = "_kazdata"


def _etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def write_computed_files(release: Release, writer: SiteWriter, public_url: str | None = None) -> None:
    """Write the computed pages and static assets through ``writer`` (a ``SiteWriter``).

    The sitemap's URLs are under ``public_url`` (the setting, ending in ``/``), else under the
    release's base, as ``kazdata serve`` writes them. The dumps listing, its checksums and the
    sitemap and robots.txt get no ETag: the Python server sends none for them.
    """
    writer.write(f"{COMPUTED}/dumps.html", dumps_listing(release).encode(), "")
    writer.write(f"{COMPUTED}/dumps/SHA256SUMS", release.dump_checksums.encode(), "")
    root = (public_url or release.base).rstrip("/")
    writer.write(f"{COMPUTED}/sitemap.xml", sitemap(release, root).encode(), "")
    writer.write(f"{COMPUTED}/robots.txt", robots_txt(root).encode(), "")  # names the sitemap under the same root
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file():
            body = path.read_bytes()
            writer.write(f"{COMPUTED}/static/{path.name}", body, _etag(body))
