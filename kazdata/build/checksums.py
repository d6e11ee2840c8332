"""SHA256SUMS for every file of a release, in the format ``sha256sum -c`` reads."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHECKSUMS = "SHA256SUMS"


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
