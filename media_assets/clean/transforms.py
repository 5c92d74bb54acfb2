"""Cleaning IMDb's raw `.tsv.gz` files into typed tables: plain functions building polars LazyFrames.

Each `clean_<dataset>(raw_path, snapshot_date)` returns a `CleanPlan` of three lazy frames over ONE scan of the
file, meant to be sunk together (`pl.collect_all` shares the inflate and the parse between them):

- `table`: the cleaned rows, exactly `media_assets.clean.schemas.CLEAN_<DATASET>_SCHEMA`;
- `quarantined`: the lines that could not become a row (`QUARANTINE_SCHEMA`): wrong field count, an unparseable
  key or required value, or a repeated key (`duplicate_key`: the first line of a key wins);
- `nulled`: the values of kept rows that were present but unusable and were set to null (`NULLED_SCHEMA`), e.g. a
  runtime of `Reality-TV` or a year out of range. For a list of ids (`knownForTitles`) only the bad id is dropped.

With `keys_sorted=True` repeated keys are found by comparing each key with the largest key before it, which holds
nothing in memory but is only right when the keys ascend, as they do in IMDb's files; the plan then also has
`keys_in_order`, a one-row frame saying whether they did, to be computed in the same pass. The default finds
repeated keys in any order by keeping every key in a hash set (about 46 bytes a row: 4.7 GB for IMDb's principals).

So every data line of the file is either in `table` or in `quarantined`, and nothing is dropped silently.

How lines are read: the file is scanned as one string per line (`pl.scan_lines`, which inflates gzip in a
stream, strips a `\\r\\n` line end and reads a last line without `\\n`), then split on tabs. polars' CSV reader is
not used: IMDb never quotes (titles start with or hold a bare `"`), and with `truncate_ragged_lines` it silently
drops extra fields and invents empty ones, so a wrong field count could not be seen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from media_assets.clean.principals_parser import scan_principals
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
    NAME_BASICS,
    TITLE_BASICS,
    TITLE_PRINCIPALS,
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

WRONG_FIELD_COUNT = "wrong_field_count"
DUPLICATE_KEY = "duplicate_key"
INVALID_UTF8 = "invalid_utf8"

FIRST_TITLE_YEAR = 1870
"""Earliest plausible year of a title (IMDb's oldest are from the 1870s)."""
TITLE_YEARS_AHEAD = 30
"""Titles may be announced this many years after the snapshot year."""
FIRST_PERSON_YEAR = 1
"""Real birth years go back to antiquity (the 1500s are common: Shakespeare), so only year 0 and below are junk."""

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


def is_present(field: str) -> pl.Expr:
    """True where the column holds a value (not `\\N`)."""
    return raw(field) != IMDB_NULL


def parse_imdb_id(value: pl.Expr, prefix: str) -> pl.Expr:
    """`tt0111161` -> 111161 (prefix `tt` or `nm`, 7 to 9 digits); null for anything else (`\\N` included)."""
    # A regex test then a slice and cast: measured 40% less CPU than one `str.extract`.
    return pl.when(value.str.contains(f"^{prefix}{_ID_DIGITS}$")).then(value.str.slice(len(prefix)).cast(pl.Int64))


def imdb_id(field: str, prefix: str) -> pl.Expr:
    """The integer id of an IMDb id column; null when it is not a well-formed id."""
    return parse_imdb_id(raw(field), prefix)


def bounded_int(field: str, dtype: pl.DataType, low: int, high: int | None = None) -> pl.Expr:
    """An integer within [low, high]; null when missing, not an integer or out of range."""
    value = text(field).cast(dtype, strict=False)
    in_range = value >= low if high is None else value.is_between(low, high)
    return pl.when(in_range).then(value)


def bounded_float(field: str, low: float, high: float) -> pl.Expr:
    """A number within [low, high] (NaN is out of range); null when missing or unparseable."""
    value = text(field).cast(pl.Float64, strict=False)
    return pl.when(value.is_between(low, high)).then(value)


def zero_one_flag(field: str) -> pl.Expr:
    """`0` -> False, `1` -> True, anything else null."""
    # when/then, not replace_strict: the streaming engine ran that in memory over the whole parsed file (measured
    # peak RSS at 12.9M titles: 4.66 GB with it, 1.03 GB without).
    return pl.when(raw(field) == "1").then(True).when(raw(field) == "0").then(False)


def comma_list(field: str) -> pl.Expr:
    """`a,b` -> [a, b]; an empty value -> [] (IMDb writes an empty primaryProfession as ``, not `\\N`); `\\N` ->
    null."""
    value = text(field)
    return pl.when(value == "").then(pl.lit([], dtype=pl.List(pl.String))).otherwise(value.str.split(","))


def title_id_list(field: str) -> pl.Expr:
    """`tt0111161,tt10872600` -> [111161, 10872600], leaving out ids that do not parse; null for `\\N`."""
    return comma_list(field).list.eval(parse_imdb_id(pl.element(), "tt")).list.drop_nulls()


def title_id_list_field(field: str, parsed_column: str) -> NullableField:
    """A comma list of title ids whose bad ids were left out of `parsed_column`."""
    return NullableField(
        field,
        nulled=comma_list(field).list.len() != pl.col(parsed_column).list.len(),
        raw_values=comma_list(field).list.filter(parse_imdb_id(pl.element(), "tt").is_null()),
    )


def genre_list(field: str) -> pl.Expr:
    """`Comedy,Drama` -> [Comedy, Drama], leaving out tokens outside IMDb's genre vocabulary (`IMDB_GENRES`): an
    unknown genre, a case or whitespace variant, a blank (an empty value is one blank token); null for `\\N`."""
    return text(field).str.split(",").list.filter(pl.element().is_in(IMDB_GENRES))


def genre_list_field(field: str, parsed_column: str) -> NullableField:
    """A genre list whose tokens outside the vocabulary were left out of `parsed_column`, each reported."""
    tokens = text(field).str.split(",")
    return NullableField(
        field,
        nulled=tokens.list.len() != pl.col(parsed_column).list.len(),
        raw_values=tokens.list.filter(~pl.element().is_in(IMDB_GENRES)),
    )


def scalar_field(field: str, parsed_column: str) -> NullableField:
    """An optional scalar: nulled where the raw value was present and `parsed_column` is null."""
    return NullableField(field, nulled=is_present(field) & pl.col(parsed_column).is_null())


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
    parsed_lines: Callable[[Path, pl.Series | None], pl.LazyFrame] | None = None
    """A compiled reader of the file that parses its lines itself (title.principals: `principals_parser`): given the
    file and the line numbers to leave out, every other data line with `line_number`, `raw_line`, `reason` (wrong
    field count or the first required value missing) and the `columns` it names. `required` is then empty."""


def build_clean_plan(raw_path: Path, spec: CleanSpec, keys_sorted: bool, invalid_utf8: Path | None = None) -> CleanPlan:
    """The plan shared by all IMDb files, from the file's `spec`.

    `keys_sorted` says how repeated keys are found (see the module). `invalid_utf8`: the raw layer's list of the
    lines that are not UTF-8 (`raw_path` is then the repaired copy, whose line numbers are the file's): those lines
    are quarantined as `invalid_utf8` with their exact bytes.
    """
    if list(spec.columns) != list(spec.schema):
        raise ValueError(
            f"{spec.imdb_file.dataset}: columns {list(spec.columns)} do not follow the schema {list(spec.schema)}"
        )
    invalid_lines = read_invalid_utf8_lines(invalid_utf8) if invalid_utf8 is not None else None
    parsed = _parsed_lines(raw_path, spec, invalid_lines)
    # Only parsed rows compete for a key: a broken line must not make the good line with its key a duplicate.
    key = pl.when(pl.col("reason").is_null()).then(spec.dedup_key)
    if keys_sorted:
        largest_key_before = key.fill_null(-1).cum_max().shift(1)
        is_duplicate = key <= largest_key_before
        parsed = parsed.with_columns(key_out_of_order=key < largest_key_before)
    else:
        is_duplicate = key.is_first_distinct().not_()
    parsed = parsed.with_columns(
        reason=pl.when(pl.col("reason").is_null() & is_duplicate).then(pl.lit(DUPLICATE_KEY)).otherwise("reason"),
        **{f"nulled_{index}": check.nulled for index, check in enumerate(spec.nullable)},
    )
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


def _parsed_lines(raw_path: Path, spec: CleanSpec, invalid_lines: pl.DataFrame | None) -> pl.LazyFrame:
    """Every data line with its table columns and `reason`: why it cannot become a row (a wrong field count, then
    the first required value missing), null when it can."""
    if spec.parsed_lines is not None:
        return spec.parsed_lines(raw_path, None if invalid_lines is None else invalid_lines["line_number"])
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


def clean_title_basics(
    raw_path: Path, snapshot_date: date, keys_sorted: bool = False, invalid_utf8: Path | None = None
) -> CleanPlan:
    """title.basics: one row per title; years in 1870..snapshot year + 30 and runtimes >= 0 (0 and over 1,000
    minutes are real), anything else nulled; isAdult 0/1 as a bool; genres as a list of IMDb's genres (other
    tokens nulled)."""
    last_year = snapshot_date.year + TITLE_YEARS_AHEAD
    spec = CleanSpec(
        TITLE_BASICS,
        CLEAN_TITLE_BASICS_SCHEMA,
        columns={
            "title_id": imdb_id("tconst", "tt"),
            "tconst": text("tconst"),
            "title_type": text("titleType"),
            "primary_title": text("primaryTitle"),
            "original_title": text("originalTitle"),
            "is_adult": zero_one_flag("isAdult"),
            "start_year": bounded_int("startYear", pl.Int32, FIRST_TITLE_YEAR, last_year),
            "end_year": bounded_int("endYear", pl.Int32, FIRST_TITLE_YEAR, last_year),
            "runtime_minutes": bounded_int("runtimeMinutes", pl.Int32, 0),
            "genres": genre_list("genres"),
        },
        required=[RequiredField("tconst", pl.col("title_id"))],
        nullable=[
            scalar_field("isAdult", "is_adult"),
            scalar_field("startYear", "start_year"),
            scalar_field("endYear", "end_year"),
            scalar_field("runtimeMinutes", "runtime_minutes"),
            genre_list_field("genres", "genres"),
        ],
        dedup_key=pl.col("title_id"),
    )
    return build_clean_plan(raw_path, spec, keys_sorted, invalid_utf8)


def clean_title_ratings(
    raw_path: Path, snapshot_date: date, keys_sorted: bool = False, invalid_utf8: Path | None = None
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
    return build_clean_plan(raw_path, spec, keys_sorted, invalid_utf8)


def clean_name_basics(
    raw_path: Path, snapshot_date: date, keys_sorted: bool = False, invalid_utf8: Path | None = None
) -> CleanPlan:
    """name.basics: one row per person; birth and death years in 1..snapshot year, anything else nulled;
    primaryProfession as a list (empty when IMDb wrote an empty value); knownForTitles as a list of title ids."""
    spec = CleanSpec(
        NAME_BASICS,
        CLEAN_NAME_BASICS_SCHEMA,
        columns={
            "person_id": imdb_id("nconst", "nm"),
            "nconst": text("nconst"),
            "primary_name": text("primaryName"),
            "birth_year": bounded_int("birthYear", pl.Int32, FIRST_PERSON_YEAR, snapshot_date.year),
            "death_year": bounded_int("deathYear", pl.Int32, FIRST_PERSON_YEAR, snapshot_date.year),
            "primary_profession": comma_list("primaryProfession"),
            "known_for_titles": title_id_list("knownForTitles"),
        },
        required=[RequiredField("nconst", pl.col("person_id"))],
        nullable=[
            scalar_field("birthYear", "birth_year"),
            scalar_field("deathYear", "death_year"),
            title_id_list_field("knownForTitles", "known_for_titles"),
        ],
        dedup_key=pl.col("person_id"),
    )
    return build_clean_plan(raw_path, spec, keys_sorted, invalid_utf8)


def clean_title_principals(
    raw_path: Path, snapshot_date: date, keys_sorted: bool = False, invalid_utf8: Path | None = None
) -> CleanPlan:
    """title.principals: one row per (title, ordering) credit; tconst, an ordering in 1..MAX_ORDERING (what the
    credit key holds) and nconst are required; characters (a JSON array of names) decoded to a list, nulled when
    it is not one. Parsed by `principals_parser` (IMDb's largest file), by the rules of the other files."""
    spec = CleanSpec(
        TITLE_PRINCIPALS,
        CLEAN_TITLE_PRINCIPALS_SCHEMA,
        columns={name: pl.col(name) for name in CLEAN_TITLE_PRINCIPALS_SCHEMA},
        required=[],
        nullable=[NullableField("characters", nulled=pl.col("raw_characters").is_not_null())],
        dedup_key=credit_key(pl.col("title_id"), pl.col("ordering")),
        parsed_lines=scan_principals,
    )
    return build_clean_plan(raw_path, spec, keys_sorted, invalid_utf8)
