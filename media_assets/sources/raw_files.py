"""Facts about a raw `.tsv.gz` file: size, checksum and header, without holding it in memory."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from isal import igzip

from media_assets.atomic_files import write_json_atomically
from media_assets.sources.imdb_files import ImdbFile


class RawFileError(ValueError):
    """A raw file that cannot be read as the IMDb file it claims to be."""


@dataclass(frozen=True)
class RawFileStats:
    bytes: int
    sha256: str


_STATS_FIELDS = {field.name for field in fields(RawFileStats)}


def read_header(path: Path) -> str:
    """The first line of a gzipped TSV, without its line end."""
    try:
        with igzip.open(path, "rb") as stream:
            return stream.readline().decode("utf-8").rstrip("\r\n")
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise RawFileError(f"{path}: cannot read the header line: {error}") from error


def check_header(path: Path, imdb_file: ImdbFile) -> None:
    """Fail with the expected and the found header when `path` is not laid out as `imdb_file`."""
    found = read_header(path)
    if found != imdb_file.header_line:
        raise RawFileError(
            f"{path}: unexpected header for {imdb_file.file_name} (line 1).\n"
            f"  expected: {imdb_file.header_line!r}\n"
            f"  found:    {found!r}"
        )


def raw_file_stats(path: Path) -> RawFileStats:
    """Size and sha256 of a raw file, read as stored (it is not inflated: the clean step counts its rows).

    The result is cached beside the file as `<file>.stats.json`, keyed by size and mtime, so a re-materialization
    of an unchanged snapshot, or the clean step asking for the same checksum, does not read it again.
    """
    stat = path.stat()
    cache = path.with_name(path.name + ".stats.json")
    key = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if cache.exists():
        cached = json.loads(cache.read_text())
        stored = cached.get("stats", {})
        # Fields it no longer has are ignored: caches of earlier versions also hold the row count.
        if cached.get("key") == key and _STATS_FIELDS <= stored.keys():
            return RawFileStats(**{name: stored[name] for name in _STATS_FIELDS})
    with path.open("rb") as raw:
        sha256 = hashlib.file_digest(raw, "sha256").hexdigest()
    stats = RawFileStats(bytes=stat.st_size, sha256=sha256)
    write_json_atomically(cache, {"key": key, "stats": asdict(stats)})
    return stats
