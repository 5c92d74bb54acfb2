"""The seven quality gates of a day, as plain polars over the clean layer's outputs and the staged star schema.

Each gate measures the source's defect before any repair: the clean tables together with the lines the clean step
quarantined and the values it nulled (`quarantine/<day>/<dataset>.{quarantined,nulled}.parquet`), so a defect the
clean step absorbed still counts. A gate returns a `Measure` (rows checked, failing rows by condition, up to
`MAX_FAILING_EXAMPLES` examples with their line in the raw file); `judge` turns it into a `GateResult` against a
threshold.

- `rating_range`: the lines of title.ratings; a line the clean step rejected for its rating or vote count fails.
- `genre_coverage`: the scoped titles of title.basics; one without any genre of IMDb's vocabulary fails.
- `title_completeness`: the scoped titles of title.basics, quarantined lines included (their `titleType` field
  says whether they are scoped); fails: no primary title, no start year on a rated (so released) title, or a line
  that could not be parsed. IMDb leaves the start year of announced titles empty: it is not required of those.
- `person_linking`: the title.principals lines (quarantined ones included) whose title is not a title of another
  type; fails when the person is not in the day's name.basics (dim_person infers such people) or the title is not
  in the day's title.basics.
- `bridge_integrity`: every genre token of the scoped titles (the nulled ones included) and every row of
  `title_genre_bridge`: the token is in IMDb's vocabulary, each valid token is exactly one bridge row whose title
  is current in `dim_title` and whose genre resolves in `dim_genre`, and a title's weighting factors sum to 1.
- `reconciliation`: the raw lines of the four files; every line is a clean row or a quarantined line (duplicates
  included), and the share of lines quarantined for their structure (not for a value a gate above judges) stays
  under a maximum in every file. Its pass rate is the worst file's share of good lines.
- `volume_drift`: the four files; one fails when its line count moved out of a band around the previous published
  day's count.

A gate with nothing to check reports `no_data`: never a pass, never a block (see `judge`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import polars as pl

from media_assets.clean.transforms import DUPLICATE_KEY, parse_imdb_id
from media_assets.model.transforms import current_titles
from media_assets.sources.imdb_files import IMDB_GENRES

RATING_RANGE = "rating_range"
GENRE_COVERAGE = "genre_coverage"
TITLE_COMPLETENESS = "title_completeness"
PERSON_LINKING = "person_linking"
BRIDGE_INTEGRITY = "bridge_integrity"
RECONCILIATION = "reconciliation"
VOLUME_DRIFT = "volume_drift"
SCORED_GATES: tuple[str, ...] = (RATING_RANGE, GENRE_COVERAGE, TITLE_COMPLETENESS, PERSON_LINKING, BRIDGE_INTEGRITY)
"""The seed's five gates: the quality score weighs them 20% each."""
GATE_NAMES: tuple[str, ...] = (*SCORED_GATES, RECONCILIATION, VOLUME_DRIFT)

PASSED, FAILED, NO_DATA = "passed", "failed", "no_data"
MAX_FAILING_EXAMPLES = 20
WEIGHT_SUM_TOLERANCE = 1e-6
RATING_VALUE_REASONS = ("bad_averageRating", "bad_numVotes")
"""The clean step's quarantine reasons for a rating outside 1..10 and a negative or unparseable vote count: judged
by `rating_range`, so `reconciliation` does not count them a second time."""
UNACCOUNTED = "unaccounted"

_FAILED = "_failed"
_FIRST_DATA_LINE = 2
"""Line 1 is the header."""


@dataclass(frozen=True)
class CleanFile:
    """One IMDb file as the clean step left it: its clean table (rows in line order, every data line being either a
    row or a quarantined line) and its two side tables."""

    dataset: str
    table: pl.LazyFrame
    quarantined: pl.LazyFrame
    """`QUARANTINE_SCHEMA`: line_number, reason, raw_line."""
    nulled: pl.LazyFrame
    """`NULLED_SCHEMA`: line_number, field, raw_value."""


@dataclass(frozen=True)
class Example:
    """A failing row: its key, where it is in the raw file, which conditions it failed and what was written."""

    dataset: str
    key: str
    line_number: int | None
    failed: list[str]
    raw_value: str | None = None
    """The value at fault, when one value is (e.g. a genre token)."""
    raw_line: str | None = None
    """The whole line as written (filled in from the raw file for rows of the clean tables)."""

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Measure:
    """What a gate counted, before it is judged."""

    rows_checked: int
    failing_count: int
    failing_by_condition: dict[str, int]
    examples: list[Example]
    pass_rate: float | None
    """The share of rows passing (None without rows), unless the gate defines it otherwise."""
    note: str
    blocking_defect: str | None = None
    """A defect that fails the gate whatever the pass rate (e.g. raw lines the clean step lost)."""


@dataclass(frozen=True)
class GateResult:
    """A gate's verdict for the day."""

    gate: str
    status: str
    """`passed`, `failed` or `no_data`."""
    passed: bool | None
    pass_rate: float | None
    threshold: float
    rows_checked: int
    failing_count: int
    failing_by_condition: dict[str, int]
    failing_examples: list[Example]
    note: str

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "passed": self.passed,
            "pass_rate": self.pass_rate,
            "threshold": self.threshold,
            "rows_checked": self.rows_checked,
            "failing_count": self.failing_count,
            "failing_by_condition": self.failing_by_condition,
            "failing_examples": [example.to_json() for example in self.failing_examples],
            "note": self.note,
        }


# --- counting defects ------------------------------------------------------------------------------------------


def count_defects(
    parts: Sequence[pl.LazyFrame], defects: Mapping[str, pl.Expr], order_by: Sequence[str], first_in_order: bool = False
) -> tuple[int, int, dict[str, int], pl.DataFrame]:
    """Flag every row of `parts` with each defect (name -> boolean expression; null counts as a defect).

    Returns rows checked, failing rows, failing rows by defect and a sample of failing rows holding the first
    `MAX_FAILING_EXAMPLES` of each part by `order_by`, with their defects in a list column `failed`. The parts are
    ordered apart (a clean table's rows, the quarantined lines known by their line_number): the first of each,
    located in the file by `examples_of`, hold the first failing lines. `first_in_order`: the first part already
    comes in `order_by`'s order (a clean table's rows, by position), so its first failing rows are the first found
    and its read for the sample stops there: the counts are the one full pass over a large table.
    """

    def flagged(rows: pl.LazyFrame) -> pl.LazyFrame:
        rows = rows.with_columns(**{name: expr.fill_null(True) for name, expr in defects.items()})
        return rows.with_columns(pl.any_horizontal(list(defects)).alias(_FAILED))

    counts = (
        flagged(pl.concat(parts, how="diagonal"))
        .select(
            rows_checked=pl.len(), failing_count=pl.col(_FAILED).sum(), **{name: pl.col(name).sum() for name in defects}
        )
        .collect(engine="streaming")
    )
    samples = []
    for index, part in enumerate(parts):
        failing = flagged(part).filter(_FAILED)
        samples.append(
            (failing if index == 0 and first_in_order else failing.sort(order_by, nulls_last=True)).head(
                MAX_FAILING_EXAMPLES
            )
        )
    sample = (
        pl.concat(samples, how="diagonal")
        .with_columns(failed=pl.concat_list([pl.when(name).then(pl.lit(name)) for name in defects]).list.drop_nulls())
        .drop(*defects, _FAILED)
        .collect(engine="streaming")
    )
    by_defect = {name: counts[name].item() or 0 for name in defects}
    return counts["rows_checked"].item(), counts["failing_count"].item() or 0, by_defect, sample


def share_passing(rows_checked: int, failing_count: int) -> float | None:
    return None if rows_checked == 0 else (rows_checked - failing_count) / rows_checked


# --- where a clean row is in the raw file --------------------------------------------------------------------------


def _quarantined_lines(quarantined: pl.LazyFrame) -> pl.LazyFrame:
    """The quarantined line numbers in order, each with how many lines were quarantined up to it (itself included)
    and how many clean rows come before it."""
    return (
        quarantined.select("line_number")
        .sort("line_number")
        .with_row_index("quarantined_so_far", offset=1)
        .select(
            quarantined_line="line_number",
            quarantined_so_far=pl.col("quarantined_so_far").cast(pl.Int64),
            rows_before=pl.col("line_number") - _FIRST_DATA_LINE - pl.col("quarantined_so_far").cast(pl.Int64) + 1,
        )
    )


def line_numbers_of_rows(rows: pl.DataFrame, quarantined: pl.LazyFrame) -> pl.DataFrame:
    """`rows` (column `row_index`: the 0-based position in a clean table) with `line_number` set: the clean table
    holds the file's data lines in order minus the quarantined ones, so row i is line i + 2 + the number of lines
    quarantined before it."""
    mapped = (
        rows.lazy()
        .with_columns(pl.col("row_index").cast(pl.Int64))
        .sort("row_index")
        .join_asof(_quarantined_lines(quarantined), left_on="row_index", right_on="rows_before", strategy="backward")
        .with_columns(line_number=pl.col("row_index") + _FIRST_DATA_LINE + pl.col("quarantined_so_far").fill_null(0))
        .drop("quarantined_line", "quarantined_so_far", "rows_before")
    )
    return mapped.collect()


def rows_of_lines(lines: pl.LazyFrame, quarantined: pl.LazyFrame) -> pl.LazyFrame:
    """`lines` (column `line_number` of lines that became clean rows, e.g. of nulled values) with `row_index`, their
    position in the clean table (the inverse of `line_numbers_of_rows`)."""
    return (
        lines.sort("line_number")
        .join_asof(
            _quarantined_lines(quarantined), left_on="line_number", right_on="quarantined_line", strategy="backward"
        )
        .with_columns(row_index=pl.col("line_number") - _FIRST_DATA_LINE - pl.col("quarantined_so_far").fill_null(0))
        .drop("quarantined_line", "quarantined_so_far", "rows_before")
    )


def indexed(table: pl.LazyFrame) -> pl.LazyFrame:
    """A clean table with each row's position (`row_index`, Int64)."""
    return table.with_row_index("row_index").with_columns(pl.col("row_index").cast(pl.Int64))


def examples_of(sample: pl.DataFrame, dataset: str, quarantined: pl.LazyFrame) -> list[Example]:
    """Examples from sampled failing rows (columns key, failed, and row_index or line_number; optionally raw_value
    and raw_line), in line order."""
    if sample.is_empty():
        return []
    for name in ("row_index", "line_number", "raw_value", "raw_line"):
        if name not in sample.columns:
            sample = sample.with_columns(
                pl.lit(None, pl.Int64 if name in ("row_index", "line_number") else pl.String).alias(name)
            )
    from_rows = sample.filter(pl.col("row_index").is_not_null() & pl.col("line_number").is_null())
    located = pl.concat(
        [
            line_numbers_of_rows(from_rows.drop("line_number"), quarantined).select(sample.columns),
            sample.filter(~(pl.col("row_index").is_not_null() & pl.col("line_number").is_null())),
        ]
    ).sort("line_number", nulls_last=True)
    return [
        Example(
            dataset=dataset,
            key=row["key"],
            line_number=row["line_number"],
            failed=list(row["failed"]),
            raw_value=row["raw_value"],
            raw_line=row["raw_line"],
        )
        for row in located.head(MAX_FAILING_EXAMPLES).iter_rows(named=True)
    ]


def _tconst(title_id: pl.Expr) -> pl.Expr:
    """IMDb's text id of a title id (at least 7 digits)."""
    return pl.format("tt{}", title_id.cast(pl.String).str.zfill(7))


def _raw_field(index: int) -> pl.Expr:
    """A tab-separated field of a quarantined line (null past its last field)."""
    return pl.col("raw_line").str.split("\t").list.get(index, null_on_oob=True)


def _ids(table: pl.LazyFrame, column: str) -> pl.Series:
    """The values of a key column, for `is_in` (measured: a third of the time of a left join, which also needs
    the keys unique)."""
    return table.select(column).collect(engine="streaming")[column].implode()


@dataclass(frozen=True)
class TitleBasics:
    """title.basics as the gates use it, read once for all of them: the scoped titles with the columns the gates
    judge (in memory: a sixth of the file's rows), and the ids of every title and of the titles of other types."""

    file: CleanFile
    title_types: Sequence[str]
    scoped: pl.DataFrame
    """row_index, title_id, tconst, primary_title, start_year, genres."""
    ids: pl.Series
    """Every title's id, imploded for `is_in`."""
    other_type_ids: pl.Series
    """The ids of the titles of a type out of scope, imploded for `is_in`."""


def read_title_basics(titles: CleanFile, title_types: Sequence[str]) -> TitleBasics:
    """What the gates read of title.basics, in one scan."""
    in_scope = pl.col("title_type").is_in(list(title_types))
    scoped, every_title = pl.collect_all(
        [
            indexed(titles.table)
            .filter(in_scope)
            .select("row_index", "title_id", "tconst", "primary_title", "start_year", "genres"),
            titles.table.select("title_id", out_of_scope=~in_scope),
        ],
        engine="streaming",
    )
    return TitleBasics(
        file=titles,
        title_types=title_types,
        scoped=scoped,
        ids=every_title["title_id"].implode(),
        other_type_ids=every_title.filter("out_of_scope")["title_id"].implode(),
    )


# --- the five seed gates ---------------------------------------------------------------------------------------


def measure_rows(
    clean_file: CleanFile,
    parts: Sequence[pl.LazyFrame],
    defects: Mapping[str, pl.Expr],
    order_by: Sequence[str],
    key: pl.Expr,
    subject: str,
    first_in_order: bool = False,
) -> Measure:
    """A gate over the rows of one file, in parts (see `count_defects`; columns row_index or line_number; optionally
    raw_value, raw_line): defects counted with `count_defects`, the examples keyed by `key` (evaluated on them only:
    building a text key for every row costs more than the gate) and located in the file. `subject` names the rows,
    for the note."""
    checked, failing, by_defect, sample = count_defects(parts, defects, order_by, first_in_order)
    sample = sample.with_columns(key=key)
    return Measure(
        rows_checked=checked,
        failing_count=failing,
        failing_by_condition=by_defect,
        examples=examples_of(sample, clean_file.dataset, clean_file.quarantined),
        pass_rate=share_passing(checked, failing),
        note=f"{checked - failing:,} of {checked:,} {subject}",
    )


def _quarantined_rows(clean_file: CleanFile) -> pl.LazyFrame:
    """A file's quarantined lines as rows of a gate: line_number, raw_line, reason (row_index null)."""
    return clean_file.quarantined.select(
        row_index=pl.lit(None, pl.Int64), line_number="line_number", raw_line="raw_line", reason="reason"
    )


def _text_key(column: str) -> pl.Expr:
    """A row's text id, or for a quarantined line its first field."""
    return pl.coalesce(column, _raw_field(0))


def _reason_is(reason: str) -> pl.Expr:
    return pl.col("reason").eq(reason).fill_null(False)


def rating_range(ratings: CleanFile) -> Measure:
    """The lines of title.ratings; those the clean step quarantined for their rating (outside 1..10, unparseable)
    or vote count (negative, unparseable) fail."""
    clean_rows = indexed(ratings.table).select(
        "row_index",
        "tconst",
        line_number=pl.lit(None, pl.Int64),
        raw_line=pl.lit(None, pl.String),
        reason=pl.lit(None, pl.String),
    )
    return measure_rows(
        ratings,
        [clean_rows, _quarantined_rows(ratings)],
        {reason: _reason_is(reason) for reason in RATING_VALUE_REASONS},
        ["line_number", "row_index"],
        _text_key("tconst"),
        "rating lines have a rating within 1..10 and a vote count >= 0",
        first_in_order=True,
    )


def genre_coverage(titles: TitleBasics) -> Measure:
    """The scoped titles; one without a genre of IMDb's vocabulary fails (no genres, or only invalid tokens)."""
    return measure_rows(
        titles.file,
        [titles.scoped.lazy().select("row_index", "tconst", "genres")],
        {"no_genre": ~pl.col("genres").list.eval(pl.element().is_in(IMDB_GENRES)).list.any()},
        ["row_index"],
        pl.col("tconst"),
        "scoped titles have a genre of IMDb's vocabulary",
        first_in_order=True,
    )


def title_completeness(titles: TitleBasics, ratings: CleanFile) -> Measure:
    """The scoped titles, quarantined lines included: a primary title, a start year when the title is rated, and a
    line that parses."""
    clean_rows = titles.scoped.lazy().select(
        "row_index",
        "tconst",
        line_number=pl.lit(None, pl.Int64),
        raw_line=pl.lit(None, pl.String),
        reason=pl.lit(None, pl.String),
        primary_title_missing=pl.col("primary_title").str.strip_chars().str.len_chars().fill_null(0) == 0,
        start_year_missing_on_rated_title=pl.col("start_year").is_null()
        & pl.col("title_id").is_in(_ids(ratings.table, "title_id")),
    )
    # A repeated key is a second line of a title already counted; other quarantined lines are titles that did not
    # parse, scoped when their titleType field says so.
    quarantined_rows = (
        _quarantined_rows(titles.file)
        .filter((pl.col("reason") != DUPLICATE_KEY) & _raw_field(1).is_in(list(titles.title_types)))
        .with_columns(primary_title_missing=pl.lit(False), start_year_missing_on_rated_title=pl.lit(False))
    )
    reasons = titles.file.quarantined.select(pl.col("reason").unique().sort()).collect()["reason"]
    return measure_rows(
        titles.file,
        [clean_rows, quarantined_rows],
        {
            "primary_title_missing": pl.col("primary_title_missing"),
            "start_year_missing_on_rated_title": pl.col("start_year_missing_on_rated_title"),
            **{reason: _reason_is(reason) for reason in reasons if reason != DUPLICATE_KEY},
        },
        ["line_number", "row_index"],
        _text_key("tconst"),
        "scoped titles are complete (quarantined lines included)",
        first_in_order=True,
    )


def person_linking(principals: CleanFile, titles: TitleBasics, names: CleanFile) -> Measure:
    """The principals lines (quarantined ones included) except those of a title of another type: the person must
    be in name.basics, the title in title.basics. The one full read of the principals (a hundred million lines at
    IMDb's size) is the counts' pass over the two id columns; the examples are read up to the first failing lines."""
    clean_rows = indexed(principals.table).select(
        "row_index", "title_id", "ordering", "person_id", line_number=pl.lit(None, pl.Int64)
    )
    quarantined_rows = _quarantined_rows(principals).with_columns(
        title_id=parse_imdb_id(_raw_field(0), "tt"), person_id=parse_imdb_id(_raw_field(2), "nm")
    )
    of_scoped_titles = ~pl.col("title_id").is_in(titles.other_type_ids)
    return measure_rows(
        principals,
        [clean_rows.filter(of_scoped_titles), quarantined_rows.filter(of_scoped_titles)],
        {
            "person_not_in_name_basics": ~pl.col("person_id").is_in(_ids(names.table, "person_id")),
            "title_not_in_title_basics": ~pl.col("title_id").is_in(titles.ids),
        },
        ["line_number", "row_index"],
        pl.when(pl.col("raw_line").is_null())
        .then(pl.format("{}/{}", _tconst(pl.col("title_id")), pl.col("ordering")))
        .otherwise(pl.format("{}/{}", _raw_field(0), _raw_field(1))),
        "credits of scoped titles name a known person and title",
        first_in_order=True,
    )


def bridge_integrity(
    titles: TitleBasics,
    dim_title: pl.LazyFrame,
    dim_genre: pl.LazyFrame,
    title_genre_bridge: pl.LazyFrame,
) -> Measure:
    """Every genre token of the scoped titles (nulled ones included) and every bridge row, matched on (title,
    genre name); see the module for the conditions."""
    scoped = titles.scoped.lazy()
    kept_tokens = scoped.select("title_id", genre=pl.col("genres").list.unique(maintain_order=True)).explode("genre")
    nulled_tokens = (
        rows_of_lines(
            titles.file.nulled.filter(pl.col("field") == "genres").select("line_number", genre="raw_value"),
            titles.file.quarantined,
        )
        .join(scoped.select("row_index", "title_id"), on="row_index", how="inner")
        .select("title_id", "genre")
    )
    # The kept tokens are unique within a title already: only the nulled ones (a few) are matched against them.
    kept_tokens = kept_tokens.drop_nulls("genre")
    nulled_titles = kept_tokens.filter(pl.col("title_id").is_in(_ids(nulled_tokens, "title_id")))
    source = pl.concat(
        [
            kept_tokens,
            nulled_tokens.unique(keep="first", maintain_order=True).join(
                nulled_titles, on=["title_id", "genre"], how="anti", maintain_order="left"
            ),
        ]
    ).with_columns(from_source=pl.lit(True))
    weights = title_genre_bridge.group_by("title_id").agg(
        weight_sum=pl.col("weighting_factor").sum(), weight_nulls=pl.col("weighting_factor").null_count()
    )
    bridge = (
        title_genre_bridge.select("title_id", "genre_id", "weighting_factor")
        .with_columns(pair_rows=pl.len().over("title_id", "genre_id"), in_bridge=pl.lit(True))
        .join(weights, on="title_id", how="left", maintain_order="left")
        .join(dim_genre.select("genre_id", genre="genre_name"), on="genre_id", how="left")
        .with_columns(title_current=pl.col("title_id").is_in(_ids(current_titles(dim_title), "title_id")))
    )
    in_vocabulary = pl.col("genre").is_in(IMDB_GENRES)
    # A bridge row whose genre does not resolve has no name to match a token with: it stays a row of its own. Each
    # row is located at its title's line.
    rows = (
        source.join(bridge, on=["title_id", "genre"], how="full", coalesce=True)
        .join(scoped.select("title_id", "row_index"), on="title_id", how="left")
        .with_columns(raw_value=pl.when(~in_vocabulary).then("genre"))
    )
    in_bridge = pl.col("in_bridge").fill_null(False)
    from_source = pl.col("from_source").fill_null(False)
    return measure_rows(
        titles.file,
        [rows.collect(engine="streaming").lazy()],  # the joins once, for both the counts and the examples
        {
            "genre_not_in_vocabulary": pl.col("genre").is_not_null() & ~in_vocabulary,
            "missing_from_bridge": from_source & in_vocabulary & ~in_bridge,
            "not_from_source": in_bridge & ~from_source,
            "genre_not_in_dim_genre": in_bridge & pl.col("genre").is_null(),
            "title_not_current_in_dim_title": in_bridge & ~pl.col("title_current"),
            "duplicate_pair": in_bridge & (pl.col("pair_rows") > 1),
            "weights_not_summing_to_1": in_bridge
            & ((pl.col("weight_nulls") > 0) | ((pl.col("weight_sum") - 1).abs() > WEIGHT_SUM_TOLERANCE)),
        },
        ["row_index", "genre"],
        pl.format(
            "{} {}", _tconst(pl.col("title_id")), pl.coalesce("genre", pl.format("genre_id {}", pl.col("genre_id")))
        ),
        "genre tokens of scoped titles and bridge rows are consistent",
    )


# --- the two gates on the files as a whole ---------------------------------------------------------------------


def reconciliation(files: Sequence[CleanFile], raw_lines: Mapping[str, int], max_quarantine_share: float) -> Measure:
    """Every raw data line is a clean row or a quarantined line, and in each file the lines quarantined for their
    structure (any reason but `RATING_VALUE_REASONS`) and the lines unaccounted for stay within
    `max_quarantine_share`. The pass rate is the worst file's share of good lines."""
    rows_checked = failing = 0
    by_defect: dict[str, int] = {}
    file_rates = []
    unaccounted_files = []
    samples = []
    for clean_file in files:
        structural = clean_file.quarantined.filter(~pl.col("reason").is_in(RATING_VALUE_REASONS))
        clean_rows, quarantined, reasons, sample = pl.collect_all(
            [
                clean_file.table.select(pl.len()),
                clean_file.quarantined.select(pl.len()),
                structural.group_by("reason").len().sort("reason"),
                structural.sort("line_number").head(MAX_FAILING_EXAMPLES),
            ]
        )
        lines = raw_lines[clean_file.dataset]
        unaccounted = abs(lines - clean_rows.item() - quarantined.item())
        file_failing = reasons["len"].sum() + unaccounted
        by_defect |= {f"{clean_file.dataset}: {reason}": count for reason, count in reasons.iter_rows()}
        if unaccounted:
            by_defect[f"{clean_file.dataset}: {UNACCOUNTED}"] = unaccounted
            unaccounted_files.append(f"{clean_file.dataset} ({unaccounted:,})")
        if lines:
            file_rates.append(1 - file_failing / lines)
        rows_checked += lines
        failing += file_failing
        samples.extend(
            Example(
                clean_file.dataset,
                row["raw_line"].split("\t")[0],
                row["line_number"],
                [row["reason"]],
                raw_line=row["raw_line"],
            )
            for row in sample.iter_rows(named=True)
        )
    return Measure(
        rows_checked=rows_checked,
        failing_count=failing,
        failing_by_condition=by_defect,
        examples=samples[:MAX_FAILING_EXAMPLES],
        pass_rate=min(file_rates) if file_rates else None,
        note=f"{rows_checked:,} raw lines; worst file's share of lines quarantined for their structure: "
        + ("n/a" if not file_rates else f"{1 - min(file_rates):.4%} (at most {max_quarantine_share:.2%})"),
        blocking_defect=(
            "raw lines that are neither a clean row nor a quarantined line: " + ", ".join(unaccounted_files)
            if unaccounted_files
            else None
        ),
    )


def volume_drift(
    raw_lines: Mapping[str, int], previous_raw_lines: Mapping[str, int] | None, previous_day: str | None, band: float
) -> Measure:
    """Each file's data lines within ±`band` of the previous published day's (a file that had none must have none);
    nothing to compare on a first day."""
    if previous_raw_lines is None:
        return Measure(0, 0, {}, [], None, "no earlier published day to compare with")
    examples = []
    compared = [dataset for dataset in raw_lines if dataset in previous_raw_lines]
    for dataset in compared:
        before, now = previous_raw_lines[dataset], raw_lines[dataset]
        if abs(now - before) > band * before or (before == 0 and now > 0):
            change = f"{(now - before) / before:+.1%}" if before else "new lines"
            examples.append(
                Example(
                    dataset,
                    dataset,
                    None,
                    ["lines_out_of_band"],
                    raw_value=f"{now:,} lines, {before:,} on {previous_day} ({change})",
                )
            )
    return Measure(
        rows_checked=len(compared),
        failing_count=len(examples),
        failing_by_condition={"lines_out_of_band": len(examples)},
        examples=examples,
        pass_rate=share_passing(len(compared), len(examples)),
        note=f"{len(compared) - len(examples)} of {len(compared)} files within ±{band:.0%} of {previous_day}",
    )


# --- verdict -------------------------------------------------------------------------------------------------------


def relative_threshold(floor: float, previous_pass_rate: float | None, max_drop: float) -> float:
    """A scored gate's threshold: its absolute floor, raised to the previous published day's pass rate minus
    `max_drop` when there is one (a pass rate may not fall by more than `max_drop` from one published day to the
    next, which catches a defect above a floor set low for IMDb's normal gaps)."""
    if previous_pass_rate is None:
        return floor
    return max(floor, round(previous_pass_rate - max_drop, 12))  # rounded: no 0.8900000000000001 in the report


def judge(gate: str, measure: Measure, threshold: float) -> GateResult:
    """The verdict: `no_data` without a pass rate (passed null: neither a pass nor a block), else passed when the
    pass rate reaches the threshold and no blocking defect was found."""
    if measure.pass_rate is None:
        status, passed = NO_DATA, None
    else:
        passed = measure.pass_rate >= threshold and measure.blocking_defect is None
        status = PASSED if passed else FAILED
    note = measure.note if measure.blocking_defect is None else f"{measure.note}; {measure.blocking_defect}"
    return GateResult(
        gate=gate,
        status=status,
        passed=passed,
        pass_rate=measure.pass_rate,
        threshold=threshold,
        rows_checked=measure.rows_checked,
        failing_count=measure.failing_count,
        failing_by_condition=measure.failing_by_condition,
        failing_examples=measure.examples,
        note=note,
    )


def quality_score(pass_rates: Mapping[str, float | None]) -> float | None:
    """The seed's five gates weighed 20% each; None when any of them has no pass rate (no data, or not evaluated):
    an empty input never scores."""
    if any(pass_rates.get(gate) is None for gate in SCORED_GATES):
        return None
    return sum(pass_rates[gate] for gate in SCORED_GATES) / len(SCORED_GATES)
