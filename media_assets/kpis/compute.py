"""The media KPIs over the scoped star schema, as plain polars, and the structure of `kpis.json`.

`kpis.json` is a `KpiReport` (its JSON schema: `KpiReport.model_json_schema()`):

    {
      "snapshot_date": "2026-01-05",
      "parameters": {"m": 12.0, "C": 6.9},          # vote threshold and global mean rating (null: no ratings)
      "kpis": {
        "<name>": {
          "id": 1,                                   # 1..16, the order of the issue
          "name": "<name>",
          "description": "<one line>",
          "values": {"<name>": number | string | null, ...},      # headline figures (may be empty)
          "tables": {"<name>": [{"<column>": value, ...}, ...]},  # ranked or grouped rows (may be empty)
          "skipped": false,
          "note": null | "<why skipped, or a caveat>"
        }, ...
      }
    }

Rankings are deterministic: ties are broken by the next figure named in each KPI's description, then by the
smallest id (title_id, person_id) or name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

Scalar = str | int | float | bool | None

MOVIE_TYPES = ("movie",)
TV_SERIES_TYPES = ("tvSeries", "tvMiniSeries")
ACTOR_CATEGORIES = ("actor", "actress")
DIRECTOR_CATEGORIES = ("director",)
VOTE_TIER_ORDER = {"low": 0, "medium": 1, "high": 2}
MISSING_TITLE_TYPE = "(missing)"


class Kpi(BaseModel):
    """One KPI of `kpis.json`: headline values and/or tables of rows."""

    model_config = ConfigDict(extra="forbid")

    id: int
    name: str
    description: str
    values: dict[str, Scalar]
    tables: dict[str, list[dict[str, Scalar]]]
    skipped: bool = False
    note: str | None = None


class RatingParameters(BaseModel):
    """The parameters of the Bayesian weighted rating, as recorded by fact_ratings."""

    model_config = ConfigDict(extra="forbid")

    m: float | None
    """Vote threshold: a title with m votes is weighed half towards the global mean (null without ratings)."""
    C: float | None
    """Global mean rating (null without ratings)."""


class KpiReport(BaseModel):
    """The content of `kpis.json` for one snapshot day."""

    model_config = ConfigDict(extra="forbid")

    snapshot_date: dt.date
    parameters: RatingParameters
    kpis: dict[str, Kpi]


@dataclass(frozen=True)
class StarSchema:
    """The model tables of one partition (dim_title keeps SCD2 history; the KPIs use its current rows)."""

    dim_title: pl.LazyFrame
    dim_person: pl.LazyFrame
    dim_genre: pl.LazyFrame
    dim_date: pl.LazyFrame
    title_genre_bridge: pl.LazyFrame
    fact_ratings: pl.LazyFrame
    fact_cast_crew: pl.LazyFrame


@dataclass(frozen=True)
class RatingsSnapshot:
    """fact_ratings of an earlier day, for the vote gains."""

    snapshot_date: dt.date
    fact_ratings: pl.LazyFrame


@dataclass(frozen=True)
class KpiLimits:
    """Sizes of the rankings and windows."""

    top_titles: int = 25
    top_people: int = 25
    trending_titles: int = 25
    longest_careers: int = 10
    min_career_credits: int = 5
    recent_years: int = 30


def _with_rank(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("rank"))


class _Model:
    """The frames every KPI starts from, narrowed to the columns they use."""

    def __init__(self, model: StarSchema) -> None:
        self.titles = model.dim_title.filter(pl.col("is_current")).select(
            "title_id",
            "tconst",
            "primary_title",
            "title_type",
            pl.col("start_year").cast(pl.Int32),
            "runtime_minutes",
        )
        self.ratings = model.fact_ratings.select(
            "title_id", "average_rating", "num_votes", "bayesian_weighted_rating", "vote_tier", "rating_bucket"
        )
        self.people = model.dim_person.select("person_id", "nconst", "primary_name")
        self.decades = model.dim_date.select(pl.col("year").cast(pl.Int32), "decade", "decade_label")
        # Pairs are de-duplicated so that a bridge passing its gate with a few duplicates still counts each
        # title once per genre.
        self.genre_titles = (
            model.title_genre_bridge.select("title_id", "genre_id", "weighting_factor")
            .unique(["title_id", "genre_id"], keep="first")
            .join(self.titles.select("title_id"), on="title_id", how="semi")
            .join(model.dim_genre.select("genre_id", "genre_name"), on="genre_id", how="inner")
        )
        self.credits = model.fact_cast_crew.select("title_id", "person_id", "category").join(
            self.titles.select("title_id"), on="title_id", how="semi"
        )

    def titles_with_decade(self) -> pl.LazyFrame:
        """Current titles with a start year, with its decade from dim_date."""
        return self.titles.filter(pl.col("start_year").is_not_null()).join(
            self.decades, left_on="start_year", right_on="year", how="inner"
        )

    def years_missing_from_dim_date(self) -> pl.LazyFrame:
        return (
            self.titles.select("start_year")
            .drop_nulls()
            .unique()
            .join(self.decades, left_on="start_year", right_on="year", how="anti")
            .sort("start_year")
        )


def _top_titles(m: _Model, title_types: tuple[str, ...], limit: int) -> pl.LazyFrame:
    """Best Bayesian weighted rating first; ties by more votes, then smaller title_id."""
    return _with_rank(
        m.ratings.join(m.titles.filter(pl.col("title_type").is_in(title_types)), on="title_id", how="inner")
        .sort(["bayesian_weighted_rating", "num_votes", "title_id"], descending=[True, True, False], nulls_last=True)
        .head(limit)
        .select(
            "title_id",
            "tconst",
            "primary_title",
            "title_type",
            "start_year",
            "bayesian_weighted_rating",
            "average_rating",
            "num_votes",
        )
    ).select("rank", pl.exclude("rank"))


def _distribution(ratings: pl.LazyFrame, column: str, order: pl.Expr) -> pl.LazyFrame:
    return (
        ratings.group_by(column)
        .agg(titles=pl.len())
        .with_columns(share=pl.col("titles") / pl.col("titles").sum())
        .sort([order, column], nulls_last=True)
        .select(column, "titles", "share")
    )


def _prolific_people(m: _Model, categories: tuple[str, ...], limit: int) -> pl.LazyFrame:
    """Most credits first; ties by smaller person_id. The mean weighted rating is over the person's distinct
    titles."""
    credits = m.credits.filter(pl.col("category").is_in(categories))
    top = (
        credits.group_by("person_id")
        .agg(credits=pl.len(), titles=pl.col("title_id").n_unique())
        .sort(["credits", "person_id"], descending=[True, False])
        .head(limit)
    )
    mean_rating = (
        credits.join(top.select("person_id"), on="person_id", how="semi")
        .select("person_id", "title_id")
        .unique()
        .join(m.ratings.select("title_id", "bayesian_weighted_rating"), on="title_id", how="left")
        .group_by("person_id")
        .agg(mean_weighted_rating=pl.col("bayesian_weighted_rating").mean())
    )
    return (
        _with_rank(top)
        .join(mean_rating, on="person_id", how="left")
        .join(m.people, on="person_id", how="left")
        .sort("rank")
        .select("rank", "person_id", "nconst", "primary_name", "credits", "titles", "mean_weighted_rating")
    )


def _careers(m: _Model, limits: KpiLimits) -> pl.LazyFrame:
    """People with at least `min_career_credits` credits and their first and last credited start year."""
    return (
        m.credits.join(m.titles.select("title_id", "start_year"), on="title_id", how="inner")
        .group_by("person_id")
        .agg(credits=pl.len(), first_year=pl.col("start_year").min(), last_year=pl.col("start_year").max())
        .filter((pl.col("credits") >= limits.min_career_credits) & pl.col("first_year").is_not_null())
        .with_columns(span_years=pl.col("last_year") - pl.col("first_year"))
    )


def _queries(
    m: _Model, snapshot_date: dt.date, previous: RatingsSnapshot | None, limits: KpiLimits
) -> dict[str, pl.LazyFrame]:
    """Every frame the report needs, collected together so that shared scans are read once."""
    rated_flag = m.ratings.select("title_id").unique().with_columns(rated=pl.lit(True))
    genre_titles_rated = m.genre_titles.join(m.ratings, on="title_id", how="inner")
    careers = _careers(m, limits)
    first_recent_year = snapshot_date.year - limits.recent_years + 1
    by_year = m.titles.filter(pl.col("start_year").is_between(first_recent_year, snapshot_date.year))
    queries = {
        "missing_years": m.years_missing_from_dim_date(),
        # A missing type (which fails the completeness gate) still counts, under a name JSON keys can hold.
        "titles_by_type": m.titles.group_by(pl.col("title_type").fill_null(MISSING_TITLE_TYPE))
        .agg(titles=pl.len())
        .sort(["titles", "title_type"], descending=[True, False]),
        "coverage": m.titles.join(rated_flag, on="title_id", how="left").select(
            scoped_titles=pl.len(), rated_titles=pl.col("rated").sum()
        ),
        "rating_stats": m.ratings.select(rated_titles=pl.len(), median_votes=pl.col("num_votes").median()),
        "top_movies": _top_titles(m, MOVIE_TYPES, limits.top_titles),
        "top_tv_series": _top_titles(m, TV_SERIES_TYPES, limits.top_titles),
        "vote_tiers": _distribution(
            m.ratings, "vote_tier", pl.col("vote_tier").replace_strict(VOTE_TIER_ORDER, default=None)
        ),
        "rating_buckets": _distribution(
            m.ratings, "rating_bucket", pl.col("rating_bucket").str.extract(r"^(\d+)").cast(pl.Int32)
        ),
        "genre_popularity": m.genre_titles.join(m.ratings.select("title_id", "num_votes"), on="title_id", how="left")
        .group_by("genre_name")
        .agg(
            titles=pl.len(),
            rated_titles=pl.col("num_votes").is_not_null().sum(),
            total_votes=pl.col("num_votes").sum(),
        )
        .sort(["total_votes", "titles", "genre_name"], descending=[True, True, False]),
        "rating_by_genre": genre_titles_rated.group_by("genre_name")
        .agg(
            rated_titles=pl.len(),
            mean_rating=pl.col("average_rating").mean(),
            mean_weighted_rating=pl.col("bayesian_weighted_rating").mean(),
        )
        .sort(["mean_weighted_rating", "genre_name"], descending=[True, False]),
        "genre_share_by_decade": m.genre_titles.join(m.titles_with_decade(), on="title_id", how="inner")
        .group_by("decade", "decade_label", "genre_name")
        .agg(weighted_titles=pl.col("weighting_factor").sum())
        .with_columns(share=pl.col("weighted_titles") / pl.col("weighted_titles").sum().over("decade"))
        .sort(["decade", "share", "genre_name"], descending=[False, True, False]),
        "prolific_actors": _prolific_people(m, ACTOR_CATEGORIES, limits.top_people),
        "prolific_directors": _prolific_people(m, DIRECTOR_CATEGORIES, limits.top_people),
        "career_summary": careers.select(
            people=pl.len(),
            mean_span_years=pl.col("span_years").mean(),
            median_span_years=pl.col("span_years").median(),
        ),
        "longest_careers": _with_rank(
            careers.sort(["span_years", "credits", "person_id"], descending=[True, True, False]).head(
                limits.longest_careers
            )
        )
        .join(m.people, on="person_id", how="left")
        .sort("rank")
        .select("rank", "person_id", "nconst", "primary_name", "credits", "first_year", "last_year", "span_years"),
        "volume_by_decade": m.titles_with_decade()
        .group_by("decade", "decade_label")
        .agg(titles=pl.len())
        .sort("decade"),
        "volume_by_year": pl.LazyFrame(
            {"year": pl.int_range(first_recent_year, snapshot_date.year + 1, dtype=pl.Int32, eager=True)}
        )
        .join(by_year.group_by("start_year").agg(titles=pl.len()), left_on="year", right_on="start_year", how="left")
        .with_columns(pl.col("titles").fill_null(0))
        .sort("year"),
        "runtime_trend": m.titles_with_decade()
        .filter(pl.col("title_type").is_in(MOVIE_TYPES) & pl.col("runtime_minutes").is_not_null())
        .group_by("decade", "decade_label")
        .agg(
            movies=pl.len(),
            mean_runtime_minutes=pl.col("runtime_minutes").mean(),
            median_runtime_minutes=pl.col("runtime_minutes").median(),
        )
        .sort("decade"),
    }
    if previous is not None:
        gains = (
            m.ratings.select("title_id", "num_votes", "bayesian_weighted_rating")
            .join(previous.fact_ratings.select("title_id", previous_votes="num_votes"), on="title_id", how="inner")
            .with_columns(vote_gain=pl.col("num_votes") - pl.col("previous_votes"))
        )
        queries["trending_compared"] = gains.select(titles_compared=pl.len())
        queries["trending"] = (
            _with_rank(
                gains.filter(pl.col("vote_gain") > 0)
                .sort(["vote_gain", "title_id"], descending=[True, False])
                .head(limits.trending_titles)
            )
            .join(m.titles.select("title_id", "tconst", "primary_title", "title_type"), on="title_id", how="left")
            .sort("rank")
            .select(
                "rank",
                "title_id",
                "tconst",
                "primary_title",
                "title_type",
                "vote_gain",
                "previous_votes",
                "num_votes",
                "bayesian_weighted_rating",
            )
        )
    return queries


def revenue_roi(tmdb_details: pl.DataFrame | None) -> Kpi:
    """KPI 16 from the TMDb enrichment's details of the day (None when the enrichment did not run)."""
    from media_assets.enrich.tmdb import revenue_roi_kpi

    result = dict(revenue_roi_kpi(tmdb_details))
    skipped = bool(result.pop("skipped", False))
    note = result.pop("note", None)
    values = {key: value for key, value in result.items() if not isinstance(value, list)}
    tables = {key: value for key, value in result.items() if isinstance(value, list)}
    return Kpi(
        id=16,
        name="revenue_roi",
        description="Revenue and ROI (revenue / budget) of the titles enriched from TMDb that have both figures.",
        values=values,
        tables=tables,
        skipped=skipped,
        note=note,
    )


def _one_row(frame: pl.DataFrame) -> dict[str, Any]:
    return frame.row(0, named=True)


def compute_kpis(
    model: StarSchema,
    snapshot_date: dt.date,
    parameters: RatingParameters,
    previous: RatingsSnapshot | None = None,
    tmdb_details: pl.DataFrame | None = None,
    limits: KpiLimits = KpiLimits(),
) -> KpiReport:
    """Compute the 16 KPIs of a snapshot day over the scoped star schema.

    `previous` is fact_ratings of the day before (vote gains are skipped without it); `tmdb_details` the TMDb
    enrichment of the day (revenue/ROI is skipped without it). Raises ValueError when a title's start year has no
    row in dim_date.
    """
    m = _Model(model)
    queries = _queries(m, snapshot_date, previous, limits)
    frames = dict(zip(queries, pl.collect_all(list(queries.values())), strict=True))
    if frames["missing_years"].height:
        raise ValueError(
            f"dim_date has no row for the start years {frames['missing_years']['start_year'].to_list()} of current "
            "titles in dim_title: the decade KPIs would lose those titles"
        )
    coverage = _one_row(frames["coverage"])
    rating_stats = _one_row(frames["rating_stats"])

    def kpi(
        number: int,
        name: str,
        description: str,
        values: Mapping[str, Scalar] | None = None,
        tables: Mapping[str, str] | None = None,
    ) -> Kpi:
        """A KPI whose tables are the collected frames named in `tables` (table name -> query name)."""
        return Kpi(
            id=number,
            name=name,
            description=description,
            values=dict(values or {}),
            tables={table: frames[query].to_dicts() for table, query in (tables or {}).items()},
        )

    kpis = [
        kpi(
            1,
            "titles_by_type",
            "Current titles in scope, by title type.",
            values=dict(frames["titles_by_type"].iter_rows()),
        ),
        kpi(
            2,
            "rating_coverage",
            "Share of current scoped titles that are rated.",
            values={
                "scoped_titles": coverage["scoped_titles"],
                "rated_titles": coverage["rated_titles"],
                "coverage": coverage["rated_titles"] / coverage["scoped_titles"] if coverage["scoped_titles"] else None,
            },
        ),
        kpi(
            3,
            "rating_parameters",
            "Global mean rating C and vote threshold m of the Bayesian weighted rating, and the median vote count.",
            values={
                "C": parameters.C,
                "m": parameters.m,
                "median_votes": rating_stats["median_votes"],
                "rated_titles": rating_stats["rated_titles"],
            },
        ),
        kpi(
            4,
            "top_rated_titles",
            f"Top {limits.top_titles} movies and TV series (tvSeries, tvMiniSeries) by Bayesian weighted rating "
            "(ties: more votes, then smaller title_id).",
            tables={"movies": "top_movies", "tv_series": "top_tv_series"},
        ),
        kpi(
            5,
            "vote_tier_distribution",
            "Rated titles per vote tier (low, medium, high) and their share.",
            tables={"vote_tiers": "vote_tiers"},
        ),
        kpi(
            6,
            "rating_bucket_distribution",
            "Rated titles per average-rating bucket and their share.",
            tables={"rating_buckets": "rating_buckets"},
        ),
        kpi(
            7,
            "genre_popularity",
            "Titles, rated titles and total votes per genre, through the bridge (by total votes, then titles, then "
            "name).",
            tables={"genres": "genre_popularity"},
        ),
        kpi(
            8,
            "rating_by_genre",
            "Mean average rating and mean Bayesian weighted rating of the rated titles of each genre (by weighted "
            "rating, then name).",
            tables={"genres": "rating_by_genre"},
        ),
        kpi(
            9,
            "genre_share_by_decade",
            "Share of each genre among the titles started in each decade, weighted by the bridge so that each title "
            "counts once (titles without genre are left out).",
            tables={"shares": "genre_share_by_decade"},
        ),
        kpi(
            10,
            "prolific_actors",
            f"Top {limits.top_people} actors and actresses by credits in scoped titles (ties: smaller person_id), "
            "with the mean weighted rating of their titles.",
            tables={"people": "prolific_actors"},
        ),
        kpi(
            11,
            "prolific_directors",
            f"Top {limits.top_people} directors by credits in scoped titles (ties: smaller person_id), with the "
            "mean weighted rating of their titles.",
            tables={"people": "prolific_directors"},
        ),
        kpi(
            12,
            "career_span",
            f"Years between the first and last credited title start year, for people with at least "
            f"{limits.min_career_credits} credits: mean, median and the {limits.longest_careers} longest (ties: "
            "more credits, then smaller person_id).",
            values=_one_row(frames["career_summary"]),
            tables={"longest": "longest_careers"},
        ),
        kpi(
            13,
            "production_volume",
            f"Current scoped titles by start decade, and by start year over the last {limits.recent_years} years.",
            tables={"by_decade": "volume_by_decade", "by_year": "volume_by_year"},
        ),
        kpi(
            14,
            "movie_runtime_trend",
            "Mean and median runtime (minutes) of movies by start decade.",
            tables={"by_decade": "runtime_trend"},
        ),
    ]
    trending_description = (
        f"The {limits.trending_titles} titles with the largest vote gain since the previous day's ratings (titles "
        "rated on both days, gain > 0; ties: smaller title_id)."
    )
    if previous is None:
        kpis.append(
            Kpi(
                id=15,
                name="trending_titles",
                description=trending_description,
                values={},
                tables={},
                skipped=True,
                note="no fact_ratings of the previous day (first partition, or that day was not materialized)",
            )
        )
    else:
        kpis.append(
            kpi(
                15,
                "trending_titles",
                trending_description,
                values={
                    "previous_snapshot_date": previous.snapshot_date.isoformat(),
                    "titles_compared": _one_row(frames["trending_compared"])["titles_compared"],
                },
                tables={"titles": "trending"},
            )
        )
    kpis.append(revenue_roi(tmdb_details))
    return KpiReport(snapshot_date=snapshot_date, parameters=parameters, kpis={k.name: k for k in kpis})
