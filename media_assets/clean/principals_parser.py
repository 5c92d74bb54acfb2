"""title.principals read by a compiled one-pass parser: its lines become typed columns without polars' intermediates.

IMDb's largest file (102.6M lines, 4.6 GB of text) took most of a day's CPU when read by polars expressions:
`scan_lines`, a split into a list, a struct, then a regex, a slice and a cast per id, and a regex and a JSON
decode for `characters`, each materializing a column. Here one numba function walks the bytes of a block of
whole lines once: it finds the tabs, parses `tconst`, `ordering` and `nconst` in place, validates and decodes the
`characters` JSON array straight into the Arrow buffers of a `List(String)`, and names each line's quarantine
reason. The same rules as the other files' polars expressions (`media_assets.clean.transforms`):

- lines are split on `\\n`; one `\\r` before it (or before the end of the file) is stripped; the header is line 1;
- a line whose field count (appended header columns left out) is not 6 is `wrong_field_count`;
- `tt`/`nm` and 7 to 9 ASCII digits make an id, else `bad_tconst`/`bad_nconst`;
- `ordering` is an optional sign and ASCII digits (polars' cast of a string to an integer) in 1..MAX_ORDERING,
  else `bad_ordering`; the first failing check of tconst, ordering, nconst names the reason;
- `\\N` is null; `characters` must be a JSON array of strings (RFC 8259: JSON's whitespace, its escapes, a high
  surrogate only with a low one, no control character unescaped), else it is null and its raw text is kept in
  `raw_characters` for the nulled table.

Measured at full scale (title.principals, 2 cores): see `benchmarks/clean_phases.py` and README.

The inflating runs in a thread of its own (isal releases the GIL), and the parser releases the GIL too, so the
two overlap each other and polars' work downstream. Compiled code is cached on disk (numba's `cache=True`): the
first run on a machine compiles for a few seconds, later ones load it.
"""

from collections.abc import Iterator
from pathlib import Path

import numba
import numpy as np
import polars as pl
import pyarrow as pa

from media_assets.clean.schemas import CLEAN_TITLE_PRINCIPALS_SCHEMA, MAX_ORDERING
from media_assets.sources.imdb_files import TITLE_PRINCIPALS
from media_assets.sources.raw_files import CHUNK_BYTES, in_thread, inflate, line_blocks, read_layout

PARSED_PRINCIPALS_SCHEMA = pl.Schema(
    {"line_number": pl.Int64, "reason": pl.String, "raw_line": pl.String}
    | dict(CLEAN_TITLE_PRINCIPALS_SCHEMA)
    | {"raw_characters": pl.String}
)
"""Every data line of title.principals: `reason` (null when the line can become a row), the table's columns, and
two texts kept only where they are needed: `raw_line` where the line may be quarantined (a reason, or a credit key
not above every key before it: a possible repeat), `raw_characters` where `characters` was present but not a JSON
array of strings."""

REASONS = ("wrong_field_count", "bad_tconst", "bad_ordering", "bad_nconst")
"""The reasons the parser gives, by code (1-based; 0 is none), in the order they are checked."""
_REASON_TEXT = np.frombuffer("".join(REASONS).encode(), dtype=np.uint8)
_REASON_ENDS = np.cumsum([0] + [len(reason) for reason in REASONS])

_FIELDS = len(TITLE_PRINCIPALS.columns)
_TAB, _LF, _CR, _QUOTE, _BACKSLASH = 9, 10, 13, 34, 92
_CREDIT_KEY_TITLE_FACTOR = MAX_ORDERING + 1


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
def _ordering(buf, start, end):
    """An optional sign and ASCII digits in 1..MAX_ORDERING; -1 for anything else."""
    position = start
    negative = False
    if position < end and (buf[position] == 43 or buf[position] == 45):
        negative = buf[position] == 45
        position += 1
    if position == end:
        return -1
    value = 0
    for index in range(position, end):
        digit = buf[index] - 48
        if digit < 0 or digit > 9:
            return -1
        if value <= MAX_ORDERING:  # past it the value is out of range whatever follows: stop growing
            value = value * 10 + digit
    if negative or value < 1 or value > MAX_ORDERING:
        return -1
    return value


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


@numba.njit(cache=True, nogil=True)
def _decode_json_string_array(buf, start, end, values, value_end, string_ends, strings):
    """Decode the JSON array of strings in `buf[start:end]`, appending its strings' UTF-8 to `values` (from
    `value_end`) and their ends to `string_ends` (from index `strings`). Returns the new (value_end, strings), or
    (-1, -1) when the text is not such an array (what was appended is then to be discarded)."""
    position = _skip_json_space(buf, start, end)
    if position >= end or buf[position] != 91:  # [
        return -1, -1
    position = _skip_json_space(buf, position + 1, end)
    if position < end and buf[position] == 93:  # ]
        return (value_end, strings) if _skip_json_space(buf, position + 1, end) == end else (-1, -1)
    while True:
        if position >= end or buf[position] != _QUOTE:
            return -1, -1
        position += 1
        while True:
            if position >= end:
                return -1, -1
            byte = buf[position]
            if byte == _QUOTE:
                position += 1
                break
            if byte < 32:
                return -1, -1
            if byte != _BACKSLASH:
                values[value_end] = byte
                value_end += 1
                position += 1
                continue
            if position + 1 >= end:
                return -1, -1
            escaped = buf[position + 1]
            position += 2
            if escaped == _QUOTE or escaped == _BACKSLASH or escaped == 47:  # " \ /
                values[value_end] = escaped
            elif escaped == 98:  # b
                values[value_end] = 8
            elif escaped == 102:  # f
                values[value_end] = 12
            elif escaped == 110:  # n
                values[value_end] = 10
            elif escaped == 114:  # r
                values[value_end] = 13
            elif escaped == 116:  # t
                values[value_end] = 9
            elif escaped == 117:  # u: one code unit, or a surrogate pair
                code = _hex4(buf, position, end)
                if code < 0 or 0xDC00 <= code <= 0xDFFF:
                    return -1, -1
                position += 4
                if 0xD800 <= code <= 0xDBFF:
                    if position + 2 > end or buf[position] != _BACKSLASH or buf[position + 1] != 117:
                        return -1, -1
                    low = _hex4(buf, position + 2, end)
                    if low < 0xDC00 or low > 0xDFFF:
                        return -1, -1
                    position += 6
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                if code < 0x80:
                    values[value_end] = code
                elif code < 0x800:
                    values[value_end] = 0xC0 | (code >> 6)
                    values[value_end + 1] = 0x80 | (code & 0x3F)
                    value_end += 1
                elif code < 0x10000:
                    values[value_end] = 0xE0 | (code >> 12)
                    values[value_end + 1] = 0x80 | ((code >> 6) & 0x3F)
                    values[value_end + 2] = 0x80 | (code & 0x3F)
                    value_end += 2
                else:
                    values[value_end] = 0xF0 | (code >> 18)
                    values[value_end + 1] = 0x80 | ((code >> 12) & 0x3F)
                    values[value_end + 2] = 0x80 | ((code >> 6) & 0x3F)
                    values[value_end + 3] = 0x80 | (code & 0x3F)
                    value_end += 3
            else:
                return -1, -1
            value_end += 1
        strings += 1
        string_ends[strings] = value_end
        position = _skip_json_space(buf, position, end)
        if position < end and buf[position] == 44:  # ,
            position = _skip_json_space(buf, position + 1, end)
            continue
        if position < end and buf[position] == 93:  # ]
            return (value_end, strings) if _skip_json_space(buf, position + 1, end) == end else (-1, -1)
        return -1, -1


@numba.njit(cache=True, nogil=True)
def _parse_block(buf, first_line_number, skipped_lines, fields_per_line, largest_key_before):
    """Parse the whole lines of `buf`, numbered from `first_line_number`; lines 1 (the header) and those in
    `skipped_lines` (sorted) make no row. `largest_key_before`: the largest credit key of the lines before `buf`
    (-1 at the start). Returns the rows' columns, the spans of their texts in `buf`, the decoded characters and the
    largest key so far."""
    lines = 0
    for byte in buf:
        lines += byte == _LF
    if len(buf) and buf[len(buf) - 1] != _LF:
        lines += 1
    quotes = 0
    for byte in buf:
        quotes += byte == _QUOTE

    line_number = np.empty(lines, np.int64)
    reason = np.zeros(lines, np.int64)
    title_id = np.empty(lines, np.int64)
    ordering = np.empty(lines, np.int32)
    person_id = np.empty(lines, np.int64)
    line_span = np.empty((lines, 2), np.int64)
    category_span = np.empty((lines, 2), np.int64)
    job_span = np.empty((lines, 2), np.int64)
    characters_span = np.empty((lines, 2), np.int64)
    keep_raw_line = np.zeros(lines, np.bool_)
    characters_state = np.zeros(lines, np.int8)  # 0 null, 1 a list, 2 present but not a list
    list_ends = np.zeros(lines + 1, np.int64)
    values = np.empty(len(buf), np.uint8)
    string_ends = np.zeros(quotes // 2 + 1, np.int64)
    value_end = 0
    strings = 0

    starts = np.empty(_FIELDS, np.int64)
    ends = np.empty(_FIELDS, np.int64)
    skip_index = 0
    rows = 0
    position = 0
    number = first_line_number - 1
    size = len(buf)
    while position < size:
        number += 1
        line_start = position
        field_start = position
        tabs = 0
        while position < size and buf[position] != _LF:
            if buf[position] == _TAB:
                if tabs < _FIELDS:
                    starts[tabs] = field_start
                    ends[tabs] = position
                tabs += 1
                field_start = position + 1
            position += 1
        line_end = position
        position += 1
        if line_end > line_start and buf[line_end - 1] == _CR:
            line_end -= 1
        if tabs < _FIELDS:
            starts[tabs] = field_start
            ends[tabs] = max(field_start, line_end)
        while skip_index < len(skipped_lines) and skipped_lines[skip_index] < number:
            skip_index += 1
        if number == 1 or (skip_index < len(skipped_lines) and skipped_lines[skip_index] == number):
            continue

        row = rows
        rows += 1
        line_number[row] = number
        line_span[row, 0] = line_start
        line_span[row, 1] = line_end
        list_ends[row + 1] = strings
        if tabs + 1 != fields_per_line:
            reason[row] = 1
            keep_raw_line[row] = True
            continue
        title = _imdb_id(buf, starts[0], ends[0], 116, 116)  # tt
        order = _ordering(buf, starts[1], ends[1])
        person = _imdb_id(buf, starts[2], ends[2], 110, 109)  # nm
        title_id[row] = title
        ordering[row] = order
        person_id[row] = person
        if title < 0:
            reason[row] = 2
        elif order < 0:
            reason[row] = 3
        elif person < 0:
            reason[row] = 4
        if reason[row]:
            keep_raw_line[row] = True
            continue
        key = title * _CREDIT_KEY_TITLE_FACTOR + order
        # A key not above every key before it may be a repeat, whichever way repeats are then found.
        keep_raw_line[row] = key <= largest_key_before
        largest_key_before = max(largest_key_before, key)
        category_span[row, 0], category_span[row, 1] = starts[3], ends[3]
        job_span[row, 0], job_span[row, 1] = starts[4], ends[4]
        start, end = starts[5], ends[5]
        characters_span[row, 0], characters_span[row, 1] = start, end
        if end - start == 2 and buf[start] == _BACKSLASH and buf[start + 1] == 78:  # \N
            continue
        decoded_end, decoded_strings = _decode_json_string_array(
            buf, start, end, values, value_end, string_ends, strings
        )
        if decoded_end < 0:
            characters_state[row] = 2
        else:
            characters_state[row] = 1
            value_end, strings = decoded_end, decoded_strings
            list_ends[row + 1] = strings
    return (
        number - first_line_number + 1,
        rows,
        line_number[:rows],
        reason[:rows],
        title_id[:rows],
        ordering[:rows],
        person_id[:rows],
        line_span[:rows],
        keep_raw_line[:rows],
        category_span[:rows],
        job_span[:rows],
        characters_span[:rows],
        characters_state[:rows],
        list_ends[: rows + 1],
        values[:value_end],
        string_ends[: strings + 1],
        largest_key_before,
    )


@numba.njit(cache=True, nogil=True)
def _gather(buf, spans, keep):
    """The texts `buf[start:end]` of the kept spans, one after the other, and the offsets of every row's text
    (empty where not kept)."""
    offsets = np.zeros(len(spans) + 1, np.int64)
    total = 0
    for row in range(len(spans)):
        if keep[row]:
            total += spans[row, 1] - spans[row, 0]
        offsets[row + 1] = total
    data = np.empty(total, np.uint8)
    for row in range(len(spans)):
        if keep[row]:
            data[offsets[row] : offsets[row + 1]] = buf[spans[row, 0] : spans[row, 1]]
    return data, offsets


def _validity(valid: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def _strings(buf: np.ndarray, spans: np.ndarray, keep: np.ndarray) -> pa.Array:
    data, offsets = _gather(buf, spans, keep)
    return pa.Array.from_buffers(
        pa.large_string(), len(keep), [_validity(keep), pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _integers(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.Array.from_buffers(
        pa.from_numpy_dtype(values.dtype), len(values), [_validity(valid), pa.py_buffer(values)]
    )


def _is_text(buf: np.ndarray, spans: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Where a span of a row in `valid` is not IMDb's null `\\N`."""
    lengths = spans[:, 1] - spans[:, 0]
    starts = np.where(valid, spans[:, 0], 0)
    null = (lengths == 2) & (buf[starts] == _BACKSLASH) & (buf[np.minimum(starts + 1, len(buf) - 1)] == 78)
    return valid & ~null


def parse_block(
    buf: np.ndarray, first_line_number: int, skipped_lines: np.ndarray, fields_per_line: int, largest_key_before: int
) -> tuple[pl.DataFrame, int, int]:
    """The rows of the whole lines in `buf` (see `PARSED_PRINCIPALS_SCHEMA`), the number of lines it held, and the
    largest credit key so far."""
    (
        lines,
        rows,
        line_number,
        reason,
        title_id,
        ordering,
        person_id,
        line_span,
        keep_raw_line,
        category_span,
        job_span,
        characters_span,
        characters_state,
        list_ends,
        values,
        string_ends,
        largest_key,
    ) = _parse_block(buf, first_line_number, skipped_lines, fields_per_line, largest_key_before)
    parsed = reason == 0
    reason_spans = np.stack([_REASON_ENDS[np.maximum(reason - 1, 0)], _REASON_ENDS[reason.clip(1)]], axis=1)
    characters = pa.Array.from_buffers(
        pa.large_list(pa.large_string()),
        rows,
        [_validity(characters_state == 1), pa.py_buffer(list_ends)],
        children=[
            pa.Array.from_buffers(
                pa.large_string(), len(string_ends) - 1, [None, pa.py_buffer(string_ends), pa.py_buffer(values)]
            )
        ],
    )
    columns = {
        "line_number": pa.array(line_number),
        "reason": _strings(_REASON_TEXT, reason_spans, ~parsed),
        "raw_line": _strings(buf, line_span, keep_raw_line),
        "title_id": _integers(title_id, parsed),
        "ordering": _integers(ordering, parsed),
        "person_id": _integers(person_id, parsed),
        "category": _strings(buf, category_span, _is_text(buf, category_span, parsed)),
        "job": _strings(buf, job_span, _is_text(buf, job_span, parsed)),
        "characters": characters,
        "raw_characters": _strings(buf, characters_span, characters_state == 2),
    }
    return pl.DataFrame(pa.table(columns)).cast(dict(PARSED_PRINCIPALS_SCHEMA)), lines, largest_key


def _compressed_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            yield chunk


def inflated_blocks(path: Path) -> Iterator[bytes]:
    """The inflated text in blocks of whole lines (about 4 MB: `raw_files.INFLATED_PIECE_BYTES`)."""
    yield from line_blocks(inflate(_compressed_chunks(path), str(path)))


def scan_principals(raw_path: Path, skipped_lines: pl.Series | None = None) -> pl.LazyFrame:
    """Every data line of a title.principals file (see `PARSED_PRINCIPALS_SCHEMA`), lazily, in batches of about
    4 MB of text; the lines numbered in `skipped_lines` are left out. RawFileError as `read_layout` when
    the header is not IMDb's, and from the read when the gzip is corrupt or truncated."""
    fields_per_line = len(read_layout(raw_path, TITLE_PRINCIPALS).columns)
    skipped = np.sort(skipped_lines.to_numpy()).astype(np.int64) if skipped_lines is not None else np.empty(0, np.int64)

    def batches(
        with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, _batch_size: int | None
    ) -> Iterator[pl.DataFrame]:
        first_line_number, largest_key = 1, -1
        for block in in_thread(inflated_blocks(raw_path), name=f"inflate {raw_path.name}"):
            frame, lines, largest_key = parse_block(
                np.frombuffer(block, dtype=np.uint8), first_line_number, skipped, fields_per_line, largest_key
            )
            first_line_number += lines
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

    return pl.io.plugins.register_io_source(batches, schema=PARSED_PRINCIPALS_SCHEMA)
