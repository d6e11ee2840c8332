"""Which release a build writes: its version, issue date and predecessor, fixed before the build.

A release is cited by its version and date, and two builds of the same input must stay
byte-identical, so both come from the input, never from the clock:

- version: ``--version``, else ``owl:versionInfo`` in ``data/dataset.ttl``, else the content
  address of the release (the first 12 hex digits of its N-Quads dump's SHA-256, known only once
  the dump is written: ``version`` is then ``None`` here);
- issue date: ``--issued``, else ``dcterms:issued`` in ``data/dataset.ttl``, else
  ``SOURCE_DATE_EPOCH`` (https://reproducible-builds.org/specs/source-date-epoch/), as a UTC
  date. The curated file outranks the variable because some build environments set it for
  everything (Nix sets it to 1980), and a release dated 1980 would be cited wrongly;
- predecessor: ``--previous REL``, the release this one follows, read from REL's own
  description (its version and date), so the new release can say ``dcat:previousVersion``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyoxigraph as ox

from kazdata.errors import SourceError
from kazdata.release.checksums import file_digest
from kazdata.sources import bundled
from kazdata.vocabulary import PREFIXES, Vocabulary

VERSION_INFO = PREFIXES["owl"] + "versionInfo"
DCAT_VERSION = PREFIXES["dcat"] + "version"
ISSUED = PREFIXES["dcterms"] + "issued"
IS_VERSION_OF = PREFIXES["dcterms"] + "isVersionOf"
#: What a version may be: it names a release in URLs and file names (``/releases/{version}/``).
VERSION_PATTERN = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}")


@dataclass(frozen=True)
class PreviousRelease:
    """The release a build follows, as its description states it."""

    version: str
    issued: date
    #: its directory, which the change set is computed against (``kazdata.builder.changes``)
    directory: Path | None = None


@dataclass(frozen=True)
class ReleaseInfo:
    """The release a build writes. ``version`` None: the content address (module docstring)."""

    version: str | None
    issued: date
    #: the release this one follows (``--previous``), if any
    previous: PreviousRelease | None = None


def versioned_iri(base: str, version: str) -> str:
    """The IRI of one release of the dataset, as ``dcat:hasVersion`` and ``dcat:previousVersion`` name it."""
    return f"{base}releases/{version}"


def release_version(release: Path, info: ReleaseInfo) -> str:
    """``info.version``, or else the content address of the release being written to ``release``:
    the first 12 hex digits of its N-Quads dump's SHA-256 (so only once that dump is written)."""
    return info.version or file_digest(release / "dumps" / "kazdata.nq")[:12]


def read_previous(release: Path) -> PreviousRelease:
    """The version and issue date ``release`` (a release directory) states in its ``void.nt``.

    Raises SourceError when it is not a release, or one written before releases had a date.
    """
    path = Path(release) / "void.nt"
    try:
        triples = [t for t in ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES)]
    except (OSError, SyntaxError) as error:
        raise SourceError(f"--previous {release}: not a kazdata release (cannot read {path.name}: "
                          f"{getattr(error, 'strerror', None) or error})") from None
    versions = {t.subject.value for t in triples if t.predicate.value == DCAT_VERSION}
    # the dataset itself, not the releases it lists as its versions
    subjects = versions - {t.subject.value for t in triples if t.predicate.value == IS_VERSION_OF}
    if len(subjects) != 1:
        raise SourceError(f"--previous {release}: its description states no dcat:version, or several: "
                          f"a release from before versions cannot be followed")
    subject = subjects.pop()
    version, issued = _stated(triples, subject, (DCAT_VERSION,)), _stated(triples, subject, (ISSUED,))
    if version is None or issued is None:
        raise SourceError(f"--previous {release}: its description has no dcterms:issued")
    return PreviousRelease(_checked(parse_version, version, f"--previous {release}: dcat:version"),
                           _checked(parse_issued, issued[:10], f"--previous {release}: dcterms:issued"),
                           Path(release).resolve())


def parse_version(text: str) -> str:
    """``text`` if it can name a release; ValueError with the rule otherwise."""
    if not VERSION_PATTERN.fullmatch(text):
        raise ValueError(f"a release version is 1-64 ASCII letters, digits, '.', '+', '_' or '-', starting "
                         f"with a letter or digit (e.g. 1.2.0 or 2026-12-03), not {text!r}")
    return text


def parse_issued(text: str) -> date:
    """An issue date written ``YYYY-MM-DD``; ValueError naming the form otherwise."""
    try:
        return date.fromisoformat(text) if len(text) == 10 else _not_a_date(text)
    except ValueError:
        return _not_a_date(text)


def _not_a_date(text: str) -> date:
    raise ValueError(f"an issue date is written YYYY-MM-DD (e.g. 2026-12-03), not {text!r}")


def dataset_file() -> Path:
    return bundled.bundled_dir("data") / "dataset.ttl"


def _stated(triples: Iterable[ox.Triple], subject: str, predicates: tuple[str, ...]) -> str | None:
    values = sorted(t.object.value for t in triples if isinstance(t.object, ox.Literal)
                    and t.subject == ox.NamedNode(subject) and t.predicate.value in predicates)
    return values[0] if values else None


def resolve_release_info(version: str | None = None, issued: date | None = None, previous: Path | None = None,
                         *, triples: Iterable[ox.Triple] | None = None,
                         environ: Mapping[str, str] = os.environ) -> ReleaseInfo:
    """The release's version and date by the rules of the module docstring.

    ``triples``: the curated description (default: ``data/dataset.ttl``, read with the default
    base); ``previous``: the directory of the release this one follows. Raises SourceError when no
    issue date can be found, when the curated file or ``SOURCE_DATE_EPOCH`` holds one that does
    not parse, or when the previous release has the same version or a later date.
    """
    path = dataset_file()
    described = list(triples if triples is not None else ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    dataset = Vocabulary().dataset
    if version is None:
        stated = _stated(described, dataset, (VERSION_INFO, DCAT_VERSION))
        version = _checked(parse_version, stated, f"{path}: owl:versionInfo") if stated else None
    if issued is None:
        stated = _stated(described, dataset, (ISSUED,))
        if stated:
            issued = _checked(parse_issued, stated[:10], f"{path}: dcterms:issued")
        elif environ.get("SOURCE_DATE_EPOCH"):
            issued = _checked(_epoch_date, environ["SOURCE_DATE_EPOCH"], "SOURCE_DATE_EPOCH")
        else:
            raise SourceError(f"a release needs an issue date, and none was given: pass --issued YYYY-MM-DD, "
                              f"state dcterms:issued in {path}, or set SOURCE_DATE_EPOCH (the build never "
                              f"reads the clock, so that two builds of the same input are identical)")
    before = read_previous(previous) if previous is not None else None
    if before is not None and before.version == version:
        raise SourceError(f"--previous {previous} is version {version} too: a new release needs a new version")
    if before is not None and before.issued > issued:
        raise SourceError(f"--previous {previous} was issued on {before.issued}, after this release's "
                          f"{issued}: a release cannot be issued before the one it follows")
    return ReleaseInfo(version, issued, before)


def _epoch_date(text: str) -> date:
    if not text.isdigit():
        raise ValueError(f"SOURCE_DATE_EPOCH is a number of seconds since 1970-01-01 UTC, not {text!r}")
    return datetime.fromtimestamp(int(text), UTC).date()


def _checked(parse, text: str, where: str):
    try:
        return parse(text)
    except (ValueError, OverflowError, OSError) as error:
        raise SourceError(f"{where}: {error}") from None
