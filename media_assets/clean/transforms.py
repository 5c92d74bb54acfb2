"""Cleaning IMDb's raw `.tsv.gz` files into typed tables: plain functions building polars LazyFrames.

Each `clean_<dataset>(raw_path, snapshot_date)` returns a `CleanPlan` of three lazy frames over ONE scan of the
file, meant to be sunk together (`pl.collect_all` shares the inflate and the parse between them):

- `table`: the cleaned rows, exactly `media_assets.clean.schemas.CLEAN_<DATASET>_SCHEMA`;
- `quarantined`: the lines that could not become a row (`QUARANTINE_SCHEMA`): wrong field count, an unparseable
  key or required value, or a repeated key (`duplicate_key`: the first line of a key wins);
- `nulled`: the values of kept rows that were present but unusable and were set to null (`NULLED_SCHEMA`), e.g. a
  runtime of `Reality-TV` or a year out of range. For a list of ids (`knownForTitles`) only the bad id is dropped.

With `keys_sorted=True` repeated keys are found by comparing each key with the largest key before it (the compiled
readers do it as they read), which holds nothing in memory but is only right when the keys ascend, as they do in
IMDb's files; the plan then also has `keys_in_order`, a one-row frame saying whether they did, to be computed in
the same pass. The default finds repeated keys in any order by keeping every key in a hash set (about 46 bytes a
row: 4.7 GB for IMDb's principals).

So every data line of the file is either in `table` or in `quarantined`, and nothing is dropped silently.

How lines are read: title.basics, name.basics and title.principals by compiled code
(`media_assets.clean.compiled_reader`), which gives each line's reason and typed columns; title.ratings by
`scan_raw_fields`: one string per line (`pl.scan_lines`, which inflates gzip in a stream, strips a `\\r\\n` line
end and reads a last line without `\\n`), split on tabs, then the polars expressions of its spec. Both follow the
same rules. polars' CSV reader is not used: IMDb never quotes (titles start with or hold a bare `"`), and with
`truncate_ragged_lines` it silently drops extra fields and invents empty ones, so a wrong field count could not be
seen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from media_assets.clean.compiled_reader import (
    DUPLICATE_KEY,
    NAME_BASICS_READER,
    PRINCIPALS_READER,
    TITLE_BASICS_READER,
    WRONG_FIELD_COUNT,
    CompiledReader,
    scan_compiled,
)
from media_assets.clean.schemas import (
    CLEAN_NAME_BASICS_SCHEMA,
    CLEAN_TITLE_BASICS_SCHEMA,
    CLEAN_TITLE_PRINCIPALS_SCHEMA,
    CLEAN_TITLE_RATINGS_SCHEMA,
    credit_key,
)
from media_assets.sources.imdb_files import (
    IMDB_GENRES,
    IMDB_NULL,
    TITLE_RATINGS,
    ImdbFile,
)
from media_assets.sources.raw_files import read_layout

QUARANTINE_SCHEMA = pl.Schema(
    {"line_number": pl.Int64, "reason": pl.String, "raw_line": pl.String, "raw_bytes": pl.Binary}
)
"""A line that did not become a row: its 1-based line number in the file (the header is line 1), why, and the
line as read (without its line end). For a line that is not UTF-8 (`invalid_utf8`), `raw_bytes` holds its exact
bytes and `raw_line` their reading with U+FFFD for each bad byte; `raw_bytes` is null for every other line."""

NULLED_SCHEMA = pl.Schema({"line_number": pl.Int64, "field": pl.String, "raw_value": pl.String})
"""A value of a kept row that was set to null (or, in an id list, left out): the line, the IMDb column name and
the value as written."""

INVALID_UTF8 = "invalid_utf8"


# 7 and 8 digits today; 9 keeps room for growth (and the credit key below 10^13).
_ID_DIGITS = "[0-9]{7,9}"


@dataclass(frozen=True)
class CleanPlan:
    """The three outputs of cleaning one raw file, lazily, over one shared scan."""

    table: pl.LazyFrame
    quarantined: pl.LazyFrame
    nulled: pl.LazyFrame
    keys_in_order: pl.LazyFrame | None = None
    """With `keys_sorted=True` only: one row, Boolean column `keys_in_order`, False when a parsed line's key was
    lower than an earlier one's (the other three frames are then wrong and must be discarded)."""


@dataclass(frozen=True)
class RequiredField:
    """A value without which the line cannot become a row: the line is quarantined as `bad_<field>` when it is
    missing or does not parse."""

    field: str
    """The IMDb column."""
    parsed: pl.Expr
    """Null where the value is missing or unusable."""

    @property
    def reason(self) -> str:
        return f"bad_{self.field}"


@dataclass(frozen=True)
class NullableField:
    """An optional value whose unusable raw text is reported in the `nulled` table."""

    field: str
    """The IMDb column."""
    nulled: pl.Expr
    """True where a value was present but unusable."""
    raw_values: pl.Expr | None = None
    """The unusable raw values of such a row, as a list (only evaluated on those rows); the whole raw value when
    omitted."""


def raw(field: str) -> pl.Expr:
    """The raw text of an IMDb column, `\\N` included."""
    return pl.col(f"raw_{field}")


def text(field: str) -> pl.Expr:
    """The raw text of an IMDb column, with `\\N` as null."""
    return pl.when(raw(field) != IMDB_NULL).then(raw(field))


def parse_imdb_id(value: pl.Expr, prefix: str) -> pl.Expr:
    """`tt0111161` -> 111161 (prefix `tt` or `nm`, 7 to 9 digits); null for anything else (`\\N` included)."""
    # A regex test then a slice and cast: measured 40% less CPU than one `str.extract`. The cast is not strict:
    # inside `list.eval` polars casts every token, also those the regex refused (a strict cast raised on `x`).
    return pl.when(value.str.contains(f"^{prefix}{_ID_DIGITS}$")).then(
        value.str.slice(len(prefix)).cast(pl.Int64, strict=False)
    )


def imdb_id(field: str, prefix: str) -> pl.Expr:
    """The integer id of an IMDb id column; null when it is not a well-formed id."""
    return parse_imdb_id(raw(field), prefix)


def nulled_field(field: str, raw_values: pl.Expr | None = None) -> NullableField:
    """A value a compiled reader nulled: its `raw_<field>` holds the raw text exactly there."""
    return NullableField(field, nulled=raw(field).is_not_null(), raw_values=raw_values)


def bounded_int(field: str, dtype: pl.DataType, low: int, high: int | None = None) -> pl.Expr:
    """An integer within [low, high]; null when missing, not an integer or out of range."""
    value = text(field).cast(dtype, strict=False)
    in_range = value >= low if high is None else value.is_between(low, high)
    return pl.when(in_range).then(value)


def bounded_float(field: str, low: float, high: float) -> pl.Expr:
    """A number within [low, high] (NaN is out of range); null when missing or unparseable."""
    value = text(field).cast(pl.Float64, strict=False)
    return pl.when(value.is_between(low, high)).then(value)


def read_invalid_utf8_lines(path: Path) -> pl.DataFrame:
    """The quarantine rows of the lines a raw file holds that are not UTF-8 (`line_number`, `raw_bytes`, as the raw
    layer stored them in `<file>.invalid_utf8.parquet`). Few: read whole, and decoded in Python."""
    lines = pl.read_parquet(path)
    return lines.select(
        "line_number",
        reason=pl.lit(INVALID_UTF8),
        raw_line=pl.Series([line.decode("utf-8", "replace") for line in lines["raw_bytes"]], dtype=pl.String),
        raw_bytes="raw_bytes",
    ).cast(dict(QUARANTINE_SCHEMA))


def scan_raw_fields(raw_path: Path, imdb_file: ImdbFile, invalid_utf8: pl.DataFrame | None = None) -> pl.LazyFrame:
    """Every data line of a raw file: `line_number` (1-based; the header is line 1), `raw_line`, `field_count`,
    and one String column `raw_<column>` per expected column (the text as written, null past the last field).
    `field_count` is compared with the header's columns: appended columns are tolerated, and not read.

    The lines of `invalid_utf8` (see `read_invalid_utf8_lines`) are left out: they are quarantined as such.
    Fails with `RawFileError` naming the file, the expected and the found header when a column is missing, renamed
    or moved. A byte order mark before the header is skipped with the header line.
    """
    layout = read_layout(raw_path, imdb_file)
    fields = pl.col("raw_line").str.split("\t")
    lines = pl.scan_lines(raw_path, name="raw_line", row_index_name="line_number", row_index_offset=1).filter(
        pl.col("line_number") > 1
    )
    if invalid_utf8 is not None:
        lines = lines.filter(pl.col("line_number").is_in(invalid_utf8["line_number"].implode()).not_())
    return lines.with_columns(
        # A list then a struct: measured 25% less CPU than `str.split_exact` plus counting the tabs.
        pl.col("line_number").cast(pl.Int64),
        field_count=fields.list.len() - len(layout.appended_columns),
        fields=fields.list.to_struct(fields=[f"raw_{column}" for column in imdb_file.columns]),
    ).unnest("fields")


@dataclass(frozen=True)
class CleanSpec:
    """What differs between the IMDb files: how each table column is read, which values a row cannot do without,
    which unusable values are reported as nulled, and the key of a row."""

    imdb_file: ImdbFile
    schema: pl.Schema
    columns: dict[str, pl.Expr]
    """The expression of every table column (the schema's order and types are enforced)."""
    required: Sequence[RequiredField]
    """Checked in order after the field count: the first failure is the quarantine reason."""
    nullable: Sequence[NullableField]
    dedup_key: pl.Expr
    """One Int64 (>= 0) per row: of lines with the same key, the first is kept and the others are quarantined as
    `duplicate_key`."""
    parsed_lines: Callable[[Path, pl.Series | None, bool, Iterable[bytes] | None], pl.LazyFrame] | None = None
    """A reader that parses the lines itself (`compiled_spec`): given the file, the line numbers to leave out,
    `keys_sorted` and the file's text when it comes from elsewhere (`scan_compiled`), every other data line with
    `line_number`, `raw_line`, `reason` and the columns that `columns` names; with `keys_sorted`, its repeated
    keys already found (`duplicate_key`, `key_out_of_order`: see `compiled_reader.scan_compiled`)."""


def build_clean_plan(
    raw_path: Path,
    spec: CleanSpec,
    keys_sorted: bool,
    invalid_utf8: Path | None = None,
    blocks: Iterable[bytes] | None = None,
) -> CleanPlan:
    """The plan shared by all IMDb files, from the file's `spec`.

    `keys_sorted` says how repeated keys are found (see the module). `invalid_utf8`: the raw layer's list of the
    lines that are not UTF-8 (`raw_path` is then the repaired copy, whose line numbers are the file's): those lines
    are quarantined as `invalid_utf8` with their exact bytes. `blocks`: `raw_path`'s text in blocks of whole lines
    when it is read from elsewhere (the copy the raw layer is making), for the files a compiled reader reads.
    """
    if list(spec.columns) != list(spec.schema):
        raise ValueError(
            f"{spec.imdb_file.dataset}: columns {list(spec.columns)} do not follow the schema {list(spec.schema)}"
        )
    invalid_lines = read_invalid_utf8_lines(invalid_utf8) if invalid_utf8 is not None else None
    if spec.parsed_lines is not None:
        skipped = None if invalid_lines is None else invalid_lines["line_number"]
        # In a sorted file the reader finds the repeated keys as it reads, by the rule below (measured at full
        # scale: 3 to 5 CPU-s less for title.principals than the polars pass).
        parsed = spec.parsed_lines(raw_path, skipped, keys_sorted, blocks)
        if not keys_sorted:
            parsed = _with_repeated_keys(parsed, spec.dedup_key, keys_sorted)
    elif blocks is not None:
        raise ValueError(f"{spec.imdb_file.dataset} is read by polars from its file, not from a text handed over")
    else:
        parsed = _with_repeated_keys(_scanned_lines(raw_path, spec, invalid_lines), spec.dedup_key, keys_sorted)
    parsed = parsed.with_columns(**{f"nulled_{index}": check.nulled for index, check in enumerate(spec.nullable)})
    # Three sinks read this frame. collect_all shares a subplan only when the optimizer finds it common, and with
    # the sinks' filters pushed down differently it did not: measured on 10M principals, 18.4 CPU-s without the
    # explicit cache and 10.8 with it (the streaming engine passes the batches on, nothing is held in memory).
    parsed = parsed.cache()
    kept = parsed.filter(pl.col("reason").is_null())
    quarantined = parsed.filter(pl.col("reason").is_not_null()).select(
        "line_number", "reason", "raw_line", raw_bytes=pl.lit(None, dtype=pl.Binary)
    )
    if invalid_lines is not None:
        quarantined = quarantined.merge_sorted(invalid_lines.lazy(), key="line_number")
    return CleanPlan(
        table=kept.select(list(spec.schema)),
        quarantined=quarantined,
        nulled=_nulled_values(kept, spec.nullable),
        keys_in_order=parsed.select(keys_in_order=pl.col("key_out_of_order").any().not_()) if keys_sorted else None,
    )


def _with_repeated_keys(parsed: pl.LazyFrame, dedup_key: pl.Expr, keys_sorted: bool) -> pl.LazyFrame:
    """`parsed` with the reason `duplicate_key` on each parsed line whose key a parsed line before it has (found as
    `keys_sorted` says, see the module) and, with `keys_sorted`, `key_out_of_order`."""
    # Only parsed rows compete for a key: a broken line must not make the good line with its key a duplicate.
    key = pl.when(pl.col("reason").is_null()).then(dedup_key)
    if keys_sorted:
        largest_key_before = key.fill_null(-1).cum_max().shift(1)
        is_duplicate = key <= largest_key_before
        parsed = parsed.with_columns(key_out_of_order=key < largest_key_before)
    else:
        is_duplicate = key.is_first_distinct().not_()
    return parsed.with_columns(
        reason=pl.when(pl.col("reason").is_null() & is_duplicate).then(pl.lit(DUPLICATE_KEY)).otherwise("reason")
    )


def _scanned_lines(raw_path: Path, spec: CleanSpec, invalid_lines: pl.DataFrame | None) -> pl.LazyFrame:
    """Every data line of a file read by `scan_raw_fields`, with its table columns and `reason`: why it cannot
    become a row (a wrong field count, then the first required value missing), null when it can."""
    reason = pl.when(pl.col("field_count") != len(spec.imdb_file.columns)).then(pl.lit(WRONG_FIELD_COUNT))
    for check in spec.required:
        reason = reason.when(check.parsed.is_null()).then(pl.lit(check.reason))
    return (
        scan_raw_fields(raw_path, spec.imdb_file, invalid_lines)
        .with_columns(expr.cast(spec.schema[name]).alias(name) for name, expr in spec.columns.items())
        .with_columns(reason=reason)
    )


def _nulled_values(kept: pl.LazyFrame, nullable: Sequence[NullableField]) -> pl.LazyFrame:
    """The `nulled` table of the kept rows, whose `nulled_<index>` columns say which check of `nullable` nulled a
    value."""
    if not nullable:
        return pl.LazyFrame(schema=NULLED_SCHEMA)
    # One (field, raw values) entry per check, null where the check did not null anything, exploded in one pass, in
    # line order. Not a concat of one filtered frame per check: the streaming engine reads a concat's inputs one
    # after the other, so the shared scan was buffered whole for the later ones (measured peak RSS at 17.5M
    # people: 5.1 GB with the concat, 1.4 GB without).
    entries = pl.concat_list(
        pl.struct(
            field=pl.lit(check.field),
            raw_value=pl.when(f"nulled_{index}").then(
                pl.concat_list(raw(check.field)) if check.raw_values is None else check.raw_values
            ),
        )
        for index, check in enumerate(nullable)
    )
    return (
        kept.filter(pl.any_horizontal(f"nulled_{index}" for index in range(len(nullable))))
        .select("line_number", entry=entries)
        .explode("entry")
        .unnest("entry")
        .drop_nulls("raw_value")
        .explode("raw_value")
        .select(pl.col(name).cast(dtype) for name, dtype in NULLED_SCHEMA.items())
    )


def compiled_spec(
    reader: CompiledReader,
    snapshot_date: date,
    schema: pl.Schema,
    nullable: Sequence[NullableField],
    dedup_key: pl.Expr,
) -> CleanSpec:
    """The spec of a file read by `reader` (`compiled_reader`): the table's columns as it gives them."""
    return CleanSpec(
        reader.imdb_file,
        schema,
        columns={name: pl.col(name) for name in schema},
        required=[],
        nullable=nullable,
        dedup_key=dedup_key,
        parsed_lines=lambda path, skipped, keys_sorted, blocks: scan_compiled(
            reader, path, snapshot_date, skipped, keys_sorted, blocks
        ),
    )


def clean_title_basics(
    raw_path: Path,
    snapshot_date: date,
    keys_sorted: bool = False,
    invalid_utf8: Path | None = None,
    blocks: Iterable[bytes] | None = None,
) -> CleanPlan:
    """title.basics: one row per title; years in 1870..snapshot year + 30 and runtimes >= 0 (0 and over 1,000
    minutes are real), anything else nulled; isAdult 0/1 as a bool; genres as a list of IMDb's genres (other
    tokens nulled, each reported)."""
    spec = compiled_spec(
        TITLE_BASICS_READER,
        snapshot_date,
        CLEAN_TITLE_BASICS_SCHEMA,
        nullable=[
            nulled_field("isAdult"),
            nulled_field("startYear"),
            nulled_field("endYear"),
            nulled_field("runtimeMinutes"),
            nulled_field("genres", raw("genres").str.split(",").list.filter(~pl.element().is_in(IMDB_GENRES))),
        ],
        dedup_key=pl.col("title_id"),
    )
    return build_clean_plan(raw_path, spec, keys_sorted, invalid_utf8, blocks)


def clean_title_ratings(
    raw_path: Path,
    snapshot_date: date,
    keys_sorted: bool = False,
    invalid_utf8: Path | None = None,
    blocks: Iterable[bytes] | None = None,
) -> CleanPlan:
    """title.ratings: one row per rated title; a rating outside 1..10 or a negative or unparseable vote count
    quarantines the line (there is nothing else in it)."""
    spec = CleanSpec(
        TITLE_RATINGS,
        CLEAN_TITLE_RATINGS_SCHEMA,
        columns={
            "title_id": imdb_id("tconst", "tt"),
            "tconst": text("tconst"),
            "average_rating": bounded_float("averageRating", 1.0, 10.0),
            "num_votes": bounded_int("numVotes", pl.Int64, 0),
        },
        required=[
            RequiredField("tconst", pl.col("title_id")),
            RequiredField("averageRating", pl.col("average_rating")),
            RequiredField("numVotes", pl.col("num_votes")),
        ],
        nullable=[],
        dedup_key=pl.col("title_id"),
    )
    return build_clean_plan(raw_path, spec, keys_sorted, invalid_utf8, blocks)


def clean_name_basics(
    raw_path: Path,
    snapshot_date: date,
    keys_sorted: bool = False,
    invalid_utf8: Path | None = None,
    blocks: Iterable[bytes] | None = None,
) -> CleanPlan:
    """name.basics: one row per person; birth and death years in 1..snapshot year, anything else nulled;
    primaryProfession as a list (empty when IMDb wrote an empty value); knownForTitles as a list of title ids (bad
    ids left out, each reported)."""
    spec = compiled_spec(
        NAME_BASICS_READER,
        snapshot_date,
        CLEAN_NAME_BASICS_SCHEMA,
        nullable=[
            nulled_field("birthYear"),
            nulled_field("deathYear"),
            nulled_field(
                "knownForTitles",
                raw("knownForTitles").str.split(",").list.filter(parse_imdb_id(pl.element(), "tt").is_null()),
            ),
        ],
        dedup_key=pl.col("person_id"),
    )
    return build_clean_plan(raw_path, spec, keys_sorted, invalid_utf8, blocks)


def clean_title_principals(
    raw_path: Path,
    snapshot_date: date,
    keys_sorted: bool = False,
    invalid_utf8: Path | None = None,
    blocks: Iterable[bytes] | None = None,
) -> CleanPlan:
    """title.principals: one row per (title, ordering) credit; tconst, an ordering in 1..MAX_ORDERING (what the
    credit key holds) and nconst are required; characters (a JSON array of names) kept as written, nulled when it
    is not one."""
    spec = compiled_spec(
        PRINCIPALS_READER,
        snapshot_date,
        CLEAN_TITLE_PRINCIPALS_SCHEMA,
        nullable=[nulled_field("characters")],
        dedup_key=credit_key(pl.col("title_id"), pl.col("ordering")),
    )
    return build_clean_plan(raw_path, spec, keys_sorted, invalid_utf8, blocks)
