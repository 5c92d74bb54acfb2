"""KPIs 1-6: the scoped catalogue and its ratings."""

import polars as pl

from media_assets.kpis.context import KpiContext, KpiFigures, KpiSpec, with_rank
from media_assets.model.transforms import best_rated_first

MOVIE_TYPES = ("movie",)
TV_SERIES_TYPES = ("tvSeries", "tvMiniSeries")
VOTE_TIER_ORDER = {"low": 0, "medium": 1, "high": 2}
MISSING_TITLE_TYPE = "(missing)"


def top_titles(ratings: pl.LazyFrame, titles: pl.LazyFrame, limit: int) -> pl.LazyFrame:
    """The `limit` best `titles` (see `best_rated_first`), ranked."""
    return with_rank(
        best_rated_first(ratings.join(titles, on="title_id", how="inner"))
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
    )


def _distribution(ratings: pl.DataFrame, column: str, order: pl.Expr) -> list[dict]:
    return (
        ratings.group_by(column)
        .agg(titles=pl.len())
        .with_columns(share=pl.col("titles") / pl.col("titles").sum())
        .sort([order, column], nulls_last=True)
        .select(column, "titles", "share")
        .to_dicts()
    )


def titles_by_type(context: KpiContext) -> KpiFigures:
    # A missing type (which fails the completeness gate) still counts, under a name JSON keys can hold.
    counts = (
        context.titles.group_by(pl.col("title_type").fill_null(MISSING_TITLE_TYPE))
        .agg(titles=pl.len())
        .sort(["titles", "title_type"], descending=[True, False])
    )
    return KpiFigures(values=dict(counts.iter_rows()))


def rating_coverage(context: KpiContext) -> KpiFigures:
    scoped = context.titles.height
    rated = context.titles.join(context.ratings, on="title_id", how="semi").height
    return KpiFigures(
        values={"scoped_titles": scoped, "rated_titles": rated, "coverage": rated / scoped if scoped else None}
    )


def rating_parameters(context: KpiContext) -> KpiFigures:
    return KpiFigures(
        values={
            "C": context.parameters.C,
            "m": context.parameters.m,
            "median_votes": context.ratings["num_votes"].median(),
            "rated_titles": context.ratings.height,
        }
    )


def top_rated_titles(context: KpiContext) -> KpiFigures:
    ratings, titles, limit = context.ratings.lazy(), context.titles.lazy(), context.limits.top_titles
    movies, tv_series = pl.collect_all(
        [
            top_titles(ratings, titles.filter(pl.col("title_type").is_in(MOVIE_TYPES)), limit),
            top_titles(ratings, titles.filter(pl.col("title_type").is_in(TV_SERIES_TYPES)), limit),
        ]
    )
    return KpiFigures(tables={"movies": movies.to_dicts(), "tv_series": tv_series.to_dicts()})


def vote_tier_distribution(context: KpiContext) -> KpiFigures:
    order = pl.col("vote_tier").replace_strict(VOTE_TIER_ORDER, default=None)
    return KpiFigures(tables={"vote_tiers": _distribution(context.ratings, "vote_tier", order)})


def rating_bucket_distribution(context: KpiContext) -> KpiFigures:
    order = pl.col("rating_bucket").str.extract(r"^(\d+)").cast(pl.Int32)
    return KpiFigures(tables={"rating_buckets": _distribution(context.ratings, "rating_bucket", order)})


KPIS = (
    KpiSpec(1, "titles_by_type", "Current titles in scope, by title type.", titles_by_type),
    KpiSpec(2, "rating_coverage", "Share of current scoped titles that are rated.", rating_coverage),
    KpiSpec(
        3,
        "rating_parameters",
        "Global mean rating C and vote threshold m of the Bayesian weighted rating, and the median vote count.",
        rating_parameters,
    ),
    KpiSpec(
        4,
        "top_rated_titles",
        "Top {top_titles} movies and TV series (tvSeries, tvMiniSeries) by Bayesian weighted rating at 6 decimals "
        "(ties: more votes, then smaller title_id).",
        top_rated_titles,
    ),
    KpiSpec(
        5,
        "vote_tier_distribution",
        "Rated titles per vote tier (low, medium, high) and their share.",
        vote_tier_distribution,
    ),
    KpiSpec(
        6,
        "rating_bucket_distribution",
        "Rated titles per average-rating bucket and their share.",
        rating_bucket_distribution,
    ),
)
