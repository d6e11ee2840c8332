"""Where the bundled ontology, shapes and curated data live.

In a wheel they are copied into ``kazdata/bundled/`` (see ``pyproject.toml``); in a source
checkout or an editable install they are the top-level folders of the repository. Looking in
both places lets ``pip install .`` and ``pip install -e .`` run from any directory.
"""

from __future__ import annotations

from pathlib import Path

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
