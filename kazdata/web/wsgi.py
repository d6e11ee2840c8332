"""The app as granian's worker processes load it.

``kazdata serve`` puts every setting in its ``KAZDATA_*`` environment variable, and the socket
of the query processes it started in ``KAZDATA_QUERY_SOCKET``, then starts granian, whose
workers call ``production_app``.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from kazdata.runtime.http_servers import QUERY_SOCKET_ENV, STARTED_RELEASE_ENV
from kazdata.settings import load_settings
from kazdata.web.app import create_app


def production_app() -> Flask:
    started = os.environ.get(STARTED_RELEASE_ENV)
    return create_app(load_settings(), query_socket=os.environ.get(QUERY_SOCKET_ENV),
                      fallback=Path(started) if started else None)
