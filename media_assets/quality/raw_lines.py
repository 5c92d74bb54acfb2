"""A few lines of a raw file fetched by number, reading the gzip stream directly (for the audit's examples).

Line numbers follow the clean step's: 1-based, the header is line 1, a last line without `\\n` counts, and a `\\r`
before the `\\n` is not part of the line. The read stops at the last line asked for: the examples are a file's
first failing lines, so most of a large file is never inflated. (Line counts come from the raw step's complete
read, recorded with the archived file.)
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from isal import igzip

CHUNK_BYTES = 1 << 20


def fetch_raw_lines(path: Path, wanted: Collection[int]) -> dict[int, str]:
    """The lines of a gzipped file numbered in `wanted` that exist, in one streaming pass that stops after the last
    of them (newlines are counted chunk by chunk; only a chunk holding a wanted line is split)."""
    targets = sorted(set(wanted))
    found: dict[int, str] = {}
    first = 1  # the number of the line `pending` starts
    pending = b""
    with igzip.open(path, "rb") as stream:
        while targets and first <= targets[-1] and (chunk := stream.read(CHUNK_BYTES)):
            buffer = pending + chunk
            complete = buffer.count(b"\n")
            if _any_between(targets, first, first + complete):
                for offset, line in enumerate(buffer.split(b"\n")[:complete]):
                    if first + offset in targets:
                        found[first + offset] = _decode(line)
            pending = buffer[buffer.rfind(b"\n") + 1 :] if complete else buffer
            first += complete
    if pending and first in targets:  # a last line without its newline
        found[first] = _decode(pending)
    return found


def fetch_lines_of_files(paths: Mapping[str, Path], wanted: Mapping[str, Collection[int]]) -> dict[str, dict[int, str]]:
    """`fetch_raw_lines` of the files some lines are wanted from, side by side (the inflate releases the GIL)."""
    asked = {key: path for key, path in paths.items() if wanted.get(key)}
    with ThreadPoolExecutor(max_workers=len(asked) or 1) as pool:
        futures = {key: pool.submit(fetch_raw_lines, path, wanted[key]) for key, path in asked.items()}
        return {key: futures[key].result() if key in futures else {} for key in paths}


def _any_between(targets: list[int], low: int, high: int) -> bool:
    """Whether a target lies in [low, high)."""
    index = bisect.bisect_left(targets, low)
    return index < len(targets) and targets[index] < high


def _decode(line: bytes) -> str:
    return line.removesuffix(b"\r").decode("utf-8", errors="replace")
