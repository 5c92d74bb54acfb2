"""A raw file's inflated content stored as a delta against another day's file of the same dataset (its *base*).

IMDb changes a small share of its lines from one day to the next, so most of a day's content is already in an
earlier day's file. The delta is a sequence of zstd frames, one per *chunk* of the content (whole lines, about
`CHUNK_BYTES`), each compressed with a *window* of the base's content as zstd's raw-content dictionary: what the
chunk repeats from the window costs a few bytes. Memory stays bounded whatever the file's size: one chunk, one
window and zstd's buffers (`WINDOW_LOG`).

The window of a chunk is the base's lines from the chunk's first key to its last key (the first field of a line,
e.g. `tt0111161`), with `SLACK_BYTES` on either side. IMDb's files are sorted by id, so the base is read forward
once, in step with the content. Nothing depends on that order for correctness: each chunk records the window it
was compressed with (offset and length in the base's content), and decompression takes exactly that window; an
unsorted file only gives worse windows, so a bigger delta.

The content is what `raw_files.inflate` yields (the gzip container's exact bytes are not part of it), and the
caller checks a reconstruction against the content's sha256 before it relies on a delta.
"""

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import zstandard

from media_assets.sources.raw_files import CHUNK_BYTES as READ_BYTES
from media_assets.sources.raw_files import INFLATE_INPUT_BYTES, inflate, line_blocks

CHUNK_BYTES = 8 << 20
"""Content compressed per zstd frame (rounded up to a line end)."""
SLACK_BYTES = 1 << 20
"""Base content taken before a chunk's first key (lines moved or re-keyed a little still match)."""
MAX_WINDOW_BYTES = 2 * CHUNK_BYTES + 2 * SLACK_BYTES
"""At most this much base content per chunk: bounds memory when the keys are not in order."""
WINDOW_LOG = 26
"""zstd's window (64 MiB): a window and a chunk fit in it, so every match in the window can be referenced."""
LEVEL = 6
HASH_LOG = 23
"""zstd's match tables (2^23 entries, 32 MiB each) sized for the window: with the level's default most of a large
dictionary is never indexed, and a day's delta came out 400 times larger (measured on title.basics). Measured on
the scale-0.01 sample's principals (46 MB inflated) against the file 29 days older: 8 MiB chunks with these
tables give a delta of 153 kB in 1.2 CPU-s at 234 MB peak; 32 MiB chunks gave 300 kB at 543 MB."""
KEY_BYTES = 64
"""A line's key is its first field, looked for in this many bytes at most."""


@dataclass(frozen=True)
class DeltaChunk:
    """One zstd frame of a delta: `content_bytes` of content compressed with the base's window
    [`base_offset`, `base_offset` + `base_bytes`)."""

    content_bytes: int
    frame_bytes: int
    base_offset: int
    base_bytes: int

    def to_json(self) -> list[int]:
        return [self.content_bytes, self.frame_bytes, self.base_offset, self.base_bytes]

    @classmethod
    def from_json(cls, value: list[int]) -> "DeltaChunk":
        return cls(*value)


@dataclass(frozen=True)
class Delta:
    """What a written delta holds, and what its reconstruction must give."""

    chunks: tuple[DeltaChunk, ...]
    content_sha256: str
    content_bytes: int
    delta_sha256: str
    delta_bytes: int


class DeltaError(ValueError):
    """A delta that does not reconstruct its content: the message names the files and what differs."""


def file_content(path: Path, input_bytes: int = INFLATE_INPUT_BYTES) -> Iterator[bytes]:
    """The inflated content of a stored `.tsv.gz` file, in blocks of whole lines (each about what `input_bytes` of
    compressed bytes inflate to)."""
    with path.open("rb") as reader:
        yield from line_blocks(inflate(iter(lambda: reader.read(READ_BYTES), b""), str(path), input_bytes))


def write_delta(content: Iterable[bytes], base: Iterable[bytes], dest: Path) -> Delta:
    """Write the delta of `content` (blocks of whole lines) against `base` (the same) to the new file `dest`,
    flushed to disk. On error `dest` may hold a partial delta: the caller removes it."""
    base_window = _ForwardBuffer(iter(base))
    content_digest, delta_digest = hashlib.sha256(), hashlib.sha256()
    chunks, content_bytes, delta_bytes = [], 0, 0
    params = zstandard.ZstdCompressionParameters.from_level(
        LEVEL, window_log=WINDOW_LOG, hash_log=HASH_LOG, chain_log=HASH_LOG
    )
    with dest.open("xb") as writer:
        for chunk in _chunks(content):
            offset, window = base_window.window_for(_key(chunk, 0), _key(chunk, chunk.rfind(b"\n", 0, -1) + 1))
            dictionary = _dictionary(window)
            frame = zstandard.ZstdCompressor(dict_data=dictionary, compression_params=params).compress(chunk)
            writer.write(frame)
            content_digest.update(chunk)
            delta_digest.update(frame)
            chunks.append(DeltaChunk(len(chunk), len(frame), offset, len(window)))
            content_bytes += len(chunk)
            delta_bytes += len(frame)
        writer.flush()
        os.fsync(writer.fileno())
    return Delta(tuple(chunks), content_digest.hexdigest(), content_bytes, delta_digest.hexdigest(), delta_bytes)


def reconstruct(delta_path: Path, chunks: Iterable[DeltaChunk], base: Iterable[bytes]) -> Iterator[bytes]:
    """The content a delta was written from, chunk by chunk (the caller checks its sha256)."""
    base_buffer = _ForwardBuffer(iter(base))
    with delta_path.open("rb") as reader:
        for number, chunk in enumerate(chunks, start=1):
            window = base_buffer.take(chunk.base_offset, chunk.base_bytes)
            if len(window) != chunk.base_bytes:
                raise DeltaError(
                    f"{delta_path}: chunk {number} needs base content up to byte "
                    f"{chunk.base_offset + chunk.base_bytes:,}, but the base ends at byte {base_buffer.end:,}: the "
                    "base is not the file the delta was made against"
                )
            frame = reader.read(chunk.frame_bytes)
            dictionary = _dictionary(window)
            decompressor = zstandard.ZstdDecompressor(dict_data=dictionary, max_window_size=1 << WINDOW_LOG)
            try:
                piece = decompressor.decompress(frame, max_output_size=chunk.content_bytes)
            except zstandard.ZstdError as error:
                raise DeltaError(f"{delta_path}: chunk {number} does not decompress ({error})") from error
            if len(piece) != chunk.content_bytes:
                raise DeltaError(
                    f"{delta_path}: chunk {number} gives {len(piece):,} bytes, {chunk.content_bytes:,} recorded"
                )
            yield piece


def _dictionary(window: bytes) -> zstandard.ZstdCompressionDict | None:
    """The base's window as zstd's raw-content dictionary (None for an empty window: zstd takes no empty one)."""
    return zstandard.ZstdCompressionDict(window, dict_type=zstandard.DICT_TYPE_RAWCONTENT) if window else None


def _chunks(content: Iterable[bytes]) -> Iterator[bytes]:
    """The content in pieces of at least `CHUNK_BYTES` (the last may be smaller), each ending at a line end."""
    pending: list[bytes] = []
    size = 0
    for block in content:
        pending.append(block)
        size += len(block)
        if size >= CHUNK_BYTES:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def _key(buffer: bytes | bytearray, line_start: int) -> tuple[int, bytes]:
    """The order of the line starting at `line_start` by its first field: shorter ids first (`tt9999999` before
    `tt10000000`, as IMDb sorts them), then bytewise."""
    end = buffer.find(b"\t", line_start, line_start + KEY_BYTES)
    if end < 0:
        end = buffer.find(b"\n", line_start, line_start + KEY_BYTES)
    key = bytes(buffer[line_start : end if end >= 0 else line_start + KEY_BYTES])
    return len(key), key


class _ForwardBuffer:
    """A stream of content read forward once and held from byte `start` (absolute) on."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self.blocks = blocks
        self.buffer = bytearray()
        self.start = 0

    @property
    def end(self) -> int:
        return self.start + len(self.buffer)

    def _fill(self) -> bool:
        block = next(self.blocks, None)
        if block is None:
            return False
        self.buffer += block
        return True

    def _drop_before(self, offset: int) -> None:
        del self.buffer[: offset - self.start]
        self.start = offset

    def take(self, offset: int, length: int) -> bytes:
        """Bytes [offset, offset + length) (fewer when the stream ends first); `offset` never goes back."""
        if offset < self.start:
            raise DeltaError(f"base window at byte {offset:,} is before byte {self.start:,}: windows must not go back")
        while self.end < offset + length and self._fill():
            pass
        self._drop_before(min(offset, self.end))
        return bytes(self.buffer[:length])

    def window_for(self, first: tuple[int, bytes], last: tuple[int, bytes]) -> tuple[int, bytes]:
        """The base content for a chunk whose keys run from `first` to `last`: (its offset, its bytes)."""
        while True:
            if self.buffer and _key(self.buffer, self.buffer.rfind(b"\n", 0, len(self.buffer) - 1) + 1) > last:
                break
            # Content wholly before the chunk's first key is of no use to this chunk or (in order) to later ones.
            skip = self._first_line_at_least(first) - SLACK_BYTES
            if skip > 0:
                self._drop_before(self.start + skip)
            if len(self.buffer) >= MAX_WINDOW_BYTES or not self._fill():
                break
        begin = max(self._first_line_at_least(first) - SLACK_BYTES, 0)
        window = bytes(self.buffer[begin : begin + MAX_WINDOW_BYTES])
        self._drop_before(self.start + begin)
        return self.start, window

    def _first_line_at_least(self, key: tuple[int, bytes]) -> int:
        """About where the first line with a key at least `key` starts (exact when the keys are in order)."""
        low, high = 0, len(self.buffer)
        while low < high:
            middle = (low + high) // 2
            line_start = self.buffer.rfind(b"\n", 0, middle) + 1
            if _key(self.buffer, line_start) < key:
                next_line = self.buffer.find(b"\n", middle)
                low = next_line + 1 if next_line >= 0 else high
            else:
                high = line_start
        return low
