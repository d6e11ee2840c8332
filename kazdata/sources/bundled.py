"""Where the bundled ontology, shapes and curated data live.

In a wheel they are copied into ``kazdata/bundled/`` (see ``pyproject.toml``); in a source
checkout or an editable install they are the top-level folders of the repository. Looking in
both places lets ``pip install .`` and ``pip install -e .`` run from any directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

_PACKAGE = Path(__file__).resolve().parent.parent  # the kazdata package


def bundled_dir(name: str) -> Path:
    """The folder ``ontology``, ``shapes`` or ``data`` shipped with kazdata.

    Raises FileNotFoundError naming both places looked in when neither exists.
    """
    candidates = (_PACKAGE / "bundled" / name, _PACKAGE.parent / name)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"kazdata's {name}/ folder is missing; looked in "
                            + " and ".join(str(c) for c in candidates))


def ontology_file() -> Path:
    return bundled_dir("ontology") / "kazdata.ttl"


def context_file() -> Path:
    return bundled_dir("ontology") / "context.jsonld"


def shapes_files() -> list[Path]:
    return sorted(bundled_dir("shapes").glob("*.ttl"))


def sources_dir() -> Path:
    return bundled_dir("data") / "sources"


def queries_dir() -> Path:
    return bundled_dir("data") / "queries"


class SourcesFolder(NamedTuple):
    """The folder of curated sources a build or a validation reads, and why that one."""

    path: Path
    why: str

    def __str__(self) -> str:
        return f"sources: {self.path} ({self.why})"


#: where a checkout keeps its sources, relative to the folder a command runs in
CHECKOUT_SOURCES = Path("data") / "sources"


def choose_sources(explicit: Path | None, cwd: Path | None = None) -> SourcesFolder:
    """The one rule for which sources folder is used, by ``kazdata build``, ``kazdata validate``
    and ``kazdata serve`` alike: ``--sources``/``KAZDATA_SOURCES`` when given; else
    ``data/sources`` in the current folder when there is one (a checkout, where a curator adds a
    file); else the copy installed with kazdata. After ``pip install .`` the installed copy is a
    snapshot, so a curator working in the checkout must get the checkout's folder: the rule
    follows the folder the command runs in, and every build and validation prints its choice.
    """
    if explicit is not None:
        return SourcesFolder(Path(explicit), "--sources / KAZDATA_SOURCES")
    local = (cwd or Path.cwd()) / CHECKOUT_SOURCES
    if local.is_dir():
        return SourcesFolder(local, "the current folder's data/sources")
    return SourcesFolder(sources_dir(), "installed with kazdata; no data/sources in the current folder")
