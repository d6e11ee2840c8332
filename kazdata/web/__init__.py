"""The web application: the only package that imports Flask and Werkzeug.

``create_app(settings)`` opens the release once, attaches it, and registers one blueprint per
URL area. Nothing is read from the environment at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask

from kazdata.config import load_settings
from kazdata.release import Release


@dataclass
class Resources:
    """What request handlers share: the settings and the open release (and its SPARQL engine)."""

    settings: dict[str, Any]
    release: Release
    engine: Any = None


def create_app(settings: dict[str, Any] | None = None) -> Flask:
    from kazdata.web import dumps, linked_data, sparql
    from kazdata.web.errors import register_error_handlers
    from kazdata.web.security import register_security_headers

    settings = settings or load_settings()
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = settings["max_body"]
    app.json.ensure_ascii = False
    release = Release(settings["release"])
    app.extensions["kazdata"] = Resources(settings=settings, release=release,
                                          engine=sparql.make_engine(settings, release))
    app.url_map.strict_slashes = False
    app.register_blueprint(linked_data.blueprint)
    app.register_blueprint(dumps.blueprint)
    app.register_blueprint(sparql.blueprint)
    register_error_handlers(app)
    register_security_headers(app)
    return app
