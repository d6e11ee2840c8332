"""The app factory: ``create_app(settings)`` opens the release (``Resources`` switches to a newly published one),
attaches it, and registers one blueprint per URL area. Nothing is read from the environment at import time.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from kazdata.entities.pages import STATIC_DIR
from kazdata.http_contract import ROUTES
from kazdata.release.opened import OpenedRelease
from kazdata.settings import Settings, load_settings
from kazdata.web.documents import FastDocuments
from kazdata.web.request_body import BodyGate, raise_refusal
from kazdata.web.resources import Resources


def create_app(settings: Settings | None = None, *, opened: OpenedRelease | None = None,
               query_socket: str | None = None, fallback: Path | None = None, fast_queries: bool = True) -> Flask:
    """The app for ``settings``; ``opened`` is a release already opened and verified by
    ``kazdata serve`` (reused, not verified again), ``query_socket`` where its query
    processes listen (without one, queries are evaluated in this process's threads),
    ``fallback`` the release to serve if the one the settings point at fails to open;
    ``fast_queries=False`` leaves every query to Flask's view (the parity tests compare the two)."""
    from kazdata.web import dumps, history, linked_data, mementos, openapi, site, sparql
    from kazdata.web.cors import register_preflights
    from kazdata.web.errors import register_error_handlers
    from kazdata.web.fast_queries import FastQueries
    from kazdata.web.long_urls import register_url_limit
    from kazdata.web.security import register_security_headers

    settings = settings or load_settings()
    app = Flask("kazdata.web", static_folder=str(STATIC_DIR), static_url_path=ROUTES["static"].path.rsplit("/", 1)[0])
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    assert isinstance(app.json, DefaultJSONProvider)  # Flask's own: no other is configured
    app.json.ensure_ascii = False
    app.extensions["kazdata"] = Resources(settings, sparql.make_engine, opened=opened,
                                           query_socket=query_socket, fallback=fallback)
    app.url_map.strict_slashes = False
    app.register_blueprint(linked_data.blueprint)
    app.register_blueprint(dumps.blueprint)
    app.register_blueprint(sparql.blueprint)
    app.register_blueprint(openapi.blueprint)
    app.register_blueprint(site.blueprint)
    app.register_blueprint(history.blueprint)
    app.register_blueprint(mementos.blueprint)
    app.before_request(raise_refusal)
    register_url_limit(app)
    register_preflights(app)
    register_error_handlers(app)
    register_security_headers(app)
    # after the refusals and the URL limit: a TimeGate answers only a request they let through
    mementos.register_time_travel(app)
    if fast_queries and settings.backend != "remote":  # queries before Flask's router (kazdata.web.fast_queries)
        app.wsgi_app = FastQueries(app.wsgi_app, app.extensions["kazdata"])  # type: ignore[method-assign]
    # slow bodies may hold at most half the threads, for at most body_timeout (kazdata.web.request_body)
    app.wsgi_app = BodyGate(app.wsgi_app, slots=settings.threads // 2,  # type: ignore[method-assign]
                            seconds=settings.body_timeout, max_body=settings.max_body)
    # the hot path, before Flask; wrapping wsgi_app is how Flask's documentation adds middleware
    app.wsgi_app = FastDocuments(app.wsgi_app, app.extensions["kazdata"])  # type: ignore[method-assign]
    return app
