"""The history of releases: every release ever published, kept side by side, never modified.

``kazdata publish REL --to LINK`` adds REL to the history folder (``releases/`` beside LINK,
``--history`` names another) as ``{history}/{version}/`` and points LINK at that copy; the
releases published before stay where they are, so their dumps keep their URLs
(``/releases/{version}/dumps/...``) and their documents stay reachable as mementos. Nothing
is deleted unless the operator says so (``kazdata prune``).

``history.json`` in the folder lists the kept releases (version, issue date, digest of their
``SHA256SUMS``), in issue order. It is the one file of the folder that changes, and it is
replaced atomically, like the link. A server finds the history from the release it serves: the
folder that holds it, if that folder has a ``history.json``. The copy is made of hard links
where the file system allows (a release is never modified, so sharing its inodes is safe, and
publishing a release of any size costs no space); it is then verified byte for byte, under its
final name, before the index lists it.

A version names one release forever: publishing a release whose version is kept with other
bytes is refused, and publishing a kept version again (a rollback) only repoints the link.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from kazdata.errors import ReleaseError
from kazdata.release.checksums import CHECKSUMS, file_digest, record_path
from kazdata.release.entity_index import RELEASE_INFO
from kazdata.release.opened import Release

HISTORY_INDEX = "history.json"
#: where ``kazdata publish`` keeps the releases when no ``--history`` is given: beside the link
DEFAULT_FOLDER = "releases"


@dataclass(frozen=True, order=True)
class KeptRelease:
    """One release of the history, as ``history.json`` lists it (ordered by issue date, then version)."""

    issued: date
    version: str
    #: SHA-256 of the release's SHA256SUMS: the whole release, by the digests of its files
    checksums: str

    @property
    def moment(self) -> datetime:
        """The instant the release became current, as Memento dates it: its issue date, 00:00 UTC."""
        return datetime(self.issued.year, self.issued.month, self.issued.day, tzinfo=UTC)

    def as_json(self) -> dict:
        return {"version": self.version, "issued": self.issued.isoformat(), "checksums": self.checksums}


def default_folder(link: Path) -> Path:
    return Path(link).parent / DEFAULT_FOLDER


def read_history(folder: Path) -> list[KeptRelease]:
    """The releases ``folder/history.json`` lists, oldest first; [] when there is none."""
    try:
        listed = json.loads((Path(folder) / HISTORY_INDEX).read_bytes())["releases"]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ReleaseError(f"{Path(folder) / HISTORY_INDEX} cannot be read: {error}") from None
    return sorted(KeptRelease(date.fromisoformat(entry["issued"]), entry["version"], entry["checksums"])
                  for entry in listed)


def history_of(release: Path) -> Path | None:
    """The history folder that holds ``release`` (a kept release's directory), if any."""
    folder = Path(os.path.realpath(release)).parent
    return folder if (folder / HISTORY_INDEX).is_file() else None


def _write_history(folder: Path, kept: list[KeptRelease]) -> None:
    """Replace ``history.json`` in one rename: a server reads the old list or the new one."""
    staging = folder / f".{HISTORY_INDEX}.writing"
    body = {"releases": [entry.as_json() for entry in sorted(kept)]}
    staging.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    os.replace(staging, folder / HISTORY_INDEX)


def _stated(release: Path) -> tuple[str, date]:
    """The version and issue date ``release`` states (``docs/release.json``)."""
    try:
        info = json.loads((release / RELEASE_INFO).read_bytes())
    except (OSError, ValueError) as error:
        raise ReleaseError(f"{release} is not a kazdata release ({RELEASE_INFO}: {error})") from None
    if not info.get("version") or not info.get("issued"):
        raise ReleaseError(f"{release} states no version or no issue date: a release from before versions "
                           f"cannot be kept in a history (build it again with `kazdata build`)")
    return info["version"], date.fromisoformat(info["issued"])


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(source, target)


def add_release(release: Path, folder: Path) -> Path:
    """Keep ``release`` in the history ``folder`` as ``{folder}/{version}``; return that path.

    Raises ReleaseError, and lists nothing new, when the copy does not verify against its
    SHA256SUMS or the version is kept already with different bytes.
    """
    release = Path(release).resolve()
    version, issued = _stated(release)
    folder.mkdir(parents=True, exist_ok=True)
    kept = read_history(folder)
    digest = file_digest(release / CHECKSUMS)
    target = folder / version
    same = [entry for entry in kept if entry.version == version]
    if same and same[0].checksums != digest:
        raise ReleaseError(f"version {version} is already published with other contents ({target}): a version "
                           f"names one release forever; build this one with a new --version")
    if same and not (target / CHECKSUMS).is_file():
        raise ReleaseError(f"{folder / HISTORY_INDEX} lists version {version} but {target} is gone: "
                           f"prune it (kazdata prune {version}) and publish again")
    if same:  # a rollback to a kept release: nothing to copy, but a copy given must be intact
        if release != target.resolve():
            Release(release, verify="full")
        return target
    if release != target.resolve():
        if target.exists():
            raise ReleaseError(f"{target} exists but {folder / HISTORY_INDEX} does not list it: move it away first")
        staging = folder / f".{version}.adding"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(release, staging, copy_function=_link_or_copy, symlinks=True)
        staging.rename(target)
    try:
        Release(target, verify="full")  # also writes its verification record
    except ReleaseError:
        if release != target.resolve():
            shutil.rmtree(target, ignore_errors=True)
        raise
    _write_history(folder, [*kept, KeptRelease(issued, version, digest)])
    return target


def prune(folder: Path, versions: list[str], served: Path | None) -> list[str]:
    """Remove ``versions`` from the history ``folder``: first from its index, then from disk.

    Raises ReleaseError, removing nothing, for a version that is not kept or is the one
    ``served`` (the link a server serves) points at.
    """
    kept = read_history(folder)
    known = {entry.version for entry in kept}
    unknown = [version for version in versions if version not in known]
    if unknown:
        raise ReleaseError(f"not in {folder / HISTORY_INDEX}: {', '.join(unknown)} "
                           f"(kept: {', '.join(e.version for e in kept) or 'none'})")
    current = Path(os.path.realpath(served)).name if served is not None and served.exists() else None
    if current in versions:
        raise ReleaseError(f"{served} serves version {current}: publish another release before pruning it")
    _write_history(folder, [entry for entry in kept if entry.version not in versions])
    for version in versions:
        shutil.rmtree(folder / version, ignore_errors=True)
        record_path(folder / version).unlink(missing_ok=True)
    return versions
