"""Content negotiation with Werkzeug's Accept parsing: q-values, wildcards, no header at all."""

from __future__ import annotations

from collections.abc import Iterable

from werkzeug.datastructures import LanguageAccept, MIMEAccept

from kazdata.errors import NotAcceptable, NotFound
from kazdata.formats import Format


def offered_types(formats: Iterable[Format]) -> list[str]:
    return [media_type for fmt in formats for media_type in fmt.media_types]


def choose_format(accept: MIMEAccept, formats: Iterable[Format]) -> Format:
    """The format the client prefers among ``formats`` (in server preference order).

    A request without Accept gets the first format. Raises NotAcceptable listing every
    media type offered when nothing matches.
    """
    formats = list(formats)
    if not accept:
        return formats[0]
    by_type = {media_type: fmt for fmt in formats for media_type in fmt.media_types}
    best = accept.best_match(list(by_type))
    if best is None:
        offered = offered_types(formats)
        raise NotAcceptable("none of the requested media types is offered here; offered: "
                            + ", ".join(offered), offered=offered)
    return by_type[best]


def format_for(extension: str | None, accept: MIMEAccept, formats: list[Format]) -> Format:
    """The format a URL suffix names, or else the one Accept prefers; NotFound for an unknown suffix."""
    if extension is None:
        return choose_format(accept, formats)
    fmt = next((f for f in formats if f.extension == extension), None)
    if fmt is None:
        raise NotFound(f"no format with extension .{extension}; offered: "
                       + ", ".join("." + f.extension for f in formats))
    return fmt


def choose_language(accept: LanguageAccept, languages: list[str], default: str = "en") -> str:
    return accept.best_match(languages, default=default) or default
