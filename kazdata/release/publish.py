"""Publishing a release: keep it in the history of releases, then atomically repoint the path a
server serves."""

from __future__ import annotations

import os
from pathlib import Path

from kazdata.errors import ReleaseError
from kazdata.release.history import add_release, default_folder


def publish(release: Path, link: Path, history: Path | None = None) -> Path:
    """Keep ``release`` in the ``history`` folder (default ``releases/`` beside ``link``,
    ``kazdata.release.history``), verified byte for byte, and make the symlink ``link`` point to
    that kept copy in one rename; return the copy's path.

    Hashing it also writes its verification record (``kazdata.release.checksums``), so the
    servers that switch to it check it with one ``stat`` per file instead of hashing it again.

    Raises ReleaseError (nothing changed) when the release does not verify, its version is kept
    with other contents, or ``link`` is a real directory, which cannot be switched atomically.
    """
    if link.exists() and not link.is_symlink():
        raise ReleaseError(f"{link} is a directory, not a symlink: serve a symlink "
                           f"(kazdata publish creates one) to switch releases atomically")
    kept = add_release(release, history if history is not None else default_folder(link))
    staging = link.with_name(f".{link.name}.switching")
    if staging.is_symlink() or staging.exists():
        staging.unlink()
    staging.symlink_to(kept.resolve(), target_is_directory=True)
    os.replace(staging, link)
    return kept
