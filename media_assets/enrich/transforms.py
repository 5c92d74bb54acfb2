"""Which titles the TMDb enrichment asks about."""

import polars as pl

from media_assets.model.transforms import best_rated_first, current_titles


def top_rated_titles(fact_ratings: pl.LazyFrame, dim_title: pl.LazyFrame, count: int) -> pl.DataFrame:
    """The `count` best titles of the day (see `best_rated_first`), with the IMDb title type that tells the TMDb
    lookup whether to try movies or tv shows first."""
    rated_titles = fact_ratings.select("title_id", "bayesian_weighted_rating", "num_votes").join(
        current_titles(dim_title).select("title_id", "tconst", "title_type"), on="title_id", how="inner"
    )
    return (
        best_rated_first(rated_titles)
        .head(count)
        .select("tconst", "title_type", "title_id", "bayesian_weighted_rating")
        .collect()
    )
