"""A raw file's data lines counted, and a few of them fetched by number, reading the gzip stream directly.

This reader shares nothing with the clean step's (polars' `scan_lines`), so `reconciliation` compares two
independent counts. Line numbers follow the clean step's: 1-based, the header is line 1, a last line without `\\n`
counts, and a `\\r` before the `\\n` is not part of the line.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from isal import igzip

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class RawLines:
    data_lines: int
    """Lines after the header."""
    lines: dict[int, str]
    """The requested lines that exist, by line number."""


def read_raw_lines(path: Path, wanted: Collection[int] = ()) -> RawLines:
    """Count the data lines of a gzipped file and return the lines numbered in `wanted`, in one streaming pass
    (newlines are counted chunk by chunk; only a chunk holding a wanted line is split)."""
    targets = sorted(set(wanted))
    found: dict[int, str] = {}
    first = 1  # the number of the line `pending` starts
    pending = b""
    with igzip.open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            buffer = pending + chunk
            complete = buffer.count(b"\n")
            if _any_between(targets, first, first + complete):
                for offset, line in enumerate(buffer.split(b"\n")[:complete]):
                    if first + offset in targets:
                        found[first + offset] = _decode(line)
            pending = buffer[buffer.rfind(b"\n") + 1 :] if complete else buffer
            first += complete
    if pending:  # a last line without its newline
        if first in targets:
            found[first] = _decode(pending)
        first += 1
    return RawLines(data_lines=max(first - 2, 0), lines=found)


def read_raw_files(paths: Mapping[str, Path], wanted: Mapping[str, Collection[int]]) -> dict[str, RawLines]:
    """`read_raw_lines` of several files side by side (the inflate releases the GIL), by the same keys."""
    with ThreadPoolExecutor(max_workers=len(paths) or 1) as pool:
        futures = {key: pool.submit(read_raw_lines, path, wanted.get(key, ())) for key, path in paths.items()}
        return {key: future.result() for key, future in futures.items()}


def _any_between(targets: list[int], low: int, high: int) -> bool:
    """Whether a target lies in [low, high)."""
    index = bisect.bisect_left(targets, low)
    return index < len(targets) and targets[index] < high


def _decode(line: bytes) -> str:
    return line.removesuffix(b"\r").decode("utf-8", errors="replace")
