"""Facts about a raw `.tsv.gz` file: size, checksum, data rows and header, without holding it in memory."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from isal import igzip

from media_assets.atomic_files import write_json_atomically
from media_assets.sources.imdb_files import ImdbFile

_CHUNK_BYTES = 1 << 22


class RawFileError(ValueError):
    """A raw file that cannot be read as the IMDb file it claims to be."""


@dataclass(frozen=True)
class RawFileStats:
    bytes: int
    sha256: str
    rows: int
    """Data lines, header excluded."""


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
    """Size, sha256 and number of data lines of a gzipped file.

    The result is cached beside the file (keyed by size and mtime), so a re-materialization of an unchanged
    snapshot does not inflate it again.
    """
    stat = path.stat()
    cache = path.with_name(path.name + ".stats.json")
    key = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if cache.exists():
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return RawFileStats(**cached["stats"])
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        while chunk := raw.read(_CHUNK_BYTES):
            digest.update(chunk)
    lines = 0
    last_byte = b"\n"
    try:
        with igzip.open(path, "rb") as stream:
            while chunk := stream.read(_CHUNK_BYTES):
                lines += chunk.count(b"\n")
                last_byte = chunk[-1:]
    except (OSError, EOFError) as error:
        raise RawFileError(f"{path}: not a complete gzip stream: {error}") from error
    if last_byte != b"\n":
        lines += 1  # a last line without its line end still counts
    stats = RawFileStats(bytes=stat.st_size, sha256=digest.hexdigest(), rows=max(lines - 1, 0))
    write_json_atomically(cache, {"key": key, "stats": asdict(stats)})
    return stats
