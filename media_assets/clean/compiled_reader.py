"""IMDb's three large files read by compiled code (numba): their lines become typed Arrow columns without polars'
intermediates.

Read by polars expressions, a line went through `scan_lines`, a split into a list, a struct, then per value a
regex, a slice and a cast, or a split and a list evaluation, each step materializing a column: most of a day's
CPU. Here a block of whole lines is walked once to find its lines and fields (`_split_lines`), then one small
compiled loop per kind of column parses the fields in place and writes Arrow buffers directly. The rules are those
of the polars expressions in `media_assets.clean.transforms` (which still read title.ratings):

- lines are split on `\\n`; one `\\r` before it (or before the end of the file) is stripped; the header is line 1;
  a line whose field count (appended header columns left out) is not the file's is `wrong_field_count`;
- `\\N` is null; `tt`/`nm` and 7 to 9 ASCII digits make an id; an integer is an optional sign and ASCII digits
  within Int32 (polars' cast of a string), then within the column's range; a flag is `0` or `1`;
- comma lists keep every token (`a,,b` has three; an empty value is an empty list); an id list leaves out the
  tokens that are not ids; a genre list leaves out the tokens outside IMDb's vocabulary (an empty value is one
  blank token);
- `characters` must be a JSON array of strings (RFC 8259: JSON's whitespace, its escapes, a high surrogate only
  with a low one, no control character unescaped); it is kept as written (see `CLEAN_TITLE_PRINCIPALS_SCHEMA`).

Each file's reader gives every data line with `line_number`, `reason` (why it cannot become a row: a wrong field
count, then the first required id or value that does not parse; null when it can), the table's columns, and two
kinds of raw text kept only where needed: `raw_line` where the line may be quarantined (a reason, or a key not
above every key before it: a possible repeat), and `raw_<column>` where a value of that IMDb column was present
but unusable and nulled (or, in a list, had tokens left out).

The inflating runs in a thread of its own (isal releases the GIL), and the compiled code releases the GIL too, so
the two overlap each other and polars' work downstream. Compiled code is cached on disk (numba's `cache=True`):
the first run on a machine compiles for some seconds, later ones load it.
"""

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numba
import numpy as np
import polars as pl
import pyarrow as pa

from media_assets.allocator import keep_freed_memory_for_reuse
from media_assets.clean.schemas import (
    CLEAN_NAME_BASICS_SCHEMA,
    CLEAN_TITLE_BASICS_SCHEMA,
    CLEAN_TITLE_PRINCIPALS_SCHEMA,
    CREDIT_KEY_TITLE_FACTOR,
    MAX_ORDERING,
)
from media_assets.sources.deltas import file_content
from media_assets.sources.imdb_files import IMDB_GENRES, NAME_BASICS, TITLE_BASICS, TITLE_PRINCIPALS, ImdbFile
from media_assets.sources.raw_files import RawFileError, in_thread, parse_header

WRONG_FIELD_COUNT = "wrong_field_count"
DUPLICATE_KEY = "duplicate_key"

FIRST_TITLE_YEAR = 1870
"""Earliest plausible year of a title (IMDb's oldest are from the 1870s)."""
TITLE_YEARS_AHEAD = 30
"""Titles may be announced this many years after the snapshot year."""
FIRST_PERSON_YEAR = 1
"""Real birth years go back to antiquity (the 1500s are common: Shakespeare), so only year 0 and below are junk."""

_TAB, _LF, _CR, _QUOTE, _BACKSLASH, _COMMA = 9, 10, 13, 34, 92, 44
_NULL, _OK, _UNUSABLE = 0, 1, 2
"""The state of a parsed value: `\\N`, parsed, or present but unusable (nulled)."""
READING_THREADS = 2
"""Blocks read at once: the compiled code releases the GIL, so a clean step uses both cores when it runs alone
(measured at full scale, title.principals alone: 62 -> 49 s wall). The read then costs about 15 % more CPU (the
threads contend for the GIL and memory), so a daily run, whose two cores are busy anyway, is no faster. Measured
at full scale on 2026-12-06, 3 interleaved first days: one thread saved 1.9-2.7 CPU-s a run (title.principals'
step 1.3-2.4) for -0.6 to +0.2 s of wall time; the two threads stay for the steps that run alone (a backfill)."""
READ_AHEAD_BLOCKS = 4
"""Blocks handed to the reading threads before the oldest one's rows are passed on (~4 MB of text each)."""
BLOCK_INPUT_BYTES = 1 << 20
"""Compressed bytes inflated into one block: about 4 MB of text at IMDb's ratio. Measured at full scale on
title.principals alone, 4 interleaved pairs against 256 kB (the raw copy's, about 1 MB of text): 87.8 -> 82.1 CPU-s
and 50.5 -> 44 s wall, most of it system time (5.5-8.3 -> 2.3-2.9 s: a quarter of the blocks, so a quarter of the
hand-offs between the inflating, reading and polars threads), at 690 MB peak instead of 450; 2 MB bought nothing
more."""
_INT32_MAX = 2**31 - 1
MAX_BLOCK_BYTES = _INT32_MAX
"""The largest block of whole lines read at once: positions in a block are int32, as Arrow's string views need
(blocks are about 4 MB; only a line of gigabytes makes one this large)."""


@numba.njit(cache=True, nogil=True)
def _split_lines(buf, first_line_number, skipped_lines, fields_per_line, fields):
    """The lines of `buf` (whole lines numbered from `first_line_number`) that make rows: not line 1 (the header)
    nor one of `skipped_lines` (sorted). Returns per row its number, its span in `buf` (line end left out), whether
    it has `fields_per_line` fields, and the spans of its first `fields` fields, indexed [field, row] (empty at the
    line's end where it has fewer)."""
    size = len(buf)
    # The tabs and line ends first, without a branch per byte (measured: 3.5x faster than testing each byte), then
    # a walk over them; a last line without a line end ends at the end of `buf`.
    # int32: half the memory traffic of int64 (measured 10% faster); a block is at most MAX_BLOCK_BYTES.
    delimiters = np.empty(size + 1, np.int32)
    found = lines = 0
    for position in range(size):
        byte = buf[position]
        delimiters[found] = position
        found += (byte == _TAB) | (byte == _LF)
        lines += byte == _LF
    if size and buf[size - 1] != _LF:
        delimiters[found] = size
        found += 1
        lines += 1
    line_number = np.empty(lines, np.int64)
    line_span = np.empty((lines, 2), np.int32)
    field_count_ok = np.empty(lines, np.bool_)
    # Field-major int32: the loops that parse one field over all rows read its spans contiguously. Row-major int64
    # spans put a field's values 96 bytes apart in title.principals, a cache line each (measured at full scale, each
    # clean step alone, interleaved: title.principals 74.3/68.9/71.1 -> 62.5/62.8/63.6 CPU-s, title.basics 19.0 ->
    # 15.9, name.basics 20.7 -> 18.8; the same rows).
    field_span = np.empty((fields, lines, 2), np.int32)
    skip_index = rows = tabs = line_start = field_start = 0
    number = first_line_number
    while skip_index < len(skipped_lines) and skipped_lines[skip_index] < number:
        skip_index += 1
    skipped = number == 1 or (skip_index < len(skipped_lines) and skipped_lines[skip_index] == number)
    for index in range(found):
        position = delimiters[index]
        if position < size and buf[position] == _TAB:
            if tabs < fields and not skipped:
                field_span[tabs, rows, 0] = field_start
                field_span[tabs, rows, 1] = position
            tabs += 1
            field_start = position + 1
            continue
        if not skipped:
            line_end = position - 1 if position > line_start and buf[position - 1] == _CR else position
            if tabs < fields:
                field_span[tabs, rows, 0] = field_start
                field_span[tabs, rows, 1] = max(field_start, line_end)
                for missing in range(tabs + 1, fields):
                    field_span[missing, rows, 0] = field_span[missing, rows, 1] = line_end
            line_number[rows] = number
            line_span[rows, 0] = line_start
            line_span[rows, 1] = line_end
            field_count_ok[rows] = tabs + 1 == fields_per_line
            rows += 1
        number += 1
        tabs = 0
        line_start = field_start = position + 1
        while skip_index < len(skipped_lines) and skipped_lines[skip_index] < number:
            skip_index += 1
        skipped = skip_index < len(skipped_lines) and skipped_lines[skip_index] == number
    return line_number[:rows], line_span[:rows], field_count_ok[:rows], field_span[:, :rows]


@numba.njit(cache=True, nogil=True)
def _is_null(buf, start, end):
    # Selects, not `and`s: a branch around the reads of `buf` keeps numba from pruning the reference count it takes
    # on `buf` for each call, two atomic operations per value (measured: 17 ns a call instead of 1).
    two = end - start == 2
    first = buf[start] if two else 0
    second = buf[start + 1] if two else 0
    return two & (first == _BACKSLASH) & (second == 78)  # \N


@numba.njit(cache=True, nogil=True)
def _imdb_id(buf, start, end, first, second):
    """The number of `tt0111161`-like bytes (prefix, then 7 to 9 ASCII digits); -1 when they are not one."""
    if end - start < 9 or end - start > 11 or buf[start] != first or buf[start + 1] != second:
        return -1
    value = 0
    for position in range(start + 2, end):
        digit = buf[position] - 48
        if digit < 0 or digit > 9:
            return -1
        value = value * 10 + digit
    return value


@numba.njit(cache=True, nogil=True)
def _ids(buf, spans, first, second):
    """The id of every span; -1 where it is not one."""
    values = np.empty(len(spans), np.int64)
    for row in range(len(spans)):
        values[row] = _imdb_id(buf, spans[row, 0], spans[row, 1], first, second)
    return values


@numba.njit(cache=True, nogil=True)
def _integers(buf, spans, low, high):
    """The Int32 of every span within [low, high], and its state (`\\N`, parsed, unusable)."""
    values = np.zeros(len(spans), np.int32)
    states = np.empty(len(spans), np.int8)
    for row in range(len(spans)):
        start, end = spans[row, 0], spans[row, 1]
        if _is_null(buf, start, end):
            states[row] = _NULL
            continue
        states[row] = _UNUSABLE
        negative = start < end and buf[start] == 45
        if start < end and (buf[start] == 43 or buf[start] == 45):
            start += 1
        if start == end:
            continue
        value = 0
        for position in range(start, end):
            digit = buf[position] - 48
            if digit < 0 or digit > 9:
                value = -1
                break
            if value <= _INT32_MAX + 1:  # past it the value is out of Int32 whatever follows: stop growing
                value = value * 10 + digit
        if value < 0 or value > _INT32_MAX + negative:
            continue
        if negative:
            value = -value
        if low <= value <= high:
            values[row] = value
            states[row] = _OK
    return values, states


@numba.njit(cache=True, nogil=True)
def _flags(buf, spans):
    """`0`/`1` of every span as a bool, and its state."""
    values = np.zeros(len(spans), np.bool_)
    states = np.empty(len(spans), np.int8)
    for row in range(len(spans)):
        start, end = spans[row, 0], spans[row, 1]
        if _is_null(buf, start, end):
            states[row] = _NULL
        elif end - start == 1 and (buf[start] == 48 or buf[start] == 49):
            values[row] = buf[start] == 49
            states[row] = _OK
        else:
            states[row] = _UNUSABLE
    return values, states


@numba.njit(cache=True, nogil=True)
def _texts(buf, spans):
    """Where a span is a value (not `\\N`)."""
    present = np.empty(len(spans), np.bool_)
    for row in range(len(spans)):
        present[row] = not _is_null(buf, spans[row, 0], spans[row, 1])
    return present


@numba.njit(cache=True, nogil=True)
def _comma_tokens(buf, spans, rows, empty_is_a_token):
    """The comma-separated tokens of the spans of `rows` (the others and `\\N` have none): the ends of each row's
    tokens in the token list, and the tokens' spans. An empty value has no token unless `empty_is_a_token`."""
    tokens = 0
    for row in range(len(spans)):
        if rows[row]:
            tokens += 1
            for position in range(spans[row, 0], spans[row, 1]):
                tokens += buf[position] == _COMMA
    list_ends = np.zeros(len(spans) + 1, np.int64)
    token_span = np.empty((tokens, 2), np.int64)
    token = 0
    for row in range(len(spans)):
        start, end = spans[row, 0], spans[row, 1]
        if rows[row] and not _is_null(buf, start, end) and (end > start or empty_is_a_token):
            token_start = start
            for position in range(start, end + 1):
                if position == end or buf[position] == _COMMA:
                    token_span[token, 0] = token_start
                    token_span[token, 1] = position
                    token += 1
                    token_start = position + 1
        list_ends[row + 1] = token
    return list_ends, token_span[:token]


@numba.njit(cache=True, nogil=True)
def _kept_tokens(list_ends, keep):
    """The list ends after leaving out the tokens not in `keep`, and the rows that lost a token."""
    kept_ends = np.zeros(len(list_ends), np.int64)
    lost = np.zeros(len(list_ends) - 1, np.bool_)
    kept = 0
    for row in range(len(list_ends) - 1):
        for token in range(list_ends[row], list_ends[row + 1]):
            if keep[token]:
                kept += 1
            else:
                lost[row] = True
        kept_ends[row + 1] = kept
    return kept_ends, lost


@numba.njit(cache=True, nogil=True)
def _in_vocabulary(buf, token_span, vocabulary, vocabulary_ends):
    """Whether each token is one of the words of `vocabulary` (concatenated, ending at `vocabulary_ends`)."""
    found = np.zeros(len(token_span), np.bool_)
    for token in range(len(token_span)):
        start, end = token_span[token, 0], token_span[token, 1]
        for word in range(len(vocabulary_ends) - 1):
            word_start, word_end = vocabulary_ends[word], vocabulary_ends[word + 1]
            if word_end - word_start != end - start:
                continue
            same = True
            for offset in range(end - start):
                if buf[start + offset] != vocabulary[word_start + offset]:
                    same = False
                    break
            if same:
                found[token] = True
                break
    return found


@numba.njit(cache=True, nogil=True)
def _skip_json_space(buf, position, end):
    while position < end and (buf[position] == 32 or buf[position] == _TAB or buf[position] == _CR):
        position += 1
    return position


@numba.njit(cache=True, nogil=True)
def _hex4(buf, position, end):
    """The value of 4 hex digits at `position`; -1 when they are not."""
    if position + 4 > end:
        return -1
    value = 0
    for index in range(position, position + 4):
        byte = buf[index]
        if 48 <= byte <= 57:
            digit = byte - 48
        elif 97 <= byte <= 102:
            digit = byte - 87
        elif 65 <= byte <= 70:
            digit = byte - 55
        else:
            return -1
        value = value * 16 + digit
    return value


_ONE_CHARACTER_ESCAPES = np.isin(np.arange(256), np.frombuffer(b'"\\/bfnrt', np.uint8))
"""The bytes that may follow a backslash in a JSON string, besides `u`."""


@numba.njit(cache=True, nogil=True)
def _is_json_string_array(buf, start, end):
    """Whether `buf[start:end]` is a JSON array of strings: JSON's whitespace and escapes, a high surrogate only with
    a low one after it, no control character unescaped."""
    position = _skip_json_space(buf, start, end)
    if position >= end or buf[position] != 91:  # [
        return False
    position = _skip_json_space(buf, position + 1, end)
    if position < end and buf[position] == 93:  # ]
        return _skip_json_space(buf, position + 1, end) == end
    while True:
        if position >= end or buf[position] != _QUOTE:
            return False
        position += 1
        while True:
            if position >= end:
                return False
            byte = buf[position]
            if byte == _QUOTE:
                position += 1
                break
            if byte < 32:
                return False
            position += 1
            if byte != _BACKSLASH:
                continue
            if position >= end:
                return False
            escaped = buf[position]
            position += 1
            if escaped == 117:  # u: one code unit, or a surrogate pair
                code = _hex4(buf, position, end)
                if code < 0 or 0xDC00 <= code <= 0xDFFF:
                    return False
                position += 4
                if 0xD800 <= code <= 0xDBFF:
                    if position + 2 > end or buf[position] != _BACKSLASH or buf[position + 1] != 117:
                        return False
                    low = _hex4(buf, position + 2, end)
                    if low < 0xDC00 or low > 0xDFFF:
                        return False
                    position += 6
            elif not _ONE_CHARACTER_ESCAPES[escaped]:
                return False
        position = _skip_json_space(buf, position, end)
        if position < end and buf[position] == _COMMA:
            position = _skip_json_space(buf, position + 1, end)
            continue
        if position < end and buf[position] == 93:  # ]
            return _skip_json_space(buf, position + 1, end) == end
        return False


@numba.njit(cache=True, nogil=True)
def _json_string_array_states(buf, spans, rows):
    """The state of each span of `rows` as a JSON array of strings: `\\N`, one, or not one (unusable)."""
    states = np.zeros(len(spans), np.int8)
    for row in range(len(spans)):
        start, end = spans[row, 0], spans[row, 1]
        if rows[row] and not _is_null(buf, start, end):
            states[row] = _OK if _is_json_string_array(buf, start, end) else _UNUSABLE
    return states


_VIEW_BYTES = 16
_INLINE_BYTES = 12


@numba.njit(cache=True, nogil=True)
def _views(buf, spans, keep):
    """Arrow's string views of the kept spans of `buf` (zeros elsewhere): a text of up to 12 bytes is copied into
    its view, a longer one is referenced where it lies in `buf` (buffer 0, after a copy of its first 4 bytes)."""
    views = np.zeros(len(spans) * _VIEW_BYTES, np.uint8)
    words = views.view(np.int32)  # a view: length, 12 bytes inline or (4-byte prefix, buffer index, offset)
    for row in range(len(spans)):
        if keep[row]:
            start, length = spans[row, 0], spans[row, 1] - spans[row, 0]
            words[4 * row] = length
            at = row * _VIEW_BYTES + 4
            for byte in range(length if length <= _INLINE_BYTES else 4):
                views[at + byte] = buf[start + byte]
            if length > _INLINE_BYTES:
                words[4 * row + 3] = start
    return views


def _validity(valid: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def _strings(buf: np.ndarray, spans: np.ndarray, keep: np.ndarray) -> pa.Array:
    """The texts of the kept spans; null elsewhere. String views over `buf` rather than a copy of the texts:
    polars takes views as they are (its own layout), measured 15x less CPU than converting a `large_string`."""
    if not keep.any():
        return _null_strings(len(keep))
    return pa.Array.from_buffers(
        pa.string_view(), len(keep), [_validity(keep), pa.py_buffer(_views(buf, spans, keep)), pa.py_buffer(buf)]
    )


def _null_strings(rows: int) -> pa.Array:
    """As the raw texts and reasons of a block mostly are: no views to build, nothing for polars to take over."""
    return pa.nulls(rows, pa.string_view())


def _all_strings(buf: np.ndarray, spans: np.ndarray) -> pa.Array:
    return _strings(buf, spans, np.ones(len(spans), np.bool_))


def _numbers(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    if values.dtype == np.bool_:
        return pa.Array.from_buffers(pa.bool_(), len(values), [_validity(valid), _validity(values)])
    return pa.Array.from_buffers(
        pa.from_numpy_dtype(values.dtype), len(values), [_validity(valid), pa.py_buffer(values)]
    )


def _lists(list_ends: np.ndarray, valid: np.ndarray, items: pa.Array) -> pa.Array:
    return pa.Array.from_buffers(
        pa.large_list(items.type), len(valid), [_validity(valid), pa.py_buffer(list_ends)], children=[items]
    )


@dataclass
class Block:
    """The lines of one block that make rows, and what the file's reader found in them."""

    buf: np.ndarray
    line_number: np.ndarray
    line_span: np.ndarray
    field_span: np.ndarray
    reason: np.ndarray
    """0 for a line that can become a row, 1 for a wrong field count, else 1 + the 1-based index of its reason in
    the reader's `reasons`, the one after them being `duplicate_key`."""
    columns: dict[str, pa.Array]
    """The table's columns, then each `raw_<column>` that holds nulled values."""

    def field(self, index: int) -> np.ndarray:
        return self.field_span[index]

    @property
    def parsed(self) -> np.ndarray:
        return self.reason == 0

    def text(self, index: int) -> pa.Array:
        """A text column: the field as written, null for `\\N` (and on lines that do not become rows)."""
        return _strings(self.buf, self.field(index), self.parsed & _texts(self.buf, self.field(index)))

    def number(self, values: np.ndarray, states: np.ndarray) -> pa.Array:
        return _numbers(values, self.parsed & (states == _OK))

    def nulled(self, index: int, rows: np.ndarray) -> pa.Array:
        """The raw text of the field on `rows` of the parsed lines (a `raw_<column>`), null elsewhere."""
        return _strings(self.buf, self.field(index), self.parsed & rows)

    def fail_first(self, *failed: np.ndarray) -> None:
        """Give each line not failed yet the reason of the first check it fails (`failed` in the order of the
        reader's `reasons` after `wrong_field_count`)."""
        for code, rows in enumerate(failed, start=2):
            self.reason[(self.reason == 0) & rows] = code


@dataclass(frozen=True)
class CompiledReader:
    """How one IMDb file's lines become rows (see the module)."""

    imdb_file: ImdbFile
    schema: pl.Schema
    """Of the frame read: `line_number`, `reason`, `raw_line`, the table's columns, the `raw_<column>` texts."""
    reasons: tuple[str, ...]
    """The reasons after `wrong_field_count`, in the order they are checked."""
    parse: Callable[[Block, date], np.ndarray]
    """Fills a block's reasons and columns from its fields; returns each row's key (compared with the keys before
    it to keep the raw line of a possible repeat)."""

    def frame_schema(self, keys_sorted: bool) -> pl.Schema:
        return pl.Schema(dict(self.schema) | {"key_out_of_order": pl.Boolean}) if keys_sorted else self.schema


@dataclass(frozen=True)
class BlockRows:
    """What `_read_block` made of one block."""

    frame: pl.DataFrame
    largest_key: int
    """The largest key so far: of the block's parsed lines and `largest_key_before`."""
    smallest_key: int
    """The smallest key of the block's parsed lines (-1 when none parsed)."""


def _read_block(
    reader: CompiledReader, buf: np.ndarray, first_line_number: int, skipped: np.ndarray, fields_per_line: int,
    snapshot_date: date, largest_key_before: int, keys_sorted: bool
) -> BlockRows:  # fmt: skip
    """The rows of the whole lines in `buf`. With `keys_sorted`, a parsed line whose key is not above the largest
    before it (`largest_key_before` for the blocks before) is a `duplicate_key`, and `key_out_of_order` says where
    it is below (see `scan_compiled`)."""
    fields = len(reader.imdb_file.columns)
    line_number, line_span, field_count_ok, field_span = _split_lines(
        buf, first_line_number, skipped, fields_per_line, fields
    )
    block = Block(buf, line_number, line_span, field_span, np.where(field_count_ok, 0, 1).astype(np.int64), {})
    keys = reader.parse(block, snapshot_date)
    possible_repeat, out_of_order, largest_key, smallest_key = _key_order(keys, block.parsed, largest_key_before)
    ordering = {}
    if keys_sorted:
        ordering["key_out_of_order"] = pa.array(out_of_order)
        block.reason[possible_repeat] = len(reader.reasons) + 2
    frame = pa.table(
        {
            "line_number": pa.array(line_number),
            "reason": _reasons(reader, block.reason),
            "raw_line": _strings(buf, line_span, ~block.parsed | possible_repeat),
        }
        | block.columns
        | ordering
    )
    return BlockRows(pl.DataFrame(frame).cast(dict(reader.frame_schema(keys_sorted))), largest_key, smallest_key)


@numba.njit(cache=True, nogil=True)
def _key_order(keys, parsed, largest_key_before):
    """Per row, whether it is parsed with a key not above the largest parsed key before it (`largest_key_before`
    for the blocks before): a possible repeat; and whether below it: out of order. Then the largest key so far and
    the smallest parsed key of the block (-1 when none parsed). One pass: numpy's six took 1.6 CPU-s on
    title.principals at full scale."""
    possible_repeat = np.zeros(len(keys), np.bool_)
    out_of_order = np.zeros(len(keys), np.bool_)
    largest, smallest, any_parsed = largest_key_before, -1, False
    for row in range(len(keys)):
        if parsed[row]:
            key = keys[row]
            possible_repeat[row] = key <= largest
            out_of_order[row] = key < largest
            largest = max(largest, key)
            smallest = min(smallest, key) if any_parsed else key
            any_parsed = True
    return possible_repeat, out_of_order, largest, smallest


def _reasons(reader: CompiledReader, reason: np.ndarray) -> pa.Array:
    """The reason text of each failed line (`reason` > 0), null elsewhere."""
    failed = reason > 0
    if not failed.any():
        return _null_strings(len(reason))
    texts = (WRONG_FIELD_COUNT, *reader.reasons, DUPLICATE_KEY)
    text_bytes = np.frombuffer("".join(texts).encode(), dtype=np.uint8)
    ends = np.cumsum([0] + [len(text) for text in texts])
    code = np.maximum(reason, 1)
    return _strings(text_bytes, np.stack([ends[code - 1], ends[code]], axis=1), failed)


def _line_count(buf: np.ndarray) -> int:
    """Lines in a block of whole lines (the last may lack its line end), as `_split_lines` counts them."""
    return int(np.count_nonzero(buf == _LF)) + bool(len(buf) and buf[-1] != _LF)


def text_blocks(raw_path: Path) -> Iterator[bytes]:
    """The blocks of whole lines of `raw_path` the reader reads one at a time."""
    return file_content(raw_path, BLOCK_INPUT_BYTES)


def _blocks_read(
    reader: CompiledReader, raw_path: Path, text: Iterable[bytes], snapshot_date: date, skipped: np.ndarray,
    keys_sorted: bool
) -> Iterator[pl.DataFrame]:  # fmt: skip
    """The rows of the blocks of `text` (`raw_path`'s), in order; `READING_THREADS` blocks are read at a time.

    A block is read before the blocks ahead of it are, so without the largest key before it: as if there were none
    (-1). That changes nothing when all its parsed keys are above that key, as they are in a sorted file; otherwise
    the block is read again, in order, with it."""
    keep_freed_memory_for_reuse()  # each block's arrays are new buffers of 1-16 MB
    ahead: deque[tuple[Future[BlockRows], np.ndarray, int]] = deque()
    largest_key = -1
    fields_per_line = 0  # from the header, in the first block

    def oldest_frame() -> pl.DataFrame:
        nonlocal largest_key
        reading, buf, first_line_number = ahead.popleft()
        rows = reading.result()
        if 0 <= rows.smallest_key <= largest_key:
            rows = _read_block(
                reader, buf, first_line_number, skipped, fields_per_line, snapshot_date, largest_key, keys_sorted
            )
        largest_key = max(largest_key, rows.largest_key)
        return rows.frame

    with ThreadPoolExecutor(READING_THREADS, thread_name_prefix=f"read {raw_path.name}") as pool:
        try:
            first_line_number = 1
            for block in in_thread(iter(text), name=f"inflate {raw_path.name}"):
                if first_line_number == 1:
                    header = block[: block.find(b"\n") + 1 or len(block)]
                    fields_per_line = len(parse_header(header, reader.imdb_file, str(raw_path)).columns)
                if len(block) > MAX_BLOCK_BYTES:
                    raise RawFileError(
                        f"{raw_path}: a line from line {first_line_number:,} on is over {MAX_BLOCK_BYTES:,} bytes "
                        "long, which no IMDb line is: check that the file is the IMDb file it is named after"
                    )
                buf = np.frombuffer(block, dtype=np.uint8)
                reading = pool.submit(
                    _read_block, reader, buf, first_line_number, skipped, fields_per_line, snapshot_date, -1,
                    keys_sorted
                )  # fmt: skip
                ahead.append((reading, buf, first_line_number))
                first_line_number += _line_count(buf)
                if len(ahead) > READ_AHEAD_BLOCKS:
                    yield oldest_frame()
            while ahead:
                yield oldest_frame()
        finally:
            pool.shutdown(cancel_futures=True)


def scan_compiled(
    reader: CompiledReader,
    raw_path: Path,
    snapshot_date: date,
    skipped_lines: pl.Series | None = None,
    keys_sorted: bool = False,
    blocks: Iterable[bytes] | None = None,
) -> pl.LazyFrame:
    """Every data line of `raw_path` read by `reader` (see `CompiledReader.schema`), lazily, a batch per block of
    text; the lines numbered in `skipped_lines` are left out. `blocks`: the file's text in blocks of whole lines when
    it comes from elsewhere than `raw_path` (a copy being made, `archive.ArchiveText`); it can be read once. The
    read raises RawFileError as `parse_header` when the header is not IMDb's, and when the gzip is corrupt or
    truncated.

    With `keys_sorted` the repeated keys are found as the clean plan finds them in a sorted file
    (`media_assets.clean.transforms`), while reading: a parsed line whose key is not above the largest key of the
    parsed lines before it gets the reason `duplicate_key`, and the Boolean column `key_out_of_order` is true where
    the key is below it (the file is then not sorted)."""
    skipped = np.sort(skipped_lines.to_numpy()).astype(np.int64) if skipped_lines is not None else np.empty(0, np.int64)

    def batches(
        with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, _batch_size: int | None
    ) -> Iterator[pl.DataFrame]:
        text = blocks if blocks is not None else text_blocks(raw_path)
        for frame in _blocks_read(reader, raw_path, text, snapshot_date, skipped, keys_sorted):
            if predicate is not None:
                frame = frame.filter(predicate)
            if with_columns is not None:
                frame = frame.select(with_columns)
            if n_rows is not None:
                frame = frame.head(n_rows)
                n_rows -= len(frame)
            yield frame
            if n_rows == 0:
                return

    return pl.io.plugins.register_io_source(batches, schema=reader.frame_schema(keys_sorted))


def _read_schema(table: pl.Schema, *nulled_columns: str) -> pl.Schema:
    return pl.Schema(
        {"line_number": pl.Int64, "reason": pl.String, "raw_line": pl.String}
        | dict(table)
        | {f"raw_{column}": pl.String for column in nulled_columns}
    )


def _parse_principals(block: Block, _snapshot_date: date) -> np.ndarray:
    buf = block.buf
    title_id = _ids(buf, block.field(0), 116, 116)  # tt
    ordering, ordering_state = _integers(buf, block.field(1), 1, MAX_ORDERING)
    person_id = _ids(buf, block.field(2), 110, 109)  # nm
    block.fail_first(title_id < 0, ordering_state != _OK, person_id < 0)
    parsed = block.parsed
    states = _json_string_array_states(buf, block.field(5), parsed)
    block.columns |= {
        "title_id": _numbers(title_id, parsed),
        "ordering": _numbers(ordering, parsed),
        "person_id": _numbers(person_id, parsed),
        "category": block.text(3),
        "job": block.text(4),
        "characters": _strings(buf, block.field(5), states == _OK),  # only parsed lines are checked
        "raw_characters": block.nulled(5, states == _UNUSABLE),
    }
    return title_id * CREDIT_KEY_TITLE_FACTOR + ordering


PRINCIPALS_READER = CompiledReader(
    TITLE_PRINCIPALS,
    _read_schema(CLEAN_TITLE_PRINCIPALS_SCHEMA, "characters"),
    ("bad_tconst", "bad_ordering", "bad_nconst"),
    _parse_principals,
)

_GENRE_BYTES = np.frombuffer("".join(IMDB_GENRES).encode(), dtype=np.uint8)
_GENRE_ENDS = np.cumsum([0] + [len(genre.encode()) for genre in IMDB_GENRES])


def _parse_title_basics(block: Block, snapshot_date: date) -> np.ndarray:
    buf = block.buf
    title_id = _ids(buf, block.field(0), 116, 116)  # tt
    block.fail_first(title_id < 0)
    parsed = block.parsed
    is_adult, is_adult_state = _flags(buf, block.field(4))
    last_year = snapshot_date.year + TITLE_YEARS_AHEAD
    start_year, start_year_state = _integers(buf, block.field(5), FIRST_TITLE_YEAR, last_year)
    end_year, end_year_state = _integers(buf, block.field(6), FIRST_TITLE_YEAR, last_year)
    runtime, runtime_state = _integers(buf, block.field(7), 0, _INT32_MAX)
    genre_ends, genre_span = _comma_tokens(buf, block.field(8), parsed, True)
    known = _in_vocabulary(buf, genre_span, _GENRE_BYTES, _GENRE_ENDS)
    kept_ends, lost_genre = _kept_tokens(genre_ends, known)
    genres = _lists(kept_ends, _texts(buf, block.field(8)), _all_strings(buf, genre_span[known]))
    block.columns |= {
        "title_id": _numbers(title_id, parsed),
        "tconst": block.text(0),
        "title_type": block.text(1),
        "primary_title": block.text(2),
        "original_title": block.text(3),
        "is_adult": block.number(is_adult, is_adult_state),
        "start_year": block.number(start_year, start_year_state),
        "end_year": block.number(end_year, end_year_state),
        "runtime_minutes": block.number(runtime, runtime_state),
        "genres": genres,
        "raw_isAdult": block.nulled(4, is_adult_state == _UNUSABLE),
        "raw_startYear": block.nulled(5, start_year_state == _UNUSABLE),
        "raw_endYear": block.nulled(6, end_year_state == _UNUSABLE),
        "raw_runtimeMinutes": block.nulled(7, runtime_state == _UNUSABLE),
        "raw_genres": block.nulled(8, lost_genre),
    }
    return title_id


TITLE_BASICS_READER = CompiledReader(
    TITLE_BASICS,
    _read_schema(CLEAN_TITLE_BASICS_SCHEMA, "isAdult", "startYear", "endYear", "runtimeMinutes", "genres"),
    ("bad_tconst",),
    _parse_title_basics,
)


def _parse_name_basics(block: Block, snapshot_date: date) -> np.ndarray:
    buf = block.buf
    person_id = _ids(buf, block.field(0), 110, 109)  # nm
    block.fail_first(person_id < 0)
    parsed = block.parsed
    birth_year, birth_year_state = _integers(buf, block.field(2), FIRST_PERSON_YEAR, snapshot_date.year)
    death_year, death_year_state = _integers(buf, block.field(3), FIRST_PERSON_YEAR, snapshot_date.year)
    profession_ends, profession_span = _comma_tokens(buf, block.field(4), parsed, False)
    professions = _all_strings(buf, profession_span)
    title_ends, title_span = _comma_tokens(buf, block.field(5), parsed, False)
    title_ids = _ids(buf, title_span, 116, 116)
    kept_ends, lost_title = _kept_tokens(title_ends, title_ids >= 0)
    kept_ids = title_ids[title_ids >= 0]
    block.columns |= {
        "person_id": _numbers(person_id, parsed),
        "nconst": block.text(0),
        "primary_name": block.text(1),
        "birth_year": block.number(birth_year, birth_year_state),
        "death_year": block.number(death_year, death_year_state),
        "primary_profession": _lists(profession_ends, _texts(buf, block.field(4)), professions),
        "known_for_titles": _lists(kept_ends, _texts(buf, block.field(5)), _numbers(kept_ids, kept_ids >= 0)),
        "raw_birthYear": block.nulled(2, birth_year_state == _UNUSABLE),
        "raw_deathYear": block.nulled(3, death_year_state == _UNUSABLE),
        "raw_knownForTitles": block.nulled(5, lost_title),
    }
    return person_id


NAME_BASICS_READER = CompiledReader(
    NAME_BASICS,
    _read_schema(CLEAN_NAME_BASICS_SCHEMA, "birthYear", "deathYear", "knownForTitles"),
    ("bad_nconst",),
    _parse_name_basics,
)

COMPILED_READERS = {reader.imdb_file: reader for reader in (TITLE_BASICS_READER, NAME_BASICS_READER, PRINCIPALS_READER)}
