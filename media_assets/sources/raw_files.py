"""Reading a raw `.tsv.gz` file once, completely: gzip stream, header, UTF-8 of every line, checksum.

`copy_verified` copies a source file into the archive's temporary and checks it in the same read: the compressed
bytes are hashed (sha256) and inflated once; the header is compared with the expected one as soon as it is there
(so a wrong file fails without inflating the rest); the text is checked to be UTF-8 in blocks of about 1 MB of
whole lines by Arrow's validator (`is_utf8`: measured 40x faster than Python's decoder on IMDb-like text), and
only in a block that fails are the bad lines searched for, one Python step per bad line. A line that is not
UTF-8 is a defect of that line, not of the file: it is reported with its line number and exact bytes, and
`write_utf8_repaired_copy` writes the copy the clean step reads instead (the same lines, each bad byte replaced by
U+FFFD, so every line keeps its number). `verified_copy` is the same read handing its checked text on as it goes:
the clean step parses a new file from it (`archive.ArchiveText`), so the file is inflated once.

The three parts of that read run side by side, each in its own thread, handed bounded queues of pieces (isal,
hashlib, numpy, pyarrow and the file calls release the GIL on large buffers): reading, writing and hashing the
compressed bytes; inflating them; checking the text. Measured at full scale (title.principals: 1.25 GB
compressed, 4.6 GB of text; two cores with other work, medians of 3): the raw step took 7.1 s and 8.9 CPU-s
instead of 10.1 s and 9.6 CPU-s; the inflating thread (~5 CPU-s, isal's own speed) is the read's critical path.

Every error names the file as the user knows it (the source path or URL) and says in words what is wrong.
"""

import codecs
import contextlib
import hashlib
import io
import os
import queue
import threading
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow as pa
from isal import igzip, isal_zlib

from media_assets.allocator import keep_freed_memory_for_reuse
from media_assets.sources.imdb_files import ImdbFile

CHUNK_BYTES = 1 << 20
"""Compressed bytes read at a time."""
INFLATE_INPUT_BYTES = 256 << 10
"""Compressed bytes inflated at a time, by default: about 1 MB of text at IMDb's ratio, well under the pieces'
bound, so the inflater rarely stops with input left over (which it copies): measured 25 % less CPU than 1 MB in,
1 MB out."""
PIECE_TO_INPUT = 16
"""One inflate call returns at most this many times the compressed bytes it is given, whatever the ratio (a gzip
bomb stays bounded; IMDb's files inflate 3-5 times)."""
PIPELINE_DEPTH = 16
"""Pieces waiting between two threads of `copy_verified`: at most ~80 MB in flight, enough to ride out a pause."""
SYNC_EVERY_BYTES = 256 << 20
"""The copy is flushed to disk every so many bytes while the rest is still being checked, so the final fsync
finds little left to write (measured: 0.06 instead of 0.4 s at the end of title.principals)."""
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 31  # gzip header and trailer (CRC-32 + size) are checked, not just the deflate data
UTF8_BOM = b"\xef\xbb\xbf"
REPAIRED_COMPRESSLEVEL = 1
"""ISA-L's fast level for the repaired copy (only written for a file with lines that are not UTF-8)."""


class RawFileError(ValueError):
    """A raw file that cannot be read as the IMDb file it claims to be; the message names it and says why."""


@dataclass(frozen=True)
class RawLayout:
    """How a file's header is written, beyond the expected columns."""

    bom: bool
    """A UTF-8 byte order mark preceded the header (stripped when reading)."""
    crlf: bool
    """Lines end in CRLF (accepted: the clean step strips the CR)."""
    columns: tuple[str, ...]
    """The header as found: the expected columns, then any appended ones."""
    appended_columns: tuple[str, ...]
    """Columns after the expected ones (tolerated: the clean step reads the expected ones)."""

    def to_json(self) -> dict:
        return {"bom": self.bom, "crlf": self.crlf, "columns": list(self.columns)}

    @classmethod
    def from_json(cls, value: dict, imdb_file: ImdbFile) -> "RawLayout":
        columns = tuple(value["columns"])
        return cls(value["bom"], value["crlf"], columns, columns[len(imdb_file.columns) :])


@dataclass(frozen=True)
class InvalidUtf8Line:
    line_number: int
    """1-based; the header is line 1."""
    raw_bytes: bytes
    """The line exactly as stored, without its line end."""


@dataclass(frozen=True)
class VerifiedFile:
    """What one complete read of a raw file found."""

    sha256: str
    """Of the file as stored (compressed)."""
    bytes: int
    inflated_bytes: int
    lines: int
    """Lines including the header."""
    layout: RawLayout
    invalid_utf8: tuple[InvalidUtf8Line, ...]


def parse_header(line: bytes, imdb_file: ImdbFile, source: str) -> RawLayout:
    """The layout of a header line (with its line end, if any); RawFileError when a column is missing, renamed or
    reordered, with the expected and the found columns."""
    bom = line.startswith(UTF8_BOM)
    crlf = line.endswith(b"\r\n")
    text_bytes = line.removeprefix(UTF8_BOM).removesuffix(b"\n").removesuffix(b"\r")
    try:
        found = tuple(text_bytes.decode("utf-8").split("\t"))
    except UnicodeDecodeError as error:
        raise RawFileError(f"{source}: line 1 (the header) is not UTF-8 text: {error}") from error
    expected = imdb_file.columns
    if found[: len(expected)] != expected:
        raise RawFileError(
            f"{source}: line 1: the header of {imdb_file.file_name} does not have IMDb's columns in IMDb's order "
            f"(a column is missing, renamed or moved).\n"
            f"  expected: {chr(9).join(expected)!r}\n"
            f"  found:    {chr(9).join(found)!r}\n"
            f"  {_column_diff(expected, found)}"
        )
    return RawLayout(bom, crlf, found, found[len(expected) :])


def _column_diff(expected: tuple[str, ...], found: tuple[str, ...]) -> str:
    missing = [column for column in expected if column not in found]
    unexpected = [column for column in found if column not in expected]
    if missing or unexpected:
        return f"missing: {missing or 'none'}; not expected: {unexpected or 'none'}"
    return "same columns, other order: " + ", ".join(
        f"column {position + 1} is {name!r}, expected {want!r}"
        for position, (name, want) in enumerate(zip(found, expected, strict=False))
        if name != want
    )


def inflate(compressed: Iterable[bytes], source: str, input_bytes: int = INFLATE_INPUT_BYTES) -> Iterator[bytes]:
    """The inflated bytes of a gzip stream (one or more members, CRC and length checked), `input_bytes` of it at a
    time, in pieces of at most `PIECE_TO_INPUT` times that; RawFileError naming `source` when it is empty, not gzip,
    corrupt or truncated."""
    piece_bytes = PIECE_TO_INPUT * input_bytes
    decompressor = isal_zlib.decompressobj(wbits=_GZIP_WBITS)
    read = 0
    for chunk in compressed:
        if read == 0 and not chunk.startswith(_GZIP_MAGIC[: len(chunk)]):
            raise RawFileError(
                f"{source}: not gzip: it starts with {chunk[:16]!r} instead of gzip's magic bytes 1f 8b "
                "(a plain TSV or an HTML error page saved under a .gz name?)"
            )
        view = memoryview(chunk)
        for start in range(0, len(view), input_bytes):
            pending = view[start : start + input_bytes]
            read += len(pending)
            while True:
                if decompressor.eof:
                    if not pending:
                        break
                    decompressor = isal_zlib.decompressobj(wbits=_GZIP_WBITS)  # the next member starts here
                try:
                    output = decompressor.decompress(pending, piece_bytes)
                except isal_zlib.error as error:
                    raise RawFileError(
                        f"{source}: corrupt gzip ({error}) in the block ending at compressed byte {read}"
                    ) from error
                if output:
                    yield output
                pending = decompressor.unused_data if decompressor.eof else decompressor.unconsumed_tail
                # A full output buffer may hide more output even when all input was consumed.
                if not pending and not decompressor.eof and len(output) < piece_bytes:
                    break
    if read == 0:
        raise RawFileError(f"{source}: empty file (0 bytes), not gzip")
    if not decompressor.eof:
        raise RawFileError(
            f"{source}: truncated gzip: the stream stops after {read} compressed bytes, before its end (an "
            "interrupted download or copy?)"
        )


def line_blocks(inflated: Iterable[bytes]) -> Iterator[bytes]:
    """The inflated text in blocks that end at a line end (the last block may end without one)."""
    carry = b""
    for piece in inflated:
        cut = piece.rfind(b"\n") + 1
        if not cut:  # no line ends in this piece (a line longer than a piece)
            carry += piece
            continue
        # One copy of the piece at most (none when it is a whole block): measured 1 CPU-s less per 4.6 GB than
        # joining the carry and the piece and then cutting the block out of them.
        yield piece if not carry and cut == len(piece) else b"".join((carry, memoryview(piece)[:cut]))
        carry = piece[cut:]
    if carry:
        yield carry


def invalid_utf8_lines(block: bytes, first_line_number: int) -> list[InvalidUtf8Line]:
    """The lines of `block` (whole lines, numbered from `first_line_number`) that are not UTF-8: a Python step per
    bad line, the valid stretches between them decoded at C speed."""
    if block.isascii():
        return []
    found = []
    view = memoryview(block)
    start = 0
    while start < len(block):
        try:
            codecs.utf_8_decode(view[start:], "strict", True)
            break
        except UnicodeDecodeError as error:
            position = start + error.start
        line_start = block.rfind(b"\n", 0, position) + 1
        line_end = block.find(b"\n", position)
        line_end = len(block) if line_end < 0 else line_end
        line_number = first_line_number + block.count(b"\n", 0, line_start)
        found.append(InvalidUtf8Line(line_number, block[line_start:line_end].removesuffix(b"\r")))
        start = line_end + 1
    return found


def is_utf8(block: bytes) -> bool:
    """Whether `block` is UTF-8 text: Arrow validates the bytes in place, measured 2x less CPU than polars' cast
    (which copies the block first)."""
    offsets = pa.py_buffer(np.array([0, len(block)], dtype=np.int64))
    try:
        pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(block)).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


class _ContentCheck:
    """Header, UTF-8 and line count of an inflated stream, fed block by block."""

    def __init__(self, imdb_file: ImdbFile, source: str):
        self.imdb_file = imdb_file
        self.source = source
        self.layout: RawLayout | None = None
        self.lines = 0
        self.inflated_bytes = 0
        self.invalid: list[InvalidUtf8Line] = []

    def feed(self, block: bytes) -> bool:
        """Check `block`; whether all of it is UTF-8."""
        if self.layout is None:
            header_end = block.find(b"\n") + 1 or len(block)
            self.layout = parse_header(block[:header_end], self.imdb_file, self.source)
        utf8 = is_utf8(block)
        if not utf8:
            self.invalid.extend(invalid_utf8_lines(block, self.lines + 1))
        # numpy counts the line ends 3x faster than bytes.count (measured: 0.8 instead of 2.4 CPU-s per 4.6 GB).
        line_ends = int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n")))
        self.lines += line_ends + (not block.endswith(b"\n"))
        self.inflated_bytes += len(block)
        return utf8

    def result(self, sha256: str, size: int) -> VerifiedFile:
        if self.layout is None:
            raise RawFileError(f"{self.source}: no header: the file inflates to nothing (line 1 is missing)")
        return VerifiedFile(sha256, size, self.inflated_bytes, self.lines, self.layout, tuple(self.invalid))


def copy_verified(source_path: Path, dest: Path, imdb_file: ImdbFile, source: str) -> VerifiedFile:
    """Copy `source_path` to the new file `dest` (flushed to disk) while checking it completely; `source` names the
    file in errors. On any error `dest` may hold a partial copy: the caller removes it."""
    copy = verified_copy(source_path, dest, imdb_file, source)
    while True:
        try:
            next(copy)
        except StopIteration as done:
            return done.value


def verified_copy(
    source_path: Path, dest: Path, imdb_file: ImdbFile, source: str, input_bytes: int = INFLATE_INPUT_BYTES
) -> Generator[bytes, None, VerifiedFile]:
    """`copy_verified` as it goes: yields the file's text in blocks of whole lines as they are checked, and returns
    what the read found once the copy is complete and flushed. A block with lines that are not UTF-8 is yielded with
    each bad byte replaced by U+FFFD (as in `write_utf8_repaired_copy`), so a reader of the text never sees them.

    One read of the source feeds both the copy and the check (the bytes checked are the bytes archived): the
    compressed chunks are written and hashed in one thread, inflated (`input_bytes` at a time) in a second, checked
    in this one."""
    keep_freed_memory_for_reuse()  # every piece is a new buffer of about 1 MB
    digest = hashlib.sha256()
    size = 0
    check = _ContentCheck(imdb_file, source)
    with source_path.open("rb", buffering=0) as reader, dest.open("xb", buffering=0) as writer:

        def compressed() -> Iterator[bytes]:
            nonlocal size
            synced = 0
            while chunk := reader.read(CHUNK_BYTES):
                _write_all(writer, chunk)
                digest.update(chunk)
                size += len(chunk)
                if size - synced >= SYNC_EVERY_BYTES:
                    os.fsync(writer.fileno())
                    synced = size
                yield chunk

        copied = in_thread(compressed(), "copy")
        # The inflating thread does nothing else: it is the slowest of the three.
        inflated = in_thread(inflate(copied, source, input_bytes), "inflate")
        try:
            for block in line_blocks(inflated):
                yield block if check.feed(block) else block.decode("utf-8", "replace").encode("utf-8")
        except RawFileError as error:
            if check.layout is None:  # not even the header came out: no line to name
                raise
            raise RawFileError(f"{error}; the last whole line before it is line {check.lines:,}") from error
        finally:
            # Both threads end before the files close: the inflating one first, as it reads from the copying one.
            inflated.close()
            copied.close()
        os.fsync(writer.fileno())
    return check.result(digest.hexdigest(), size)


def _write_all(writer: io.FileIO, data: bytes) -> None:
    """Write all of `data` to an unbuffered file (whose `write` may write less)."""
    view = memoryview(data)
    while view:
        view = view[writer.write(view) :]


_END = object()
T = TypeVar("T")


def in_thread(items: Generator[T, None, None], name: str) -> Generator[T, None, None]:
    """The items of `items`, produced in a thread of their own up to `PIPELINE_DEPTH` items ahead; an exception
    raised there is raised here, after the items before it. Closing this iterator (or leaving it on an error) stops
    and joins the thread and closes `items` in it."""
    handoff: queue.Queue = queue.Queue(maxsize=PIPELINE_DEPTH)
    stopped = threading.Event()

    def hand_over(item: object) -> bool:
        while not stopped.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            with contextlib.closing(items):
                for item in items:
                    if not hand_over(item):
                        return
        except BaseException as error:  # handed to the consumer, raised there
            hand_over(error)
        else:
            hand_over(_END)

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stopped.set()
        thread.join()


def write_utf8_repaired_copy(raw_path: Path, dest: Path) -> None:
    """Write `raw_path` again to the new gzip file `dest` with every byte that is not UTF-8 replaced by U+FFFD:
    line ends are never part of such bytes, so every line keeps its number."""
    with igzip.open(dest, "xb", compresslevel=REPAIRED_COMPRESSLEVEL) as writer:
        with raw_path.open("rb") as reader:
            chunks = iter(lambda: reader.read(CHUNK_BYTES), b"")
            for block in line_blocks(inflate(chunks, str(raw_path))):
                if not block.isascii():
                    block = block.decode("utf-8", "replace").encode("utf-8")
                writer.write(block)


def sha256_of(path: Path) -> str:
    """sha256 of a file as stored."""
    with path.open("rb") as reader:
        return hashlib.file_digest(reader, "sha256").hexdigest()


def read_layout(path: Path, imdb_file: ImdbFile) -> RawLayout:
    """The layout of a stored raw file's header, from its first line only (RawFileError when it is not IMDb's)."""
    try:
        with igzip.open(path, "rb") as stream:
            line = stream.readline()
    except (OSError, EOFError) as error:
        raise RawFileError(f"{path}: cannot read the header line (line 1): {error}") from error
    return parse_header(line, imdb_file, str(path))
