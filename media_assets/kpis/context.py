"""What every KPI starts from: the day's star schema read once into narrow in-memory frames (`KpiContext`), the
exact arithmetic that keeps `kpis.json` reproducible, and the shape of a KPI's definition (`KpiSpec`).

Reproducibility: polars sums floats in an order that depends on chunks and threads, so no KPI sums a float.
Ratings are summed as integer tenths (IMDb ratings have one decimal), weighted ratings as integer millionths and
bridge weights as integer multiples of 1 / lcm(1..28) (exact for 1/k, k up to IMDb's 28 genres); a mean or share
is one integer divided by another at the end, and rankings compare those exact figures or integers.
"""

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from media_assets.kpis.report import RatingParameters, Scalar
from media_assets.model.transforms import BAYES_M_QUANTILE, MODEL_TABLES, current_titles
from media_assets.sources.imdb_files import IMDB_GENRES

RATING_UNITS = 10
"""average_rating is summed in tenths: IMDb gives it with one decimal."""
GENRE_WEIGHT_UNITS = math.lcm(*range(1, len(IMDB_GENRES) + 1))
"""Bridge weights (1/k for a title of k genres) are summed as integer multiples of 1/lcm(1..28): exact for every
k a title of IMDb's vocabulary can have, and at most ~8e10 per title, so sums over 12M titles fit in Int64."""


def in_units(column: str, units: int) -> pl.Expr:
    """`column` as an integer count of 1/`units` (rounded to the nearest), so that it sums exactly."""
    return (pl.col(column) * units).round(0).cast(pl.Int64)


def exact_ratio(numerator: int | None, denominator: int | None) -> float | None:
    """numerator / denominator, None when there is nothing to divide by (no rows) or nothing summed."""
    return None if not denominator or numerator is None else numerator / denominator


def with_rank(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Rank 1.. in the frame's (fully ordered) row order, as the first column."""
    return frame.select(pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("rank"), pl.all())


@dataclass(frozen=True)
class StarSchema:
    """The model tables of one day, lazily (dim_title keeps SCD2 history; the KPIs use its current rows)."""

    dim_title: pl.LazyFrame
    dim_person: pl.LazyFrame
    dim_genre: pl.LazyFrame
    dim_date: pl.LazyFrame
    title_genre_bridge: pl.LazyFrame
    fact_ratings: pl.LazyFrame
    fact_cast_crew: pl.LazyFrame

    @classmethod
    def scan(cls, tables: Mapping[str, Path]) -> "StarSchema":
        """The published Parquet files of a day (`PublishedDay.tables`)."""
        missing = [name for name in MODEL_TABLES if name not in tables]
        if missing:
            raise ValueError(f"the published star schema lacks the tables {missing}; publish the day again")
        return cls(**{name: pl.scan_parquet(tables[name]) for name in MODEL_TABLES})


@dataclass(frozen=True)
class PreviousRatings:
    """fact_ratings (title_id and num_votes at least) of the latest earlier published day, for the vote gains."""

    snapshot_date: dt.date
    fact_ratings: pl.DataFrame


@dataclass(frozen=True)
class KpiLimits:
    """Sizes of the rankings and windows (KPI descriptions name them in braces, e.g. `{top_titles}`)."""

    top_titles: int = 25
    top_people: int = 25
    trending_titles: int = 25
    longest_careers: int = 10
    min_career_credits: int = 5
    recent_years: int = 30


def rating_parameters(ratings: pl.DataFrame) -> RatingParameters:
    """m and C of the Bayesian weighted rating over the day's fact_ratings: m = quantile_cont(num_votes, 0.25)
    (linear interpolation), C = the exact sum of the ratings in tenths over 10 x the count."""
    stats = ratings.select(
        m=pl.col("num_votes").quantile(BAYES_M_QUANTILE, interpolation="linear"),
        rating_units=in_units("average_rating", RATING_UNITS).sum(),
        rated=pl.len(),
    ).row(0, named=True)
    return RatingParameters(m=stats["m"], C=exact_ratio(stats["rating_units"], RATING_UNITS * stats["rated"]))


def narrowed_model(model: StarSchema) -> dict[str, pl.LazyFrame]:
    """The frames of `KpiContext`, by field name, narrowed to the columns the KPIs use."""
    titles = current_titles(model.dim_title).select(
        "title_id",
        "tconst",
        "primary_title",
        "title_type",
        pl.col("start_year").cast(pl.Int32),
        "runtime_minutes",
    )
    # A bridge may pass its gate with a few duplicate pairs: each title counts once per genre (with the smallest
    # weight, so that the choice does not depend on row order).
    genre_titles = (
        model.title_genre_bridge.group_by("title_id", "genre_id")
        .agg(pl.col("weighting_factor").min())
        .join(titles.select("title_id"), on="title_id", how="semi")
        .join(model.dim_genre.select("genre_id", "genre_name"), on="genre_id", how="inner")
        .select("title_id", "genre_name", "weighting_factor")
    )
    return {
        "titles": titles,
        "ratings": model.fact_ratings.select(
            "title_id", "average_rating", "num_votes", "bayesian_weighted_rating", "vote_tier", "rating_bucket"
        ),
        "people": model.dim_person.select("person_id", "nconst", "primary_name"),
        "decades": model.dim_date.select(pl.col("year").cast(pl.Int32), "decade", "decade_label"),
        "genre_titles": genre_titles,
        "credits": model.fact_cast_crew.select("title_id", "person_id", "category").join(
            titles.select("title_id"), on="title_id", how="semi"
        ),
    }


def check_start_years_in_dim_date(titles: pl.DataFrame, decades: pl.DataFrame) -> None:
    """Fails when a title's start year has no row in dim_date: the decade KPIs would lose the title."""
    missing = (
        titles.select("start_year")
        .drop_nulls()
        .unique()
        .join(decades, left_on="start_year", right_on="year", how="anti")["start_year"]
        .sort()
    )
    if len(missing):
        raise ValueError(
            f"dim_date has no row for the start years {missing.to_list()} of current titles in dim_title: the decade "
            "KPIs would lose those titles"
        )


@dataclass(frozen=True)
class KpiContext:
    """The day's star schema narrowed to the columns the KPIs use (`narrowed_model`), in memory: each file is read
    once, whatever the number of KPIs reading it."""

    snapshot_date: dt.date
    limits: KpiLimits
    titles: pl.DataFrame
    """Current titles of dim_title (the day's scoped titles), start_year as Int32."""
    ratings: pl.DataFrame
    people: pl.DataFrame
    decades: pl.DataFrame
    """dim_date: year -> decade, decade_label."""
    genre_titles: pl.DataFrame
    """(title_id, genre_name, weighting_factor) of the current titles, one row per pair."""
    credits: pl.DataFrame
    """(title_id, person_id, category) of fact_cast_crew for current titles."""
    parameters: RatingParameters
    previous: PreviousRatings | None
    tmdb_details: pl.DataFrame | None

    @classmethod
    def load(
        cls,
        model: StarSchema,
        snapshot_date: dt.date,
        previous: PreviousRatings | None = None,
        tmdb_details: pl.DataFrame | None = None,
        limits: KpiLimits = KpiLimits(),
    ) -> "KpiContext":
        """Read the model once, in one collection (shared scans are read once); fails when a current title's start
        year has no row in dim_date (the decade KPIs would lose it)."""
        narrowed = narrowed_model(model)
        frames = dict(zip(narrowed, pl.collect_all(list(narrowed.values())), strict=True))
        check_start_years_in_dim_date(frames["titles"], frames["decades"])
        return cls(
            snapshot_date=snapshot_date,
            limits=limits,
            **frames,
            parameters=rating_parameters(frames["ratings"]),
            previous=previous,
            tmdb_details=tmdb_details,
        )

    def titles_with_decade(self) -> pl.LazyFrame:
        """Current titles with a start year, with its decade from dim_date."""
        return self.titles.lazy().join(self.decades.lazy(), left_on="start_year", right_on="year", how="inner")


@dataclass(frozen=True)
class KpiFigures:
    """What a KPI's function computes: headline values and/or tables, or why it was skipped."""

    values: dict[str, Scalar] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Scalar]]] = field(default_factory=dict)
    skipped: bool = False
    note: str | None = None

    @classmethod
    def skip(cls, note: str) -> "KpiFigures":
        return cls(skipped=True, note=note)


@dataclass(frozen=True)
class KpiSpec:
    """One KPI: its id (its place in `kpis.json`), name, description and the function computing it."""

    id: int
    name: str
    description: str
    """One line; `{<KpiLimits field>}` is replaced by the limit in force."""
    compute: Callable[[KpiContext], KpiFigures]

    def describe(self, limits: KpiLimits) -> str:
        return self.description.format(**dataclasses.asdict(limits))
