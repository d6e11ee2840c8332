"""The app as the production server's worker processes load it.

``kazdata serve`` puts every setting in its ``KAZDATA_*`` environment variable and starts
granian, whose workers call ``production_app``. Unlike ``create_app`` for tests, this app ends
its worker after a query outlives the time limit, so the server replaces it and the CPU is freed.
"""

from __future__ import annotations

from flask import Flask

from kazdata.config import load_settings
from kazdata.web import create_app


def production_app() -> Flask:
    return create_app({**load_settings(), "recycle_on_timeout": True})
