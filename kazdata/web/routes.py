"""Flask rules from the routes of ``kazdata.http_contract``, so a handler's URL and methods are
the ones the OpenAPI document and the static export are generated from."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint

from kazdata.http_contract import ROUTES


def route(blueprint: Blueprint, *names: str) -> Callable[[Callable], Callable]:
    """Register the decorated view for each named route of the contract."""
    def register(view: Callable) -> Callable:
        for name in names:
            blueprint.add_url_rule(ROUTES[name].rule, view_func=view, methods=list(ROUTES[name].methods))
        return view
    return register
