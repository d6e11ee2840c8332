"""What the steps of one build share, instead of threading base, prefixes and paths through each.

``BuildContext`` is fixed before the first step; ``WorkerInputs`` adds what the worker
processes read once the index is built (see ``kazdata.builder.jobs``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from kazdata.builder.release_info import ReleaseInfo
from kazdata.entities.triples import TripleIndex
from kazdata.formats import Style
from kazdata.sources import bundled
from kazdata.vocabulary import Vocabulary


def load_context(vocabulary: Vocabulary) -> dict:
    """The published JSON-LD context (the inner object), rebased."""
    text = bundled.context_file().read_text(encoding="utf-8")
    return json.loads(vocabulary.rebase(text))["@context"]


@dataclass(frozen=True)
class BuildContext:
    """One build: the release's vocabulary and style, where it is written, what it is built from.

    ``release`` is the staging folder, moved into place only once the release is complete;
    ``workers`` the processes the CPU-bound jobs share (the release does not depend on it);
    ``info`` the version and issue date the release is described with.
    """

    vocabulary: Vocabulary
    style: Style
    release: Path
    sources: tuple[Path, ...]
    workers: int
    info: ReleaseInfo

    @classmethod
    def create(cls, base: str, release: Path, sources: list[Path], workers: int,
               info: ReleaseInfo) -> BuildContext:
        vocabulary = Vocabulary(base)
        style = Style(prefixes=vocabulary.prefixes, context=load_context(vocabulary))
        return cls(vocabulary, style, release, tuple(sources), workers, info)

    @property
    def base(self) -> str:
        return self.vocabulary.base


@dataclass(frozen=True)
class WorkerInputs:
    """What the jobs of the worker pool read: inherited by forked workers without a copy.

    ``dump_style`` has only the prefixes the dumps use; ``languages`` are the release's page
    languages.
    """

    context: BuildContext
    index: TripleIndex
    dump_style: Style
    languages: list[str]
