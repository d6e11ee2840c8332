"""What ``kazdata build OUT`` may replace: nothing that is not a release.

A build moves its staged release into place by removing what is at ``OUT``. That is right for
the release it supersedes, and wrong for a folder of someone's notes or a file given as ``OUT``
by mistake, so everything else is refused before the build starts, with what is there named.
"""

from __future__ import annotations

from pathlib import Path

from kazdata.errors import ReleaseError
from kazdata.release.checksums import CHECKSUMS

#: how many of a folder's entries a refusal names
SHOWN = 5


def check_replaceable(out: Path) -> None:
    """Return when ``out`` is missing, an empty folder or a kazdata release (a folder with
    ``SHA256SUMS``, or a symlink to one, as ``kazdata publish`` makes); raise ReleaseError
    naming what is there otherwise."""
    if not out.exists():
        return  # missing, or a dangling symlink: replacing it loses nothing
    if not out.is_dir():
        raise ReleaseError(f"{out} is a file, not a release folder; refusing to replace it "
                           "(give a new or empty folder, or an existing release)")
    if (out / CHECKSUMS).is_file():
        return
    entries = sorted(entry.name for entry in out.iterdir())
    if not entries:
        return
    shown = ", ".join(entries[:SHOWN]) + (f" and {len(entries) - SHOWN} more" if len(entries) > SHOWN else "")
    raise ReleaseError(f"{out} is a folder that is not a kazdata release (it holds {shown}); refusing to "
                       "replace it (give a new or empty folder, or an existing release)")
