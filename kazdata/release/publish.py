"""Publishing a release: atomically repoint the path a server serves."""

from __future__ import annotations

import os
from pathlib import Path

from kazdata.errors import ReleaseError
from kazdata.release.opened import Release


def publish(release: Path, link: Path) -> None:
    """Verify every byte of ``release`` and make the symlink ``link`` point to it in one rename.

    Hashing it also renews its verification record (``kazdata.release.checksums``), so the servers that
    switch to it check it with one ``stat`` per file instead of hashing it again.

    Raises ReleaseError (nothing changed) when the release does not verify or ``link`` is a
    real directory, which cannot be switched atomically.
    """
    Release(release, verify="full")
    if link.exists() and not link.is_symlink():
        raise ReleaseError(f"{link} is a directory, not a symlink: serve a symlink "
                           f"(kazdata publish creates one) to switch releases atomically")
    staging = link.with_name(f".{link.name}.switching")
    if staging.is_symlink() or staging.exists():
        staging.unlink()
    staging.symlink_to(release.resolve(), target_is_directory=True)
    os.replace(staging, link)
