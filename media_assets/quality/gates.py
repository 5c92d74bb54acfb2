"""The five quality gates over the star schema, as plain polars: each judges rows against named conditions.

A gate's pass rate is the share of judged rows meeting all its conditions (a null counts as not met). A gate
with no rows to judge passes with rate 1.0 and says so in its note: an empty table is not bad data, and the
row counts recorded on every materialization show an unexpectedly empty day.

The quality score weighs the five pass rates equally (20% each).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

RATING_RANGE = "rating_range"
GENRE_COVERAGE = "genre_coverage"
TITLE_COMPLETENESS = "title_completeness"
PERSON_LINKING = "person_linking"
BRIDGE_INTEGRITY = "bridge_integrity"
GATE_NAMES: tuple[str, ...] = (RATING_RANGE, GENRE_COVERAGE, TITLE_COMPLETENESS, PERSON_LINKING, BRIDGE_INTEGRITY)

MAX_FAILING_KEYS = 20
WEIGHT_SUM_TOLERANCE = 1e-6
_JUDGED = "_judged_passed"


@dataclass(frozen=True)
class GateResult:
    """What a gate found: how many rows it judged, how many failed and why, and a sample of failing keys."""

    gate: str
    rows_checked: int
    failing_count: int
    failing_by_condition: dict[str, int]
    failing_keys: list[dict]
    """Up to MAX_FAILING_KEYS failing rows (smallest keys first): the key columns and the conditions not met."""
    note: str

    @property
    def pass_rate(self) -> float:
        if self.rows_checked == 0:
            return 1.0
        return (self.rows_checked - self.failing_count) / self.rows_checked


def judge(
    gate: str, rows: pl.LazyFrame, key_columns: Sequence[str], conditions: Mapping[str, pl.Expr], subject: str
) -> GateResult:
    """Judge every row of `rows` against `conditions` (name -> boolean expression) in one pass.

    `subject` names what a row is (e.g. "current titles"), for the note.
    """
    met = rows.select(*key_columns, **{name: expr.fill_null(False) for name, expr in conditions.items()})
    met = met.with_columns(pl.all_horizontal(list(conditions)).alias(_JUDGED))
    counts_query = met.select(
        pl.len().alias("rows_checked"),
        (~pl.col(_JUDGED)).sum().alias("failing_count"),
        *[(~pl.col(name)).sum().alias(name) for name in conditions],
    )
    sample_query = (
        met.filter(~pl.col(_JUDGED))
        .sort(key_columns, nulls_last=True)
        .head(MAX_FAILING_KEYS)
        .select(
            *key_columns,
            failed=pl.concat_list([pl.when(~pl.col(name)).then(pl.lit(name)) for name in conditions]).list.drop_nulls(),
        )
    )
    counts, sample = pl.collect_all([counts_query, sample_query])
    rows_checked = counts["rows_checked"].item()
    failing_count = counts["failing_count"].item()
    if rows_checked == 0:
        note = f"no {subject} to judge: passes with rate 1.0"
    else:
        note = f"{rows_checked - failing_count:,} of {rows_checked:,} {subject} pass"
    return GateResult(
        gate=gate,
        rows_checked=rows_checked,
        failing_count=failing_count,
        failing_by_condition={name: counts[name].item() for name in conditions},
        failing_keys=sample.to_dicts(),
        note=note,
    )


def _current_titles(dim_title: pl.LazyFrame) -> pl.LazyFrame:
    return dim_title.filter(pl.col("is_current"))


def _found(keys: pl.LazyFrame, key_column: str, flag: str) -> pl.LazyFrame:
    """Distinct values of `key_column`, flagged, for a left join that marks which rows resolve."""
    return keys.select(key_column).unique().with_columns(pl.lit(True).alias(flag))


def rating_range_gate(fact_ratings: pl.LazyFrame) -> GateResult:
    """Ratings within IMDb's scale: average and weighted rating within [1, 10], vote counts not negative."""
    return judge(
        RATING_RANGE,
        fact_ratings,
        ["title_id"],
        {
            "average_rating_in_1_10": pl.col("average_rating").is_between(1, 10),
            "num_votes_not_negative": pl.col("num_votes") >= 0,
            "weighted_rating_in_1_10": pl.col("bayesian_weighted_rating").is_between(1, 10),
        },
        "ratings",
    )


def genre_coverage_gate(dim_title: pl.LazyFrame, title_genre_bridge: pl.LazyFrame) -> GateResult:
    """Current titles (dim_title is already scoped to the model's title types) with at least one genre in the
    bridge."""
    titles = _current_titles(dim_title).select("title_id", "tconst")
    with_genre = titles.join(_found(title_genre_bridge, "title_id", "has_genre"), on="title_id", how="left")
    return judge(
        GENRE_COVERAGE, with_genre, ["title_id", "tconst"], {"has_genre": pl.col("has_genre")}, "current titles"
    )


def title_completeness_gate(dim_title: pl.LazyFrame) -> GateResult:
    """Current titles whose required fields are present: tconst, primary title (not blank), title type, start year."""
    return judge(
        TITLE_COMPLETENESS,
        _current_titles(dim_title),
        ["title_id", "tconst"],
        {
            "tconst_present": pl.col("tconst").str.strip_chars().str.len_chars() > 0,
            "primary_title_present": pl.col("primary_title").str.strip_chars().str.len_chars() > 0,
            "title_type_present": pl.col("title_type").str.strip_chars().str.len_chars() > 0,
            "start_year_present": pl.col("start_year").is_not_null(),
        },
        "current titles",
    )


def person_linking_gate(fact_cast_crew: pl.LazyFrame, dim_person: pl.LazyFrame, dim_title: pl.LazyFrame) -> GateResult:
    """Credits whose person is in dim_person and whose title is a current title of dim_title (facts describe the
    current snapshot, so a credit pointing only at closed history is broken too)."""
    credits = (
        fact_cast_crew.select("credit_id", "title_id", "person_id")
        .join(_found(dim_person, "person_id", "person_found"), on="person_id", how="left")
        .join(_found(_current_titles(dim_title), "title_id", "title_found"), on="title_id", how="left")
    )
    return judge(
        PERSON_LINKING,
        credits,
        ["credit_id", "title_id", "person_id"],
        {"person_found": pl.col("person_found"), "title_found": pl.col("title_found")},
        "credits",
    )


def bridge_integrity_gate(
    title_genre_bridge: pl.LazyFrame, dim_title: pl.LazyFrame, dim_genre: pl.LazyFrame
) -> GateResult:
    """Bridge rows whose title (current) and genre resolve, whose (title, genre) pair is unique, and whose title's
    weighting factors sum to 1."""
    bridge = (
        title_genre_bridge.select("title_id", "genre_id", "weighting_factor")
        .join(_found(_current_titles(dim_title), "title_id", "title_found"), on="title_id", how="left")
        .join(_found(dim_genre, "genre_id", "genre_found"), on="genre_id", how="left")
    )
    return judge(
        BRIDGE_INTEGRITY,
        bridge,
        ["title_id", "genre_id"],
        {
            "title_found": pl.col("title_found"),
            "genre_found": pl.col("genre_found"),
            "unique_pair": pl.len().over("title_id", "genre_id") == 1,
            # A null factor fails its row even if the title's other factors happen to sum to 1.
            "weights_sum_to_1": pl.col("weighting_factor").is_not_null()
            & ((pl.col("weighting_factor").sum().over("title_id") - 1).abs() <= WEIGHT_SUM_TOLERANCE),
        },
        "bridge rows",
    )


def quality_score(pass_rates: Mapping[str, float]) -> float | None:
    """The five gates' pass rates weighed 20% each; None when a gate has no pass rate (it was never evaluated)."""
    if any(pass_rates.get(gate) is None for gate in GATE_NAMES):
        return None
    return sum(pass_rates[gate] for gate in GATE_NAMES) / len(GATE_NAMES)
