"""SHA256SUMS for every file of a release, and checking a release against it.

``SHA256SUMS`` is in the format ``sha256sum -c`` reads; it lists every file of a release, and is
both the server's table of ETags and its allow-list of paths.

Hashing every byte of a release takes seconds per GB, at every start of every server
(docs/decisions/007-documents-at-scale.md has the figures). So whatever hashes a whole release (the build,
``kazdata publish``, a full check) also writes a *verification record* beside it,
``.{release}.verified``: for each file, the inode, size, modification and change times it had
when its bytes were found to match. A quick check (``verify="quick"``, what ``kazdata serve``
does by default) stats every listed file and hashes only those whose stat differs from the
record: a release nobody touched costs one ``stat`` per file, and a file that was rewritten,
truncated, replaced or copied is hashed and refused unless its bytes still match. The change
time (``st_ctime``) cannot be set back by a user, so restoring a modification time does not hide
a change. The record is outside the release, which stays byte-identical and never modified.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from kazdata.errors import ReleaseError

CHECKSUMS = "SHA256SUMS"
#: The first line of a verification record (its format's version).
RECORD_HEADER = "kazdata verification record 1\n"
#: How a release is checked when it is opened: not at all, every byte, or only what changed
#: since its bytes were last found to match (see the module docstring).
LEVELS = ("off", "quick", "full")


def file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def write_checksums(release: Path) -> Path:
    """Write ``release/SHA256SUMS`` listing every other file, sorted by path."""
    lines = [f"{file_digest(path)}  {path.relative_to(release).as_posix()}\n"
             for path in sorted(release.rglob("*")) if path.is_file() and path.name != CHECKSUMS]
    target = release / CHECKSUMS
    target.write_text("".join(lines), encoding="utf-8")
    return target


def read_checksums(release: Path) -> dict[str, str]:
    """relative path -> sha256 hex, as written by ``write_checksums``."""
    digests: dict[str, str] = {}
    for line in (release / CHECKSUMS).read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        digests[name] = digest
    return digests


def record_path(release: Path) -> Path:
    """Where the verification record of ``release`` is kept: beside it, not in it."""
    release = Path(os.path.realpath(release))
    return release.with_name(f".{release.name}.verified")


def _stat_key(stat: os.stat_result) -> tuple[int, int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


def read_record(release: Path) -> dict[str, tuple[int, int, int, int]]:
    """relative path -> (inode, size, mtime ns, ctime ns) when last hashed; empty without a record."""
    try:
        text = record_path(release).read_text(encoding="utf-8")
    except OSError:
        return {}
    if not text.startswith(RECORD_HEADER):
        return {}
    record: dict[str, tuple[int, int, int, int]] = {}
    try:
        for line in text[len(RECORD_HEADER):].splitlines():
            inode, size, mtime, ctime, name = line.split(" ", 4)  # a short line is damaged too
            record[name] = (int(inode), int(size), int(mtime), int(ctime))
    except ValueError:
        return {}  # a damaged record vouches for nothing: the files are hashed
    return record


def write_record(release: Path, names: list[str]) -> None:
    """Record the stat of ``names`` (and SHA256SUMS), whose bytes the caller just found to match.

    Written to a temporary name and renamed, so a reader sees the old record or the new one.
    Best effort: a release on a read-only file system is simply hashed again next time.
    """
    release = Path(os.path.realpath(release))
    target = record_path(release)
    staging = target.with_name(f"{target.name}.{os.getpid()}")  # workers may write at once
    try:
        lines = [RECORD_HEADER]
        for name in sorted({*names, CHECKSUMS}):
            lines.append(" ".join(str(n) for n in _stat_key(os.stat(release / name))) + f" {name}\n")
        staging.write_text("".join(lines), encoding="utf-8")
        os.replace(staging, target)
    except OSError:
        staging.unlink(missing_ok=True)


def verify_files(release: Path, digests: dict[str, str], level: str) -> list[str]:
    """Check the files of ``release`` against ``digests`` (its SHA256SUMS); return those hashed.

    ``level`` is one of ``LEVELS``. Raises ReleaseError naming the first file that is missing,
    truncated, or whose bytes do not match. After hashing, the record is rewritten so that
    the next quick check of the same, untouched files hashes nothing.
    """
    if level not in LEVELS:
        raise ValueError(f"verification must be one of {', '.join(LEVELS)}, not {level!r}")
    if level == "off":
        return []
    release = Path(release)
    record = read_record(release) if level == "quick" else {}
    checksums_stat = os.stat(release / CHECKSUMS)
    if record.get(CHECKSUMS) != _stat_key(checksums_stat):
        record = {}  # SHA256SUMS itself changed: nothing recorded against it can be trusted
    hashed = []
    for relative, digest in digests.items():
        path = release / relative
        try:
            stat = os.stat(path)
        except OSError:
            raise ReleaseError(f"{path} is listed in {CHECKSUMS} but missing") from None
        recorded = record.get(relative)
        if recorded == _stat_key(stat):
            continue
        hashed.append(relative)
        if file_digest(path) != digest:
            raise ReleaseError(_mismatch(path, stat, recorded))
    if hashed:
        write_record(release, list(digests))
    return hashed


def _mismatch(path: Path, stat: os.stat_result, recorded: tuple | None) -> str:
    """The message for a file whose bytes do not match, saying how it changed when it can tell."""
    message = f"{path} does not match its checksum in {CHECKSUMS}: the release was modified after it was built"
    if recorded is not None and recorded[0] == stat.st_ino and stat.st_size < recorded[1]:
        message += f" (it is {stat.st_size} bytes, {recorded[1]} when it was verified: truncated)"
    return message
